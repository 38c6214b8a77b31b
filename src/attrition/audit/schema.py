"""The audit tables as this code reads and writes them (the head migration creates exactly these).

Migrations never import this module: a revision describes the schema as it was when written, so
changing a table here always comes with a new revision in `migrations/versions`.
"""

from __future__ import annotations

import sqlalchemy as sa

# SQLite only aliases the rowid (and so autoincrements) for exactly "INTEGER PRIMARY KEY".
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID_LENGTH = 36  # a UUID in text form; migrated legacy rows get 'legacy-<row id>'
HASH_LENGTH = 64  # a SHA-256 in hex

metadata = sa.MetaData()

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),  # unix seconds, what purges compare against
    sa.Column("created_at", sa.Text, nullable=False),  # the same instant, ISO 8601 UTC, for humans
    sa.Column("caller", sa.Text, nullable=False),  # token subject
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("model_version", sa.Text),
    sa.Column("source", sa.Text, nullable=False),  # model | batch
    sa.Column("opt_out", sa.Integer, nullable=False),
    sa.Column("employee_id", sa.Text),  # NULL when opt_out
    sa.Column("inputs", sa.Text),  # JSON features; NULL when opt_out
    sa.Column("probability", sa.Float),
    sa.Column("decision", sa.Integer),
    sa.Column("prediction_id", sa.String(ID_LENGTH), nullable=False),
    # Where the inputs came from when read from the online feature store (NULL: sent by the caller).
    sa.Column("feature_table_version", sa.BigInteger),  # the store's Delta table version
    sa.Column("features_as_of", sa.Text),  # ISO date the online features describe
    # JSON: the answer's contributions and sentences (NULL: a batch answer, an opt-out, or before 0005)
    sa.Column("reasons", sa.Text),
    sa.Index("predictions_ts", "ts"),
    sa.Index("predictions_prediction_id", "prediction_id", unique=True),
    sa.Index("predictions_employee_id", "employee_id"),
    sqlite_autoincrement=True,
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(ID_LENGTH), nullable=False, unique=True),
    sa.Column(
        "prediction_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("predictions.prediction_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),  # the manager's token subject
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    # Whom the decision is about: the prediction's employee id, or the one the manager named for an
    # opt-out or id-less prediction. Access and erasure find decisions by it (issue 27).
    sa.Column("employee_id", sa.Text),
    sa.Index("decisions_ts", "ts"),
    sa.Index("decisions_prediction_id", "prediction_id"),
    sa.Index("decisions_employee_id", "employee_id"),
    sqlite_autoincrement=True,
)

admin_log = sa.Table(
    "admin_log",
    metadata,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),  # --actor: what the operator says
    sa.Column("action", sa.Text, nullable=False),  # export | erase | purge
    sa.Column("employee_id", sa.Text),  # whose rights were exercised; never their content
    sa.Column("detail", sa.Text, nullable=False),  # JSON counts only
    sa.Column("os_user", sa.Text),  # the OS account that ran it (NULL: logged before revision 0003)
    sa.Column("prev_hash", sa.String(HASH_LENGTH)),  # entry_hash of the entry before (NULL: the first)
    sa.Column("entry_hash", sa.String(HASH_LENGTH), nullable=False),  # see attrition.audit.admin_log
    sa.Index("admin_log_employee_id", "employee_id"),
    sa.Index("admin_log_prev_hash", "prev_hash", unique=True),  # one chain: no two entries fork it
    sqlite_autoincrement=True,
)
