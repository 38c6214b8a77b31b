"""Request and response bodies; the bounds here are what the OpenAPI schema promises callers.

Models are strict (no "30" for 30, no true for 1) and forbid unknown fields, so a typo in a field
name is a 422 naming that field instead of a silently ignored value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from attrition.audit.decisions import ACTIONS, MAX_REASON_CHARS
from attrition.audit.schema import ID_LENGTH

MIN_AGE = 16  # minimum working age: tenure beyond age - MIN_AGE is implausible (a warning, not a 422)
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
    years_at_company: int = Field(
        ge=0,
        le=MAX_AGE - MIN_AGE,
        description=(
            f"Tenure in whole years. More than age - {MIN_AGE} is implausible but scored (the training "
            "data draws tenure independently of age), with a warning in the answer"
        ),
    )
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

    def warnings(self) -> list[str]:
        """Implausible but accepted combinations: the service scores what the generator can draw.

        Refusing tenure > age - 16 turned away 12% of the roster the model was trained on (issue 10)
        and made the accepted traffic look like age drift; a warning keeps training and serving on the
        same population while still telling the caller the row looks like a data-entry error.
        """
        limit = self.age - MIN_AGE
        if self.years_at_company > limit:
            return [f"years_at_company ({self.years_at_company}) exceeds age - {MIN_AGE} ({limit})"]
        return []

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
    prediction_id: str = Field(
        description="Id of the audit row committed before this answer left; cite it in POST /decisions"
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Implausible inputs that were scored anyway, e.g. tenure beyond age - 16",
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
    prediction_id: str = Field(description="Id of the audit row committed before this answer left")


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


class AuditReadiness(BaseModel):
    """The audit store as readiness sees it: failing past its bound means not ready (fail closed)."""

    ok: bool
    backend: str = Field(description="'sqlite' or 'postgresql'")
    pending_rows: int = Field(description="Rows waiting for their commit")
    reason: str | None = None


class Readiness(BaseModel):
    """Readiness: a verified model is loaded and the audit store commits (or why not)."""

    status: Literal["ready", "not ready"]
    model_version: str | None = None
    scorer: str | None = Field(default=None, description="'compiled' or why the pipeline is used")
    reason: str | None = None
    batch_scores: int = Field(default=0, description="Employees with a nightly batch score")
    audit: AuditReadiness | None = None


class DecisionRequest(BaseModel):
    """A manager's action on one prediction; the reason is required (the plan's human in the loop)."""

    model_config = _STRICT

    prediction_id: str = Field(
        min_length=1, max_length=ID_LENGTH, description="The prediction_id a prediction answer carried"
    )
    action: str = Field(description="One of the declared actions", json_schema_extra={"enum": list(ACTIONS)})
    reason: str = Field(
        min_length=1,
        max_length=MAX_REASON_CHARS,
        pattern=r"\S",
        description=f"Why: required, not blank, at most {MAX_REASON_CHARS} characters",
    )
    employee_id: EmployeeId | None = Field(
        default=None,
        description=(
            "Whom the decision is about, for a prediction made without an id or with opt_out: lets "
            "the employee's access and erasure requests find it. Taken from the prediction when it "
            "has one (a different id is a 422)"
        ),
    )


class DecisionRecord(BaseModel):
    """A decision as stored, with who made it (the token subject) and whom it is about."""

    decision_id: str
    prediction_id: str
    action: str
    reason: str
    decided_by: str
    created_at: str = Field(description="ISO 8601 UTC")
    employee_id: str | None = Field(default=None, description="Whom it is about, when known")


class ReloadResult(BaseModel):
    """Outcome of POST /admin/reload."""

    reloaded: bool
    model_version: str | None
    previous_version: str | None
    batch_scores: int
    detail: str
