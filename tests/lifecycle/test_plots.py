"""Offline rendering: a Vega-Lite spec becomes a PNG/SVG with no network (vl-convert bundles Vega)."""

from __future__ import annotations

from attrition.lifecycle.plots import file_name, render

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
