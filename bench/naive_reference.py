"""The deployment plan's endpoint, as written there: a pydantic model -> pd.DataFrame -> predict_proba.

Used only by bench/bench_service.py as the baseline the real service is compared against. It loads
the same verified package (ATTRITION_PACKAGE) so both sides score with the same model. No auth, no
metrics, no audit: everything here favours the baseline.

    ATTRITION_PACKAGE=models/attrition-model uvicorn --factory bench.naive_reference:create_app
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

from attrition.modelpkg.artifact import load_package


class Employee(BaseModel):
    age: int
    job_role: str
    monthly_income: float
    years_at_company: int


def create_app() -> FastAPI:
    """The plan's app around the package named by ATTRITION_PACKAGE (verified before unpickling)."""
    package = load_package(Path(os.environ.get("ATTRITION_PACKAGE", "models/attrition-model")))
    model = package.model
    app = FastAPI(title="Attrition Predictor (naive reference)", version="1.0")

    @app.post("/predict")
    def predict(emp: Employee) -> dict[str, object]:
        """The plan's skeleton with the dummy value replaced by the real model call."""
        X = pd.DataFrame([emp.model_dump()])
        proba = float(model.predict_proba(X)[0, 1])
        return {
            "attrition_probability": float(np.round(proba, 4)),
            "model_version": package.model_version,
        }

    return app
