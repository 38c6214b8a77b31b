"""The seed exercise's synthetic HR generator: its specification, as pure functions.

The seed's ``generate_attrition_dataset(version)`` is the specification: for 800 rows the CSV written from
``generate_frame`` is byte-identical to the one it writes, for every version. The generate stage, the
gate's evaluation rows, the monitor's simulator and the benchmarks all draw through here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrition.dataset import training_seed

# The generator's own vocabulary. Only this stage (and the benchmark's Bayes limit) may know it;
# models learn roles from the data.
JOB_ROLES: list[str] = ["Sales", "Engineering", "HR", "Marketing", "Finance"]
JOB_ROLE_WEIGHTS: list[float] = [0.3, 0.35, 0.1, 0.15, 0.1]


def dataset_filename(version: int) -> str:
    """The seed's file name pattern."""
    return f"employee_attrition_v{version}.csv"


def attrition_probability(
    version: int, job_role: np.ndarray, monthly_income: np.ndarray, years_at_company: np.ndarray
) -> np.ndarray:
    """The generator's true attrition probability (the Bayes-optimal score)."""
    probability = (
        (monthly_income < (4000 + version * 200)).astype(float) * 0.35
        + (years_at_company < 3).astype(float) * 0.3
        + ((job_role == "Sales") | (job_role == "Marketing")).astype(float) * 0.2
    )
    return np.clip(probability, 0, 1)


def generate_frame(version: int, n_samples: int = 800, seed: int | None = None) -> pd.DataFrame:
    """Draw a dataset exactly as the seed does; `seed` overrides ``1234 + version`` for fresh samples.

    The seed function uses NumPy's legacy global RNG; a private ``RandomState`` with the same seed
    yields the same stream without touching global state.
    """
    rng = np.random.RandomState(training_seed(version) if seed is None else seed)
    age = rng.randint(22, 60, size=n_samples)
    job_role = rng.choice(JOB_ROLES, size=n_samples, p=JOB_ROLE_WEIGHTS)
    monthly_income = rng.normal(5000 + version * 500, 1500, n_samples).clip(2000, 15000)
    years_at_company = rng.randint(0, 20, n_samples)
    probability = attrition_probability(version, job_role, monthly_income, years_at_company)
    attrition = rng.binomial(1, probability)
    return pd.DataFrame(
        {
            "age": age,
            "job_role": job_role,
            "monthly_income": monthly_income.round(2),
            "years_at_company": years_at_company,
            "attrition": attrition,
        }
    )


def to_csv_text(frame: pd.DataFrame) -> str:
    """Serialize as the seed's ``df.to_csv(path, index=False)`` does on POSIX."""
    return str(frame.to_csv(index=False, lineterminator="\n"))
