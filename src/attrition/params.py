"""params.yaml, read once and validated into typed objects before any stage does work.

DVC hands every stage the same params.yaml; validating all of it up front means a typo such as
``version: abc`` stops the run with one line naming the key, before a stage deletes or rewrites
anything.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from attrition.dataset import TRAINING_SEED_BASE

PositiveInt = Annotated[int, Field(strict=True, gt=0)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]
Alpha = Annotated[float, Field(gt=0.0, le=0.25)]  # an error rate a claim is allowed


class _Section(BaseModel):
    # Unknown keys are errors: a misspelled parameter must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(_Section):
    """Where stage `extract` takes the training rows from (issue 22).

    ``seed``: the generator's dataset version (``version``), as the seed exercise defines it.
    ``hris``: a point-in-time training set from the feature store at a pinned Delta table version, so
    dvc.lock hashes the rows themselves and the same params give the same bytes on any machine.
    """

    source: Literal["seed", "hris"] = "seed"
    store: str | None = None  # a folder or s3://bucket/prefix (hris)
    # Pinned, never "the latest": a refresh after the run would otherwise change the rows silently.
    table_version: NonNegativeInt | None = None
    as_of: date | None = None  # T: no feature and no label from after it
    horizon_months: Annotated[int, Field(strict=True, ge=1, le=120)] = 12  # label: left within this
    every_months: Annotated[int, Field(strict=True, ge=1, le=120)] = 1  # snapshot spacing
    # Out of time: the most recent labelled snapshots are the hold-out (and the gate's evidence);
    # training uses snapshots whose labels were known by then (<= first hold-out - horizon).
    holdout_snapshots: Annotated[int, Field(strict=True, ge=1, le=120)] = 1

    @model_validator(mode="after")
    def _hris_is_pinned(self) -> DataParams:
        if self.source == "hris":
            missing = [k for k in ("store", "table_version", "as_of") if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    f"source hris needs data.{', data.'.join(missing)} (a store, its pinned table "
                    "version and the as-of date)"
                )
        return self


class GenerateParams(_Section):
    n_samples: PositiveInt = 800


class CrossValidation(_Section):
    folds: Annotated[int, Field(strict=True, ge=2, le=20)] = 5
    seed: NonNegativeInt = 42
    # Hyperparameter search on a million rows would dominate the run; past this size a stratified
    # subsample of the training split is searched, then the pick is refitted on the whole split.
    max_rows: Annotated[int, Field(strict=True, ge=100)] = 20000


class ThresholdPolicy(_Section):
    """How the decision threshold is picked from cross-validated probabilities."""

    policy: Literal["max_precision_at_recall", "max_f1"] = "max_precision_at_recall"
    min_recall: Annotated[float, Field(gt=0.0, le=1.0)] = 0.7
    # Optional slack: the chosen threshold's CV recall minus this many binomial standard errors must
    # still reach min_recall. The out-of-fold recall rests on ~100 positives (a 4-5 pp standard error);
    # carrying the threshold by flag share (fitting.transfer_threshold) already keeps the promise there.
    recall_margin_se: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0


class ColumnSelection(_Section):
    """Which input columns the model may use, chosen by attrition.method.selection on the CV rows."""

    method: Literal["none", "drop_column"] = "drop_column"
    # A column stays only if dropping it raises the CV log loss by more than this many standard errors.
    tolerance_se: Annotated[float, Field(ge=0.0, le=10.0)] = 2.0
    # Repeated stratified k-fold (cv.folds folds, cv.seed) for the importances: more folds, steadier SE.
    repeats: Annotated[int, Field(strict=True, ge=1, le=20)] = 4
    # Past this many CV rows the importances are judged on a subsample of them (stratified, or whole
    # employees): its fits are most of training at large n. bench/bench_selection_rows.py measures it.
    max_rows: Annotated[int, Field(strict=True, ge=100)] = 5000


class CalibrationParams(_Section):
    """The strictly increasing recalibration map fitted on out-of-fold scores (method.calibration)."""

    method: Literal["none", "platt", "isotonic"] = "isotonic"


class LogregGrid(_Section):
    C: list[Annotated[float, Field(gt=0.0)]] = Field(default=[0.1, 1.0, 10.0], min_length=1)


class HgbGrid(_Section):
    max_depth: list[PositiveInt] = Field(default=[1, 2], min_length=1)
    learning_rate: list[Annotated[float, Field(gt=0.0, le=1.0)]] = Field(default=[0.05], min_length=1)
    max_iter: list[PositiveInt] = Field(default=[50, 100], min_length=1)
    min_samples_leaf: list[PositiveInt] = Field(default=[20], min_length=1)
    l2_regularization: list[Annotated[float, Field(ge=0.0)]] = Field(default=[1.0], min_length=1)


class TrainParams(_Section):
    model: Literal["logreg", "hgb"] = "hgb"
    test_size: Fraction = 0.2
    split_seed: NonNegativeInt = 42
    seed: NonNegativeInt = 0
    # Training rows recorded with their probabilities; the package's verification replays them.
    sample_profiles: Annotated[int, Field(strict=True, ge=1, le=100)] = 6
    cv: CrossValidation = CrossValidation()
    threshold: ThresholdPolicy = ThresholdPolicy()
    selection: ColumnSelection = ColumnSelection()
    calibration: CalibrationParams = CalibrationParams()
    logreg: LogregGrid = LogregGrid()
    hgb: HgbGrid = HgbGrid()

    def grid(self) -> dict[str, list[Any]]:
        """The declared hyperparameter grid of the selected model family."""
        section = self.logreg if self.model == "logreg" else self.hgb
        return {key: list(values) for key, values in section.model_dump().items()}


class Bootstrap(_Section):
    n: Annotated[int, Field(strict=True, ge=100, le=100000)] = 1000
    seed: NonNegativeInt = 7


class EvaluateParams(_Section):
    # Upper-exclusive edges: [30, 45] gives bands "<30", "30-44" and "45+".
    age_bands: list[PositiveInt] = Field(default=[30, 45], min_length=1)
    bootstrap: Bootstrap = Bootstrap()
    calibration_bins: Annotated[int, Field(strict=True, ge=2, le=50)] = 10
    # A recall gap between groups is reported as a finding only when every group has at least this
    # many positives; below it the gap is marked insufficient_data (its interval is still shown).
    # The same bar as monitor.fairness.min_positives_per_band, so evaluate and monitor agree.
    fairness_min_positives: Annotated[int, Field(strict=True, ge=1)] = 100
    # Error rate of each claim about a gap between groups (method.groups): the gap's interval is
    # simultaneous over the pairs of groups at 1 - 2 * alpha (90% for 0.05).
    fairness_alpha: Alpha = 0.05
    # ROC and PR plot data keep at most this many points (plus the operating point), at any data size.
    plot_points: Annotated[int, Field(strict=True, ge=10, le=5000)] = 200

    @model_validator(mode="after")
    def _bands_increase(self) -> EvaluateParams:
        if list(self.age_bands) != sorted(set(self.age_bands)):
            raise ValueError("age_bands must be strictly increasing ages, e.g. [30, 45]")
        return self


class PackageParams(_Section):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")] = "attrition-model"


class ExplainParams(_Section):
    """Per-prediction reasons (issue 24): the background sample and the words (attrition.modelpkg.explain).

    The background is a seeded sample of the training split stored in the package; exact Shapley
    values cost the same at any size on tree models (their tables are built once per load), and its
    mean probability is every answer's baseline.
    """

    background_rows: Annotated[int, Field(strict=True, ge=10, le=2000)] = 200
    seed: NonNegativeInt = 24
    top_reasons: Annotated[int, Field(strict=True, ge=1, le=4)] = 3
    # A reason is worded only when its input moves the probability by at least this much.
    min_contribution: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.005
    # A job role with fewer training rows is compared with all employees, not its own colleagues.
    min_group_rows: Annotated[int, Field(strict=True, ge=10)] = 30


class GateParams(_Section):
    """The promotion gate's declared limits (issue 9) and the error rates of its bias rule (issue 21)."""

    # The plan's named policy: every pairwise age-band recall difference within +-2 pp.
    bias_limit: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.02
    # Where the burden of proof lies. "unfairness": fail only when the gap is shown above the limit
    # (a candidate within it fails in <= bias_alpha of evaluations); "fairness": pass only when shown
    # within the limit or no worse than production (an unfair candidate passes in <= bias_alpha).
    bias_burden: Literal["unfairness", "fairness"] = "unfairness"
    bias_alpha: Alpha = 0.05
    # "No worse than production": candidate gap - production gap shown <= this (both gaps' bounds).
    bias_noninferiority_margin: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.02
    # Deployed recall may fall short of production's by at most this (lower bound of the difference).
    max_recall_drop: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.02
    min_positives: Annotated[int, Field(strict=True, ge=1)] = 200  # below: insufficient_evidence
    min_positives_per_band: Annotated[int, Field(strict=True, ge=1)] = 30
    bootstrap: Bootstrap = Bootstrap(n=1000, seed=11)
    chunk_cells: Annotated[int, Field(strict=True, ge=10000)] = 2_000_000  # rows x resamples held at once


class EvalsetParams(_Section):
    """The gate's evaluation rows: the version's hold-out plus a fresh labelled generator sample."""

    n_samples: PositiveInt = 150000
    # The fresh sample is drawn with seed_base + version; training data uses 1234 + version.
    seed_base: NonNegativeInt = 5_000_000

    @model_validator(mode="after")
    def _never_the_training_seed(self) -> EvalsetParams:
        if self.seed_base == TRAINING_SEED_BASE:
            raise ValueError(f"seed_base {TRAINING_SEED_BASE} is the training data's seed base; pick another")
        return self


# --- monitoring (issue 10) -------------------------------------------------------------------------

Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*[smhdw]$")]


class PsiThreshold(_Section):
    """A PSI alert level that only applies once a window holds at least `min_rows` rows."""

    min_rows: PositiveInt
    psi: Annotated[float, Field(gt=0.0)]


class DriftParams(_Section):
    # Windows ending now, e.g. the last day and the last four days of traffic.
    windows: list[Duration] = Field(default=["1d", "4d"], min_length=1)
    # Measured on version-3 samples without drift: 200-row windows exceed 0.2 on some column 6% of the
    # time, 500-row windows never did, and at 2,000 rows the 99th percentile is <= 0.04.
    thresholds: list[PsiThreshold] = Field(
        default=[PsiThreshold(min_rows=500, psi=0.2), PsiThreshold(min_rows=2000, psi=0.1)], min_length=1
    )

    @model_validator(mode="after")
    def _thresholds_tighten(self) -> DriftParams:
        rows = [t.min_rows for t in self.thresholds]
        if rows != sorted(set(rows)):
            raise ValueError("monitor.drift.thresholds must have strictly increasing min_rows")
        return self


class DecayParams(_Section):
    max_drop: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.05  # the plan's 5 pp
    min_support: PositiveInt = 50  # positives (recall) or flagged rows (precision) before any verdict


class FairnessParams(_Section):
    max_gap: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.05  # the plan's 5 pp
    # The alert claims "gap > max_gap" only when the simultaneous interval's lower bound is above it:
    # a model whose true gap is <= max_gap alerts in <= alpha of quarters (bench/bench_fairness.py).
    alpha: Alpha = 0.05
    min_positives_per_band: PositiveInt = 100


class EstimateParams(_Section):
    # A month's realized recall and precision are judged once this share of its scored employees has
    # an outcome; before, it gets only the CBPE estimate (a part-labelled month is biased to leavers).
    labelled_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9
    # Equal-count score bins per decision side in the CBPE label simulation (bench/bench_cbpe.py).
    score_bins: Annotated[int, Field(strict=True, ge=8, le=4096)] = 64


class MonitorParams(_Section):
    drift: DriftParams = DriftParams()
    decay: DecayParams = DecayParams()
    fairness: FairnessParams = FairnessParams()
    estimate: EstimateParams = EstimateParams()
    labelled_since: Duration = "90d"  # predictions joined with outcomes for decay and fairness
    bootstrap: Bootstrap = Bootstrap(n=2000, seed=11)
    # Numeric reference columns keep at most this many values (evenly spaced quantiles beyond it).
    reference_max_values: Annotated[int, Field(strict=True, ge=100, le=1_000_000)] = 10000
    on_decay_timeout_s: PositiveInt = 7200


class Params(_Section):
    version: PositiveInt
    data: DataParams = DataParams()
    generate: GenerateParams = GenerateParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    package: PackageParams = PackageParams()
    explain: ExplainParams = ExplainParams()
    gate: GateParams = GateParams()
    evalset: EvalsetParams = EvalsetParams()
    monitor: MonitorParams = MonitorParams()


class ParamsError(ValueError):
    """params.yaml is unreadable or a value is outside what is allowed; the message is one line."""


_ALLOWED: dict[str, str] = {
    "version": "a positive integer dataset version such as 1, 2 or 3",
    "generate.n_samples": "a positive integer row count",
    "data.source": "'seed' (the generator's dataset version) or 'hris' (the feature store)",
    "data.as_of": "a date YYYY-MM-DD",
    "data.table_version": "a Delta table version (an integer >= 0)",
    "monitor.estimate.labelled_share": "a share in (0, 1], such as 0.9",
    "monitor.estimate.score_bins": "an integer from 8 to 4096",
    "train.model": "'logreg' or 'hgb'",
    "train.test_size": "a fraction strictly between 0 and 1",
    "train.selection.method": "'none' or 'drop_column'",
    "train.calibration.method": "'none', 'platt' or 'isotonic'",
}


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    allowed = _ALLOWED.get(key, first["msg"].rstrip("."))
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key {key!r}; check the spelling against the documented params"
    if first["type"] == "value_error":  # a section's own rule: its message says what is allowed
        return f"{source}: invalid {key}: {first['msg'].removeprefix('Value error, ')}"
    if first["type"] == "missing":
        return f"{source}: missing key {key!r}; it must be {allowed}"
    return f"{source}: invalid {key} = {first.get('input')!r}; allowed: {allowed}"


def parse_params(raw: Any, *, source: str = "params.yaml") -> Params:
    """Validate an already-parsed YAML mapping."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: must be a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise ParamsError(_describe(error, source)) from None


def load_params(path: Path) -> Params:
    """Read and validate params.yaml."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    return parse_params(raw, source=str(path))


def main(argv: list[str] | None = None) -> int:
    """Check params.yaml without running anything (``make repro`` calls this before ``dvc repro``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("params", type=Path, nargs="?", default=Path("params.yaml"))
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
    except ParamsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.params}: ok (version {params.version}, model {params.train.model})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
