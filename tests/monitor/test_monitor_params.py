"""The `monitor:` section of params.yaml: declared windows, thresholds and minimums are validated up front."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from attrition.params import ParamsError, load_params, parse_params

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_params_declare_the_monitor() -> None:
    monitor = load_params(REPO / "params.yaml").monitor
    assert [(t.min_rows, t.psi) for t in monitor.drift.thresholds] == [(500, 0.2), (2000, 0.1)]
    assert monitor.labelled_since == "90d" and monitor.decay.max_drop == 0.05


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"drift": {"thresholds": [{"min_rows": 2000, "psi": 0.1}, {"min_rows": 500, "psi": 0.2}]}},
            "increasing",
        ),
        ({"drift": {"windows": ["1 day"]}}, "monitor.drift.windows.0"),
        ({"labelled_since": "0d"}, "monitor.labelled_since"),
        ({"decay": {"max_drop": 5}}, "monitor.decay.max_drop"),
        ({"fairnes": {}}, "unknown key"),
    ],
)
def test_bad_monitor_params_are_one_line(section: dict, message: str) -> None:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["monitor"] = section
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)
