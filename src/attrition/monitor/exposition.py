"""monitoring.json's verdicts and figures as Prometheus text, for a node-exporter textfile collector.

A private registry holds only the monitor's metrics (never the process's defaults), and
prometheus-client's `write_to_textfile` writes a temporary file and renames it, so a collector never
reads half a file. Verdicts are one-hot gauges (`verdict` label), so alert rules test the monitor's own
decision instead of re-deriving thresholds and row minimums in PromQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from attrition.method.confidence import Estimate
from attrition.monitor.checks import VERDICTS, CheckResult
from attrition.monitor.performance import MonthFigures


def _set_bounds(gauge: Gauge, labels: tuple[str, ...], figures: dict[str, Any]) -> None:
    """value/low/high children of one rate (figures in Estimate.as_dict form); None is left unset."""
    for bound, value in zip(("value", "low", "high"), (figures["value"], *figures["ci95"]), strict=True):
        if value is not None:
            gauge.labels(*labels, bound).set(value)


def _month_rates(estimated: Gauge, realized: Gauge, months: Sequence[MonthFigures]) -> None:
    for month in months:
        for metric, estimate in month.estimated.items():
            _set_bounds(estimated, (metric, month.window), estimate.as_dict())
        measured: dict[str, Estimate] = month.realized or {}
        for metric, estimate in measured.items():
            _set_bounds(realized, (metric, month.window), estimate.as_dict())


def build_registry(
    results: Sequence[CheckResult],
    *,
    model_version: str,
    finished_at: float,
    months: Sequence[MonthFigures] = (),
) -> CollectorRegistry:
    """Every monitoring figure as a gauge in a fresh registry (`months`: estimated and realized per month)."""
    registry = CollectorRegistry(auto_describe=True)
    verdict = Gauge(
        "attrition_monitor_verdict",
        "1 for the verdict a check reached (ok, alert, insufficient_data), 0 for the others",
        ["check", "subject", "window", "verdict"],
        registry=registry,
    )
    rows = Gauge(
        "attrition_monitor_rows",
        "Rows a check's verdict rests on",
        ["check", "subject", "window"],
        registry=registry,
    )
    psi = Gauge(
        "attrition_monitor_psi", "PSI against the package reference", ["subject", "window"], registry=registry
    )
    psi_threshold = Gauge(
        "attrition_monitor_psi_threshold",
        "The PSI alert level the window's row count allows",
        ["subject", "window"],
        registry=registry,
    )
    rate = Gauge(
        "attrition_monitor_rate",
        "Recall or precision on predictions joined with outcomes (value and 95% interval bounds)",
        ["metric", "bound"],
        registry=registry,
    )
    baseline = Gauge(
        "attrition_monitor_baseline", "The package's decay baseline", ["metric"], registry=registry
    )
    gap = Gauge(
        "attrition_monitor_age_recall_gap",
        "Age-band recall gap: bias-corrected value, simultaneous interval bounds (low, high) and the "
        "observed range of band recalls (observed_range, biased upward)",
        ["bound"],
        registry=registry,
    )
    gap_level = Gauge(
        "attrition_monitor_age_recall_gap_level",
        "Simultaneous confidence level of the age-band recall gap's interval",
        ["window"],
        registry=registry,
    )
    band_recall = Gauge(
        "attrition_monitor_age_band_recall",
        "Recall per age band (value and 95% Wilson interval bounds)",
        ["band", "bound"],
        registry=registry,
    )
    band_positives = Gauge(
        "attrition_monitor_age_band_positives",
        "Labelled positives per age band: what the gap rests on",
        ["band"],
        registry=registry,
    )
    estimated = Gauge(
        "attrition_monitor_estimated_rate",
        "Recall or precision estimated from the scores (CBPE) per month of predictions (value and the "
        "realized figure's 95% predictive interval)",
        ["metric", "window", "bound"],
        registry=registry,
    )
    realized = Gauge(
        "attrition_monitor_realized_rate",
        "Recall or precision realized per month of predictions whose labels have arrived "
        "(value, 95% interval)",
        ["metric", "window", "bound"],
        registry=registry,
    )
    ratio = Gauge(
        "attrition_monitor_calibration_ratio",
        "Observed over expected positives on labelled rows per decision side (value, 95% interval)",
        ["side", "bound"],
        registry=registry,
    )
    model = Gauge(
        "attrition_monitor_model_info",
        "The package monitored (value 1)",
        ["model_version"],
        registry=registry,
    )
    last = Gauge(
        "attrition_monitor_last_success_timestamp_seconds",
        "Unix time the monitor last finished a run",
        registry=registry,
    )
    for result in results:
        for name in VERDICTS:
            verdict.labels(result.check, result.subject, result.window, name).set(int(result.verdict == name))
        rows.labels(result.check, result.subject, result.window).set(result.rows)
        figures = result.figures
        if result.check == "drift":
            if figures["psi"] is not None:
                psi.labels(result.subject, result.window).set(figures["psi"])
            if figures["threshold"] is not None:
                psi_threshold.labels(result.subject, result.window).set(figures["threshold"])
        elif result.check == "decay":
            baseline.labels(result.subject).set(figures["baseline"]["value"])
            for bound, value in zip(
                ("value", "low", "high"), (figures["value"], *figures["ci95"]), strict=True
            ):
                if value is not None:
                    rate.labels(result.subject, bound).set(value)
        elif result.check == "calibration":
            for side in ("flagged", "unflagged"):
                _set_bounds(ratio, (side,), figures["observed_over_expected"][side])
        elif "gap" in figures:
            shown = figures["gap"]
            bounds = zip(
                ("value", "low", "high", "observed_range"),
                (shown["value"], *shown["interval"], shown["observed_range"]),
                strict=True,
            )
            for bound, value in bounds:
                if value is not None:
                    gap.labels(bound).set(value)
            gap_level.labels(result.window).set(figures["level"])
            for band, estimate in figures["by_group"].items():
                band_positives.labels(band).set(estimate["support"])
                for bound, value in zip(
                    ("value", "low", "high"), (estimate["value"], *estimate["ci95"]), strict=True
                ):
                    if value is not None:
                        band_recall.labels(band, bound).set(value)
    _month_rates(estimated, realized, months)
    model.labels(model_version).set(1)
    last.set(finished_at)
    return registry


def write_textfile(path: Path, registry: CollectorRegistry) -> None:
    """Atomically (temp file + rename, inside prometheus-client) write the exposition text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
