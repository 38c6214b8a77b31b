"""Offline rendering (a Vega-Lite spec becomes a PNG/SVG with no network: vl-convert bundles Vega), and what
each plot shows a reviewer: the templates in .dvc/plots/ filled the way DVC fills them, drawn, and read
back as text."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from dvc_render.vega import VegaRenderer
from sklearn.metrics import roc_auc_score

from attrition.lifecycle.plots import file_name, render
from attrition.method.curves import calibration_points, confusion_counts, precision_recall_points, roc_points

SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
    "mark": "line",
    "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}},
}


def test_png_and_svg_render_offline() -> None:
    assert render(SPEC, "png").startswith(b"\x89PNG\r\n\x1a\n")
    svg = render(SPEC, "svg").decode()
    assert svg.lstrip().startswith("<svg") and "http://" not in svg.replace("http://www.w3.org", "")


def test_file_names_come_from_plot_titles() -> None:
    assert file_name("Precision-recall curve", ".png") == "precision_recall_curve.png"


# --- what the plots show: dvc.yaml's plot definitions filled by DVC's renderer, drawn by vl-convert ---

REPO_ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 0.3


def _definitions() -> dict[str, dict[str, Any]]:
    """dvc.yaml's top-level `plots:` by title, with the one data file and its y field unpacked."""
    definitions = {}
    for entry in yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["plots"]:
        ((title, props),) = entry.items()
        ((path, y),) = props["y"].items()
        definitions[title] = {**props, "file": path, "y": y}
    return definitions


def _sample(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(400) < 0.2).astype(int)
    return y, np.clip(rng.normal(0.2 + 0.25 * y, 0.15), 0, 1)


def _plot_data(seed: int) -> dict[str, list[dict[str, Any]]]:
    """What evaluate logs, by data file (attrition.method.curves on a synthetic hold-out)."""
    y, scores = _sample(seed)
    return {
        "metrics/plots/custom/roc.json": roc_points(y, scores, THRESHOLD, 200),
        "metrics/plots/custom/precision_recall.json": precision_recall_points(y, scores, THRESHOLD, 200),
        "metrics/plots/custom/confusion_matrix.json": confusion_counts(y, scores >= THRESHOLD),
        "metrics/plots/custom/calibration.json": calibration_points(y, scores, 10),
    }


def filled(title: str, revisions: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """The Vega-Lite spec DVC builds for `title` over `revisions` (rev -> plot data by file)."""
    definition = _definitions()[title]
    datapoints = [{**row, "rev": rev} for rev, data in revisions.items() for row in data[definition["file"]]]
    properties = {k: definition[k] for k in ("template", "x", "y", "x_label", "y_label") if k in definition}
    renderer = VegaRenderer(
        datapoints,
        title,
        **properties,
        title=title,
        template_dir=str(REPO_ROOT / ".dvc" / "plots"),
        anchors_y_definitions=[{"filename": definition["file"], "field": definition["y"]}],
        revs_with_datapoints=list(revisions),
    )
    return renderer.get_filled_template()


def drawn_text(spec: dict[str, Any]) -> list[str]:
    """Every piece of text in the rendered SVG (axis labels, titles, text marks), one line each."""
    svg = render(spec, "svg").decode()
    pieces = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return [html.unescape(line) for piece in pieces for line in re.split(r"<[^>]+>", piece) if line.strip()]


def _layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("layer", []), *spec.get("spec", {}).get("layer", [])]


def _has_diagonal(spec: dict[str, Any]) -> bool:
    corners = ("x", 0), ("y", 0), ("x2", 1), ("y2", 1)
    return any(
        layer.get("mark", {}).get("type") == "rule"
        and all(layer["encoding"].get(channel, {}).get("datum") == at for channel, at in corners)
        for layer in _layers(spec)
    )


def _marks_operating_point(spec: dict[str, Any]) -> bool:
    return any(
        layer.get("mark", {}).get("type") == "point"
        and {"filter": "datum.operating_point === true"} in layer.get("transform", [])
        for layer in _layers(spec)
    )


WORKSPACE = {"workspace": _plot_data(0)}


def test_roc_plot_draws_the_chance_diagonal_marks_the_operating_point_and_prints_the_auc() -> None:
    spec = filled("ROC curve", WORKSPACE)
    y, scores = _sample(0)
    text = drawn_text(spec)
    assert f"workspace: AUC {roc_auc_score(y, scores):.3f}" in text
    assert _has_diagonal(spec) and "chance (AUC 0.5)" in text
    assert _marks_operating_point(spec)


def test_precision_recall_plot_marks_and_labels_the_operating_point() -> None:
    spec = filled("Precision-recall curve", WORKSPACE)
    y, scores = _sample(0)
    decided = scores >= THRESHOLD
    text = drawn_text(spec)
    assert _marks_operating_point(spec)
    assert f"workspace: precision {y[decided].mean():.2f}, recall {decided[y == 1].mean():.2f}" in text


def test_confusion_matrix_prints_the_count_in_every_cell() -> None:
    spec = filled("Confusion matrix", WORKSPACE)
    counts = [cell["count"] for cell in WORKSPACE["workspace"]["metrics/plots/custom/confusion_matrix.json"]]
    text = drawn_text(spec)
    assert all(str(count) in text for count in counts)
    assert "Actual (1 = left)" in text and "Predicted (1 = flagged)" in text


def test_calibration_plot_draws_the_diagonal_and_prints_each_bins_count() -> None:
    spec = filled("Calibration curve", WORKSPACE)
    bins = WORKSPACE["workspace"]["metrics/plots/custom/calibration.json"]
    text = drawn_text(spec)
    assert _has_diagonal(spec) and "perfectly calibrated" in text
    assert {t for t in text if t.startswith("n=")} == {f"n={b['count']}" for b in bins}


def test_an_overlay_labels_each_revision() -> None:
    """`dvc plots diff`: one AUC and one operating point label per revision, one count per bin each."""
    revisions = {"HEAD": _plot_data(1), "workspace": _plot_data(0)}
    roc = drawn_text(filled("ROC curve", revisions))
    assert sum(t.startswith(("HEAD: AUC ", "workspace: AUC ")) for t in roc) == 2
    pr = drawn_text(filled("Precision-recall curve", revisions))
    assert sum(t.startswith(("HEAD: precision ", "workspace: precision ")) for t in pr) == 2
    calibration = drawn_text(filled("Calibration curve", revisions))
    counts = {
        f"n={b['count']}"
        for data in revisions.values()
        for b in data["metrics/plots/custom/calibration.json"]
    }
    assert {t for t in calibration if t.startswith("n=")} == counts


def test_revisions_from_before_the_plot_fields_still_draw() -> None:
    """A revision whose plot data has no operating_point, auc or count draws its curve, no broken labels."""
    old = {
        file: [{k: v for k, v in row.items() if k not in {"operating_point", "auc", "count"}} for row in rows]
        for file, rows in _plot_data(1).items()
        if file != "metrics/plots/custom/confusion_matrix.json"
    }
    revisions = {"HEAD~1": old, "workspace": _plot_data(0)}
    for title in ("ROC curve", "Precision-recall curve", "Calibration curve"):
        text = drawn_text(filled(title, revisions))
        assert "HEAD~1" in text  # in the legend, with its curve
        assert not any(t.startswith("HEAD~1:") or "NaN" in t or "null" in t or "undefined" in t for t in text)
    assert any(t.startswith("workspace: AUC ") for t in drawn_text(filled("ROC curve", revisions)))
