"""The model the service serves: one immutable ModelState built from a verified package.

The package's model.json (the scorer's numbers, see attrition.modelpkg.scorer) is what the service loads:
its hash is checked against the manifest first and its probabilities against the recorded
samples second, and no pickle is ever opened. An older package without model.json is served
through model.joblib only where scikit-learn is installed; elsewhere (the serving image) it is
refused, and the service answers from the batch scores until a package with model.json arrives.
A package's explanation.json gives the per-prediction reasons (attrition.modelpkg.explanation): its
explainer must reproduce the reference contributions the package recorded, or the package is refused
like one whose scores do not reproduce.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path

from attrition.modelpkg.artifact import (
    EXPLANATION_FILE,
    MODEL_DATA_FILE,
    PREDICTION_TOLERANCE,
    PackageContents,
    Sample,
    read_package,
    sample_mismatch,
)
from attrition.modelpkg.explain import ExplanationError
from attrition.modelpkg.explanation import PackageExplainer, explanation_mismatch, load_explainer
from attrition.modelpkg.scorer import (
    CompiledScorer,
    ModelDataError,
    PipelineScorer,
    build_scorer,
    scorer_from_data,
)


class ModelLoadError(Exception):
    """A package the service cannot serve from (one-line message)."""


@dataclass(frozen=True)
class ModelState:
    """A verified package and its scorer; never mutated after construction."""

    model_version: str
    decision_threshold: float
    job_roles: tuple[str, ...]
    role_set: frozenset[str]
    scorer: CompiledScorer | PipelineScorer
    package_path: Path
    loaded_at: float
    explainer: PackageExplainer | None = None  # None: a package without explanation.json


def scikit_learn_installed() -> bool:
    """Whether the joblib fallback for packages without model.json is possible here."""
    return importlib.util.find_spec("sklearn") is not None


def _state(
    contents: PackageContents,
    scorer: CompiledScorer | PipelineScorer,
    explainer: PackageExplainer | None = None,
) -> ModelState:
    roles = tuple(contents.job_roles)
    version, threshold = contents.model_version, contents.decision_threshold
    return ModelState(
        version, threshold, roles, frozenset(roles), scorer, contents.path, time.time(), explainer
    )


def load_package_explainer(package_dir: Path, contents: PackageContents) -> PackageExplainer | None:
    """The package's explainer, checked against its recorded reference contributions; None without one."""
    if not (package_dir / EXPLANATION_FILE).is_file():
        return None
    document = contents.document(EXPLANATION_FILE)
    try:
        explainer = load_explainer(contents.document(MODEL_DATA_FILE), document)
    except ExplanationError as error:
        raise ModelLoadError(f"{package_dir}: {EXPLANATION_FILE}: {error}") from None
    problem = explanation_mismatch(explainer.explainer, document, PREDICTION_TOLERANCE)
    if problem:
        raise ModelLoadError(f"{package_dir}: {EXPLANATION_FILE}: {problem}")
    return explainer


def check_samples(package_dir: Path, scorer: CompiledScorer, samples: list[Sample]) -> None:
    """The scorer must reproduce every recorded sample probability to PREDICTION_TOLERANCE."""
    if not samples:
        raise ModelLoadError(f"{package_dir}: samples.json holds no sample profiles")
    problem = sample_mismatch(scorer, samples)
    if problem:
        raise ModelLoadError(f"{package_dir}: {problem}")


def load_model_state(package_dir: Path, *, allow_pickle: bool | None = None) -> ModelState:
    """Verify and load a package: model.json when present, else model.joblib if allowed.

    `allow_pickle` defaults to "scikit-learn is installed". Raises ModelLoadError or
    attrition.modelpkg.artifact.PackageError with a one-line reason on any failure.
    """
    contents = read_package(package_dir)  # every hash before any file is parsed; never unpickles
    if (package_dir / MODEL_DATA_FILE).is_file():
        try:
            scorer = scorer_from_data(contents.document(MODEL_DATA_FILE), reason="compiled (model.json)")
        except ModelDataError as error:
            raise ModelLoadError(f"{package_dir}: {MODEL_DATA_FILE}: {error}") from None
        check_samples(package_dir, scorer, contents.samples)
        return _state(contents, scorer, load_package_explainer(package_dir, contents))
    if not (scikit_learn_installed() if allow_pickle is None else allow_pickle):
        raise ModelLoadError(
            f"{package_dir}: no {MODEL_DATA_FILE}, and model.joblib needs scikit-learn, which this "
            "install does not have; repackage the model with a release that writes model.json"
        )
    from attrition.dataset import FEATURES  # unpickling needs scikit-learn: imported only here
    from attrition.modelpkg.artifact import MODEL_FILE, ModelPackage, load_model
    from attrition.modelpkg.verify import check_predictions

    package = ModelPackage(contents, load_model(package_dir / MODEL_FILE))  # manifest checked above
    check_predictions(package)  # the recorded sample probabilities must reproduce here too
    fallback = build_scorer(package.model, FEATURES, [sample.profile for sample in contents.samples])
    return _state(contents, fallback)
