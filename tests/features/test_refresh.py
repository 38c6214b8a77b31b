"""`refresh`: idempotent per day, append-only changes, older extracts only as a backfill."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from deltalake import DeltaTable

from attrition.features.cli import main
from attrition.features.schema import APP_ID, FeatureStoreError, table_uri, to_days
from attrition.features.store import read_state
from attrition.features.training import training_set
from tests.features.builders import Person, apply, extract_frame, with_change

JAN, FEB, MAR, APR = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)
ANNA = Person("E000001", "2020-03-01", monthly_income=3000)
BORIS = Person("E000002", "2021-07-15", job_role="Engineering", monthly_income=6000)


def rows(store: str) -> list[tuple[str, str, float]]:
    changes = read_state(store).changes.sort_by([("valid_from", "ascending"), ("employee_id", "ascending")])
    return [(r["employee_id"], r["valid_from"].isoformat(), r["monthly_income"]) for r in changes.to_pylist()]


def test_the_same_day_twice_changes_nothing_not_even_the_version(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    first = apply(store, [ANNA, BORIS], JAN)
    again = apply(store, [ANNA, BORIS], JAN)
    assert (first.status, first.changed_rows, first.table_version) == ("applied", 2, 0)
    assert (again.status, again.changed_rows, again.table_version) == ("unchanged", 0, 0)
    assert DeltaTable(table_uri(store)).version() == 0
    assert len(DeltaTable(table_uri(store)).history()) == 1


def test_only_new_or_changed_employees_get_a_row_dated_by_the_extract(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    apply(store, [ANNA, BORIS], JAN)
    carla = Person("E000003", "2024-02-10")
    result = apply(store, [with_change(ANNA, monthly_income=3300), BORIS, carla], FEB)
    assert (result.changed_rows, result.extract_rows, result.table_version) == (2, 3, 1)
    assert rows(store) == [
        ("E000001", "2024-01-31", 3000.0),
        ("E000002", "2024-01-31", 6000.0),
        ("E000001", "2024-02-29", 3300.0),
        ("E000003", "2024-02-29", 3000.0),
    ]


def test_a_day_without_changes_still_commits_so_the_store_knows_it_is_current(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    apply(store, [ANNA], JAN)
    result = apply(store, [ANNA], FEB)
    assert (result.status, result.changed_rows, result.table_version, result.latest_extract) == (
        "applied",
        0,
        1,
        FEB,
    )
    table = DeltaTable(table_uri(store))
    assert table.transaction_version(APP_ID) == to_days(FEB)
    assert table.history(1)[0]["attrition.extract_date"] == "2024-02-29"
    assert len(rows(store)) == 1


def test_an_older_extract_is_refused_unless_it_is_a_backfill_which_then_counts(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    apply(store, [ANNA, BORIS], JAN)
    apply(store, [with_change(ANNA, monthly_income=3100), BORIS], FEB)
    apply(store, [with_change(ANNA, monthly_income=3500), BORIS], APR)  # March's extract was missed
    march = [with_change(ANNA, monthly_income=3200), BORIS]
    with pytest.raises(FeatureStoreError, match=r"older than the latest applied extract 2024-04-30"):
        apply(store, march, MAR)
    assert DeltaTable(table_uri(store)).version() == 2  # nothing written
    before = training_set(store, APR, 1).frame
    anna = before["employee_id"] == "E000001"  # snapshots Jan 31, Feb 29 and Mar 31
    assert before.loc[anna, "monthly_income"].tolist() == [3000.0, 3100.0, 3100.0]
    result = apply(store, march, MAR, backfill=True)
    assert (result.status, result.changed_rows, result.latest_extract) == ("applied", 1, APR)
    assert DeltaTable(table_uri(store)).history(1)[0]["attrition.backfill"] is True
    after = training_set(store, APR, 1).frame
    assert after.loc[anna, "monthly_income"].tolist() == [3000.0, 3100.0, 3200.0]
    assert apply(store, march, MAR, backfill=True).status == "unchanged"  # a backfill is idempotent too


def test_an_applied_day_is_never_rewritten(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    apply(store, [ANNA, BORIS], JAN)
    with pytest.raises(FeatureStoreError) as caught:
        apply(store, [with_change(ANNA, monthly_income=9999), BORIS], JAN)
    assert str(caught.value) == (
        "test: 2024-01-31 was already applied and 1 employee differs from it now (first: E000001); "
        "allowed: the same extract again (a no-op), or the correction in a later extract"
    )
    assert rows(store) == [("E000001", "2024-01-31", 3000.0), ("E000002", "2024-01-31", 6000.0)]


def test_the_cli_records_the_extract_in_the_commit_and_refuses_an_older_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    paths = {}
    for day, people in ((JAN, [ANNA]), (FEB, [ANNA, BORIS])):
        paths[day] = tmp_path / f"hris_{day.isoformat()}.csv"
        paths[day].write_text(extract_frame(people, day).to_csv(index=False))
        assert main(["refresh", "--store", store, "--hris", str(paths[day]), "--as-of", day.isoformat()]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "refresh: hris_2024-01-31.csv as of 2024-01-31: 1 of 1 employees new or changed "
        "-> table version 0 (latest extract 2024-01-31)",
        "refresh: hris_2024-02-29.csv as of 2024-02-29: 1 of 2 employees new or changed "
        "-> table version 1 (latest extract 2024-02-29)",
    ]
    commit = DeltaTable(table_uri(store)).history(1)[0]
    assert commit["attrition.extract_date"] == "2024-02-29"
    assert commit["attrition.extract_sha256"] == hashlib.sha256(paths[FEB].read_bytes()).hexdigest()
    assert (commit["attrition.extract_rows"], commit["attrition.changed_rows"]) == (2, 1)
    assert main(["refresh", "--store", store, "--hris", str(paths[JAN]), "--as-of", "2024-01-31"]) == 2
    assert capsys.readouterr().err == (
        "error: hris_2024-01-31.csv: extract of 2024-01-31 is older than the latest applied extract "
        "2024-02-29; allowed: a later extract, or --backfill to add a missed day to the past\n"
    )
    assert main(["refresh", "--store", store, "--hris", str(paths[FEB]), "--as-of", "2024-02-29"]) == 0
    assert "already applied, nothing changed (table version 1)" in capsys.readouterr().out
