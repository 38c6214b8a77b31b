"""The Prometheus text the monitor writes: one-hot verdicts and the figures behind them."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from attrition.monitor.checks import CheckResult
from attrition.monitor.exposition import build_registry, write_textfile


def _families(path: Path) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(path.read_text())}


def test_verdicts_are_one_hot_and_figures_follow(tmp_path: Path) -> None:
    results = [
        CheckResult("drift", "monthly_income", "1d", "alert", 2634, "", {"psi": 1.41, "threshold": 0.1}),
        CheckResult("drift", "age", "1d", "insufficient_data", 120, "", {"psi": 0.3, "threshold": None}),
        CheckResult(
            "decay",
            "precision",
            "90d",
            "alert",
            781,
            "",
            {"value": 0.274, "ci95": [0.243, 0.307], "baseline": {"value": 0.341}},
        ),
        CheckResult("fairness", "age_band_recall_gap", "90d", "insufficient_data", 0, "", {}),
    ]
    path = tmp_path / "monitor.prom"
    write_textfile(path, build_registry(results, model_version="v3-abc", finished_at=1_700_000_000.0))
    families = _families(path)
    verdicts = {
        (s.labels["check"], s.labels["subject"], s.labels["verdict"]): s.value
        for s in families["attrition_monitor_verdict"]
    }
    assert len(verdicts) == 3 * len(results)
    for check, subject in {(c, s) for c, s, _ in verdicts}:
        assert sum(v for (c, s, _), v in verdicts.items() if (c, s) == (check, subject)) == 1
    assert verdicts[("drift", "monthly_income", "alert")] == 1
    psi = {s.labels["subject"]: s.value for s in families["attrition_monitor_psi"]}
    assert psi == {"monthly_income": 1.41, "age": 0.3}
    thresholds = {s.labels["subject"]: s.value for s in families["attrition_monitor_psi_threshold"]}
    assert thresholds == {"monthly_income": 0.1}  # no level applies to a window below the minimum
    rates = {s.labels["bound"]: s.value for s in families["attrition_monitor_rate"]}
    assert rates == {"value": 0.274, "low": 0.243, "high": 0.307}
    assert families["attrition_monitor_last_success_timestamp_seconds"][0].value == 1_700_000_000.0
    assert families["attrition_monitor_model_info"][0].labels == {"model_version": "v3-abc"}
    assert not list(tmp_path.glob("*.tmp*"))  # written through a temporary file and renamed


def test_fairness_exports_the_corrected_gap_its_interval_and_counts(tmp_path: Path) -> None:
    import numpy as np

    from attrition.method.groups import compare_groups
    from attrition.monitor.checks import fairness_check

    y = np.array([1] * 400 + [0] * 400)
    decided = np.array(([1] * 150 + [0] * 50 + [0] * 200) * 2)
    groups = np.array(["<30"] * 200 + ["45+"] * 200 + ["<30"] * 200 + ["45+"] * 200)
    result = fairness_check(
        "90d", compare_groups(y, decided, groups, alpha=0.05, min_positives=100), max_gap=0.05
    )
    path = tmp_path / "monitor.prom"
    write_textfile(path, build_registry([result], model_version="v3-abc", finished_at=1.0))
    families = _families(path)
    gap = {s.labels["bound"]: s.value for s in families["attrition_monitor_age_recall_gap"]}
    assert (
        set(gap) == {"value", "low", "high", "observed_range"} and gap["low"] <= gap["value"] <= gap["high"]
    )
    level = families["attrition_monitor_age_recall_gap_level"][0]
    assert level.value == 0.9 and level.labels == {"window": "90d"}
    positives = {s.labels["band"]: s.value for s in families["attrition_monitor_age_band_positives"]}
    assert positives == {"<30": 200, "45+": 200}
    recall = {(s.labels["band"], s.labels["bound"]) for s in families["attrition_monitor_age_band_recall"]}
    assert ("<30", "low") in recall and ("45+", "value") in recall


def test_months_export_estimated_and_realized_rates(tmp_path: Path) -> None:
    from attrition.method.confidence import Estimate
    from attrition.monitor.performance import MonthFigures

    score = CheckResult("drift", "score", "2026-05", "ok", 900, "", {"psi": 0.02, "threshold": 0.2})
    month = MonthFigures(
        "2026-05",
        900,
        0,
        {"recall": Estimate(0.8, 0.75, 0.85, 150), "precision": Estimate(0.3, None, None, 0)},
        None,
        score,
        None,
    )
    path = tmp_path / "monitor.prom"
    write_textfile(path, build_registry([], model_version="v", finished_at=0.0, months=[month]))
    families = _families(path)
    estimated = {
        (s.labels["metric"], s.labels["window"], s.labels["bound"]): s.value
        for s in families["attrition_monitor_estimated_rate"]
    }
    assert estimated == {
        ("recall", "2026-05", "value"): 0.8,
        ("recall", "2026-05", "low"): 0.75,
        ("recall", "2026-05", "high"): 0.85,
        ("precision", "2026-05", "value"): 0.3,
    }
    assert families["attrition_monitor_realized_rate"] == []  # no month is labelled yet
