"""A company's workforce month by month, as the seed generator would have it live; month-end extracts.

The export format: one CSV per month end, ``hris_YYYY-MM-DD.csv``, each a full snapshot of every
employee the HRIS knows on that day (active ones, and those who left with their ``termination_date``),
one row per employee sorted by ``employee_id``, columns :data:`EXTRACT_COLUMNS`. A full snapshot rather
than change files, because that is what an HRIS report gives and because a missed or repeated day
then heals itself: each extract alone says the whole truth as of its date.

How the workforce moves (the seed, read as a process):

- the initial workforce is drawn like ``attrition.method.synthetic.generate_frame``: ages 22-59, roles
  by the seed's weights, income ~ N(5000 + 500 v, 1500) clipped to [2000, 15000], tenure 0-19 years,
  turned into birth and hire dates before ``start``;
- the seed's ``attrition_probability`` is read as the chance of leaving within 12 months at the
  employee's current features, so each month an active employee leaves with the monthly hazard
  h = 1 - (1 - p)^(1/12), on a uniformly drawn day of that month;
- time moves the seed's version: v(t) = start_version + version_per_year * months / 12 sets the
  hazard's low-income cutoff (4000 + 200 v) every month, and every 12 months the pay scale moves the
  way a version step moves the seed's mean income: everyone active gets a raise of 500 * version_per_year
  (effective on the first of that month; clipped to the seed's range) and new hires are drawn at it;
- age and tenure advance with the calendar; every leaver is replaced by a new hire (tenure 0) starting
  on the first of the next month, so headcount stays constant at month starts.

Everything is drawn from one ``numpy.random.Generator(seed)`` in a fixed order, vectorised over
employees, so the same arguments give byte-identical files and a million employees are feasible.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import cast

import numpy as np
import pandas as pd

from attrition.canonical_json import per_distinct
from attrition.dataset import completed_years
from attrition.method.synthetic import JOB_ROLE_WEIGHTS, JOB_ROLES, attrition_probability

EXTRACT_COLUMNS: tuple[str, ...] = (
    "employee_id",
    "hire_date",
    "birth_date",
    "job_role",
    "monthly_income",
    "termination_date",
    "extract_date",
)
# The seed's draws (attrition.method.synthetic.generate_frame), named.
AGE_RANGE = (22, 60)  # integers, upper bound exclusive
TENURE_RANGE = (0, 20)
INCOME_BASE, INCOME_PER_VERSION, INCOME_SD = 5000.0, 500.0, 1500.0
INCOME_CLIP = (2000.0, 15000.0)
ROLE_NAMES = np.array(JOB_ROLES)
DAY = np.timedelta64(1, "D")

# The seed types `version` as int; its formula is plain arithmetic, so a fractional version between
# two of the seed's integer versions is the same formula between them.
_seed_probability = cast(
    Callable[[float, np.ndarray, np.ndarray, np.ndarray], np.ndarray], attrition_probability
)


class SimulationError(ValueError):
    """Arguments the simulation cannot run with; the message is one line naming what is allowed."""


@dataclass(frozen=True)
class SimulationConfig:
    """What `attrition hris simulate` draws: a company of `employees` over `months` from `start`."""

    employees: int
    months: int
    start: date
    seed: int
    start_version: float = 3.0
    version_per_year: float = 1.0

    def __post_init__(self) -> None:
        if self.employees < 1:
            raise SimulationError(f"employees must be at least 1, got {self.employees}")
        if not 1 <= self.months <= 1200:
            raise SimulationError(f"months must be 1..1200, got {self.months}")
        if self.start.day != 1:
            raise SimulationError(f"start must be the first day of a month, got {self.start.isoformat()}")
        if self.start_version < 0 or self.version_per_year < 0:
            raise SimulationError("start_version and version_per_year must be >= 0")

    @property
    def id_width(self) -> int:
        """Digits of an employee id: enough for every hire the run can make (one per leaver)."""
        return max(6, len(str(self.employees * (self.months + 1))))


@dataclass(frozen=True)
class Extract:
    """One month-end extract: its date and its rows (typed: dates as datetime64, income as float)."""

    extract_date: date
    frame: pd.DataFrame


def month_start(start: date, months: int) -> date:
    """The first day of the month `months` after `start`'s month."""
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def years_before(anchor: date, years: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Dates `years` whole years and then `days` (0-364) days before `anchor`, the first of a month.

    So that ``completed_years(result, anchor) == years`` exactly: the seed's integer age and tenure.
    """
    first = np.datetime64(anchor.isoformat(), "M") - 12 * years.astype(np.int64)
    return first.astype("datetime64[D]") - days.astype(np.int64)


def monthly_hazard(probability: np.ndarray) -> np.ndarray:
    """h = 1 - (1 - p)^(1/12): twelve months at h leave with probability p (scalar maths per value)."""
    return per_distinct(lambda p: 1.0 - (1.0 - p) ** (1.0 / 12.0), probability)


def draw_people(
    rng: np.random.Generator, count: int, income_version: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ages, role codes (into JOB_ROLES) and incomes drawn as the seed draws them at a version."""
    ages = rng.integers(*AGE_RANGE, size=count)
    roles = rng.choice(len(JOB_ROLES), size=count, p=JOB_ROLE_WEIGHTS).astype(np.int8)
    mean = INCOME_BASE + INCOME_PER_VERSION * income_version
    incomes = rng.normal(mean, INCOME_SD, count).clip(*INCOME_CLIP).round(2)
    return ages, roles, incomes


class _Workforce:
    """Everyone ever employed, as parallel arrays that grow by each month's hires."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.ids = np.empty(0, dtype=object)
        self.birth = np.empty(0, dtype="datetime64[D]")
        self.hire = np.empty(0, dtype="datetime64[D]")
        self.role = np.empty(0, dtype=np.int8)
        self.income = np.empty(0, dtype=np.float64)
        self.termination = np.empty(0, dtype="datetime64[D]")

    def __len__(self) -> int:
        return len(self.ids)

    def hire_people(self, birth: np.ndarray, hire: np.ndarray, role: np.ndarray, income: np.ndarray) -> None:
        first = len(self) + 1
        numbers = range(first, first + len(birth))
        self.ids = np.concatenate([self.ids, np.array([f"E{n:0{self.width}d}" for n in numbers], object)])
        self.birth = np.concatenate([self.birth, birth])
        self.hire = np.concatenate([self.hire, hire])
        self.role = np.concatenate([self.role, role])
        self.income = np.concatenate([self.income, income])
        self.termination = np.concatenate([self.termination, np.full(len(birth), np.datetime64("NaT", "D"))])

    def frame(self, extract_date: date) -> pd.DataFrame:
        """The extract rows: everyone hired so far (hires start on a later month's first day)."""
        return pd.DataFrame(
            {
                "employee_id": pd.array(self.ids, dtype="str"),
                "hire_date": self.hire,
                "birth_date": self.birth,
                "job_role": pd.array(ROLE_NAMES[self.role], dtype="str"),
                "monthly_income": self.income,
                "termination_date": self.termination,
                "extract_date": np.full(len(self), np.datetime64(extract_date.isoformat(), "D")),
            }
        )


def simulate(config: SimulationConfig) -> Iterator[Extract]:
    """Yield the month-end extracts of `config`'s company in date order (a generator: one in memory)."""
    rng = np.random.default_rng(config.seed)
    people = _Workforce(config.id_width)
    ages, roles, incomes = draw_people(rng, config.employees, config.start_version)
    tenure = rng.integers(*TENURE_RANGE, size=config.employees)
    birth = years_before(config.start, ages, rng.integers(0, 365, config.employees))
    hire = years_before(config.start, tenure, rng.integers(0, 365, config.employees))
    people.hire_people(birth, hire, roles, incomes)
    for month in range(config.months):
        first = month_start(config.start, month)
        first_day = np.datetime64(first.isoformat(), "D")
        active = np.flatnonzero(np.isnat(people.termination))
        if month and month % 12 == 0:  # the yearly raise: the pay scale moves one year of versions
            raised = people.income[active] + INCOME_PER_VERSION * config.version_per_year
            people.income[active] = raised.clip(*INCOME_CLIP).round(2)
        version = config.start_version + config.version_per_year * month / 12
        probability = _seed_probability(
            version,
            ROLE_NAMES[people.role[active]],
            people.income[active],
            completed_years(people.hire[active], first_day),
        )
        leaving = active[rng.random(len(active)) < monthly_hazard(probability)]
        days_in_month = calendar.monthrange(first.year, first.month)[1]
        people.termination[leaving] = first_day + rng.integers(0, days_in_month, len(leaving)) * DAY
        yield Extract(month_end(first), people.frame(month_end(first)))
        # drawn on this month's pay scale: a raise next month reaches them like everyone else
        pay_version = config.start_version + config.version_per_year * (month // 12)
        ages, roles, incomes = draw_people(rng, len(leaving), pay_version)
        starts = month_start(config.start, month + 1)
        birth = years_before(starts, ages, rng.integers(0, 365, len(leaving)))
        hire = np.full(len(leaving), np.datetime64(starts.isoformat(), "D"))
        people.hire_people(birth, hire, roles, incomes)


def extract_filename(extract_date: date) -> str:
    """``hris_YYYY-MM-DD.csv``: the extract's date is in its name, so a folder sorts by date."""
    return f"hris_{extract_date.isoformat()}.csv"


def _date_text(values: pd.Series) -> np.ndarray:
    text = np.datetime_as_string(values.to_numpy().astype("datetime64[D]"), unit="D")
    return np.where(text == "NaT", "", text)


def extract_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The extract as CSV: ISO dates, an empty termination_date while active, incomes to the cent."""
    text = frame.loc[:, list(EXTRACT_COLUMNS)].copy()
    for column in ("hire_date", "birth_date", "termination_date", "extract_date"):
        text[column] = _date_text(frame[column])
    return str(text.to_csv(index=False, lineterminator="\n", float_format="%.2f")).encode("utf-8")
