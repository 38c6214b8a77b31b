"""`attrition serve`: verify the package (in the app's start-up) and serve until SIGINT/SIGTERM.

HTTPS directly with --ssl-certfile/--ssl-keyfile (behind an Ingress that terminates TLS, plain
HTTP is enough): TLS 1.2 with forward-secret AEAD suites only, or TLS 1.3. `--dev` is development
mode: a local secret that `attrition token` shares, and tokens without `aud`/`iss` accepted.

uvicorn runs with the settings' limits (`server_options`): request heads capped in size and time,
bodies in time, idle connections closed, connections plus requests in flight bounded; and every log
record goes through one formatter that escapes control characters (core/log_safety.py).

Heavy imports (FastAPI, uvicorn) happen inside `run` so `attrition --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrition.service.commands.shell import OneLineParser, fail, load_settings

if TYPE_CHECKING:
    import ssl

    from attrition.service.core.metrics import ServiceMetrics
    from attrition.service.settings import ServiceSettings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# TLS 1.2 suites: ephemeral ECDH and AEAD only (no CBC, no static RSA); TLS 1.3's are all AEAD.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"
GRACEFUL_SHUTDOWN_S = 30


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
        "--online-features",
        type=Path,
        default=unset,
        help="online feature file from `attrition features materialize`: /predict with an employee_id "
        "alone scores that employee's features from it (default: env ATTRITION_ONLINE_FEATURES, or "
        "none: only requests with all four features are scored live)",
    )
    parser.add_argument(
        "--audit-db",
        default=unset,
        help="audit store: SQLite path, sqlite:///path or postgresql://user@host:port/db "
        "(default: env ATTRITION_AUDIT_DB, the URL in ATTRITION_AUDIT_DB_FILE, or audit/audit.sqlite)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8000, help="TCP port to bind")
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="server log level")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development mode: with no ATTRITION_JWT_SECRET(_FILE) set, sign tokens with "
        ".attrition/dev-secret (created 0600 when missing; `attrition token` reads the same file), "
        "and accept tokens without aud/iss unless ATTRITION_JWT_AUDIENCE/ISSUER are set",
    )
    parser.add_argument(
        "--ssl-certfile", type=Path, default=unset, help="PEM certificate (chain) to serve HTTPS directly"
    )
    parser.add_argument("--ssl-keyfile", type=Path, default=unset, help="PEM private key of --ssl-certfile")


def check_tls(certfile: Path | None, keyfile: Path | None) -> str | None:
    """Why the TLS flags cannot work (one line), or None when they are absent or load fine."""
    import ssl

    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        return "--ssl-certfile and --ssl-keyfile: give both or neither"
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as error:
        return (
            f"--ssl-certfile {certfile} / --ssl-keyfile {keyfile}: not a matching PEM pair ({error.reason})"
        )
    except OSError as error:  # after SSLError, its subclass
        return f"--ssl-certfile {certfile} / --ssl-keyfile {keyfile}: {error.strerror or error}"
    return None


def tls_context(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's context (certificate, TLS12_CIPHERS) with an explicit floor of TLS 1.2."""
    import ssl

    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


def server_options(
    settings: ServiceSettings,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    *,
    metrics: ServiceMetrics | None = None,
) -> dict[str, Any]:
    """uvicorn.Config keyword arguments that enforce the settings' connection limits (and TLS);
    connections they refuse are counted in `metrics` (the app's)."""
    from attrition.service.api.protocol import limited_protocol

    options: dict[str, Any] = {
        "loop": "uvloop",
        "http": limited_protocol(
            settings.max_header_bytes,
            settings.header_timeout_s,
            settings.body_timeout_s,
            None if metrics is None else metrics.connections_refused,
        ),
        "limit_concurrency": settings.max_concurrency,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "access_log": False,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    if certfile is not None:
        options |= {
            "ssl_certfile": str(certfile),
            "ssl_keyfile": None if keyfile is None else str(keyfile),
            "ssl_ciphers": TLS12_CIPHERS,
            "ssl_context_factory": tls_context,
        }
    return options


def check_audit_store(settings: ServiceSettings) -> None:
    """Open and close the audit store before uvicorn starts, so a malformed URL, an unreachable
    database or a schema newer than this code is one line and a non-zero exit (AuditConfigError),
    not a traceback inside the lifespan. Opening creates or upgrades the schema; a refusal touches
    nothing."""
    from attrition.audit.writer import AuditStore

    store = AuditStore(settings.audit_location(), outage_bound_s=settings.audit_outage_bound_s)
    store.open()
    store.close()


def run(args: argparse.Namespace) -> int:
    """Check every setting in one line each, then hand the app to uvicorn."""
    import uvicorn

    from attrition.audit.errors import AuditConfigError
    from attrition.service.app import create_app
    from attrition.service.core.dev_secret import ensure_dev_secret
    from attrition.service.core.log_safety import logging_config
    from attrition.service.settings import HMAC_ALGORITHMS, SettingsError

    if not 0 < args.port < 65536:
        return fail(f"--port {args.port}: must be 1-65535")
    certfile, keyfile = getattr(args, "ssl_certfile", None), getattr(args, "ssl_keyfile", None)
    tls_problem = check_tls(certfile, keyfile)
    if tls_problem:
        return fail(tls_problem)
    try:
        settings = load_settings(
            package=getattr(args, "package", None),
            scores=getattr(args, "scores", None),
            online_features=getattr(args, "online_features", None),
            audit_db=getattr(args, "audit_db", None),
        )
        if args.dev:
            settings = settings.model_copy(update={"dev_mode": True})
        if args.dev and not settings.has_secret() and settings.jwt_algorithm in HMAC_ALGORITHMS:
            path, created = ensure_dev_secret()
            settings = settings.model_copy(update={"jwt_secret_file": path.resolve()})
            print(
                f"development secret {'created in' if created else 'read from'} {path}; "
                "`attrition token` in another terminal of this checkout signs with it",
                file=sys.stderr,
            )
        app = create_app(settings)
        check_audit_store(settings)
    except (ValueError, SettingsError, AuditConfigError, OSError) as error:
        return fail(str(error))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=logging_config(args.log_level),
        log_level=args.log_level,
        **server_options(settings, certfile, keyfile, metrics=app.state.runtime.metrics),
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: `attrition serve [flags]`."""
    parser = OneLineParser(prog="attrition serve", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
