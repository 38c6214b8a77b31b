"""PostgreSQL roles for the audit store: the service appends and reads, only the purge role deletes.

A service compromised, or a bug in it, must not be able to destroy the audit trail, so its role
gets SELECT and INSERT (the writer never updates: retried inserts are ON CONFLICT DO NOTHING) and
no DELETE; its scheduled purge then stands aside (attrition.audit.retention.may_delete). Retention
purges, exports and erasures run as the purge role (`attrition audit --db <purge role URL>`, or
ATTRITION_AUDIT_PURGE_DB), which may delete predictions and decisions and append to the admin log,
but never edit it. Neither may change the schema: the owner runs `attrition audit migrate`, then
`attrition audit grant` (again after each migration).

Both are group roles (NOLOGIN), created here when missing: the accounts that log in, static or
issued by Vault's database secrets engine, are made members (`CREATE ROLE svc_x LOGIN IN ROLE
attrition_service`). They must not be the tables' owner, whose rights no GRANT can take away.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine

from attrition.audit.errors import AuditInputError

DEFAULT_SERVICE_ROLE = "attrition_service"
DEFAULT_PURGE_ROLE = "attrition_purge"
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TABLES = ("predictions", "decisions", "admin_log", "alembic_version")
SEQUENCES = ("predictions_id_seq", "decisions_id_seq", "admin_log_id_seq")


def validate_role(name: str, option: str) -> str:
    """A plain lower-case PostgreSQL identifier (no quoting surprises); AuditInputError otherwise."""
    if not _ROLE.match(name):
        raise AuditInputError(option, f"{name!r} is not a role name; use a-z, 0-9 and _ (at most 63)")
    return name


def grant_statements(service_role: str, purge_role: str) -> list[str]:
    """The SQL that creates the two roles if missing and gives each exactly its privileges."""
    validate_role(service_role, "--service-role")
    validate_role(purge_role, "--purge-role")
    if service_role == purge_role:
        raise AuditInputError("--purge-role", "must differ from --service-role")
    service, purge = f'"{service_role}"', f'"{purge_role}"'  # validated: quoting is all they need
    create = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') "
        f'THEN CREATE ROLE "{name}" NOLOGIN; END IF; END $$'
        for name in (service_role, purge_role)
    ]
    both = f"{service}, {purge}"
    return [
        *create,
        f"REVOKE ALL ON TABLE {', '.join(TABLES)} FROM {both}",
        f"REVOKE ALL ON SEQUENCE {', '.join(SEQUENCES)} FROM {both}",
        f"GRANT SELECT ON TABLE alembic_version TO {both}",
        f"GRANT SELECT, INSERT ON TABLE predictions, decisions TO {service}",
        f"GRANT USAGE ON SEQUENCE predictions_id_seq, decisions_id_seq TO {service}",
        f"GRANT SELECT, DELETE ON TABLE predictions, decisions TO {purge}",
        f"GRANT SELECT, INSERT ON TABLE admin_log TO {purge}",
        f"GRANT USAGE ON SEQUENCE admin_log_id_seq TO {purge}",
    ]


def apply_grants(engine: Engine, service_role: str, purge_role: str) -> None:
    """Run grant_statements in one transaction (as the owner, or a role with CREATEROLE and grants)."""
    statements = grant_statements(service_role, purge_role)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
