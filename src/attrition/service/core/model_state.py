"""The model the service serves: one immutable ModelState built from a verified package.

The package's model.json (the scorer's numbers, see attrition.scorer) is what the service loads:
every file's hash is checked against the manifest first and the model's probabilities against
the recorded samples second, and no pickle is ever opened. An older package without model.json
is served through model.joblib only where scikit-learn is installed; elsewhere (the serving
image) it is refused, and the service answers from the batch scores until a package with
model.json arrives.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path

from attrition import artifact
from attrition.scorer import CompiledScorer, ModelDataError, PipelineScorer, build_scorer, scorer_from_data

# TODO(issue 11): move to attrition.artifact beside the other file names when package writes it.
MODEL_DATA_FILE = "model.json"


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


def scikit_learn_installed() -> bool:
    """Whether the joblib fallback for packages without model.json is possible here."""
    return importlib.util.find_spec("sklearn") is not None


def _state(contents: artifact.PackageContents, scorer: CompiledScorer | PipelineScorer) -> ModelState:
    roles = tuple(contents.job_roles)
    return ModelState(
        model_version=contents.model_version,
        decision_threshold=contents.decision_threshold,
        job_roles=roles,
        role_set=frozenset(roles),
        scorer=scorer,
        package_path=contents.path,
        loaded_at=time.time(),
    )


def check_samples(contents: artifact.PackageContents, scorer: CompiledScorer) -> None:
    """The scorer must reproduce every recorded sample probability to the package tolerance."""
    if not contents.samples:
        raise ModelLoadError(f"{contents.path}: {artifact.SAMPLES_FILE} holds no sample profiles")
    tolerance = artifact.PREDICTION_TOLERANCE
    for number, sample in enumerate(contents.samples, 1):
        try:
            got = scorer.predict_one(sample.profile)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelLoadError(f"{contents.path}: sample profile {number} is malformed ({error})") from None
        if not abs(got - sample.probability) <= tolerance:
            raise ModelLoadError(
                f"{contents.path}: {MODEL_DATA_FILE} predicts {got!r} for sample profile {number}, "
                f"recorded {sample.probability!r} (tolerance {tolerance})"
            )


def load_model_state(package_dir: Path, *, allow_pickle: bool | None = None) -> ModelState:
    """Verify and load a package: model.json when present, else model.joblib if allowed.

    `allow_pickle` defaults to "scikit-learn is installed". Raises ModelLoadError or
    attrition.artifact.PackageError with a one-line reason on any failure.
    """
    contents = artifact.read_package(package_dir)  # every hash before any file is parsed
    if (package_dir / MODEL_DATA_FILE).is_file():
        try:
            data = contents.document(MODEL_DATA_FILE)
            scorer = scorer_from_data(data, reason="compiled (model.json)")
        except ModelDataError as error:
            raise ModelLoadError(f"{package_dir}: {MODEL_DATA_FILE}: {error}") from None
        check_samples(contents, scorer)
        return _state(contents, scorer)
    if not (scikit_learn_installed() if allow_pickle is None else allow_pickle):
        raise ModelLoadError(
            f"{package_dir}: no {MODEL_DATA_FILE}, and {artifact.MODEL_FILE} needs scikit-learn, "
            "which this install does not have; repackage the model with a release that writes "
            f"{MODEL_DATA_FILE}"
        )
    from attrition.dataset import FEATURES  # pandas: only on the scikit-learn path

    package = artifact.load_package(package_dir)
    artifact.check_predictions(package)  # the recorded sample probabilities must reproduce here too
    fallback = build_scorer(package.model, FEATURES, [sample.profile for sample in contents.samples])
    return _state(contents, fallback)
