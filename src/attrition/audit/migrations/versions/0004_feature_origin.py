"""Predictions name the online feature store their inputs came from (issue 22).

A prediction made for an employee_id alone is scored with the features the online feature store
holds; `feature_table_version` (the store's Delta table version) and `features_as_of` (the date the
features describe) say which, so the inputs can be materialized again. Both are NULL for rows whose
features the caller sent, which is every row written before this revision: adding nullable columns
changes no existing row and needs no table copy on SQLite.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("predictions", sa.Column("feature_table_version", sa.BigInteger))
    op.add_column("predictions", sa.Column("features_as_of", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the audit schema is never downgraded: that would drop rows")
