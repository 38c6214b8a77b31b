"""An HRIS extract on the way into the store: parsed, checked, and refused whole if any row is wrong.

The format is the one attrition.hris.simulate writes (one full snapshot per date; columns
:data:`EXTRACT_COLUMNS`, ISO dates, an empty termination_date while active). A refresh writes nothing
unless every row passes, and a refused extract is reported as one line per kind of bad row with a
count, the first offending employee and what is allowed, so the HRIS team can fix the export in one go.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from attrition.features.schema import FeatureStoreError
from attrition.hris.simulate import EXTRACT_COLUMNS  # the export format the simulator defines

EMPLOYEE_ID = r"E\d+"


class ExtractError(FeatureStoreError):
    """An extract the store refuses; ``lines`` holds one line per kind of bad row."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class HrisExtract:
    """A checked extract: its rows (typed, incomes to the cent), its date, where it came from."""

    extract_date: date
    frame: pd.DataFrame  # employee_id, hire_date, birth_date, job_role, monthly_income, termination_date
    source: str
    sha256: str | None = None


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("str").str.strip() == "")


def extract_problems(frame: pd.DataFrame, as_of: date, source: str) -> tuple[list[str], pd.DataFrame]:
    """One line per kind of bad row (empty when the extract is good), and the typed rows."""
    missing = [column for column in EXTRACT_COLUMNS if column not in frame.columns]
    if missing:
        return [
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"allowed: the columns {', '.join(EXTRACT_COLUMNS)}"
        ], frame
    if frame.empty:
        return [f"{source}: has no rows; allowed: one row per employee the HRIS knows"], frame
    ids = frame["employee_id"].astype("str").str.strip()
    good_id = ids.str.fullmatch(EMPLOYEE_ID).fillna(False).astype(bool)
    hire, birth = _dates(frame["hire_date"]), _dates(frame["birth_date"])
    termination = _dates(frame["termination_date"])
    extract_date = _dates(frame["extract_date"])
    income = pd.to_numeric(frame["monthly_income"], errors="coerce")
    roles = frame["job_role"].astype("str").str.strip()
    checks: list[tuple[pd.Series, str, str]] = [
        (~good_id, "employee_id not an employee number", "E followed by digits, e.g. E000123"),
        (good_id & ids.duplicated(keep=False), "a repeated employee_id", "one row per employee"),
        (hire.isna(), "hire_date not a date", "YYYY-MM-DD"),
        (birth.isna(), "birth_date not a date", "YYYY-MM-DD"),
        (_blank(frame["job_role"]), "job_role empty", "a role name"),
        (~(income > 0) | ~np.isfinite(income), "monthly_income not a positive number", "> 0"),
        (
            termination.isna() & ~_blank(frame["termination_date"]),
            "termination_date not a date",
            "empty while employed, else YYYY-MM-DD",
        ),
        (
            extract_date != pd.Timestamp(as_of),
            f"extract_date not {as_of.isoformat()}",
            f"{as_of.isoformat()}, the --as-of date, in every row",
        ),
        (birth >= hire, "birth_date not before hire_date", "birth_date < hire_date"),
        (termination < hire, "termination_date before hire_date", "termination_date >= hire_date"),
    ]
    lines = []
    for bad, what, allowed in checks:
        bad = bad.fillna(False).to_numpy(dtype=bool)
        count = int(bad.sum())
        if count:
            first = int(np.argmax(bad))
            where = ids.iloc[first] if good_id.iloc[first] else f"row {first + 1}"
            rows = "1 row" if count == 1 else f"{count:,} rows"
            lines.append(f"{source}: {rows} with {what} (first: {where}); allowed: {allowed}")
    typed = pd.DataFrame(
        {
            "employee_id": ids.to_numpy(),
            "hire_date": hire.to_numpy(),
            "birth_date": birth.to_numpy(),
            "job_role": roles.to_numpy(),
            "monthly_income": income.round(2).to_numpy(),
            "termination_date": termination.to_numpy(),
        }
    )
    return lines, typed


def extract_from_frame(
    frame: pd.DataFrame, as_of: date, source: str = "extract", sha256: str | None = None
) -> HrisExtract:
    """Check an extract already in memory (text or typed columns); ExtractError lists what is wrong."""
    lines, typed = extract_problems(frame, as_of, source)
    if lines:
        raise ExtractError(lines)
    return HrisExtract(as_of, typed, source, sha256)


def read_extract(path: Path, as_of: date) -> HrisExtract:
    """Read and check a CSV extract; ExtractError (one line per bad row kind) if any row is wrong."""
    if path.suffix.lower() != ".csv":
        raise FeatureStoreError(f"{path}: not a .csv file; allowed: an HRIS extract hris_YYYY-MM-DD.csv")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FeatureStoreError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype="str", keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FeatureStoreError(f"{path.name}: not a readable CSV ({reason})") from None
    return extract_from_frame(frame, as_of, path.name, hashlib.sha256(data).hexdigest())
