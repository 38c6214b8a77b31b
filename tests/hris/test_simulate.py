"""The simulated HRIS: reproducible files, full snapshots, and a workforce that lives by the seed's rules."""

from __future__ import annotations

import io
import itertools
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrition.dataset import completed_years
from attrition.hris.cli import main
from attrition.hris.simulate import (
    EXTRACT_COLUMNS,
    SimulationConfig,
    SimulationError,
    extract_csv_bytes,
    monthly_hazard,
    simulate,
)
from attrition.method.synthetic import JOB_ROLE_WEIGHTS, JOB_ROLES, attrition_probability, generate_frame

START = date(2023, 1, 1)


def extracts(employees: int, months: int, seed: int = 7, **options: float) -> list[pd.DataFrame]:
    return [e.frame for e in simulate(SimulationConfig(employees, months, START, seed, **options))]


def day(value: date) -> np.datetime64:
    return np.datetime64(value.isoformat(), "D")


def test_the_same_arguments_write_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    args = ["simulate", "--employees", "300", "--months", "14", "--start", "2023-01-01", "--seed"]
    assert main([*args, "7", "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "7", "--out", str(tmp_path / "b")]) == 0
    assert main([*args, "8", "--out", str(tmp_path / "c")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names[0] == "hris_2023-01-31.csv" and names[-1] == "hris_2024-02-29.csv" and len(names) == 14
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / names[-1]).read_bytes() != (tmp_path / "c" / names[-1]).read_bytes()


def test_the_csv_is_the_documented_format() -> None:
    first = extracts(50, 2)[1]
    text = extract_csv_bytes(first).decode()
    header, *rows = text.splitlines()
    assert header == ",".join(EXTRACT_COLUMNS)
    parsed = pd.read_csv(io.StringIO(text), dtype=str)
    assert parsed["employee_id"].str.fullmatch(r"E\d{6}").all()
    assert (parsed["extract_date"] == "2023-02-28").all()
    active = parsed["termination_date"].isna()
    assert active.sum() == (first["termination_date"].isna()).sum()
    assert parsed.loc[~active, "termination_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert parsed["monthly_income"].str.fullmatch(r"\d+\.\d{2}").all()
    assert len(rows) == len(first)


def test_extracts_are_full_snapshots_whose_history_never_changes() -> None:
    frames = extracts(400, 13)
    for month, (before, after) in enumerate(itertools.pairwise(frames), start=1):
        old = before.set_index("employee_id")
        new = after.set_index("employee_id").loc[old.index]  # everyone known stays known
        assert (new["hire_date"] == old["hire_date"]).all() and (new["birth_date"] == old["birth_date"]).all()
        left = old["termination_date"].notna()
        assert (new.loc[left, "termination_date"] == old.loc[left, "termination_date"]).all()
        if month % 12:  # no raise: incomes unchanged
            assert (new["monthly_income"] == old["monthly_income"]).all()


def test_leavers_leave_within_their_month_and_are_replaced_on_the_next_first() -> None:
    frames = extracts(400, 6)
    for month, frame in enumerate(frames):
        first = day(date(2023, month + 1, 1))
        end = frame["extract_date"].iloc[0].to_datetime64().astype("datetime64[D]")
        ended = frame["termination_date"].to_numpy().astype("datetime64[D]")
        hired = frame["hire_date"].to_numpy().astype("datetime64[D]")
        assert (hired <= first).all()
        at_month_start = (hired <= first) & (np.isnat(ended) | (ended >= first))
        assert at_month_start.sum() == 400  # constant headcount at every month start
        this_month = ~np.isnat(ended) & (ended >= first)
        assert (ended[this_month] <= end).all()
        if month:
            previous = day(date(2023, month, 1))
            previous_leavers = (~np.isnat(ended) & (ended >= previous) & (ended < first)).sum()
            assert previous_leavers > 0 and (hired == first).sum() == previous_leavers


def test_the_initial_workforce_is_drawn_like_the_seed() -> None:
    frame = extracts(20_000, 1, seed=11)[0]
    seed = generate_frame(3, 20_000, seed=11)
    start = day(START)
    ages = completed_years(frame["birth_date"].to_numpy(), start)
    tenure = completed_years(frame["hire_date"].to_numpy(), start)
    assert ages.min() == 22 and ages.max() == 59 and tenure.min() == 0 and tenure.max() == 19
    assert abs(ages.mean() - seed["age"].mean()) < 0.4
    assert abs(tenure.mean() - seed["years_at_company"].mean()) < 0.3
    shares = frame["job_role"].value_counts(normalize=True)
    for role, weight in zip(JOB_ROLES, JOB_ROLE_WEIGHTS, strict=True):
        assert abs(shares[role] - weight) < 0.015, role
    income = frame["monthly_income"]
    assert income.min() >= 2000 and income.max() <= 15000
    assert abs(income.mean() - seed["monthly_income"].mean()) < 50  # both ~ 6500 (version 3)
    assert abs(income.std() - seed["monthly_income"].std()) < 50


def test_compounded_monthly_hazard_is_the_seed_probability() -> None:
    p = np.array([0.0, 0.2, 0.3, 0.35, 0.5, 0.55, 0.65, 0.85])
    assert np.allclose(1 - (1 - monthly_hazard(p)) ** 12, p, atol=1e-12)


def test_twelve_month_leaving_rate_per_seed_probability_is_within_a_binomial_interval() -> None:
    """No drift, so each initial employee's seed probability is fixed for a year unless tenure crosses
    3 years (tenure 2 at start: excluded); the share gone by the 12th extract must match it."""
    frames = extracts(60_000, 12, seed=5, version_per_year=0.0)
    last = frames[-1]
    start = day(START)
    initial = last[last["hire_date"] < pd.Timestamp(START)]
    tenure = completed_years(initial["hire_date"].to_numpy(), start)
    probability = attrition_probability(
        3, initial["job_role"].to_numpy(), initial["monthly_income"].to_numpy(), tenure
    )
    left = initial["termination_date"].notna().to_numpy()
    steady = tenure != 2
    levels = sorted(set(np.round(probability[steady], 6)))
    assert len(levels) == 8  # every combination of the seed's three risk terms
    for level in levels:
        group = steady & np.isclose(probability, level)
        n, observed = int(group.sum()), float(left[group].mean())
        assert n > 250, level
        if level == 0:
            assert observed == 0.0
            continue
        margin = 4 * math.sqrt(level * (1 - level) / n)  # 4 standard errors
        assert abs(observed - level) < margin, (level, n, observed)


def test_incomes_rise_by_a_version_a_year_and_new_hires_follow_the_pay_scale() -> None:
    frames = extracts(3000, 25, seed=3)
    before, after = frames[11].set_index("employee_id"), frames[12].set_index("employee_id")
    stayed = before.index[before["termination_date"].isna()]
    raise_ = after.loc[stayed, "monthly_income"] - before.loc[stayed, "monthly_income"]
    capped = before.loc[stayed, "monthly_income"] > 14_500
    assert np.allclose(raise_[~capped], 500.0)
    last = frames[-1]
    year_two_hires = last[(last["hire_date"] > "2024-01-01") & (last["hire_date"] <= "2025-01-01")]
    # hired in 2024 on the version-4 scale (mean 7000), then raised once in January 2025
    assert abs(year_two_hires["monthly_income"].mean() - 7500) < 150
    assert len(year_two_hires) > 300


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--start", "2023-01-15"], "error: start must be the first day of a month, got 2023-01-15\n"),
        (["--employees", "0"], "error: employees must be at least 1, got 0\n"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    args = {"--employees": "10", "--months": "2", "--start": "2023-01-01", "--seed": "1"}
    args.update(dict(zip(options[::2], options[1::2], strict=True)))
    flat = [part for pair in args.items() for part in pair]
    assert main(["simulate", *flat, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == message
    assert not (tmp_path / "out").exists()


def test_a_folder_holding_other_files_is_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    args = ["simulate", "--employees", "5", "--months", "1", "--start", "2023-01-01", "--seed", "1"]
    code = main([*args, "--out", str(tmp_path)])
    assert code == 2
    assert "refusing to replace" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_an_earlier_export_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "export"
    args = ["simulate", "--employees", "5", "--start", "2023-01-01", "--seed", "1", "--out", str(out)]
    assert main([*args, "--months", "3"]) == 0
    assert main([*args, "--months", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["hris_2023-01-31.csv", "hris_2023-02-28.csv"]


def test_config_rejects_a_start_that_is_not_a_month_start() -> None:
    with pytest.raises(SimulationError, match="first day of a month"):
        SimulationConfig(10, 2, date(2023, 1, 2), 1)
