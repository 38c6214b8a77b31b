"""The model the service serves: one immutable ModelState built from a verified package.

The package's model.json (the scorer's numbers, see attrition.scorer) is what the service loads:
its hash is checked against the manifest first and its probabilities against the recorded
samples second, and no pickle is ever opened. An older package without model.json is served
through model.joblib only where scikit-learn is installed; elsewhere (the serving image) it is
refused, and the service answers from the batch scores until a package with model.json arrives.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attrition.scorer import CompiledScorer, ModelDataError, PipelineScorer, build_scorer, scorer_from_data

# Until attrition.artifact owns the package's file names (issue 15), the data-only model's lives here.
MODEL_DATA_FILE = "model.json"
SAMPLE_TOLERANCE = 1e-9


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


def _read_json(package_dir: Path, name: str) -> Any:
    try:
        return json.loads((package_dir / name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"{package_dir}: {name} is unreadable ({error})") from None


def _state(package_dir: Path, metadata: Any, scorer: CompiledScorer | PipelineScorer) -> ModelState:
    try:
        version, threshold = str(metadata["model_version"]), float(metadata["decision_threshold"])
        roles = tuple(str(role) for role in metadata["features"]["job_roles"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{package_dir}: metadata.json lacks {error}") from None
    return ModelState(version, threshold, roles, frozenset(roles), scorer, package_dir, time.time())


def check_samples(package_dir: Path, scorer: CompiledScorer, samples: Any) -> None:
    """The scorer must reproduce every recorded sample probability to SAMPLE_TOLERANCE."""
    if not isinstance(samples, list) or not samples:
        raise ModelLoadError(f"{package_dir}: samples.json holds no sample profiles")
    for number, sample in enumerate(samples, 1):
        try:
            got, want = scorer.predict_one(sample["profile"]), float(sample["probability"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelLoadError(f"{package_dir}: sample profile {number} is malformed ({error})") from None
        if not abs(got - want) <= SAMPLE_TOLERANCE:
            raise ModelLoadError(
                f"{package_dir}: {MODEL_DATA_FILE} predicts {got!r} for sample profile {number}, "
                f"recorded {want!r} (tolerance {SAMPLE_TOLERANCE})"
            )


def load_model_state(package_dir: Path, *, allow_pickle: bool | None = None) -> ModelState:
    """Verify and load a package: model.json when present, else model.joblib if allowed.

    `allow_pickle` defaults to "scikit-learn is installed". Raises ModelLoadError or
    attrition.verify.PackageError with a one-line reason on any failure.
    """
    # Both pull in pandas; imported here so the model.json path is the only cost of importing
    # this module. TODO(issue 15): attrition.artifact's manifest check, importable without pandas.
    from attrition import verify
    from attrition.dataset import FEATURES

    verify.check_manifest(package_dir)  # every hash before any file is parsed
    if (package_dir / MODEL_DATA_FILE).is_file():
        try:
            scorer = scorer_from_data(
                _read_json(package_dir, MODEL_DATA_FILE), reason="compiled (model.json)"
            )
        except ModelDataError as error:
            raise ModelLoadError(f"{package_dir}: {MODEL_DATA_FILE}: {error}") from None
        check_samples(package_dir, scorer, _read_json(package_dir, verify.SAMPLES_FILE))
        return _state(package_dir, _read_json(package_dir, verify.METADATA_FILE), scorer)
    if not (scikit_learn_installed() if allow_pickle is None else allow_pickle):
        raise ModelLoadError(
            f"{package_dir}: no {MODEL_DATA_FILE}, and model.joblib needs scikit-learn, which this "
            "install does not have; repackage the model with a release that writes model.json"
        )
    package = verify.load_package(package_dir)
    verify.check_predictions(package)  # the recorded sample probabilities must reproduce here too
    samples = _read_json(package_dir, verify.SAMPLES_FILE)
    fallback = build_scorer(package.model, FEATURES, [sample["profile"] for sample in samples])
    return _state(package_dir, package.metadata, fallback)
