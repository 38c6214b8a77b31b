"""The nightly scores CSV: parsed into immutable rows, or empty with a one-line reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrition.service.core.batch_scores import BatchScoreRow, load_batch_scores, parse_decision

HEADER = "employee_id,attrition_probability,decision,model_version\n"


def test_rows_are_read_by_employee_id(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + "E1,0.25,0,v1\nE2,0.75,1,v1\n")
    scores = load_batch_scores(path)
    assert scores.error is None
    assert scores.get("E2") == BatchScoreRow(0.75, True, "v1")
    assert scores.get("E3") is None
    assert scores.get(None) is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("E1,1.5,0,v1\n", "line 2: probability 1.5 outside [0, 1]"),
        ("E1,abc,0,v1\n", "line 2: could not convert"),
        ("E1,0.5,maybe,v1\n", "line 2: decision 'maybe' is not 0/1/true/false"),
    ],
)
def test_a_broken_line_empties_the_scores_with_its_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + content)
    scores = load_batch_scores(path)
    assert scores.rows == {}
    assert scores.error is not None and reason in scores.error


def test_a_missing_file_is_a_reason_not_an_exception(tmp_path: Path) -> None:
    scores = load_batch_scores(tmp_path / "none.csv")
    assert scores.rows == {}
    assert scores.error == f"{tmp_path / 'none.csv'}: No such file or directory"


@pytest.mark.parametrize(("text", "value"), [("1", True), ("true", True), (" 0 ", False), ("False", False)])
def test_parse_decision(text: str, value: bool) -> None:
    assert parse_decision(text) is value
