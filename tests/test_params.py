"""params.yaml validation: one line naming the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from attrition.params import ParamsError, load_params, main, parse_params
from tests.conftest import REPO_ROOT


def test_committed_params_are_valid() -> None:
    params = load_params(REPO_ROOT / "params.yaml")
    assert params.version >= 1
    assert params.train.model in {"logreg", "hgb"}
    assert params.train.grid()


def test_defaults_fill_missing_sections() -> None:
    params = parse_params({"version": 2})
    assert params.generate.n_samples == 800
    assert params.evaluate.age_bands == [30, 45]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"version": 0}, "version"),
        ({"version": -3}, "version"),
        ({"version": "abc"}, "version"),
        ({"version": 2.5}, "version"),
        ({"version": True}, "version"),
        ({}, "version"),
        ({"version": 1, "generate": {"n_samples": 0}}, "generate.n_samples"),
        ({"version": 1, "generate": {"n_samples": -1}}, "generate.n_samples"),
        ({"version": 1, "train": {"test_size": 0}}, "train.test_size"),
        ({"version": 1, "train": {"test_size": 1}}, "train.test_size"),
        ({"version": 1, "train": {"test_size": 1.5}}, "train.test_size"),
        ({"version": 1, "train": {"model": "xgboost"}}, "train.model"),
        ({"version": 1, "train": {"modle": "hgb"}}, "train.modle"),
        ({"version": 1, "evaluate": {"age_bands": [45, 30]}}, "evaluate"),
        ({"version": 1, "monitor": {"estimate": {"labelled_share": 1.5}}}, "monitor.estimate.labelled_share"),
        ({"version": 1, "monitor": {"estimate": {"score_bins": 2}}}, "monitor.estimate.score_bins"),
    ],
)
def test_invalid_values_name_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    message = str(caught.value)
    assert key in message
    assert "\n" not in message


def test_allowed_values_are_spelled_out() -> None:
    with pytest.raises(ParamsError, match="'logreg' or 'hgb'"):
        parse_params({"version": 1, "train": {"model": "svm"}})
    with pytest.raises(ParamsError, match="strictly between 0 and 1"):
        parse_params({"version": 1, "train": {"test_size": 2}})
    with pytest.raises(ParamsError, match=r"a share in \(0, 1\]"):
        parse_params({"version": 1, "monitor": {"estimate": {"labelled_share": 0}}})


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [1\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ParamsError, match="mapping"):
        load_params(listing)


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("version: 4\n")
    bad.write_text("version: abc\n")
    assert main([str(good)]) == 0
    assert main([str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_an_experiment_override_changes_only_its_own_line(tmp_path: Path) -> None:
    """`dvc exp run -S` must not reformat params.yaml (flow-style lists would be rewritten)."""
    from dvc.utils.hydra import apply_overrides

    copy = tmp_path / "params.yaml"
    original = (REPO_ROOT / "params.yaml").read_text(encoding="utf-8")
    copy.write_text(original, encoding="utf-8")
    apply_overrides(str(copy), ["train.model=logreg", "generate.n_samples=900"])
    rewritten = copy.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(original.splitlines(), rewritten, strict=True) if a != b]
    assert [b.split("#")[0].strip() for _, b in changed] == ["n_samples: 900", "model: logreg"]
