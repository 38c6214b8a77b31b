"""Prediction ids, managers' decisions and the admin log of data-subject requests (issue 12).

Existing rows get `legacy-<row id>` as their prediction id: unique, and never confused with the
UUIDs handed out since. SQLite cannot add NOT NULL to a column in place, so Alembic's batch mode
copies that table once (rows and row ids kept).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("predictions", sa.Column("prediction_id", sa.String(36), nullable=True))
    op.execute(
        "UPDATE predictions SET prediction_id = 'legacy-' || CAST(id AS TEXT) WHERE prediction_id IS NULL"
    )
    with op.batch_alter_table("predictions", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("prediction_id", existing_type=sa.String(36), nullable=False)
    op.create_index("predictions_prediction_id", "predictions", ["prediction_id"], unique=True)
    op.create_index("predictions_employee_id", "predictions", ["employee_id"])

    op.create_table(
        "decisions",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(36), nullable=False, unique=True),
        sa.Column(
            "prediction_id",
            sa.String(36),
            sa.ForeignKey("predictions.prediction_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("decisions_ts", "decisions", ["ts"])
    op.create_index("decisions_prediction_id", "decisions", ["prediction_id"])

    op.create_table(
        "admin_log",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("employee_id", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("admin_log_employee_id", "admin_log", ["employee_id"])


def downgrade() -> None:
    raise NotImplementedError("the audit schema is never downgraded: that would drop rows")
