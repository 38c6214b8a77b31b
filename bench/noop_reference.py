"""Issue 26's yardstick: FastAPI POST /predict and /predict/batch parsing the same bodies, no work.

No model, no auth, no audit, no middleware: what the framework alone costs per request on this machine.
`bench/bench_overhead.py` serves it with the same uvicorn options as `attrition serve` and drives both
with the same load, side by side.

    uvicorn --factory bench.noop_reference:create_app
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class Employee(BaseModel):
    age: int
    job_role: str
    monthly_income: float
    years_at_company: int


class Batch(BaseModel):
    employees: list[Employee]


def create_app() -> FastAPI:
    """The no-op app: body validated, nothing computed."""
    app = FastAPI(title="no-op reference")

    @app.post("/predict")
    async def predict(employee: Employee) -> dict[str, object]:
        return {"attrition_probability": 0.5, "decision": False, "role": employee.job_role}

    @app.post("/predict/batch")
    async def predict_batch(batch: Batch) -> dict[str, object]:
        return {"predictions": [{"attrition_probability": 0.5, "role": e.job_role} for e in batch.employees]}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app
