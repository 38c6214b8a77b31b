"""`attrition audit`: migrate the schema, purge old rows, export or erase one employee's rows.

Exit codes: 0 done; 1 the database failed during the operation; 2 bad input or configuration
(a malformed or unreachable ATTRITION_AUDIT_DB, a schema newer than this code or not yet migrated,
a bad duration or employee id). Errors are one line on stderr; nothing is changed on exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.atomic import atomic_write_text
from attrition.audit import migrate, retention, subject_rights
from attrition.audit.database import (
    DEFAULT_AUDIT_DB,
    SETTING,
    AuditDatabase,
    check_reachable,
    create_audit_engine,
    one_line,
    parse_audit_db,
)
from attrition.audit.errors import AuditConfigError, AuditInputError


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
    purge.add_argument("--older-than", required=True, help="e.g. 180d, 12h, 30m, 2w")
    export = commands.add_parser(
        "export", parents=[common], help="right of access: every stored row about one employee, as JSON"
    )
    export.add_argument("--employee-id", required=True)
    export.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    erase = commands.add_parser(
        "erase", parents=[common], help="right to erasure: delete every row about one employee"
    )
    erase.add_argument("--employee-id", required=True)
    return parser


def _common_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--db",
        default=default,
        help=f"database URL or SQLite path (default: env {SETTING} or {DEFAULT_AUDIT_DB})",
    )
    parser.add_argument(
        "--actor", default=default, help="who runs this, for the admin log (default: the login name)"
    )


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


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
        atomic_write_text(args.out, text)
        print(
            f"exported {len(data['predictions'])} predictions and {len(data['decisions'])} decisions "
            f"about {employee_id} to {args.out}"
        )
    return 0


def _erase(engine: Engine, database: AuditDatabase, args: argparse.Namespace) -> int:
    employee_id = subject_rights.validate_employee_id(args.employee_id)
    counts = subject_rights.erase_employee(engine, employee_id, actor=_actor(args))
    print(
        f"erased {counts['predictions']} predictions and {counts['decisions']} decisions about "
        f"{employee_id} from {database.display()} (recorded in the admin log)"
    )
    return 0


_ACTIONS: dict[str, Callable[[Engine, AuditDatabase, argparse.Namespace], int]] = {
    "migrate": _migrate,
    "purge": _purge,
    "export": _export,
    "erase": _erase,
}


def _validate_first(args: argparse.Namespace) -> None:
    """Reject bad arguments before any connection is made."""
    if args.action == "purge":
        retention.parse_duration(args.older_than)
    if args.action in ("export", "erase"):
        subject_rights.validate_employee_id(args.employee_id)


def run(args: argparse.Namespace) -> int:
    """Execute parsed arguments (shared with the main `attrition` parser)."""
    try:
        _validate_first(args)
        database = parse_audit_db(args.db or os.environ.get(SETTING) or DEFAULT_AUDIT_DB)
        engine = _open(database, create=args.action == "migrate")
    except (AuditConfigError, AuditInputError) as error:
        print(f"error: {error}", file=sys.stderr)
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
