"""Install the real system components a test needs (PostgreSQL, Prometheus, dockerd, ...) on demand.

CI runs on a fresh machine as root with Debian's package registry reachable, so a test that needs a
binary installs its Debian package when it is missing instead of assuming a hand-installed one. Every
call is bounded in time; a machine where installing is impossible skips the test with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

APT_TIMEOUT_S = 900
_apt_lock = threading.Lock()
_apt_updated = False


def _apt(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args], capture_output=True, text=True, timeout=APT_TIMEOUT_S, env=env, check=False
    )


def ensure_command(command: str, package: str) -> str:
    """The path of `command`, installing Debian's `package` first when it is missing.

    Skips the calling test (with apt's last line) when the package cannot be installed here.
    """
    found = shutil.which(command)
    if found:
        return found
    global _apt_updated
    with _apt_lock:
        found = shutil.which(command)
        if found:
            return found
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip(f"{command} is missing and apt-get as root is not available to install {package}")
        if not _apt_updated:
            _apt(["update", "-q"])
            _apt_updated = True
        done = _apt(["install", "-y", "-q", "--no-install-recommends", package])
        found = shutil.which(command)
        if done.returncode != 0 or not found:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            pytest.skip(f"could not install {package} for {command}: {last[0]}")
        return found


@contextlib.contextmanager
def logged_process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server process whose output goes to `log`; terminated (killed after 20 s) on exit."""
    with log.open("w") as handle:
        proc = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def get_json(url: str) -> Any:
    """GET `url` (5 s timeout) and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())
