"""Service fixtures: tokens, batch scores, and real uvicorn servers on random 127.0.0.1 ports.

`model_package` and `dataset_csv` come from tests/conftest.py (a package built by the stages).
Servers run in a thread of this process when a test needs the runtime, and as an `attrition serve`
subprocess when it needs signals (SIGHUP reload, SIGTERM drain). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn

from attrition.artifact import MANIFEST, manifest_text
from attrition.score import main as score_main
from attrition.service.app import create_app
from attrition.service.runtime import ServiceRuntime
from attrition.service.settings import ServiceSettings

SECRET = secrets.token_urlsafe(48)
START_TIMEOUT_S = 30.0

TokenFactory = Callable[..., str]


def make_token(
    scope: Any = "attrition:predict",
    sub: str | None = "tester",
    ttl: int = 600,
    secret: str = SECRET,
    algorithm: str = "HS256",
    **extra: Any,
) -> str:
    """A token like `attrition token` mints (override anything to make it bad)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "scope": scope, "iat": now, "exp": now + ttl, **extra}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def scores_csv(model_package: Path, dataset_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The score stage's output for the fixture package and its dataset."""
    out = tmp_path_factory.mktemp("scores") / "batch_scores.csv"
    assert score_main(["--package", str(model_package), "--data", str(dataset_csv), "--out", str(out)]) == 0
    return out


def rewrite_version(package: Path, version: str) -> None:
    """Give a package copy a new model_version and a matching manifest (a 'new release')."""
    meta_path = package / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["model_version"] = version
    meta_path.write_text(json.dumps(meta, indent=2))
    (package / MANIFEST).write_text(manifest_text(package))


def tamper(package: Path) -> None:
    """Change one byte of the model file without updating the manifest."""
    model = package / "model.joblib"
    data = bytearray(model.read_bytes())
    data[-1] ^= 0xFF
    model.write_bytes(bytes(data))


@dataclass
class Server:
    """A running service: its URL and (for in-thread servers) its runtime."""

    url: str
    runtime: ServiceRuntime | None
    settings: ServiceSettings

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)


def settings_for(tmp: Path, package: Path, scores: Path, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        package=package,
        scores=scores,
        audit_db=tmp / "audit.sqlite",
        jwt_secret=SECRET,
        **overrides,
    )


@contextlib.contextmanager
def serve_in_thread(settings: ServiceSettings) -> Iterator[Server]:
    """uvicorn on a socket bound to port 0, in a thread; stopped cleanly (lifespan shutdown)."""
    app = create_app(settings)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", log_level="warning", access_log=False, lifespan="on"
    )
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Subprocess:
    """`attrition serve` in a child process."""

    proc: subprocess.Popen[str]
    url: str

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)


@contextlib.contextmanager
def serve_subprocess(settings: ServiceSettings, log: Path) -> Iterator[Subprocess]:
    """Start `python -m attrition.cli serve`, wait for /healthz, SIGTERM (then kill) at the end."""
    port = free_port()
    env = {
        **os.environ,
        "ATTRITION_JWT_SECRET": SECRET,
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
    ]
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited {proc.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
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


@pytest.fixture(scope="module")
def live(model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One healthy server shared by a test module (read-mostly tests)."""
    tmp = tmp_path_factory.mktemp("live")
    with serve_in_thread(settings_for(tmp, model_package, scores_csv)) as server:
        yield server


@pytest.fixture
def package_dir(model_package: Path, tmp_path: Path) -> Path:
    """A private, modifiable copy of the package for reload and fallback tests."""
    return Path(shutil.copytree(model_package, tmp_path / "attrition-model"))


@pytest.fixture
def predict_token() -> str:
    return make_token("attrition:predict")


@pytest.fixture
def admin_token() -> str:
    return make_token("attrition:admin", sub="operator")
