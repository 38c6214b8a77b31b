"""The nightly batch scores CSV (written by the `score` stage): the service's fallback answers."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BatchScoreRow:
    """One line of the nightly scores CSV."""

    probability: float
    decision: bool
    model_version: str


@dataclass(frozen=True)
class BatchScores:
    """All nightly scores by employee id (immutable; replaced wholesale on reload)."""

    rows: dict[str, BatchScoreRow] = field(default_factory=dict)
    error: str | None = None

    def get(self, employee_id: str | None) -> BatchScoreRow | None:
        """The score for `employee_id`, if there is one."""
        return None if employee_id is None else self.rows.get(employee_id)


def parse_decision(text: str) -> bool:
    """The CSV's decision column: 0/1 (what the stage writes) or false/true."""
    value = text.strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(f"decision {text!r} is not 0/1/true/false")


def load_batch_scores(path: Path) -> BatchScores:
    """Read the score stage's CSV; a missing or broken file gives empty scores plus a reason."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows: dict[str, BatchScoreRow] = {}
            for number, record in enumerate(reader, 2):
                try:
                    probability = float(record["attrition_probability"])
                    if not 0.0 <= probability <= 1.0:
                        raise ValueError(f"probability {probability} outside [0, 1]")
                    rows[record["employee_id"]] = BatchScoreRow(
                        probability, parse_decision(record["decision"]), record["model_version"]
                    )
                except (KeyError, TypeError, ValueError) as error:
                    return BatchScores(error=f"{path}: line {number}: {error}")
    except OSError as error:
        return BatchScores(error=f"{path}: {error.strerror or error}")
    return BatchScores(rows=rows)
