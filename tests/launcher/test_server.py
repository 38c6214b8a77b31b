"""The stage server and its client, on a stand-in entry point (tests/support/warm_entry.py): what a
fork sees, which requests are refused, and that a killed client or stage ends the other as a cold
stage process would have ended."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from attrition.launcher import SERVER_VARIABLE
from tests.conftest import REPO_ROOT

# A server whose command is a sleeper: it serves until the test ends the sleeper.
SERVER = textwrap.dedent(
    """
    import sys
    from attrition.launcher.server import serve
    outcome = serve([sys.executable, "-c", "import time; time.sleep(300)"],
                    entry="tests.support.warm_entry", directory=sys.argv[1])
    print(outcome.tally.served, outcome.tally.refused, flush=True)
    """
)
# A client as `attrition <stage>` runs one: argv after the script name, the exit code or a refusal.
CLIENT = textwrap.dedent(
    """
    import os, sys
    from attrition.launcher.client import run_served
    outcome = run_served(os.environ["ATTRITION_STAGE_SERVER"], ["attrition", *sys.argv[1:]])
    sys.exit(outcome if isinstance(outcome, int) else "refused: " + outcome)
    """
)


@pytest.fixture
def server() -> Iterator[str]:
    """The socket of a running stage server (a short path: AF_UNIX allows 108 bytes)."""
    directory = tempfile.mkdtemp(prefix="aw-")
    address = str(Path(directory) / "server.sock")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, directory],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not Path(address).exists():
        assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield address
    for child in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split():
        os.kill(int(child), signal.SIGKILL)  # the sleeper: the server then closes and exits
    process.wait(timeout=20)
    Path(directory).rmdir()


def client(
    address: str, *args: str, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), SERVER_VARIABLE: address, **(env or {})}
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-c", CLIENT, *args],
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_a_fork_runs_with_the_client_s_argv_directory_umask_environment_and_streams(
    server: str, tmp_path: Path
) -> None:
    process = client(server, "echo", "3", env={"WARM_TEST": "yes"}, cwd=tmp_path, umask=0o027)
    out, err = process.communicate("from stdin", timeout=30)
    assert process.returncode == 3, err
    seen = json.loads(out)
    assert seen["argv"] == ["attrition", "echo", "3"]
    assert seen["cwd"] == str(tmp_path)
    assert seen["umask"] == 0o027
    assert seen["environment"]["WARM_TEST"] == "yes"
    assert SERVER_VARIABLE not in seen["environment"]  # a stage that starts `attrition` itself runs it cold
    assert seen["stdin"] == "from stdin"
    assert seen["pid"] != process.pid and seen["ppid"] != process.pid  # a fork of the server, not the client
    assert err == "to stderr\n"


def test_a_client_under_another_import_time_environment_is_refused_with_the_reason(server: str) -> None:
    process = client(server, "echo", env={"NPY_DISABLE_CPU_FEATURES": "AVX512F"})
    out, err = process.communicate("", timeout=30)
    assert process.returncode == 1 and out == ""
    assert err.strip() == "refused: the stage server runs with another NPY_DISABLE_CPU_FEATURES"


def test_a_command_that_is_no_stage_is_refused(server: str) -> None:
    process = client(server, "serve")
    _, err = process.communicate("", timeout=30)
    assert "refused: 'serve' is not a stage command (echo, sleep, die)" in err


def test_a_stage_that_dies_of_a_signal_ends_its_client_by_the_same_signal(server: str) -> None:
    process = client(server, "die")
    process.communicate("", timeout=30)
    assert process.returncode == -signal.SIGTERM


def test_sigterm_to_the_client_reaches_the_stage(server: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    process = client(server, "sleep", env={"WARM_TEST_PID": str(pid_file)})
    stage = wait_for_pid(pid_file)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGTERM
    assert gone(stage)


def test_a_killed_client_takes_its_stage_with_it(server: str, tmp_path: Path) -> None:
    """DVC killing a stage (SIGKILL, which cannot be forwarded) must not leave the fork running."""
    pid_file = tmp_path / "pid"
    process = client(server, "sleep", env={"WARM_TEST_PID": str(pid_file)})
    stage = wait_for_pid(pid_file)
    process.kill()
    process.communicate(timeout=30)
    assert gone(stage)


def test_a_connection_that_sends_no_request_does_not_stop_the_server(server: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as junk:
        junk.connect(server)
        junk.sendall(b"\x00\x00\x00\x05{nope")
    process = client(server, "echo")
    out, _ = process.communicate("", timeout=30)
    assert process.returncode == 0 and json.loads(out)["argv"] == ["attrition", "echo"]


def wait_for_pid(path: Path) -> int:
    deadline = time.monotonic() + 20
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, "the stage never started"
        time.sleep(0.02)
    return int(path.read_text())


def gone(pid: int) -> bool:
    """Whether process `pid` has ended (and been reaped) within 10 s."""
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
