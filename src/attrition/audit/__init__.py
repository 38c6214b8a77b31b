"""The audit store shared by every service replica and the monitor: SQLite or PostgreSQL.

Modules: `database` (the ATTRITION_AUDIT_DB URL and engines), `files` (0600 files), `schema`
(tables as the code sees them), `migrations` (Alembic revisions that create and upgrade them),
`records` (rows and the opt-out rule), `writer` (group commit: an answer leaves only once its row
is committed), `decisions`, `subject_rights` (export and erase), `retention` (purge and the
retention policy), `admin_log` and `chain` (who did what, hash-chained), `roles` (PostgreSQL
privileges) and `command` (`attrition audit ...`). Nothing here imports the service or the monitor.
"""
