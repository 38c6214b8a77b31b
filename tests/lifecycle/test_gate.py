"""The promotion gate: the paired curve bootstrap against a naive loop, the rules, and the verdicts."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrition.lifecycle.gate.cli import main
from attrition.lifecycle.gate.curves import (
    PairedRows,
    paired_curve_differences,
    paired_curve_draws,
    resample_weights,
)
from attrition.lifecycle.gate.rules import (
    RuleResult,
    bias_rule,
    combine,
    judge,
    recall_drop_rule,
    superiority_rule,
)
from attrition.method.confidence import Estimate
from attrition.method.groups import GroupComparison, compare_groups
from attrition.modelpkg.artifact import MODEL_FILE
from attrition.params import GateParams

PARAMS = str(Path(__file__).resolve().parents[2] / "params.yaml")


def gate_args(candidate: Path, production: Path, data: Path, *extra: str) -> list[str]:
    """The gate's command line with the repository's params.yaml."""
    paths = ["--candidate", str(candidate), "--production", str(production), "--data", str(data)]
    return [*paths, "--params", PARAMS, *extra]


def naive_reads(
    y: np.ndarray, scores: np.ndarray, weights: np.ndarray, tp_target: int, flagged_target: int
) -> tuple[float, float]:
    """One curve read the slow, obvious way: try every distinct score as a threshold."""
    best_precision, best_recall = -np.inf, 0.0
    positives = int((weights * y).sum())
    for threshold in np.unique(scores):
        flagged = scores >= threshold
        tp = int((weights * (y & flagged)).sum())
        n_flagged = int((weights * flagged).sum())
        precision = tp / n_flagged if n_flagged else 0.0
        if tp >= tp_target:
            best_precision = max(best_precision, precision)
        if n_flagged and tp * flagged_target >= tp_target * n_flagged:
            best_recall = max(best_recall, tp / positives)
    return best_precision, best_recall


def random_rows(rng: np.random.Generator, n: int, *, ties: bool) -> PairedRows:
    y = rng.random(n) < 0.3
    candidate = rng.random(n) + y * 0.5
    production = rng.random(n) + y * 0.2
    if ties:  # coarse scores make ties, which must be flagged together
        candidate, production = np.round(candidate, 1), np.round(production, 1)
    bands = rng.choice(["<30", "30-44", "45+"], size=n)
    return PairedRows(y, candidate, production, 0.7, 0.6, bands)


@pytest.mark.parametrize("ties", [False, True])
def test_vectorised_curve_reads_match_a_naive_loop(ties: bool) -> None:
    rng = np.random.default_rng(3)
    rows = random_rows(rng, 60, ties=ties)
    weights = resample_weights(60, 5, rng)
    draws = paired_curve_draws(rows, weights)
    decided_p = rows.production_decided
    for b in range(5):
        w = weights[b].astype(np.int64)
        tp_target = int((w * (rows.y & decided_p)).sum())
        flagged_target = int((w * decided_p).sum())
        cand = naive_reads(rows.y, rows.candidate_scores, w, tp_target, flagged_target)
        prod = naive_reads(rows.y, rows.production_scores, w, tp_target, flagged_target)
        assert draws["precision_at_production_recall"][b] == pytest.approx(cand[0] - prod[0])
        assert draws["recall_at_production_precision"][b] == pytest.approx(cand[1] - prod[1])


def test_resample_weights_draw_n_rows_per_resample() -> None:
    weights = resample_weights(50, 7, np.random.default_rng(0))
    assert weights.shape == (7, 50)
    assert (weights.sum(axis=1) == 50).all()
    assert weights.min() >= 0


def test_identical_models_differ_by_exactly_zero_in_every_resample() -> None:
    rows = random_rows(np.random.default_rng(1), 400, ties=False)
    same = PairedRows(rows.y, rows.production_scores, rows.production_scores, 0.6, 0.6, rows.bands)
    result = paired_curve_differences(same, n=200, seed=1, chunk_cells=10_000)
    for name in ("precision_at_production_recall", "recall_at_production_precision"):
        assert (result[name].value, result[name].low, result[name].high) == (0.0, 0.0, 0.0)


def test_chunking_bounds_memory_without_changing_the_draws() -> None:
    rows = random_rows(np.random.default_rng(2), 300, ties=True)
    small = paired_curve_differences(rows, n=120, seed=5, chunk_cells=10_000)  # 33 resamples at a time
    large = paired_curve_differences(rows, n=120, seed=5, chunk_cells=10_000_000)
    assert small == large


def test_a_clearly_better_candidate_is_superior_with_its_interval() -> None:
    rows = random_rows(np.random.default_rng(4), 3000, ties=False)
    result = paired_curve_differences(rows, n=300, seed=0, chunk_cells=1_000_000)
    difference = result["precision_at_production_recall"]
    assert difference.low is not None and difference.high is not None
    assert 0 < difference.low <= difference.value <= difference.high  # type: ignore[operator]
    assert difference.support == int(rows.y.sum())


def estimate(value: float | None, low: float | None, high: float | None, support: int = 500) -> Estimate:
    return Estimate(value, low, high, support)


def test_superiority_needs_the_lower_bound_above_zero() -> None:
    assert superiority_rule("x", estimate(0.03, 0.01, 0.05)).outcome == "pass"
    assert superiority_rule("x", estimate(0.03, 0.0, 0.05)).outcome == "fail"
    assert superiority_rule("x", estimate(0.03, -0.01, 0.05)).outcome == "fail"
    assert superiority_rule("x", estimate(None, None, None)).outcome == "insufficient_evidence"


def test_deployed_recall_may_trail_by_at_most_the_margin() -> None:
    assert recall_drop_rule(estimate(0.0, -0.019, 0.02), 0.02).outcome == "pass"
    assert recall_drop_rule(estimate(0.0, -0.021, 0.02), 0.02).outcome == "fail"


def comparison(recalls: dict[str, float], positives: int) -> GroupComparison:
    """Age bands with the given recalls and `positives` positives each."""
    y, decided, bands = [], [], []
    for band, recall in recalls.items():
        hits = round(recall * positives)
        y += [1] * positives
        decided += [1] * hits + [0] * (positives - hits)
        bands += [band] * positives
    return compare_groups(np.array(y), np.array(decided), np.array(bands), alpha=0.05, min_positives=30)


BIAS = {"limit": 0.02, "margin": 0.02, "min_per_band": 30}
FAIR_BIG = comparison({"<30": 0.75, "30-44": 0.75, "45+": 0.75}, 20_000)  # shown within 2 pp
FAIR_SMALL = comparison({"<30": 0.75, "30-44": 0.75, "45+": 0.75}, 300)  # cannot show either way
UNFAIR = comparison({"<30": 0.80, "30-44": 0.79, "45+": 0.62}, 600)  # shown above 2 pp
WORSE = comparison({"<30": 0.95, "30-44": 0.60, "45+": 0.40}, 600)  # far above: production worse


def bias(candidate: GroupComparison, production: GroupComparison, burden: str) -> RuleResult:
    positives = {band: e.support for band, e in candidate.by_group.items()}
    return bias_rule(candidate, production, band_positives=positives, burden=burden, **BIAS)


def test_bias_rule_burden_of_unfairness_fails_only_what_the_rows_show() -> None:
    assert bias(FAIR_SMALL, FAIR_SMALL, "unfairness").outcome == "pass"
    assert bias(FAIR_BIG, FAIR_BIG, "unfairness").outcome == "pass"
    failed = bias(UNFAIR, FAIR_SMALL, "unfairness")
    assert failed.outcome == "fail" and "exceeds 0.02 by its lower bound" in failed.detail
    assert "90% simultaneous" in failed.detail and "observed range" in failed.detail
    spared = bias(UNFAIR, WORSE, "unfairness")  # shown above the limit, but no worse than production
    assert spared.outcome == "pass" and "(within 0.02)" in spared.detail


def test_bias_rule_burden_of_fairness_passes_only_what_the_rows_show() -> None:
    assert bias(FAIR_BIG, FAIR_BIG, "fairness").outcome == "pass"
    undecided = bias(FAIR_SMALL, FAIR_SMALL, "fairness")
    assert undecided.outcome == "insufficient_evidence" and "300 positives" in undecided.detail
    assert bias(UNFAIR, FAIR_SMALL, "fairness").outcome == "fail"
    assert bias(UNFAIR, WORSE, "fairness").outcome == "pass"


def test_a_thin_band_decides_nothing() -> None:
    positives = {"<30": 100, "30-44": 100, "45+": 29}
    for burden in ("unfairness", "fairness"):
        thin = bias_rule(
            UNFAIR,
            FAIR_SMALL,
            band_positives=positives,
            burden=burden,
            limit=0.02,
            margin=0.02,
            min_per_band=30,
        )
        assert thin.outcome == "insufficient_evidence" and "45+: 29" in thin.detail


def test_gate_json_declares_the_bias_rule() -> None:
    rows = random_rows(np.random.default_rng(3), 3000, ties=False)
    verdict = judge(rows, GateParams(bootstrap={"n": 100, "seed": 1}))
    declared = verdict["age_band_recall_gap"]["rule"]
    assert declared["burden"] == "unfairness" and declared["alpha"] == 0.05
    assert "+-0.02" in declared["policy"] and "fails in <= 5%" in declared["claim"]
    candidate = verdict["age_band_recall_gap"]["candidate"]
    assert candidate["level"] == 0.9 and set(candidate["gap"]) >= {"value", "interval", "observed_range"}


def test_combine_fail_beats_insufficient_beats_pass() -> None:
    passed, failed = RuleResult("a", "pass", ""), RuleResult("b", "fail", "")
    thin = RuleResult("c", "insufficient_evidence", "")
    assert combine([passed, passed]) == "pass"
    assert combine([passed, thin]) == "insufficient_evidence"
    assert combine([thin, failed, passed]) == "fail"


def test_too_few_positives_is_insufficient_evidence_never_pass() -> None:
    rng = np.random.default_rng(8)
    rows = random_rows(rng, 300, ties=False)  # ~90 positives
    verdict = judge(rows, GateParams(min_positives=200))
    assert verdict["verdict"] == "insufficient_evidence"
    assert {rule["outcome"] for rule in verdict["rules"]} == {"insufficient_evidence"}
    assert verdict["positives"] < 200


def test_a_thin_age_band_withholds_a_pass() -> None:
    rng = np.random.default_rng(9)
    n = 6000
    y = rng.random(n) < 0.3
    # a candidate far better than production, but one age band with only a handful of positives
    rows = PairedRows(
        y,
        rng.random(n) + y * 2.0,
        rng.random(n) + y * 0.3,
        1.0,
        0.6,
        np.where(np.arange(n) < 40, "45+", "<30"),
    )
    verdict = judge(
        rows, GateParams(min_positives=100, min_positives_per_band=30, bootstrap={"n": 200, "seed": 1})
    )  # type: ignore[arg-type]
    outcomes = {rule["name"]: rule["outcome"] for rule in verdict["rules"]}
    assert outcomes["precision_at_production_recall"] == "pass"
    assert outcomes["age_band_recall_gap"] == "insufficient_evidence"
    assert verdict["verdict"] == "insufficient_evidence"


def test_gate_on_the_packaged_model_itself(
    model_package: Path, dataset_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An identical candidate never passes: on 800 rows it lacks evidence, and would otherwise fail."""
    out = tmp_path / "gate.json"
    code = main(gate_args(model_package, model_package, dataset_csv, "--out", str(out)))
    assert code == 3
    assert '"verdict": "insufficient_evidence"' in out.read_text()
    assert "verdict: insufficient_evidence" in capsys.readouterr().out


class _Trap:
    """Unpickling this writes a marker file: proof that a refused package was never unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "unpickled"))  # type: ignore[return-value]


def test_tampered_candidate_is_refused_before_unpickling(
    package_copy: Path,
    model_package: Path,
    dataset_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = tmp_path / "unpickled.txt"
    (package_copy / MODEL_FILE).write_bytes(pickle.dumps(_Trap(marker)))
    code = main(gate_args(package_copy, model_package, dataset_csv))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: candidate package refused:") and "was changed" in err
    assert len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_bad_inputs_exit_2_with_one_line(
    model_package: Path, dataset_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def gate(candidate: Path, data: Path) -> int:
        return main(gate_args(candidate, model_package, data))

    assert gate(model_package, tmp_path / "nope.csv") == 2
    assert "nope.csv: file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"age": [30]}).to_csv(bad, index=False)
    assert gate(model_package, bad) == 2
    assert "missing column" in capsys.readouterr().err
    not_a_package = tmp_path / "empty"
    not_a_package.mkdir()
    shutil.copy(bad, not_a_package / "x.csv")
    assert gate(not_a_package, dataset_csv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: candidate package refused:") and len(err.strip().splitlines()) == 1
