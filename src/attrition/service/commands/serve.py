"""`attrition serve`: verify the package (in the app's start-up) and serve until SIGINT/SIGTERM.

Heavy imports (FastAPI, uvicorn) happen inside `run` so `attrition --help` stays instant.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from attrition.service.commands.shell import OneLineParser, fail, load_settings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `attrition serve` (unset ones fall back to ATTRITION_* env vars)."""
    unset = argparse.SUPPRESS
    parser.add_argument(
        "--package",
        type=Path,
        default=unset,
        help="model package dir (default: env ATTRITION_PACKAGE or models/attrition-model)",
    )
    parser.add_argument(
        "--scores",
        type=Path,
        default=unset,
        help="batch scores CSV (default: env ATTRITION_SCORES or data/batch_scores.csv)",
    )
    parser.add_argument(
        "--audit-db",
        type=Path,
        default=unset,
        help="SQLite audit store (default: env ATTRITION_AUDIT_DB or audit/audit.sqlite)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8000, help="TCP port to bind")
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="server log level")


def run(args: argparse.Namespace) -> int:
    """Check every setting in one line each, then hand the app to uvicorn."""
    import uvicorn

    from attrition.service.app import create_app
    from attrition.service.core.audit import AuditError, connect
    from attrition.service.settings import SettingsError

    if not 0 < args.port < 65536:
        return fail(f"--port {args.port}: must be 1-65535")
    try:
        settings = load_settings(
            package=getattr(args, "package", None),
            scores=getattr(args, "scores", None),
            audit_db=getattr(args, "audit_db", None),
        )
        app = create_app(settings)
        connect(settings.audit_db).close()  # fail now, in one line, not inside the lifespan
    except (ValueError, SettingsError, AuditError) as error:
        return fail(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: `attrition serve [flags]`."""
    parser = OneLineParser(prog="attrition serve", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
