"""An extract is refused whole, with one line per kind of bad row, and nothing is written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from attrition.features.cli import main
from attrition.features.extract import ExtractError, extract_from_frame, read_extract
from attrition.features.schema import FeatureStoreError
from tests.features.builders import Person, extract_frame

AS_OF = date(2024, 1, 31)
NAME = "hris_2024-01-31.csv"


def good_people() -> list[Person]:
    return [Person(f"E{n:06d}", "2020-01-01", monthly_income=3000 + n) for n in range(1, 13)]


def write(tmp_path: Path, people: list[Person], name: str = NAME) -> Path:
    path = tmp_path / name
    path.write_text(extract_frame(people, AS_OF).to_csv(index=False, lineterminator="\n"))
    return path


def test_a_good_extract_is_read_typed_with_its_hash(tmp_path: Path) -> None:
    people = good_people()
    people[3] = Person("E000004", "2019-05-01", termination_date="2023-12-01", monthly_income=4321.456)
    extract = read_extract(write(tmp_path, people), AS_OF)
    assert extract.extract_date == AS_OF and extract.source == NAME and len(extract.sha256 or "") == 64
    row = extract.frame.set_index("employee_id").loc["E000004"]
    assert row["monthly_income"] == 4321.46  # the CSV held 4321.46 (to the cent)
    assert row["termination_date"] == np.datetime64("2023-12-01")
    assert extract.frame["termination_date"].isna().sum() == 11


def test_each_kind_of_bad_row_is_one_line_with_count_first_offender_and_what_is_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = good_people()
    people[1] = Person("E000002", "2020-01-01", monthly_income=-5)
    people[2] = Person("E000003", "2020-01-01", monthly_income=0)
    people[4] = Person("X17", "2020-01-01")
    people[5] = Person("E000007", "2020-02-01")  # a second E000007 (row 7 is the first)
    people[7] = Person("E000008", "2020-13-01")
    people[8] = Person("E000009", "2020-01-01", job_role="  ")
    people[9] = Person("E000010", "2020-01-01", termination_date="soon")
    people[10] = Person("E000011", "2020-01-01", birth_date="2021-01-01")
    people[11] = Person("E000012", "2020-01-01", termination_date="2019-12-31")
    store = tmp_path / "store"
    code = main(
        ["refresh", "--store", str(store), "--hris", str(write(tmp_path, people)), "--as-of", "2024-01-31"]
    )
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {NAME}: 1 row with employee_id not an employee number (first: row 5); "
        "allowed: E followed by digits, e.g. E000123",
        f"error: {NAME}: 2 rows with a repeated employee_id (first: E000007); allowed: one row per employee",
        f"error: {NAME}: 1 row with hire_date not a date (first: E000008); allowed: YYYY-MM-DD",
        f"error: {NAME}: 1 row with job_role empty (first: E000009); allowed: a role name",
        f"error: {NAME}: 2 rows with monthly_income not a positive number (first: E000002); allowed: > 0",
        f"error: {NAME}: 1 row with termination_date not a date (first: E000010); "
        "allowed: empty while employed, else YYYY-MM-DD",
        f"error: {NAME}: 1 row with birth_date not before hire_date (first: E000011); "
        "allowed: birth_date < hire_date",
        f"error: {NAME}: 1 row with termination_date before hire_date (first: E000012); "
        "allowed: termination_date >= hire_date",
    ]
    assert not store.exists()  # nothing written, not even an empty table


def test_an_extract_of_another_day_is_refused(tmp_path: Path) -> None:
    frame = extract_frame(good_people(), AS_OF)
    with pytest.raises(ExtractError) as caught:
        extract_from_frame(frame, date(2024, 2, 29), NAME)
    assert caught.value.lines == [
        f"{NAME}: 12 rows with extract_date not 2024-02-29 (first: E000001); "
        "allowed: 2024-02-29, the --as-of date, in every row"
    ]


def test_missing_columns_and_empty_files_are_one_line(tmp_path: Path) -> None:
    frame = extract_frame(good_people(), AS_OF).drop(columns=["birth_date", "job_role"])
    with pytest.raises(ExtractError) as caught:
        extract_from_frame(frame, AS_OF, NAME)
    assert caught.value.lines == [
        f"{NAME}: missing column(s) birth_date, job_role; allowed: the columns employee_id, hire_date, "
        "birth_date, job_role, monthly_income, termination_date, extract_date"
    ]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FeatureStoreError, match=r"empty.csv: not a readable CSV"):
        read_extract(empty, AS_OF)
    with pytest.raises(FeatureStoreError, match=r"not a \.csv file"):
        read_extract(tmp_path / "hris.parquet", AS_OF)


def test_a_bad_as_of_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, good_people())
    assert (
        main(["refresh", "--store", str(tmp_path / "s"), "--hris", str(path), "--as-of", "31/01/2024"]) == 2
    )
    assert capsys.readouterr().err == "error: --as-of '31/01/2024' is not a date; allowed: YYYY-MM-DD\n"
