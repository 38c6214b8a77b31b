"""The generate stage against the seed exercise's own function."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from attrition.method import synthetic
from attrition.pipeline import generate
from tests import seed_generator


@pytest.mark.parametrize("version", [*range(1, 13), 25, 99, 100, 1000, 4242])
def test_csv_is_byte_identical_to_the_seed_function(version: int, tmp_path: Path) -> None:
    seed_path = Path(seed_generator.generate_attrition_dataset(version, save_dir=str(tmp_path)))
    ours = tmp_path / "ours.csv"
    assert generate.main(["--params", str(_params(tmp_path, version)), "--out", str(ours)]) == 0
    assert ours.read_bytes() == seed_path.read_bytes()
    assert seed_path.name == synthetic.dataset_filename(version)


def test_n_samples_keeps_the_seed_stream_and_columns() -> None:
    small, large = synthetic.generate_frame(3, 800), synthetic.generate_frame(3, 5000)
    assert list(large.columns) == ["age", "job_role", "monthly_income", "years_at_company", "attrition"]
    assert len(large) == 5000
    # The first draw (ages) is a prefix of the same stream.
    assert (large["age"].head(800).to_numpy() == small["age"].to_numpy()).all()


def test_generator_does_not_touch_numpys_global_state() -> None:
    import numpy as np

    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    synthetic.generate_frame(2, 100)
    assert np.random.rand() == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("version: 0", "version"),
        ("version: -3", "version"),
        ("version: abc", "version"),
        ("version: 2.5", "version"),
        ("version: 3\ngenerate:\n  n_samples: 0", "generate.n_samples"),
        ("version: 3\ngenerate:\n  n_samples: -5", "generate.n_samples"),
    ],
)
def test_bad_params_exit_non_zero_with_one_line_and_keep_the_old_file(
    line: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data.csv"
    out.write_text("previous output\n")
    params = tmp_path / "params.yaml"
    params.write_text(line + "\n")
    assert generate.main(["--params", str(params), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "allowed" in err
    assert out.read_text() == "previous output\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _params(directory: Path, version: int) -> Path:
    path = directory / f"params_{version}.yaml"
    path.write_text(f"version: {version}\n")
    return path


def test_module_runs_as_a_script(tmp_path: Path) -> None:
    import subprocess

    out = tmp_path / "v1.csv"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "attrition.pipeline.generate",
            "--params",
            str(_params(tmp_path, 1)),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert out.read_text().startswith("age,job_role,monthly_income,years_at_company,attrition\n")
