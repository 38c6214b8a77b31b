"""The model's input columns and its label: plain names, so the serving path can share them.

attrition.dataset (numpy, pandas) validates and splits frames with these names; the online feature
store (attrition.features.online) and the service read them without numpy or pandas, which the
serving image does not install.
"""

from __future__ import annotations

NUMERIC_FEATURES: list[str] = ["age", "monthly_income", "years_at_company"]
CATEGORICAL_FEATURES: list[str] = ["job_role"]
FEATURES: list[str] = ["age", "job_role", "monthly_income", "years_at_company"]
TARGET = "attrition"
COLUMNS: list[str] = [*FEATURES, TARGET]
