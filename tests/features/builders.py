"""Extracts and stores for the feature-store tests (imported explicitly, never through conftest)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from attrition.features.extract import extract_from_frame
from attrition.features.store import RefreshResult, refresh
from attrition.hris.simulate import Extract, SimulationConfig, extract_csv_bytes, extract_filename, simulate


@dataclass(frozen=True)
class Person:
    """One employee of a hand-made HRIS."""

    employee_id: str
    hire_date: str
    birth_date: str = "1990-06-15"
    job_role: str = "Sales"
    monthly_income: float = 3000.0
    termination_date: str = ""


def extract_frame(people: Iterable[Person], extract_date: date) -> pd.DataFrame:
    """An extract as the CSV reader sees it: every column text."""
    return pd.DataFrame(
        [
            {
                "employee_id": p.employee_id,
                "hire_date": p.hire_date,
                "birth_date": p.birth_date,
                "job_role": p.job_role,
                "monthly_income": f"{p.monthly_income:.2f}",
                "termination_date": p.termination_date,
                "extract_date": extract_date.isoformat(),
            }
            for p in people
        ]
    )


def apply(store: str, people: Iterable[Person], extract_date: date, **options: object) -> RefreshResult:
    extract = extract_from_frame(extract_frame(people, extract_date), extract_date, "test")
    return refresh(store, extract, **options)  # type: ignore[arg-type]


def month_ends(first: date, count: int) -> list[date]:
    ends = []
    year, month = first.year, first.month
    for _ in range(count):
        following = date(year + month // 12, month % 12 + 1, 1)
        ends.append(following.fromordinal(following.toordinal() - 1))
        year, month = following.year, following.month
    return ends


def simulated(employees: int, months: int, seed: int = 7) -> list[Extract]:
    return list(simulate(SimulationConfig(employees, months, date(2023, 1, 1), seed)))


def fill_store(store: str, extracts: Iterable[Extract], storage_options: dict[str, str] | None = None) -> int:
    """Refresh `store` with each extract in turn; the last table version."""
    version = -1
    for extract in extracts:
        checked = extract_from_frame(extract.frame, extract.extract_date, "simulated")
        version = refresh(store, checked, storage_options=storage_options).table_version
    return version


def write_csvs(folder: Path, extracts: Iterable[Extract]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for extract in extracts:
        path = folder / extract_filename(extract.extract_date)
        path.write_bytes(extract_csv_bytes(extract.frame))
        paths.append(path)
    return paths


def with_change(person: Person, **changes: object) -> Person:
    return replace(person, **changes)  # type: ignore[arg-type]


def hris_params(folder: Path, store_uri: str, version: int, **data: object) -> Path:
    """`folder`/params.yaml: the repository's, with data.source hris pinned to `store_uri` at `version`."""
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    pinned = {"source": "hris", "store": store_uri, "table_version": version, "as_of": "2025-06-30"}
    raw["data"] = {**raw["data"], **pinned}
    raw["data"].update(data)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
