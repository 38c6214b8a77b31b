"""`attrition serve`, `attrition token` and `attrition audit purge`, registered into the main CLI.

Heavy imports (FastAPI, uvicorn, scikit-learn) happen inside the handlers so `attrition --help`
stays instant. Every error is one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

MAX_TTL_S = 30 * 86400


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _settings(**overrides: Any) -> Any:
    """ServiceSettings from env plus CLI overrides; a bad value becomes one line (ValueError)."""
    from pydantic import ValidationError

    from attrition.service.settings import ServiceSettings

    try:
        return ServiceSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ValueError(f"{where}: {first['msg']}") from None


def serve(args: argparse.Namespace) -> int:
    """Verify the package (inside the app's start-up) and serve until SIGINT/SIGTERM."""
    import uvicorn

    from attrition.service.app import create_app
    from attrition.service.audit import AuditError, connect
    from attrition.service.settings import SettingsError

    if not 0 < args.port < 65536:
        return _fail(f"--port {args.port}: must be 1-65535")
    try:
        settings = _settings(package=args.package, scores=args.scores, audit_db=args.audit_db)
        app = create_app(settings)
        connect(settings.audit_db).close()  # fail now, in one line, not inside the lifespan
    except (ValueError, SettingsError, AuditError) as error:
        return _fail(str(error))
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


def token(args: argparse.Namespace) -> int:
    """Print a development JWT signed with ATTRITION_JWT_SECRET."""
    from attrition.service.auth import SCOPES, mint_token
    from attrition.service.settings import HMAC_ALGORITHMS, SettingsError

    scopes = [scope for value in args.scope for scope in value.split()]
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if not scopes or unknown:
        return _fail(f"--scope {' '.join(unknown) or '(none)'}: use one or more of {', '.join(SCOPES)}")
    if not 0 < args.ttl <= MAX_TTL_S:
        return _fail(f"--ttl {args.ttl}: must be 1-{MAX_TTL_S} seconds")
    if not args.sub.strip():
        return _fail("--sub: must be a non-empty subject name")
    try:
        settings = _settings()
        if settings.jwt_algorithm not in HMAC_ALGORITHMS:
            return _fail(
                f"tokens for {settings.jwt_algorithm} come from your identity provider; "
                "`attrition token` only signs HS256 development tokens"
            )
        print(mint_token(settings.signing_secret(), args.sub, scopes, args.ttl, settings.jwt_algorithm))
    except (ValueError, SettingsError) as error:
        return _fail(str(error))
    return 0


def audit_purge(args: argparse.Namespace) -> int:
    """Delete audit records older than --older-than from the store."""
    from attrition.service.audit import AuditError, connect, parse_duration, purge

    try:
        seconds = parse_duration(args.older_than)
        path = args.db or _settings().audit_db
        if not Path(path).exists():
            return _fail(f"audit store {path} does not exist (set ATTRITION_AUDIT_DB or --db)")
        connection = connect(Path(path))
        try:
            deleted = purge(connection, seconds)
        finally:
            connection.close()
    except (AuditError, ValueError) as error:
        return _fail(str(error))
    print(f"purged {deleted} audit records older than {args.older_than} from {path}")
    return 0


def register(commands: Any) -> None:
    """Add the service's subcommands to the `attrition` parser's subparsers."""
    run = commands.add_parser("serve", help="serve predictions over HTTP (FastAPI on uvicorn)")
    run.add_argument("--package", type=Path, help="model package dir (env ATTRITION_PACKAGE)")
    run.add_argument("--scores", type=Path, help="batch scores CSV (env ATTRITION_SCORES)")
    run.add_argument("--audit-db", type=Path, help="SQLite audit store (env ATTRITION_AUDIT_DB)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    run.set_defaults(handler=serve)

    mint = commands.add_parser("token", help="print a development JWT signed with ATTRITION_JWT_SECRET")
    mint.add_argument("--sub", required=True, help="subject (who the caller is)")
    mint.add_argument(
        "--scope",
        action="append",
        required=True,
        help="attrition:predict and/or attrition:admin (repeat or space-separate)",
    )
    mint.add_argument("--ttl", type=int, default=3600, help="seconds until expiry (default 3600)")
    mint.set_defaults(handler=token)

    audit = commands.add_parser("audit", help="audit store maintenance")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    purge = audit_commands.add_parser("purge", help="delete audit records older than a duration")
    purge.add_argument("--older-than", required=True, help="e.g. 180d, 12h, 30m, 2w")
    purge.add_argument("--db", type=Path, help="store path (default: env ATTRITION_AUDIT_DB)")
    purge.set_defaults(handler=audit_purge)


def main(argv: list[str] | None = None) -> int:
    """`attrition serve|token|audit ...`: the service's commands behind the one command list."""
    parser = argparse.ArgumentParser(prog="attrition", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))
