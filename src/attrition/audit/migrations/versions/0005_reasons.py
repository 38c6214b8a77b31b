"""Predictions keep the reasons their answer gave (issue 24).

A live answer carries each input's contribution to the probability and its top reasons in words;
`reasons` (JSON text) keeps exactly that with the answer, so a reviewer or the employee can later see
what the manager was told. NULL for batch answers, opt-outs and every row written before this
revision: adding a nullable column changes no existing row and needs no table copy on SQLite.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("predictions", sa.Column("reasons", sa.Text))


def downgrade() -> None:
    raise NotImplementedError("the audit schema is never downgraded: that would drop rows")
