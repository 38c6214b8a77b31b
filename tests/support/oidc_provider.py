"""A real OpenID provider for the tests: oauth2-mock-server (npm) run by the machine's Node.js.

tests/support/oidc/ holds the committed package.json and package-lock.json; `npm ci` installs them
there when node_modules is missing (once, under a file lock, so xdist workers do not race), and
provider.mjs starts the server on 127.0.0.1 with an OS-chosen port. Every wait is bounded; a machine
without Node.js 20.19+ and npm skips the test with the reason.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fasteners
import httpx
import pytest

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
NPM_TIMEOUT_S = 300
START_TIMEOUT_S = 20.0


def ensure_node_modules() -> str:
    """The node binary, after installing the provider's locked packages when they are missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed for the OpenID provider (Debian: nodejs, npm)")
    marker = OIDC_DIR / "node_modules" / "oauth2-mock-server" / "package.json"
    with fasteners.InterProcessLock(str(OIDC_DIR / ".install.lock")):
        if not marker.exists():
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=OIDC_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_S,
                check=False,
            )
            if done.returncode != 0:
                last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                pytest.skip(f"npm ci in {OIDC_DIR} failed: {last[0]}")
    return node


@dataclass
class Provider:
    """A running provider: its issuer URL and process."""

    issuer: str
    proc: subprocess.Popen[str]

    def client_credentials(self, scope: str, client_id: str = "hr-batch", **extra: Any) -> str:
        """An access token from the token endpoint (client-credentials grant)."""
        data = {"grant_type": "client_credentials", "client_id": client_id, "scope": scope, **extra}
        answer = httpx.post(f"{self.issuer}/token", data=data, timeout=10)
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token

    def rotate(self) -> str:
        """Publish a new signing key and sign with it from now on; returns its kid."""
        answer = httpx.post(f"{self.issuer}/test/rotate", timeout=10)
        answer.raise_for_status()
        kid: str = answer.json()["kid"]
        return kid

    def set_user_scopes(self, scope: str) -> None:
        """The scopes the next sign-ins (authorization code) get."""
        httpx.post(f"{self.issuer}/test/user-scopes", data={"scope": scope}, timeout=10).raise_for_status()

    def stop(self) -> None:
        """Stop the provider (bounded); idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@contextlib.contextmanager
def run_provider(log: Path, audience: str = "attrition") -> Iterator[Provider]:
    """oauth2-mock-server on 127.0.0.1 until the block ends; its output goes to `log` (never a pipe
    nobody reads, which would stall it once full)."""
    node = ensure_node_modules()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [node, "provider.mjs", audience], cwd=OIDC_DIR, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    provider: Provider | None = None
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        ready = None
        while ready is None and proc.poll() is None and time.monotonic() < deadline:
            ready = next((line for line in log.read_text().splitlines() if line.startswith("ready ")), None)
            if ready is None:
                time.sleep(0.05)
        if ready is None:
            raise RuntimeError(f"the OpenID provider did not start: {log.read_text()[-500:] or 'no output'}")
        provider = Provider(ready.split()[1], proc)
        yield provider
    finally:
        if provider is not None:
            provider.stop()
        elif proc.poll() is None:
            proc.kill()
            proc.wait(10)
