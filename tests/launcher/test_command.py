"""`attrition warm`: its command line, the cold fallback of a stage, and the real pipeline rebuilt
through it byte for byte as `dvc repro` built it one process per stage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from attrition.launcher import SERVER_VARIABLE
from tests.conftest import VENV_BIN, run, stage_env
from tests.support.one_process import md5, output_md5s, stage_commands


def attrition(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "attrition"), *args],
        cwd=cwd,
        env=stage_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_loads_no_launcher_module_into_a_stage() -> None:
    """A stage records every attrition module it loaded as its code identity (models/train.json); the
    launcher changes no output, so a cold stage must not load it (the lock would move with it)."""
    code = (
        "import sys, attrition.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('attrition.launcher')))"
    )
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "[]\n"


def test_warm_without_a_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = attrition("warm", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "error: warm needs a command to run after --, e.g. attrition warm -- dvc repro\n"


def test_warm_with_a_command_not_on_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = attrition("warm", "--", "no-such-program-here", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "error: warm: command not found: 'no-such-program-here' (a program on PATH)\n"


def test_warm_exits_with_its_command_s_code_and_says_what_it_served(tmp_path: Path) -> None:
    done = attrition("warm", "--", "sh", "-c", "echo ran; exit 3", cwd=tmp_path)
    assert done.returncode == 3
    assert done.stdout == "ran\n"
    assert done.stderr.startswith("attrition warm: 0 stage(s) forked from one interpreter"), done.stderr


def test_a_stage_whose_server_is_gone_reruns_itself_cold(tmp_path: Path) -> None:
    """The re-executed process prints the stage's own help: the stage ran, in a new interpreter."""
    done = attrition("generate", "--help", cwd=tmp_path, env={SERVER_VARIABLE: str(tmp_path / "gone")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: attrition generate")
    assert done.stderr == (
        f"attrition: no stage server at {tmp_path / 'gone'} (No such file or directory);"
        " running generate in a new process\n"
    )


@pytest.mark.dvc
def test_dvc_repro_through_warm_rebuilds_every_output_and_the_lock_byte_for_byte(
    repo_template: Path, built_repo: Path
) -> None:
    """The template was built by `dvc repro`, a process per stage, from scratch; every stage is forced
    here through the warm server. Code identities (train.json, the package) would differ if a fork
    kept a project module of the server's, and the lock if any output moved."""
    done = run([str(VENV_BIN / "attrition"), "warm", "--", "dvc", "repro", "-f"], built_repo)
    commands = stage_commands(built_repo / "dvc.yaml", built_repo / "params.yaml")
    assert f"attrition warm: {len(commands)} stage(s) forked from one interpreter" in done.stderr, done.stderr
    assert ", 0 ran cold;" in done.stderr, done.stderr
    assert output_md5s(built_repo, commands) == output_md5s(repo_template, commands)
    assert md5(built_repo / "dvc.lock") == md5(repo_template / "dvc.lock")
    assert "Data and pipelines are up to date." in run(["dvc", "status"], built_repo).stdout
