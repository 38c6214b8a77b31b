"""`attrition audit`: migrate the schema, purge old rows, export or erase one employee's rows,
verify the admin log's hash chain, grant the PostgreSQL roles.

The store is `--db`, else for purge, export, erase and verify ATTRITION_AUDIT_PURGE_DB (the purge
role's URL: the service's own role may not delete), else ATTRITION_AUDIT_DB, else the default
SQLite file; each variable may instead name a file holding the value (`..._FILE`, how Vault and
Kubernetes mount secrets), so no password needs to appear in a command line.

Exit codes: 0 done; 1 the database failed during the operation (or an erase left bytes in the
SQLite WAL); 2 bad input or configuration (a malformed or unreachable store, a schema newer than
this code or not yet migrated, a bad duration, a horizon below the retention policy, a bad employee
id or role name); 3 `verify` found the admin log changed. Errors are one line on stderr; nothing is
changed on exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.audit import admin_log, migrate, retention, roles, subject_rights
from attrition.audit.database import (
    DEFAULT_AUDIT_DB,
    SETTING,
    AuditDatabase,
    check_reachable,
    create_audit_engine,
    location_from_environ,
    one_line,
    parse_audit_db,
)
from attrition.audit.errors import AuditConfigError, AuditInputError
from attrition.audit.files import write_private_text

PURGE_SETTING = "ATTRITION_AUDIT_PURGE_DB"
PURGE_ROLE_ACTIONS = ("purge", "export", "erase", "verify")
CHAIN_BROKEN_EXIT = 3


def build_parser() -> argparse.ArgumentParser:
    """The `attrition audit` parser (also mounted under the main `attrition` command)."""
    parser = argparse.ArgumentParser(prog="attrition audit", description=__doc__.splitlines()[0])
    _common_options(parser, None)
    # Also accepted after the subcommand (`attrition audit purge --older-than 180d --db X`, as before).
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="action", required=True)
    commands.add_parser(
        "migrate", parents=[common], help="create the schema or upgrade it to this code's version"
    )
    purge = commands.add_parser(
        "purge", parents=[common], help="delete predictions and decisions older than a duration"
    )
    purge.add_argument(
        "--older-than",
        required=True,
        help=f"e.g. 180d, 12h, 30m, 2w; at least the retention policy ({retention.RETENTION_SETTING})",
    )
    purge.add_argument(
        retention.FORCE_OPTION, action="store_true", help="accept a horizon below the retention policy"
    )
    export = commands.add_parser(
        "export", parents=[common], help="right of access: every stored row about one employee, as JSON"
    )
    export.add_argument("--employee-id", required=True)
    export.add_argument("--out", type=Path, help="write the JSON here (mode 0600) instead of stdout")
    erase = commands.add_parser(
        "erase", parents=[common], help="right to erasure: delete every row about one employee"
    )
    erase.add_argument("--employee-id", required=True)
    commands.add_parser("verify", parents=[common], help="check the admin log's hash chain; print its head")
    grant = commands.add_parser(
        "grant",
        parents=[common],
        help="PostgreSQL: create the service and purge roles, grant each its rights",
    )
    grant.add_argument("--service-role", default=roles.DEFAULT_SERVICE_ROLE)
    grant.add_argument("--purge-role", default=roles.DEFAULT_PURGE_ROLE)
    grant.add_argument("--print-sql", action="store_true", help="print the SQL instead of running it")
    return parser


def _common_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--db",
        default=default,
        help=f"database URL or SQLite path (default: env {PURGE_SETTING} for purge/export/erase/verify, "
        f"{SETTING}, or {DEFAULT_AUDIT_DB})",
    )
    parser.add_argument(
        "--actor",
        default=default,
        help="who runs this, for the admin log (default: the login name; the OS user is logged too)",
    )


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


def store_location(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, str]:
    """(value, where it came from): --db, else the first of the action's variables (or their _FILE)
    that is set, else the default."""
    if args.db:
        return str(args.db), "--db"
    names = (PURGE_SETTING, SETTING) if args.action in PURGE_ROLE_ACTIONS else (SETTING,)
    return location_from_environ(names, environ) or (DEFAULT_AUDIT_DB, SETTING)


def _open(database: AuditDatabase, *, create: bool) -> Engine:
    """An engine on a reachable store; unless creating, the schema must already be current."""
    engine = create_audit_engine(database, must_exist=not create)
    try:
        check_reachable(engine, database)
        if not create and migrate.schema_state(engine) != "current":
            raise AuditConfigError(
                f"{SETTING}: the audit schema of {database.display()} is not at this code's version "
                f"{migrate.head_revision()}; run `attrition audit migrate` first"
            )
    except BaseException:
        engine.dispose()
        raise
    return engine


def _migrate(engine: Engine, database: AuditDatabase, args: argparse.Namespace) -> int:
    before, after = migrate.upgrade(engine)
    print(f"audit schema of {database.display()}: {before or 'none'} -> {after}")
    return 0


def _purge(engine: Engine, database: AuditDatabase, args: argparse.Namespace) -> int:
    seconds = retention.parse_duration(args.older_than)
    result = retention.purge(engine, seconds, actor=_actor(args))
    print(
        f"purged {result.predictions} predictions and {result.decisions} decisions older than "
        f"{args.older_than} from {database.display()}"
    )
    return 0


def _export(engine: Engine, database: AuditDatabase, args: argparse.Namespace) -> int:
    employee_id = subject_rights.validate_employee_id(args.employee_id)
    data = subject_rights.export_employee(engine, employee_id, actor=_actor(args))
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_private_text(args.out, text)
        print(
            f"exported {len(data['predictions'])} predictions and {len(data['decisions'])} decisions "
            f"about {employee_id} to {args.out}"
        )
    return 0


def _erase(engine: Engine, database: AuditDatabase, args: argparse.Namespace) -> int:
    employee_id = subject_rights.validate_employee_id(args.employee_id)
    code, residue = 0, None
    try:
        counts = subject_rights.erase_employee(engine, employee_id, actor=_actor(args))
    except subject_rights.ErasureResidueError as error:
        code, counts, residue = 1, error.counts, str(error)
    print(
        f"erased {counts['predictions']} predictions and {counts['decisions']} decisions about "
        f"{employee_id} from {database.display()} (recorded in the admin log)"
    )
    if residue is not None:
        print(f"error: {residue}", file=sys.stderr)
    return code


def _verify(engine: Engine, database: AuditDatabase, args: argparse.Namespace) -> int:
    report = admin_log.verify_admin_log(engine)
    if not report.intact:
        print(
            f"error: admin log of {database.display()} was tampered with: entry {report.broken_at} "
            f"does not verify ({report.problem}); {report.entries} entries before it do",
            file=sys.stderr,
        )
        return CHAIN_BROKEN_EXIT
    print(f"admin log of {database.display()} intact: {report.entries} entries, head {report.head}")
    return 0


def _grant(engine: Engine, database: AuditDatabase, args: argparse.Namespace) -> int:
    roles.apply_grants(engine, args.service_role, args.purge_role)
    print(
        f"granted {args.service_role} SELECT, INSERT and {args.purge_role} SELECT, DELETE (and admin "
        f"log INSERT) on {database.display()}; log in as members of these roles, never as the owner"
    )
    return 0


_ACTIONS: dict[str, Callable[[Engine, AuditDatabase, argparse.Namespace], int]] = {
    "migrate": _migrate,
    "purge": _purge,
    "export": _export,
    "erase": _erase,
    "verify": _verify,
    "grant": _grant,
}


def _validate_first(args: argparse.Namespace) -> None:
    """Reject bad arguments before any connection is made."""
    if args.action == "purge":
        policy = retention.retention_days(os.environ)
        retention.check_horizon(args.older_than, policy, force=args.force_below_retention)
    if args.action in ("export", "erase"):
        subject_rights.validate_employee_id(args.employee_id)
    if args.action == "grant":
        roles.grant_statements(args.service_role, args.purge_role)


def run(args: argparse.Namespace) -> int:
    """Execute parsed arguments (shared with the main `attrition` parser)."""
    try:
        _validate_first(args)
        if args.action == "grant" and args.print_sql:
            print(";\n".join(roles.grant_statements(args.service_role, args.purge_role)) + ";")
            return 0
        value, source = store_location(args, os.environ)
    except (AuditConfigError, AuditInputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        database = parse_audit_db(value)
        if args.action == "grant" and database.backend != "postgresql":
            raise AuditConfigError(
                f"{SETTING}: roles exist on PostgreSQL only; a SQLite store is a file created 0600"
            )
        engine = _open(database, create=args.action == "migrate")
    except AuditConfigError as error:  # named after where the value came from
        print(f"error: {str(error).replace(SETTING, source, 1)}", file=sys.stderr)
        return 2
    try:
        return _ACTIONS[args.action](engine, database, args)
    except (AuditConfigError, AuditInputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (sa.exc.DBAPIError, OSError) as error:
        cause: Any = getattr(error, "orig", None) or error
        print(
            f"error: audit {args.action} failed on {database.display()}: {one_line(cause)}", file=sys.stderr
        )
        return 1
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point: `python -m attrition.audit.command ...` or `attrition audit ...`."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
