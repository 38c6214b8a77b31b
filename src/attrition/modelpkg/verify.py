"""Verifying a package: hashes first, unpickling second, predictions third; and `attrition verify DIR`.

The format and the manifest check live in attrition.modelpkg.artifact; replaying the recorded sample
predictions needs pandas (for the joblib model) and the data-only scorer, so it lives here, above
both. Run in a process other than the one that trained the model (the package stage, this command,
the service's fallback load), the replay checks the joblib round trip itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from attrition.dataset import FEATURES
from attrition.modelpkg.artifact import (
    EXPLANATION_FILE,
    MODEL_DATA_FILE,
    PREDICTION_TOLERANCE,
    ModelPackage,
    PackageContents,
    PackageError,
    load_package,
    sample_mismatch,
)
from attrition.modelpkg.explain import ExplanationError
from attrition.modelpkg.explanation import explanation_mismatch, load_explainer
from attrition.modelpkg.scorer import ModelDataError, scorer_from_data


def check_predictions(package: ModelPackage) -> int:
    """Compare the loaded model's probabilities on the sample profiles with the recorded ones."""
    samples = package.contents.samples
    frame = pd.DataFrame([sample.profile for sample in samples], columns=FEATURES)
    predicted = package.model.predict_proba(frame)[:, 1]
    for number, (sample, value) in enumerate(zip(samples, predicted, strict=True), 1):
        if abs(float(value) - sample.probability) > PREDICTION_TOLERANCE:
            raise PackageError(
                f"{package.path}: sample profile {number} predicts {value!r}, "
                f"recorded {sample.probability!r} (tolerance {PREDICTION_TOLERANCE})"
            )
    return len(samples)


def check_model_data(contents: PackageContents) -> int:
    """The data-only model (model.json) must reproduce every recorded sample probability.

    Pure Python (attrition.modelpkg.scorer): this is the check the serving image relies on, since it
    never opens model.joblib. Returns the number of samples checked.
    """
    try:
        scorer = scorer_from_data(contents.document(MODEL_DATA_FILE))
    except ModelDataError as error:
        raise PackageError(f"{contents.path}: {MODEL_DATA_FILE}: {error}") from None
    problem = sample_mismatch(scorer, contents.samples)
    if problem:
        raise PackageError(f"{contents.path}: {problem}")
    return len(contents.samples)


def check_explanation(contents: PackageContents) -> int:
    """explanation.json's explainer (over model.json) must reproduce the recorded reference contributions.

    Those were computed with the scikit-learn pipeline on hybrid rows when the package was built, so
    this is the check that the per-prediction reasons the service gives are the definition's.
    """
    document = contents.document(EXPLANATION_FILE)
    try:
        explainer = load_explainer(contents.document(MODEL_DATA_FILE), document).explainer
    except ExplanationError as error:
        raise PackageError(f"{contents.path}: {EXPLANATION_FILE}: {error}") from None
    problem = explanation_mismatch(explainer, document, PREDICTION_TOLERANCE)
    if problem:
        raise PackageError(f"{contents.path}: {EXPLANATION_FILE}: {problem}")
    return len(document["samples"])


def verify_package(package_dir: Path) -> str:
    """Full check: manifest, then the joblib model and the data-only model each replay the samples."""
    package = load_package(package_dir)
    count = check_predictions(package)
    forms = "model.joblib"
    if (package_dir / MODEL_DATA_FILE).is_file():
        check_model_data(package.contents)
        forms += f" and {MODEL_DATA_FILE}"
        if (package_dir / EXPLANATION_FILE).is_file():  # packages before issue 24 have none
            check_explanation(package.contents)
    return (
        f"ok: {package_dir} model {package.model_version}: manifest verified, "
        f"{count} sample predictions of {forms} match to {PREDICTION_TOLERANCE:g}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attrition verify",
        description="Verify a model package: every SHA-256 against the manifest before anything is "
        "unpickled, then the recorded sample predictions. Exit 0 ok, 1 the package failed a check, "
        "2 usage.",
    )
    parser.add_argument("package", type=Path, help="package directory, e.g. models/attrition-model")
    args = parser.parse_args(argv)
    try:
        print(verify_package(args.package))
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
