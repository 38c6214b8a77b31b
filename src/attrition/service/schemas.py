"""Request and response bodies; the bounds here are what the OpenAPI schema promises callers.

Models are strict (no "30" for 30, no true for 1) and forbid unknown fields, so a typo in a field
name is a 422 naming that field instead of a silently ignored value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

MIN_AGE = 16  # minimum working age: tenure can never exceed age - MIN_AGE
MAX_AGE = 80
MAX_MONTHLY_INCOME = 1_000_000.0
MAX_BATCH = 100
EMPLOYEE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"

EmployeeId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=EMPLOYEE_ID_PATTERN,
        description="Roster id such as E00042 (letters, digits, '_' or '-', at most 32)",
        examples=["E00001"],
    ),
]

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class EmployeeFeatures(BaseModel):
    """One employee as the model sees them, plus the optional id and privacy flag."""

    model_config = _STRICT

    age: int = Field(ge=MIN_AGE, le=MAX_AGE, description="Age in whole years")
    job_role: str = Field(
        min_length=1,
        max_length=64,
        description="One of the loaded model's known roles (see the enum / GET /readyz)",
        examples=["Sales"],
    )
    monthly_income: float = Field(
        gt=0, le=MAX_MONTHLY_INCOME, description="Gross monthly income", examples=[5200.0]
    )
    years_at_company: int = Field(ge=0, le=MAX_AGE - MIN_AGE, description=f"Tenure; at most age - {MIN_AGE}")
    employee_id: EmployeeId | None = Field(
        default=None,
        description=(
            "Only echoed in the answer and written to the audit log (unless opt_out); it is NOT "
            "looked up: the score comes from the four inputs sent, whether or not the id is on the "
            "roster. Only while no model is loaded does it select the nightly batch score."
        ),
    )
    opt_out: bool = Field(
        default=False, description="Scored, but the inputs and id are never written to the audit store"
    )

    @field_validator("years_at_company")
    @classmethod
    def _tenure_within_working_years(cls, value: int, info: ValidationInfo) -> int:
        """Tenure longer than the years since the minimum working age is a data-entry error."""
        age = info.data.get("age")
        if isinstance(age, int) and value > age - MIN_AGE:
            raise PydanticCustomError(
                "tenure_exceeds_working_years",
                "years_at_company ({value}) cannot exceed age - {min_age} ({limit})",
                {"value": value, "min_age": MIN_AGE, "limit": age - MIN_AGE},
            )
        return value

    def features(self) -> dict[str, object]:
        """The model's input columns only."""
        return {
            "age": self.age,
            "job_role": self.job_role,
            "monthly_income": self.monthly_income,
            "years_at_company": self.years_at_company,
        }


class BatchRequest(BaseModel):
    """Up to MAX_BATCH employees scored in one call."""

    model_config = _STRICT

    employees: list[EmployeeFeatures] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    """The score for one employee and where it came from."""

    attrition_probability: float = Field(ge=0, le=1, description="Rounded to 4 decimals")
    decision: bool = Field(description="probability >= decision_threshold (the package's)")
    decision_threshold: float | None = Field(
        description="The package's threshold; null for batch answers while no model is loaded"
    )
    model_version: str
    source: Literal["model", "batch"] = Field(
        description="'model' = scored live; 'batch' = nightly score (fallback)"
    )
    employee_id: str | None = Field(
        default=None,
        description=(
            "The request's employee_id, echoed unchanged and not looked up: a 'model' score "
            "comes from the inputs sent, even for an id no roster knows"
        ),
    )


class BatchPrediction(BaseModel):
    """Predictions in request order."""

    predictions: list[Prediction]


class BatchScore(BaseModel):
    """A nightly batch score for one roster employee."""

    employee_id: str
    attrition_probability: float = Field(ge=0, le=1)
    decision: bool
    model_version: str
    source: Literal["batch"] = "batch"


class FieldError(BaseModel):
    """One invalid input: which field (dotted path) and why."""

    field: str
    message: str
    type: str


class ErrorResponse(BaseModel):
    """Every non-2xx answer: a one-line `detail`, plus per-field errors for validation failures."""

    detail: str
    errors: list[FieldError] | None = None


class Health(BaseModel):
    """Liveness: the process is up and the event loop answers."""

    status: Literal["alive"] = "alive"


class Readiness(BaseModel):
    """Readiness: a verified model is loaded (or why not)."""

    status: Literal["ready", "not ready"]
    model_version: str | None = None
    scorer: str | None = Field(default=None, description="'compiled' or why the pipeline is used")
    reason: str | None = None
    batch_scores: int = Field(default=0, description="Employees with a nightly batch score")


class ReloadResult(BaseModel):
    """Outcome of POST /admin/reload."""

    reloaded: bool
    model_version: str | None
    previous_version: str | None
    batch_scores: int
    detail: str
