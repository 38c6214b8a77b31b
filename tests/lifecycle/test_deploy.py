"""Deploy's atomic swap and its refusals; the live-service swap is in the registry end-to-end test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from attrition.lifecycle.deploy import CURRENT, DeployError, main, swap_current


def test_swap_points_current_at_the_new_release_and_returns_the_old(tmp_path: Path) -> None:
    first, second = tmp_path / "releases" / "a", tmp_path / "releases" / "b"
    first.mkdir(parents=True)
    second.mkdir()
    assert swap_current(tmp_path, first) is None
    assert (tmp_path / CURRENT).resolve() == first.resolve()
    assert swap_current(tmp_path, second) == Path("releases/a")
    assert (tmp_path / CURRENT).resolve() == second.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == [CURRENT, "releases"]  # no staging link left


def test_swap_refuses_to_replace_a_real_directory(tmp_path: Path) -> None:
    (tmp_path / CURRENT).mkdir()
    (tmp_path / "releases" / "a").mkdir(parents=True)
    with pytest.raises(DeployError, match="not a symlink"):
        swap_current(tmp_path, tmp_path / "releases" / "a")


def test_a_failed_fetch_leaves_current_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serving = tmp_path / "serving"
    (serving / "releases" / "old").mkdir(parents=True)
    swap_current(serving, serving / "releases" / "old")
    empty_repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(empty_repo)], check=True)
    code = main(["--stage", "prod", "--to", str(serving), "--repo", str(empty_repo)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert (serving / CURRENT).readlink() == Path("releases/old")
    assert sorted(p.name for p in (serving / "releases").iterdir()) == ["old"]  # no half-fetched release


def test_bad_usage_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--stage", "prod", "--to", str(tmp_path), "--reload-url", "http://127.0.0.1:9/admin/reload"])
        == 2
    )
    assert "--token-file" in capsys.readouterr().err
    missing = tmp_path / "missing-token"
    assert (
        main(
            [
                "--stage",
                "prod",
                "--to",
                str(tmp_path),
                "--reload-url",
                "http://x",
                "--token-file",
                str(missing),
            ]
        )
        == 2
    )
    assert "missing-token" in capsys.readouterr().err
    assert main(["--stage", "prod", "--to", str(tmp_path), "--pid", "0"]) == 2
