"""`attrition audit purge`: delete audit records older than a duration from the store."""

from __future__ import annotations

import argparse
from pathlib import Path

from attrition.service.commands.shell import OneLineParser, fail, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `audit` subcommands (today: purge)."""
    actions = parser.add_subparsers(dest="audit_command", required=True)
    purge = actions.add_parser(
        "purge",
        help="delete audit records older than a duration",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    purge.add_argument("--older-than", required=True, help="e.g. 180d, 12h, 30m, 2w")
    purge.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS,
        help="store path (default: env ATTRITION_AUDIT_DB or the path in ATTRITION_AUDIT_DB_FILE)",
    )
    purge.set_defaults(audit_handler=run_purge)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen audit subcommand."""
    return int(args.audit_handler(args))


def run_purge(args: argparse.Namespace) -> int:
    """Delete records older than --older-than; the service may keep writing meanwhile (WAL)."""
    from attrition.service.core.audit import AuditError, connect, parse_duration, purge
    from attrition.service.settings import SettingsError

    try:
        seconds = parse_duration(args.older_than)
        path = getattr(args, "db", None) or load_settings().audit_location()
        if not Path(path).exists():
            return fail(f"audit store {path} does not exist (set ATTRITION_AUDIT_DB or --db)")
        connection = connect(Path(path))
        try:
            deleted = purge(connection, seconds)
        finally:
            connection.close()
    except (AuditError, SettingsError, ValueError) as error:
        return fail(str(error))
    print(f"purged {deleted} audit records older than {args.older_than} from {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: `attrition audit purge --older-than 180d [--db PATH]`."""
    parser = OneLineParser(prog="attrition audit", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
