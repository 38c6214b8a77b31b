"""Point-in-time training sets: no feature from after the snapshot, no label from after as-of T."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from attrition.dataset import completed_years
from attrition.features.cli import main
from attrition.features.schema import CHANGE_SCHEMA, FeatureStoreError, add_months
from attrition.features.training import point_in_time_rows, snapshot_grid, training_csv_bytes, training_set
from attrition.hris.simulate import Extract
from tests.features.builders import Person, apply, fill_store, month_ends, simulated, with_change

MONTHS = 26


@pytest.fixture(scope="module")
def company() -> list[Extract]:
    return simulated(600, MONTHS, seed=21)


@pytest.fixture(scope="module")
def store(company: list[Extract], tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = str(tmp_path_factory.mktemp("features") / "store")
    assert fill_store(uri, company) == MONTHS - 1
    return uri


def test_the_snapshot_grid_ends_every_label_window_by_as_of() -> None:
    grid = snapshot_grid(date(2025, 12, 31), 12, 1, date(2023, 1, 31))
    assert len(grid) == 24
    assert grid[0] == (date(2023, 1, 31), date(2024, 1, 31))
    assert grid[-1] == (date(2024, 12, 31), date(2025, 12, 31))
    assert all((t + timedelta(days=1)).day == 1 for t, _ in grid)  # month ends stay month ends
    quarterly = snapshot_grid(date(2025, 12, 31), 12, 3, date(2023, 1, 31))
    assert [t.isoformat() for t, _ in quarterly] == [
        "2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31", "2024-06-30",
        "2024-09-30", "2024-12-31",
    ]  # fmt: skip
    # a clamped day (Feb 29 from a 30th) must not push a label window past T
    odd = snapshot_grid(date(2024, 3, 30), 1, 1, date(2024, 1, 1))
    assert odd == [(date(2024, 1, 30), date(2024, 2, 29)), (date(2024, 2, 29), date(2024, 3, 30))]
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_a_planted_future_salary_change_and_termination_never_reach_an_earlier_row(tmp_path: Path) -> None:
    """Anna's raise first shows in the 2023-09-30 extract; Boris leaves on 2023-11-15 (shown 2023-11-30);
    Carla leaves on 2024-03-10 but the HRIS reports it only on 2024-06-30."""
    store = str(tmp_path / "store")
    anna = Person("E000001", "2020-03-01", birth_date="1990-10-20", monthly_income=3000)
    boris = Person("E000002", "2021-07-15", job_role="Engineering", monthly_income=6000)
    carla = Person("E000003", "2022-01-10", job_role="HR", monthly_income=4000)
    for day in month_ends(date(2023, 1, 1), 24):
        people = [
            with_change(anna, monthly_income=9000) if day >= date(2023, 9, 30) else anna,
            with_change(boris, termination_date="2023-11-15") if day >= date(2023, 11, 30) else boris,
            with_change(carla, termination_date="2024-03-10") if day >= date(2024, 6, 30) else carla,
        ]
        apply(store, people, day)

    full = training_set(store, date(2024, 12, 31), 3).frame.set_index(["employee_id", "snapshot_date"])
    incomes = full.loc["E000001", "monthly_income"]
    assert (incomes[incomes.index < "2023-09-30"] == 3000.0).all()
    assert (incomes[incomes.index >= "2023-09-30"] == 9000.0).all()
    assert full.loc[("E000001", "2023-08-31"), "age"] == 32  # 33 only on 2023-10-20
    assert full.loc[("E000001", "2023-10-31"), "age"] == 33
    boris_rows = full.loc["E000002", "attrition"]
    assert boris_rows.index.max() == pd.Timestamp("2023-10-31")  # not active from his last day on
    # the label is 1 only where (t, t + 3 months] holds 2023-11-15
    leaving = boris_rows[boris_rows == 1].index.strftime("%Y-%m-%d").tolist()
    assert leaving == ["2023-08-31", "2023-09-30", "2023-10-31"]
    assert boris_rows[boris_rows.index < "2023-08-15"].eq(0).all()

    # as of 2024-04-30 Carla's termination (in (2024-01-31, 2024-04-30]) is not known yet: label 0
    early = training_set(store, date(2024, 4, 30), 3).frame.set_index(["employee_id", "snapshot_date"])
    assert early.loc[("E000003", "2024-01-31"), "attrition"] == 0
    late = training_set(store, date(2024, 6, 30), 3).frame.set_index(["employee_id", "snapshot_date"])
    assert late.loc[("E000003", "2024-01-31"), "attrition"] == 1
    assert ("E000003", pd.Timestamp("2024-03-31")) not in late.index  # gone by then, as we know now

    # a store that stopped at T gives the very same rows: nothing after T was read
    truncated = str(tmp_path / "truncated")
    for day in month_ends(date(2023, 1, 1), 16):
        people = [
            with_change(anna, monthly_income=9000) if day >= date(2023, 9, 30) else anna,
            with_change(boris, termination_date="2023-11-15") if day >= date(2023, 11, 30) else boris,
            carla,
        ]
        apply(truncated, people, day)
    as_of = date(2024, 4, 30)
    pd.testing.assert_frame_equal(
        training_set(truncated, as_of, 3).frame, training_set(store, as_of, 3).frame
    )


def test_each_row_is_exactly_what_the_extract_of_its_snapshot_date_showed(
    company: list[Extract], store: str
) -> None:
    as_of = company[-1].extract_date
    rows = training_set(store, as_of, 12)
    assert rows.table_version == MONTHS - 1 and rows.latest_extract == as_of
    assert len(rows.snapshot_dates) == MONTHS - 12
    final = company[-1].frame.set_index("employee_id")["termination_date"]
    by_date = {extract.extract_date: extract.frame for extract in company}
    for snapshot, group in rows.frame.groupby("snapshot_date"):
        t = snapshot.date()
        shown = by_date[t]
        active = shown[shown["termination_date"].isna()].set_index("employee_id")
        assert sorted(group["employee_id"]) == sorted(active.index)
        expected = active.loc[group["employee_id"]]
        day = np.datetime64(t.isoformat(), "D")
        assert (group["monthly_income"].to_numpy() == expected["monthly_income"].to_numpy()).all()
        assert (group["job_role"].to_numpy() == expected["job_role"].to_numpy()).all()
        assert (group["age"].to_numpy() == completed_years(expected["birth_date"].to_numpy(), day)).all()
        tenure = completed_years(expected["hire_date"].to_numpy(), day)
        assert (group["years_at_company"].to_numpy() == tenure).all()
        ended = final.loc[group["employee_id"]]
        label_end = pd.Timestamp(add_months(t, 12))
        truth = (ended > snapshot) & (ended <= label_end)
        assert (group["attrition"].to_numpy() == truth.to_numpy().astype(int)).all()
    assert 0.08 < rows.frame["attrition"].mean() < 0.3


def test_the_same_version_and_arguments_give_the_same_bytes(
    company: list[Extract], store: str, tmp_path: Path
) -> None:
    as_of = company[-3].extract_date
    args = ["training-set", "--store", store, "--as-of", as_of.isoformat(), "--horizon", "12mo"]
    assert main([*args, "--out", str(tmp_path / "a.csv")]) == 0
    assert main([*args, "--out", str(tmp_path / "b.csv"), "--version", str(MONTHS - 3)]) == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    record = json.loads((tmp_path / "a.csv.json").read_text())
    assert record["table_version"] == MONTHS - 1 and record["as_of"] == as_of.isoformat()
    assert json.loads((tmp_path / "b.csv.json").read_text())["table_version"] == MONTHS - 3
    text = (tmp_path / "a.csv").read_text().splitlines()
    assert text[0] == "employee_id,snapshot_date,age,job_role,monthly_income,years_at_company,attrition"
    assert len(text) - 1 == record["rows"]
    assert training_csv_bytes(training_set(store, as_of, 12).frame) == (tmp_path / "a.csv").read_bytes()


def test_as_of_after_the_latest_extract_and_unknown_versions_are_refused(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FeatureStoreError, match=r"after the latest extract 2025-02-28 in table version 25"):
        training_set(store, date(2025, 3, 31), 12)
    with pytest.raises(FeatureStoreError, match=r"after the latest extract 2024-02-29 in table version 13"):
        training_set(store, date(2025, 2, 28), 12, table_version=13)
    out = tmp_path / "t.csv"
    base = ["training-set", "--store", store, "--as-of", "2025-02-28", "--out", str(out)]
    assert main([*base, "--horizon", "12mo", "--version", "99"]) == 2
    assert capsys.readouterr().err == f"error: {store}: no table version 99; allowed: 0..25\n"
    assert main([*base, "--horizon", "a year"]) == 2
    assert "allowed: e.g. 12mo, 1mo" in capsys.readouterr().err
    assert main([*base, "--horizon", "30mo"]) == 2
    assert "is before the first extract 2023-01-31" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(FeatureStoreError, match="no feature table yet"):
        training_set(str(tmp_path / "empty"), date(2025, 2, 28), 12)


def random_changes(rng: np.random.Generator, employees: int) -> pa.Table:
    """Change rows as a store could hold them: 1-6 distinct dates per employee, some terminations."""
    records = []
    base = date(2022, 1, 1)
    for number in range(employees):
        count = int(rng.integers(1, 7))
        days = sorted(rng.choice(900, size=count, replace=False).tolist())
        hire = base + timedelta(days=int(rng.integers(-3000, 600)))
        ended = hire + timedelta(days=int(rng.integers(1, 1500))) if rng.random() < 0.5 else None
        for position, offset in enumerate(days):
            records.append(
                {
                    "employee_id": f"E{number:06d}",
                    "valid_from": base + timedelta(days=offset),
                    "hire_date": hire,
                    "birth_date": hire - timedelta(days=int(rng.integers(7000, 15000))),
                    "job_role": str(rng.choice(["Sales", "HR", "Finance"])),
                    "monthly_income": float(rng.integers(200_000, 900_000)) / 100,
                    "termination_date": ended if position >= count // 2 else None,
                }
            )
    return pa.Table.from_pylist(records, schema=CHANGE_SCHEMA)


def pandas_reference(changes: pa.Table, grid: list[tuple[date, date]], as_of: date) -> pd.DataFrame:
    """The same rows by pandas.merge_asof, written independently of the SQL."""
    frame = changes.to_pandas()
    for column in ("valid_from", "hire_date", "birth_date", "termination_date"):
        frame[column] = pd.to_datetime(frame[column])
    known = frame[frame["valid_from"] <= pd.Timestamp(as_of)].sort_values("valid_from")
    by_employee = known.groupby("employee_id")
    last = pd.DataFrame(
        {
            "first_seen": by_employee["valid_from"].min(),
            "final": by_employee["termination_date"].agg(lambda dates: dates.iloc[-1]),  # NaT kept
        }
    )
    spine = pd.DataFrame(
        [(e, pd.Timestamp(t), pd.Timestamp(end)) for e in last.index for t, end in grid],
        columns=["employee_id", "snapshot_date", "label_end"],
    ).join(last, on="employee_id")
    spine = spine[
        (spine["first_seen"] <= spine["snapshot_date"])
        & (spine["final"].isna() | (spine["final"] > spine["snapshot_date"]))
    ]
    joined = pd.merge_asof(
        spine.sort_values("snapshot_date"),
        known,
        left_on="snapshot_date",
        right_on="valid_from",
        by="employee_id",
        direction="backward",
    )
    joined = joined[joined["hire_date"] <= joined["snapshot_date"]]
    t = joined["snapshot_date"].to_numpy().astype("datetime64[D]")
    return pd.DataFrame(
        {
            "employee_id": joined["employee_id"].to_numpy(),
            "snapshot_date": t,
            "age": completed_years(joined["birth_date"].to_numpy(), t),
            "job_role": joined["job_role"].to_numpy(),
            "monthly_income": joined["monthly_income"].to_numpy(),
            "years_at_company": completed_years(joined["hire_date"].to_numpy(), t),
            "attrition": (joined["final"].notna() & (joined["final"] <= joined["label_end"])).astype(int),
        }
    ).sort_values(["snapshot_date", "employee_id"], ignore_index=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duckdb_asof_rows_equal_pandas_merge_asof_on_random_changes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    changes = random_changes(rng, 300)
    as_of = date(2024, 5, 31)
    grid = snapshot_grid(as_of, 6, 1, date(2022, 1, 1))
    ours = point_in_time_rows(changes, grid, as_of)
    reference = pandas_reference(changes, grid, as_of)
    assert len(ours) > 1000 and 0 < ours["attrition"].sum() < len(ours)
    assert ours["employee_id"].tolist() == reference["employee_id"].tolist()
    assert (ours["snapshot_date"].to_numpy() == reference["snapshot_date"].to_numpy()).all()
    for column in ("age", "job_role", "monthly_income", "years_at_company", "attrition"):
        assert ours[column].tolist() == reference[column].tolist(), column


def test_outcomes_label_the_cohort_active_a_horizon_before_as_of(tmp_path: Path) -> None:
    """Outcomes as of 2024-06-30 with a 6-month horizon judge who was active on 2023-12-31: Dana left
    inside the window (1), Emil stayed (0), Fay left before it and Gus joined after it (neither is in
    the cohort), and Hana's termination, reported only after 2024-06-30, is not read (0)."""
    store = str(tmp_path / "store")
    dana = Person("E1", "2020-01-01")
    emil = Person("E2", "2020-01-01")
    fay = Person("E3", "2020-01-01")
    gus = Person("E4", "2024-02-01")
    hana = Person("E5", "2020-01-01")
    for day in month_ends(date(2023, 11, 1), 10):  # 2023-11-30 .. 2024-08-31
        people = [emil, hana]
        people.append(with_change(dana, termination_date="2024-03-15") if day >= date(2024, 3, 31) else dana)
        people.append(with_change(fay, termination_date="2023-12-01") if day >= date(2023, 12, 31) else fay)
        if day >= date(2024, 2, 29):
            people.append(gus)
        if day >= date(2024, 7, 31):
            people[1] = with_change(hana, termination_date="2024-06-01")  # reported late
        apply(store, people, day)
    args = ["--store", store, "--as-of", "2024-06-30", "--horizon", "6mo"]
    out = tmp_path / "outcomes.csv"
    assert main(["outcomes", *args, "--out", str(out), "--version", "7"]) == 0  # the 2024-06-30 commit
    frame = pd.read_csv(out, dtype={"employee_id": str})
    assert list(frame.columns) == ["employee_id", "attrition", "observed_at"]
    assert dict(zip(frame["employee_id"], frame["attrition"], strict=True)) == {"E1": 1, "E2": 0, "E5": 0}
    assert set(frame["observed_at"]) == {"2024-06-30"}
    # the latest version knows of Hana's late report, but as for training labels nothing shown after
    # as-of is read: the outcome means what the model's label means, whenever it is computed
    assert main(["outcomes", *args, "--out", str(out)]) == 0
    assert out.read_text() == frame.to_csv(index=False, lineterminator="\n")
