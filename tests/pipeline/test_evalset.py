"""The evalset stage: the version's hold-out plus fresh rows drawn with a seed training never uses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from attrition.dataset import FEATURES, TARGET
from attrition.method.synthetic import generate_frame
from attrition.params import ParamsError, parse_params
from attrition.pipeline.evalset import evaluation_frame, main

REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def small_params(version: int = 3, n_samples: int = 500) -> dict[str, object]:
    raw = yaml.safe_load(REPO_PARAMS.read_text())
    raw["version"] = version
    raw["evalset"]["n_samples"] = n_samples
    return dict(raw)


def test_holdout_then_fresh_rows_from_another_seed() -> None:
    params = parse_params(small_params())
    dataset = generate_frame(3, 800)
    frame = evaluation_frame(params, dataset)
    counts = frame["source"].value_counts().to_dict()
    assert counts == {"fresh": 500, "holdout": 160}
    fresh = frame[frame["source"] == "fresh"].reset_index(drop=True)[[*FEATURES, TARGET]]
    # the training data's first 500 rows come from seed 1234 + version; the fresh ones must not
    assert not fresh.equals(generate_frame(3, 500))
    assert fresh.equals(generate_frame(3, 500, seed=params.evalset.seed_base + 3))


def test_holdout_rows_are_the_ones_evaluate_scores() -> None:
    from attrition.dataset import holdout_split

    params = parse_params(small_params())
    dataset = generate_frame(3, 800)
    _, holdout = holdout_split(dataset, test_size=0.2, seed=42)
    frame = evaluation_frame(params, dataset)
    got = frame[frame["source"] == "holdout"].drop(columns="source").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, holdout.reset_index(drop=True))


def test_the_training_seed_base_is_refused() -> None:
    raw = small_params()
    raw["evalset"] = {"n_samples": 10, "seed_base": 1234}  # type: ignore[index]
    with pytest.raises(ParamsError, match="seed_base"):
        parse_params(raw)


def test_main_writes_the_csv_and_bad_params_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(small_params(n_samples=50)))
    data = tmp_path / "data.csv"
    generate_frame(3, 800).to_csv(data, index=False)
    out = tmp_path / "evalset.csv"
    assert main(["--params", str(params_path), "--data", str(data), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 210
    before = out.read_bytes()
    raw = small_params()
    raw["evalset"] = {"n_samples": 0}  # type: ignore[index]
    params_path.write_text(yaml.safe_dump(raw))
    assert main(["--params", str(params_path), "--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "evalset.n_samples" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == before  # nothing already written is lost
