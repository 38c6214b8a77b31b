"""The reference profile frozen into a model package at training time: what every monitoring check
compares live traffic with.

Per feature and for the predicted probability it keeps what PSI needs (`psi.ColumnProfile`), and it
carries the decay baselines: recall and precision at the package threshold with their intervals and
supports, measured on the largest labelled evaluation data the pipeline has. The package stage calls
`build_reference` and writes the result as ``reference.json``; the monitor reads it back with
`read_reference`, after the package's manifest has been checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrition.dataset import FEATURES, NUMERIC_FEATURES
from attrition.method.confidence import recall_precision
from attrition.method.psi import ColumnProfile, profile_column
from attrition.modelpkg.artifact import REFERENCE_FILE, PackageContents, PackageError, read_package

FORMAT = 1
SCORE = "score"  # the name the predicted probability goes by among the drift subjects


class ProfileError(ValueError):
    """A reference profile that is missing or malformed (one-line message)."""


@dataclass(frozen=True)
class Baseline:
    """One decay baseline: the figure, its 95% interval and how many rows it is a share of."""

    value: float
    low: float | None
    high: float | None
    support: int


@dataclass(frozen=True)
class Reference:
    """A package's frozen reference: column profiles (features and score) and decay baselines."""

    columns: dict[str, ColumnProfile]
    baselines: dict[str, Baseline]
    baseline_source: str
    decision_threshold: float | None


def baselines_from_labelled(
    y_true: np.ndarray, probabilities: np.ndarray, threshold: float, *, source: str, n: int, seed: int
) -> dict[str, Any]:
    """Recall and precision at the package threshold on labelled rows, in the form build_reference takes."""
    estimates = recall_precision(np.asarray(y_true), np.asarray(probabilities) >= threshold, n=n, seed=seed)
    return {
        "source": source,
        "rows": len(y_true),
        "decision_threshold": threshold,
        **{name: estimate.as_dict() for name, estimate in estimates.items()},
    }


def _profile_dict(profile: ColumnProfile) -> dict[str, Any]:
    if profile.kind == "values":
        return {"kind": "values", "rows": profile.rows, "values": list(profile.values)}
    return {"kind": "counts", "rows": profile.rows, "counts": [list(item) for item in profile.counts]}


def profile_columns(
    train_frame: pd.DataFrame, train_probabilities: np.ndarray, *, max_values: int = 10000
) -> dict[str, Any]:
    """The PSI half of reference.json: each feature's and the score's profile on the training rows.

    Separate from the baselines so the stage that holds the model and the training split (train) can
    compute it, and the package stage only assembles.
    """
    if len(train_frame) != len(train_probabilities):
        raise ProfileError(
            f"reference: {len(train_frame)} training rows but {len(train_probabilities)} probabilities"
        )
    columns = {
        name: _profile_dict(
            profile_column(
                train_frame[name].to_numpy(), numeric=name in NUMERIC_FEATURES, max_values=max_values
            )
        )
        for name in FEATURES
    }
    columns[SCORE] = _profile_dict(
        profile_column(np.asarray(train_probabilities, dtype=float), numeric=True, max_values=max_values)
    )
    return columns


def assemble_reference(
    columns: dict[str, Any], baselines: dict[str, Any], training_rows: int
) -> dict[str, Any]:
    """reference.json from its two halves (`profile_columns` and `baselines_from_labelled`)."""
    return {"format": FORMAT, "training_rows": training_rows, "columns": columns, "baselines": baselines}


def build_reference(
    train_frame: pd.DataFrame,
    train_probabilities: np.ndarray,
    baselines: dict[str, Any],
    *,
    max_values: int = 10000,
) -> dict[str, Any]:
    """The reference.json document: training rows' feature and score profiles plus the decay baselines.

    `baselines` comes from `baselines_from_labelled` on the evaluation rows (never the training rows:
    their recall flatters the model).
    """
    columns = profile_columns(train_frame, train_probabilities, max_values=max_values)
    return assemble_reference(columns, baselines, len(train_frame))


def parse_reference(document: Any, *, source: str = REFERENCE_FILE) -> Reference:
    """Validate a reference.json document into typed profiles and baselines."""
    try:
        if document["format"] != FORMAT:
            raise ProfileError(f"{source}: format {document['format']!r}; this code reads format {FORMAT}")
        columns: dict[str, ColumnProfile] = {}
        for name, raw in document["columns"].items():
            if raw["kind"] == "values":
                columns[name] = ColumnProfile(
                    "values", int(raw["rows"]), values=tuple(map(float, raw["values"]))
                )
            elif raw["kind"] == "counts":
                counts = tuple((value, int(count)) for value, count in raw["counts"])
                columns[name] = ColumnProfile("counts", int(raw["rows"]), counts=counts)
            else:
                raise ProfileError(f"{source}: column {name} has unknown kind {raw['kind']!r}")
        raw_baselines = document["baselines"]
        baselines = {
            metric: Baseline(
                float(raw_baselines[metric]["value"]),
                raw_baselines[metric]["ci95"][0],
                raw_baselines[metric]["ci95"][1],
                int(raw_baselines[metric]["support"]),
            )
            for metric in ("recall", "precision")
        }
        threshold = raw_baselines.get("decision_threshold")
        source_name = str(raw_baselines.get("source", "unknown"))
    except (KeyError, TypeError, ValueError, IndexError) as error:
        if isinstance(error, ProfileError):
            raise
        raise ProfileError(
            f"{source}: malformed reference profile ({type(error).__name__}: {error})"
        ) from None
    missing = [name for name in (*FEATURES, SCORE) if name not in columns]
    if missing:
        raise ProfileError(f"{source}: no profile for {', '.join(missing)}")
    return Reference(columns, baselines, source_name, None if threshold is None else float(threshold))


def reference_of(contents: PackageContents) -> Reference:
    """The reference profile of a package whose manifest has already been checked."""
    if not (contents.path / REFERENCE_FILE).is_file():
        raise ProfileError(
            f"{contents.path}: no {REFERENCE_FILE}; the package stage must freeze the training profile in it"
        )
    try:
        document = contents.document(REFERENCE_FILE)
    except PackageError as error:
        raise ProfileError(str(error)) from None
    return parse_reference(document, source=str(contents.path / REFERENCE_FILE))


def read_reference(package_dir: Path) -> Reference:
    """The package's reference profile, read only after its manifest checks out."""
    try:
        contents = read_package(package_dir)
    except PackageError as error:
        raise ProfileError(str(error)) from None
    return reference_of(contents)
