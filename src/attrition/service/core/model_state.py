"""The model the service serves: one immutable ModelState built from a verified package."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from attrition.dataset import FEATURES
from attrition.scorer import CompiledScorer, PipelineScorer, build_scorer


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


def load_model_state(package_dir: Path) -> ModelState:
    """Verify (manifest before unpickling) and load a package, then compile its scorer.

    Raises attrition.verify.PackageError with a one-line reason on any failure.
    """
    from attrition import verify

    package = verify.load_package(package_dir)
    verify.check_predictions(package)  # the recorded sample probabilities must reproduce here too
    samples = json.loads((package_dir / verify.SAMPLES_FILE).read_text(encoding="utf-8"))
    check_rows = [sample["profile"] for sample in samples]
    scorer = build_scorer(package.model, FEATURES, check_rows)
    roles = tuple(package.job_roles)
    return ModelState(
        model_version=package.model_version,
        decision_threshold=package.decision_threshold,
        job_roles=roles,
        role_set=frozenset(roles),
        scorer=scorer,
        package_path=package_dir,
        loaded_at=time.time(),
    )
