"""Builders for the service tests: the sample employee, tokens, package copies, batch scores, servers.

Servers run in a thread of the test process when a test needs the runtime, and as an
`attrition serve` subprocess when it needs signals (SIGHUP reload, SIGTERM drain) or TLS. Every
wait is bounded. Imported explicitly by the tests (never through conftest).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn

from attrition.audit.errors import AuditUnavailableError
from attrition.audit.records import PredictionRow
from attrition.audit.writer import StoreHealth
from attrition.modelpkg.artifact import seal
from attrition.service.app import create_app
from attrition.service.commands.serve import server_options
from attrition.service.core.runtime import ServiceRuntime
from attrition.service.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, ServiceSettings

SECRET = secrets.token_urlsafe(48)
START_TIMEOUT_S = 30.0

# The one sample employee every service test sends (valid for any package's roles: Sales).
SAMPLE_EMPLOYEE: dict[str, Any] = {
    "age": 34,
    "job_role": "Sales",
    "monthly_income": 3200.5,
    "years_at_company": 2,
}


def make_token(
    scope: Any = "attrition:predict",
    sub: str | None = "tester",
    ttl: int = 600,
    secret: str = SECRET,
    algorithm: str = "HS256",
    **extra: Any,
) -> str:
    """A token like `attrition token` mints (override anything to make it bad; None drops a claim)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "scope": scope,
        "iat": now,
        "exp": now + ttl,
        "aud": DEFAULT_JWT_AUDIENCE,
        "iss": DEFAULT_JWT_ISSUER,
        **extra,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


def rewrite_version(package: Path, version: str) -> None:
    """Give a package copy a new model_version and a matching manifest (a 'new release')."""
    meta_path = package / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["model_version"] = version
    meta_path.write_text(json.dumps(meta, indent=2))
    seal(package)


def tamper(package: Path, name: str = "model.joblib") -> None:
    """Change one byte of a package file without updating the manifest."""
    target = package / name
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))


@dataclass
class Server:
    """A running service: its URL and (for in-thread servers) its runtime."""

    url: str
    runtime: ServiceRuntime | None
    settings: ServiceSettings

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this server (10 s timeout unless overridden)."""
        return httpx.Client(base_url=self.url, **{"timeout": 10.0, **kwargs})


def settings_for(tmp: Path, package: Path, scores: Path, **overrides: Any) -> ServiceSettings:
    """Settings for a test server: its own audit store under `tmp`, the test secret."""
    values: dict[str, Any] = {
        "package": package,
        "scores": scores,
        "audit_db": tmp / "audit.sqlite",
        "jwt_secret": SECRET,
        **overrides,
    }
    return ServiceSettings(**values)


@contextlib.contextmanager
def serve_in_thread(
    settings: ServiceSettings, runtime: ServiceRuntime | None = None, *, predict_fast_path: bool = True
) -> Iterator[Server]:
    """uvicorn on a socket bound to port 0, in a thread, with `attrition serve`'s limits; stopped
    cleanly (lifespan shutdown)."""
    app = create_app(settings, runtime, predict_fast_path=predict_fast_path)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = server_options(settings, metrics=app.state.runtime.metrics)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("in-thread server did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", app.state.runtime, settings)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        sock.close()
        assert not thread.is_alive(), "server did not shut down"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any ATTRITION_* variable, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTRITION_")}
    return {**env, **values}


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m attrition.cli ARGS` in a child process (bounded), capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "attrition.cli", *args],
        env=dict(env if env is not None else clean_env(ATTRITION_JWT_SECRET=SECRET)),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Subprocess:
    """`attrition serve` in a child process."""

    proc: subprocess.Popen[str]
    url: str

    def signal(self, signum: int) -> None:
        """Send `signum` to the server."""
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float = 30.0) -> int:
        """The server's exit status (bounded wait)."""
        return self.proc.wait(timeout)


@contextlib.contextmanager
def serve_subprocess(
    settings: ServiceSettings,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    scheme: str = "http",
    verify: Any = True,
    cwd: Path | None = None,
) -> Iterator[Subprocess]:
    """Start `python -m attrition.cli serve`, wait for /healthz, SIGTERM (then kill) at the end.

    `env` replaces the default environment (the test secret in ATTRITION_JWT_SECRET).
    """
    port = free_port()
    base_env = env if env is not None else clean_env(ATTRITION_JWT_SECRET=SECRET)
    full_env = {
        **base_env,
        "ATTRITION_AUDIT_DB": str(settings.audit_db),
        "ATTRITION_AUDIT_PURGE_INTERVAL_S": str(settings.audit_purge_interval_s),
    }
    cmd = [
        sys.executable,
        "-m",
        "attrition.cli",
        "serve",
        "--package",
        str(settings.package),
        "--scores",
        str(settings.scores),
        "--port",
        str(port),
        "--log-level",
        "info",
        *extra_args,
    ]
    with log.open("w") as handle:
        proc = subprocess.Popen(
            cmd, env=full_env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, text=True
        )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited {proc.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0, verify=verify).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {log.read_text()}")
            time.sleep(0.1)
        yield Subprocess(proc, url)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def stored_rows(audit_db: str, sql: str) -> list[dict[str, Any]]:
    """Rows of a query on an audit store (either backend) through a fresh engine: what another
    replica or the monitor would see."""
    import sqlalchemy as sa

    from attrition.audit.database import create_audit_engine, parse_audit_db

    engine = create_audit_engine(parse_audit_db(audit_db), must_exist=True)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def model_json(package: Path) -> dict[str, Any]:
    """The data-only model the package stage wrote (what the serving image loads)."""
    from attrition.modelpkg.artifact import MODEL_DATA_FILE

    return dict(json.loads((package / MODEL_DATA_FILE).read_text(encoding="utf-8")))


def drop_model_json(package: Path) -> None:
    """Make a package copy look like one from before model.json existed (joblib only), resealed."""
    from attrition.modelpkg.artifact import MODEL_DATA_FILE

    (package / MODEL_DATA_FILE).unlink()
    seal(package)


def rewrite_manifest(package: Path) -> None:
    """Re-hash a package copy after a deliberate change (so only the content check can object)."""
    seal(package)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 and localhost (cert.pem, key.pem), valid for a day."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attrition test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class ListAudit:
    """An audit sink that commits rows to a list, or refuses them like a store failing closed."""

    def __init__(self, refuse: bool = False) -> None:
        self.records: list[PredictionRow] = []
        self.refuse = refuse

    def start(self) -> None:
        pass

    async def record(self, rows: Sequence[PredictionRow]) -> None:
        if self.refuse:
            raise AuditUnavailableError("audit store failing for 11.0 s (bound 10 s): connection refused")
        self.records.extend(rows)

    def health(self) -> StoreHealth:
        return StoreHealth(not self.refuse, "down" if self.refuse else None, "memory", 0)

    def request_purge(self, older_than_s: float) -> Future[int]:
        done: Future[int] = Future()
        done.set_result(0)
        return done

    def close(self) -> None:
        pass

    @property
    def engine(self) -> object:
        raise NotImplementedError
