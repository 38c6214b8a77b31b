"""The predictions table exactly as the service's SQLite store created it before migrations existed.

An existing file from that time already has it: the revision then only stamps the file, so an
upgrade keeps every row.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("predictions"):
        return  # a pre-migration SQLite store: same table, keep it and its rows
    op.create_table(
        "predictions",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("caller", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("opt_out", sa.Integer, nullable=False),
        sa.Column("employee_id", sa.Text),
        sa.Column("inputs", sa.Text),
        sa.Column("probability", sa.Float),
        sa.Column("decision", sa.Integer),
        sqlite_autoincrement=True,
    )
    op.create_index("predictions_ts", "predictions", ["ts"])


def downgrade() -> None:
    raise NotImplementedError("the audit schema is never downgraded: that would drop rows")
