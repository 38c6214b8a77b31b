"""Request and response bodies; the bounds here are what the OpenAPI schema promises callers.

Models are strict (no "30" for 30, no true for 1) and forbid unknown fields, so a typo in a field
name is a 422 naming that field instead of a silently ignored value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from attrition.audit.decisions import ACTIONS, MAX_REASON_CHARS
from attrition.audit.schema import ID_LENGTH
from attrition.columns import FEATURES

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

# The model's inputs (attrition.columns): a request sends all four (scored as sent) or none (looked up
# by employee_id).
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
FEATURE_SET_RULE = (
    "send all four features (age, job_role, monthly_income, years_at_company), or none of them with "
    "an employee_id to score its features from the online feature store"
)


@dataclass(frozen=True)
class _Absent:
    """Stands in for a feature a partial request left out, so the error is reported at that field."""

    missing: tuple[str, ...]


def tenure_warnings(age: int, years_at_company: int) -> list[str]:
    """Implausible but accepted combinations: the service scores what the generator can draw.

    Refusing tenure > age - 16 turned away 12% of the roster the model was trained on (issue 10)
    and made the accepted traffic look like age drift; a warning keeps training and serving on the
    same population while still telling the caller the row looks like a data-entry error.
    """
    limit = age - MIN_AGE
    if years_at_company > limit:
        return [f"years_at_company ({years_at_company}) exceeds age - {MIN_AGE} ({limit})"]
    return []


def _features_all_or_none(schema: dict[str, Any]) -> None:
    """The wire form: a feature is omitted, never null (None exists only in Python), and the
    all-or-none rule is stated as two alternatives a client generator can follow."""
    properties = schema["properties"]
    for name in FEATURE_NAMES:
        field = dict(properties[name])
        (value,) = [branch for branch in field.pop("anyOf") if branch.get("type") != "null"]
        field.pop("default", None)
        properties[name] = {**value, **field}
    schema["anyOf"] = [
        {"required": list(FEATURE_NAMES)},
        {
            "required": ["employee_id"],
            "properties": {"employee_id": {"type": "string"}, **dict.fromkeys(FEATURE_NAMES, False)},
        },
    ]


class EmployeeFeatures(BaseModel):
    """One employee: all four features (scored as sent) or none with an employee_id (scored from
    the online feature store), plus the privacy flag."""

    model_config = _STRICT | ConfigDict(json_schema_extra=_features_all_or_none)

    age: int | None = Field(default=None, ge=MIN_AGE, le=MAX_AGE, description="Age in whole years")
    job_role: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="One of the loaded model's known roles (see the enum / GET /readyz)",
        examples=["Sales"],
    )
    monthly_income: float | None = Field(
        default=None, gt=0, le=MAX_MONTHLY_INCOME, description="Gross monthly income", examples=[5200.0]
    )
    years_at_company: int | None = Field(
        default=None,
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
            "With the four features it is only echoed in the answer and written to the audit log "
            "(unless opt_out); it is NOT looked up: the score comes from the four inputs sent, whether "
            "or not the id is on the roster. Sent alone (no feature), it is looked up in the online "
            "feature store (ATTRITION_ONLINE_FEATURES) and the employee's features there are scored: "
            "404 for an id the store does not know, 410 for one who has left. While no model is "
            "loaded it selects the nightly batch score instead."
        ),
    )
    opt_out: bool = Field(
        default=False, description="Scored, but the inputs and id are never written to the audit store"
    )

    @model_validator(mode="before")
    @classmethod
    def _all_features_or_none(cls, data: Any) -> Any:
        """A partial set (or neither features nor an id) marks each missing feature, so the 422
        names every one of them and says what is allowed."""
        if not isinstance(data, dict):
            return data  # pydantic refuses it as a non-object
        missing = tuple(name for name in FEATURE_NAMES if name not in data)
        by_id = len(missing) == len(FEATURE_NAMES) and data.get("employee_id") is not None
        if not missing or by_id:
            return data
        return {**data, **dict.fromkeys(missing, _Absent(missing))}

    @field_validator(*FEATURE_NAMES, mode="before")
    @classmethod
    def _given_and_not_null(cls, value: Any) -> Any:
        """Omitted is allowed (all four together); null never is: it would read as a value."""
        if isinstance(value, _Absent):
            raise PydanticCustomError(
                "missing",
                "Field required: {rule}; missing: {missing}",
                {"rule": FEATURE_SET_RULE, "missing": ", ".join(value.missing)},
            )
        if value is None:
            raise PydanticCustomError(
                "null_feature", "Input should not be null: {rule}", {"rule": FEATURE_SET_RULE}
            )
        return value

    @property
    def by_id(self) -> bool:
        """No features were sent: they are looked up for employee_id."""
        return self.age is None

    def warnings(self) -> list[str]:
        """tenure_warnings for the features sent (none for a by-id request: its own are checked)."""
        if self.age is None or self.years_at_company is None:
            return []
        return tenure_warnings(self.age, self.years_at_company)

    def features(self) -> dict[str, object]:
        """The model's input columns as sent; ValueError for a by-id request (look them up instead)."""
        if self.by_id:
            raise ValueError("a by-id request carries no features: look them up for its employee_id")
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


FeatureSource = Literal["request", "online_store"]


class ScoredFeatures(BaseModel):
    """The model's four inputs as scored. No bounds: they are reported as the store holds them."""

    age: int
    job_role: str
    monthly_income: float
    years_at_company: int


class Reason(BaseModel):
    """One input's contribution in words, e.g. 'monthly income 3,200 is lower than about 80% of
    colleagues in Sales: +0.21' (percentiles of the training rows; no colleague's value is shown)."""

    input: str
    contribution: float
    text: str


class PredictionExplanation(BaseModel):
    """Why this score: each model input's exact Shapley value (interventional, over the background rows
    stored in the package), in probability; baseline + the contributions = the unrounded probability."""

    measured_in: Literal["probability"] = "probability"
    baseline: float = Field(description="The model's mean probability over the background rows")
    contributions: dict[str, float] = Field(
        description="Per model input; one the model does not use (age, when dropped) is not listed: zero"
    )
    reasons: list[Reason] = Field(description="The largest contributions in words, largest first")


class Prediction(BaseModel):
    """The score for one employee and where it and its features came from."""

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
            "The request's employee_id, echoed unchanged. With features sent it is not looked up: a "
            "'model' score comes from the inputs sent, even for an id no roster knows"
        ),
    )
    prediction_id: str = Field(
        description="Id of the audit row committed before this answer left; cite it in POST /decisions"
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Implausible inputs that were scored anyway, e.g. tenure beyond age - 16",
    )
    feature_source: FeatureSource | None = Field(
        default="request",
        description=(
            "Where the features came from: 'request' = the four sent by the caller; 'online_store' = "
            "read for employee_id from the online feature store (then `features`, "
            "`feature_table_version` and `features_as_of` say what and from where); null = none were "
            "read: an employee_id alone answered from the nightly batch score while no model is loaded"
        ),
    )
    features: ScoredFeatures | None = Field(
        default=None,
        description="The features read from the online feature store for employee_id (what was scored); "
        "null when the caller sent them",
    )
    feature_table_version: int | None = Field(
        default=None,
        description="Delta table version of the feature store the online features were materialized "
        "from; null unless feature_source is 'online_store'",
    )
    features_as_of: date | None = Field(
        default=None,
        description="The date the online features describe (age and years_at_company are computed at "
        "it: the materialization's as-of date); null unless feature_source is 'online_store'",
    )
    explanation: PredictionExplanation | None = Field(
        default=None,
        description="Why this score (source 'model'). Null for a 'batch' answer, which repeats a nightly "
        "score the service cannot explain while its model is not loaded, and for a package built "
        "before explanations (no explanation.json)",
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


class OnlineFeaturesReadiness(BaseModel):
    """The online feature store (ATTRITION_ONLINE_FEATURES) as readiness sees it."""

    ok: bool = Field(description="A store is loaded and the last load of the file succeeded")
    table_version: int | None = Field(default=None, description="Delta table version of the store serving")
    as_of: date | None = Field(default=None, description="The date its features describe")
    latest_extract: date | None = Field(default=None, description="The newest HRIS extract in that version")
    employees: int = Field(default=0, description="Active employees an employee_id alone can be scored for")
    reason: str | None = Field(
        default=None,
        description="Why the last load failed (a previous store, if any, keeps serving); the file's path "
        "and the reader's message are in the service log",
    )


class Readiness(BaseModel):
    """Readiness: a verified model is loaded and the audit store commits (or why not)."""

    status: Literal["ready", "not ready"]
    model_version: str | None = None
    scorer: str | None = Field(default=None, description="'compiled' or why the pipeline is used")
    reason: str | None = None
    batch_scores: int = Field(default=0, description="Employees with a nightly batch score")
    audit: AuditReadiness | None = None
    online_features: OnlineFeaturesReadiness | None = Field(
        default=None,
        description="null when ATTRITION_ONLINE_FEATURES is not set; configured but never loaded means "
        "not ready",
    )


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
