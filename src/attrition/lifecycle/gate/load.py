"""The gate's first step: read and verify both packages and the evaluation rows, and score both models.

Everything the rules judge comes out of here as arrays (:class:`GateInputs`), so the rules never
touch a file. Each package is verified before it is used: its manifest before anything is unpickled,
then its recorded sample predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attrition.dataset import FEATURES, TARGET, age_band_labels, read_dataset
from attrition.lifecycle.gate.curves import PairedRows
from attrition.modelpkg.artifact import ModelPackage, PackageError, load_package, md5_file, package_md5
from attrition.modelpkg.verify import check_predictions


class GateInputError(ValueError):
    """Inputs the gate cannot judge (bad package, unreadable data); the message is one line."""


@dataclass(frozen=True)
class GateInputs:
    """Both models' scores on the same labelled rows, and what they were read from (for the record)."""

    rows: PairedRows
    candidate: dict[str, Any]
    production: dict[str, Any]
    data: dict[str, Any]


def describe_package(path: Path, package: ModelPackage) -> dict[str, Any]:
    """Which package was judged: its identity as gate.json and the registry's tag record it."""
    meta = package.metadata
    return {
        "path": str(path),
        "model_version": package.model_version,
        "package_md5": package_md5(path),
        "dataset_version": meta.dataset.version,
        "family": meta.model.family,
        "decision_threshold": package.decision_threshold,
    }


def load_inputs(
    candidate_dir: Path, production_dir: Path, data_path: Path, age_bands: list[int]
) -> GateInputs:
    """Verify both packages (hashes before unpickling), then score both on the labelled rows.

    Raises DatasetError for unreadable rows and GateInputError for a refused package.
    """
    frame = read_dataset(data_path)
    described: dict[str, dict[str, Any]] = {}
    scores: dict[str, Any] = {}
    thresholds: dict[str, float] = {}
    for who, path in (("candidate", candidate_dir), ("production", production_dir)):
        try:
            package = load_package(path)  # raises before unpickling on any hash mismatch
            check_predictions(package)
        except PackageError as error:
            raise GateInputError(f"{who} package refused: {error}") from None
        scores[who] = package.model.predict_proba(frame[FEATURES])[:, 1]
        thresholds[who] = package.decision_threshold
        described[who] = describe_package(path, package)
    rows = PairedRows(
        y=frame[TARGET].to_numpy().astype(bool),
        candidate_scores=scores["candidate"],
        production_scores=scores["production"],
        candidate_threshold=thresholds["candidate"],
        production_threshold=thresholds["production"],
        bands=age_band_labels(frame["age"], age_bands).to_numpy().astype(str),
    )
    data = {"path": str(data_path), "md5": md5_file(data_path)}
    return GateInputs(rows, described["candidate"], described["production"], data)
