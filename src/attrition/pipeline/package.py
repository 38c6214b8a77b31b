"""Stage `package`: one self-contained, verifiable directory per model version.

The directory carries the model (as joblib, and as plain numbers in model.json), its lineage
(metadata.json), what loading it needs (requirements.txt), its input schema, sample profiles with
their expected probabilities, a SHA-256 manifest and a model card. Its bytes are a pure function of
code, params and data (no times, hosts or commits: those are in the run record). It is assembled in
a staging directory, verified there, and only then swapped in, so a broken package never lands.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from attrition.atomic import atomic_directory
from attrition.canonical_json import json_text
from attrition.dataset import (
    CATEGORICAL_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
    TARGET,
    read_dataset,
    training_seed,
)
from attrition.method.split import split_rows
from attrition.modelpkg.artifact import (
    CARD_FILE,
    EXPLANATION_FILE,
    METADATA_FILE,
    MODEL_DATA_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    REQUIREMENTS_FILE,
    SAMPLES_FILE,
    SCHEMA_FILE,
    DatasetInfo,
    Environment,
    Features,
    ModelInfo,
    PackageError,
    PackageMetadata,
    TrainingRecord,
    load_model,
    md5_file,
    read_record,
    seal,
    sha256_file,
    write_documents,
)
from attrition.modelpkg.explain import ExplanationError
from attrition.modelpkg.explanation_build import explanation_document
from attrition.modelpkg.reference import baselines_from_labelled, build_reference
from attrition.modelpkg.scorer import UnsupportedModelError, export_model_data
from attrition.modelpkg.training_rows import ExtractRecord, check_extract, read_extract_record
from attrition.modelpkg.verify import verify_package
from attrition.params import Params, load_params
from attrition.pipeline.stage import run_stage, stage_parser
from attrition.provenance import code_identity

# What unpickling and calling the model needs; pinned to the versions that built it.
LOADING_REQUIREMENTS: list[str] = [
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "joblib",
    "threadpoolctl",
]
RECORDED_LIBRARIES: list[str] = [*LOADING_REQUIREMENTS, "dvc", "dvclive", "fairlearn", "attrition"]


def library_versions(names: list[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _gap(fairness: dict[str, Any]) -> str:
    """The age-band recall gap with its interval, positives per band, and whether it can be judged."""
    gap = fairness["equal_opportunity_difference_age"]
    ci = fairness.get("equal_opportunity_difference_age_interval", {})  # simultaneous over band pairs
    status = fairness.get("equal_opportunity_difference_age_status", "")
    bands = fairness.get("recall_by_age_band", {})
    positives = ", ".join(f"{band} {value.get('positives')}" for band, value in sorted(bands.items()))
    level = f"{ci['level']:.0%} simultaneous" if isinstance(ci.get("level"), float) else "interval"
    interval = f" (bias-corrected; {level} {_figure(ci['low'])} to {_figure(ci['high'])})" if ci else ""
    return f"{_figure(gap)}{interval}, positives per band: {positives}; {status}"


def _figure(value: float | str) -> str:
    """A metric to 3 decimals; evaluate writes "undefined" where no rate exists (a band without positives)."""
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)


def _trained_on(meta: PackageMetadata) -> str:
    store = meta.dataset.feature_store
    if store is None:
        return f"dataset version {meta.dataset.version}"
    return (
        f"feature store `{store['store']}` table version {store['table_version']} as of {store['as_of']}: "
        f"{store['snapshots']} monthly snapshots {store['first_snapshot']}..{store['last_snapshot']}, "
        f"label = left within {store['horizon_months']} months"
    )


def _reliance(metrics: dict[str, Any]) -> str:
    """Each input's mean absolute contribution on the hold-out (evaluate), largest first."""
    explanations = metrics.get("explanations") or {}
    means = explanations.get("mean_abs_contribution")
    if not means:
        return f"not measured ({explanations.get('unavailable', 'no explanations in the evaluation')})"
    ranked = ", ".join(
        f"{column} {value:.3f}" for column, value in sorted(means.items(), key=lambda i: -i[1])
    )
    return (
        f"{ranked} (mean absolute contribution to the probability on the {explanations['rows']} hold-out "
        f"rows, against {explanations['background_rows']} background rows)"
    )


def model_card(meta: PackageMetadata) -> str:
    h = meta.metrics["holdout"]
    fairness = meta.metrics["fairness"]
    ci_p, ci_r = h.get("precision_ci95", {}), h.get("recall_ci95", {})
    auc_cv = meta.cv.scores["roc_auc"]
    code = meta.code["train"]
    return f"""# Attrition model {meta.model_version}

Decision support for HR: the probability that an employee leaves. A human decides; the score never acts.

| | |
|---|---|
| Trained on | {_trained_on(meta)} ({meta.dataset.rows} rows, \
{meta.dataset.positive_rate:.1%} left), sha256 `{meta.dataset.sha256[:16]}…` |
| Model | {meta.model.family} `{json.dumps(meta.model.hyperparameters, sort_keys=True)}` |
| Decision threshold | {meta.decision_threshold:.4f} ({meta.model.threshold_policy["policy"]}, \
min recall {meta.model.threshold_policy["min_recall"]}) |
| Hold-out ROC AUC | {h["roc_auc"]:.3f} (CV {auc_cv["mean"]:.3f} ± {auc_cv["std"]:.3f}) |
| Hold-out precision | {h["precision"]:.3f} (95% CI {ci_p.get("low", float("nan")):.3f} to \
{ci_p.get("high", float("nan")):.3f}) |
| Hold-out recall | {h["recall"]:.3f} (95% CI {ci_r.get("low", float("nan")):.3f} to \
{ci_r.get("high", float("nan")):.3f}) |
| Brier score | {h["brier"]:.4f} |
| Recall gap across age bands | {_gap(fairness)} |
| What the model relies on | {_reliance(meta.metrics)} |
| Columns used | {", ".join(meta.method.get("columns", FEATURES))} (calibration: \
{(meta.method.get("calibration") or {}).get("method", "none")}) |
| Code | sha256 `{code.digest[:16]}…` over {len(code.modules)} modules (train) |
| Built with | Python {meta.environment.python} on {meta.environment.os} {meta.environment.machine} |

Inputs: {", ".join(FEATURES)} (ranges in `{SCHEMA_FILE}`). The hold-out has {h["rows"]} rows, so
precision and recall are uncertain; read the intervals. Synthetic training data: not for real decisions
about people without revalidation on real data.

Every live answer carries each input's contribution to that employee's probability (exact Shapley
values over the background sample in `{EXPLANATION_FILE}`) and its top reasons in words.

Check before use: `attrition verify <this directory>` (hashes before unpickling, then predictions).
"""


def environment() -> Environment:
    """The build environment's identity (see artifact.Environment for what is left out and why)."""
    return Environment(
        python=".".join(platform.python_version_tuple()[:2]),
        os=platform.system(),
        machine=platform.machine(),
        libraries=library_versions(RECORDED_LIBRARIES),
    )


def model_version(data_label: str, model_sha256: str, threshold: float) -> str:
    """The version string every answer carries: the data's label plus a hash of what decides.

    The label is ``v<dataset version>`` for seed data and ``t<table version>`` for the feature store's
    rows (ExtractRecord.label).

    The decision threshold lives beside the model, not inside model.joblib, so two packages of the
    same fitted model with different thresholds make different decisions: both go into the hash.
    """
    identity = hashlib.sha256(f"{model_sha256} {threshold!r}".encode()).hexdigest()
    return f"{data_label}-{identity[:12]}"


def build_metadata(
    params: Params,
    *,
    data_path: Path,
    extract: ExtractRecord,
    frame: pd.DataFrame,
    model_path: Path,
    record: TrainingRecord,
    metrics: dict[str, Any],
) -> PackageMetadata:
    model_sha = sha256_file(model_path)
    return PackageMetadata(
        artifact=params.package.name,
        model_version=model_version(extract.label(), model_sha, record.threshold.value),
        decision_threshold=record.threshold.value,
        dataset=DatasetInfo(
            version=params.version,
            path=data_path.as_posix(),
            md5=md5_file(data_path),
            sha256=sha256_file(data_path),
            rows=len(frame),
            positives=int(frame[TARGET].sum()),
            positive_rate=float(frame[TARGET].mean()),
            generator=(
                {"n_samples": params.generate.n_samples, "seed": training_seed(params.version)}
                if extract.source == "seed"
                else {}
            ),
            source=extract.source,
            feature_store=None if extract.feature_store is None else extract.feature_store.model_dump(),
        ),
        model=ModelInfo(
            file=MODEL_FILE,
            sha256=model_sha,
            md5=md5_file(model_path),
            family=record.model_family,
            hyperparameters=record.hyperparameters,
            hyperparameter_grid=record.hyperparameter_grid,
            threshold_policy={"policy": record.threshold.policy, "min_recall": record.threshold.min_recall},
        ),
        features=Features(
            order=FEATURES,
            numeric=NUMERIC_FEATURES,
            categorical=CATEGORICAL_FEATURES,
            job_roles=sorted(frame["job_role"].unique().tolist()),
        ),
        split={**record.split.model_dump(), "training_rows": record.training_rows},
        cv=record.cv,
        method=record.method,
        metrics=metrics,
        environment=environment(),
        code={"train": record.code, "package": code_identity()},
        params=params.model_dump(mode="json"),
    )


def monitoring_reference(
    model: Any,
    train_rows: pd.DataFrame,
    evaluation: pd.DataFrame,
    threshold: float,
    params: Params,
    data_label: str,
) -> dict[str, Any]:
    """reference.json: what the monitor compares live traffic with, frozen from this model's data.

    Feature and score profiles come from the training rows (what the model learned from); the recall
    and precision baselines from the gate's evaluation rows (never the training rows: their recall
    flatters the model), the largest labelled sample the pipeline has.
    """
    train_probabilities = model.predict_proba(train_rows[FEATURES])[:, 1]
    evaluation_probabilities = model.predict_proba(evaluation[FEATURES])[:, 1]
    baselines = baselines_from_labelled(
        evaluation[TARGET].to_numpy(),
        evaluation_probabilities,
        threshold,
        source=f"evalset: {len(evaluation)} labelled rows of {data_label}",
        n=params.monitor.bootstrap.n,
        seed=params.monitor.bootstrap.seed,
    )
    return build_reference(
        train_rows, train_probabilities, baselines, max_values=params.monitor.reference_max_values
    )


def write_package(
    staging: Path,
    *,
    model_path: Path,
    model_data: dict[str, Any],
    reference: dict[str, Any],
    explanation: dict[str, Any],
    metadata: PackageMetadata,
    record: TrainingRecord,
) -> None:
    """Fill `staging` with every package file and, last, the manifest over them."""
    shutil.copyfile(model_path, staging / MODEL_FILE)
    # model.json's numbers are read from model.joblib's bytes, so they are the same on every CPU; written
    # exact, so the data-only scorer holds the very floats the joblib model does.
    (staging / MODEL_DATA_FILE).write_text(json_text(model_data, exact=True), encoding="utf-8")
    write_documents(
        staging,
        {
            REFERENCE_FILE: reference,
            EXPLANATION_FILE: explanation,
            METADATA_FILE: metadata.model_dump(mode="json"),
            SCHEMA_FILE: record.input_schema,
            SAMPLES_FILE: [sample.model_dump(mode="json") for sample in record.samples],
        },
    )
    pins = library_versions(LOADING_REQUIREMENTS)
    (staging / REQUIREMENTS_FILE).write_text(
        "# Exactly what loading model.joblib needs, as it was built.\n"
        + "".join(f"{name}=={version}\n" for name, version in pins.items()),
        encoding="utf-8",
    )
    (staging / CARD_FILE).write_text(model_card(metadata), encoding="utf-8")
    seal(staging)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("package", "Package the trained model with its lineage.")
    parser.add_argument("--data", type=Path, required=True, help="training rows CSV (stage extract)")
    parser.add_argument("--extract", type=Path, required=True, help="the rows' record (stage extract)")
    parser.add_argument("--model", type=Path, required=True, help="model.joblib from train")
    parser.add_argument("--record", type=Path, required=True, help="training record from train")
    parser.add_argument(
        "--metrics", type=Path, required=True, help="evaluation.json from evaluate (every figure)"
    )
    parser.add_argument("--evalset", type=Path, required=True, help="labelled evaluation rows (evalset)")
    parser.add_argument("--out", type=Path, required=True, help="package directory")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        params = load_params(args.params)
        extract = read_extract_record(args.extract)
        check_extract(extract, params, args.data)
        frame = read_dataset(args.data)
        record = read_record(args.record)
        metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
        metadata = build_metadata(
            params,
            data_path=args.data,
            extract=extract,
            frame=frame,
            model_path=args.model,
            record=record,
            metrics={k: metrics[k] for k in ("holdout", "fairness", "explanations") if k in metrics},
        )
        # The same model as plain numbers, for readers that must not unpickle (the serving image).
        # This process never held the trained model: loading it here also checks the joblib round trip.
        model = load_model(args.model)
        model_data = export_model_data(model)
        train_rows, _ = split_rows(frame, params)
        evaluation = read_dataset(args.evalset)
        reference = monitoring_reference(
            model, train_rows, evaluation, record.threshold.value, params, extract.describe()
        )
        explanation = explanation_document(model, model_data, train_rows, record.samples, params.explain)
        with atomic_directory(args.out) as staging:
            write_package(
                staging,
                model_path=args.model,
                model_data=model_data,
                reference=reference,
                explanation=explanation,
                metadata=metadata,
                record=record,
            )
            summary = verify_package(staging)
        print(f"package: {metadata.model_version} -> {args.out} ({summary.split(': ', 2)[-1]})")
        return {"model_version": metadata.model_version}

    return run_stage(
        "package",
        body,
        run_record=args.run_record,
        extra_errors=(PackageError, UnsupportedModelError, ExplanationError),
    )


if __name__ == "__main__":
    raise SystemExit(main())
