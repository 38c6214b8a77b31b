"""Decisions carry their subject; the admin log records the OS user and becomes a hash chain (issue 27).

`decisions.employee_id` is filled from each decision's prediction (NULL for opt-out and id-less
ones: who they were about was never stored). Existing admin log entries get `os_user` NULL (not
recorded then) and are chained in id order, so `attrition audit verify` covers them from now on;
the chain's hash function is attrition.audit.chain's, frozen for exactly this reason. SQLite
cannot add NOT NULL to a column in place: batch mode copies the (small) admin_log table once.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from attrition.audit.chain import CHAINED_FIELDS, entry_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("employee_id", sa.Text))
    op.execute(
        "UPDATE decisions SET employee_id = (SELECT p.employee_id FROM predictions p"
        " WHERE p.prediction_id = decisions.prediction_id)"
    )
    op.create_index("decisions_employee_id", "decisions", ["employee_id"])

    op.add_column("admin_log", sa.Column("os_user", sa.Text))
    op.add_column("admin_log", sa.Column("prev_hash", sa.String(64)))
    op.add_column("admin_log", sa.Column("entry_hash", sa.String(64)))
    bind = op.get_bind()
    names = ", ".join(CHAINED_FIELDS)
    previous: str | None = None
    for row in bind.execute(sa.text(f"SELECT id, {names} FROM admin_log ORDER BY id")).mappings().all():
        digest = entry_hash(previous, dict(row))
        bind.execute(
            sa.text("UPDATE admin_log SET prev_hash = :prev, entry_hash = :digest WHERE id = :id"),
            {"prev": previous, "digest": digest, "id": row["id"]},
        )
        previous = digest
    with op.batch_alter_table("admin_log", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("entry_hash", existing_type=sa.String(64), nullable=False)
    op.create_index("admin_log_prev_hash", "admin_log", ["prev_hash"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("the audit schema is never downgraded: that would drop rows")
