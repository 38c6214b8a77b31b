"""The audit store shared by every service replica and the monitor: SQLite or PostgreSQL.

Modules: `database` (the ATTRITION_AUDIT_DB URL and engines), `schema` (tables as the code sees
them), `migrations` (Alembic revisions that create and upgrade them), `records` (rows and the
opt-out rule), `writer` (group commit: an answer leaves only once its row is committed),
`decisions`, `subject_rights` (export and erase), `retention` (purge) and `command`
(`attrition audit ...`). Nothing here imports the service or the monitor.
"""
