"""Stage `package`: one self-contained, verifiable directory per model version.

The directory carries the model, its lineage (metadata.json), what loading it needs
(requirements.txt), its input schema, sample profiles with their expected probabilities, a SHA-256
manifest and a model card. It is assembled in a staging directory, verified there (fresh process),
and only then swapped in, so a broken package never lands.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import subprocess
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from attrition.atomic import atomic_directory
from attrition.dataset import FEATURES, NUMERIC_FEATURES, TARGET, read_dataset
from attrition.params import Params, load_params
from attrition.stage import run_stage
from attrition.verify import (
    MANIFEST,
    METADATA_FILE,
    MODEL_FILE,
    SAMPLES_FILE,
    SCHEMA_FILE,
    PackageError,
    manifest_text,
    sha256_file,
    verify_package,
)

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


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions(names: list[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(cwd: Path) -> dict[str, Any]:
    """The code's commit and whether the tree had uncommitted changes, when git knows."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": head, "dirty": bool(dirty)}


def model_card(meta: dict[str, Any]) -> str:
    h = meta["metrics"]["holdout"]
    fairness = meta["metrics"]["fairness"]
    ci_p, ci_r = h.get("precision_ci95", {}), h.get("recall_ci95", {})
    return f"""# Attrition model {meta["model_version"]}

Decision support for HR: the probability that an employee leaves. A human decides; the score never acts.

| | |
|---|---|
| Trained on | dataset version {meta["dataset"]["version"]} ({meta["dataset"]["rows"]} rows, \
{meta["dataset"]["positive_rate"]:.1%} left), sha256 `{meta["dataset"]["sha256"][:16]}…` |
| Model | {meta["model"]["family"]} `{json.dumps(meta["model"]["hyperparameters"], sort_keys=True)}` |
| Decision threshold | {meta["decision_threshold"]:.4f} ({meta["model"]["threshold_policy"]["policy"]}, \
min recall {meta["model"]["threshold_policy"]["min_recall"]}) |
| Hold-out ROC AUC | {h["roc_auc"]:.3f} (CV {meta["cv"]["scores"]["roc_auc"]["mean"]:.3f} \
± {meta["cv"]["scores"]["roc_auc"]["std"]:.3f}) |
| Hold-out precision | {h["precision"]:.3f} (95% CI {ci_p.get("low", float("nan")):.3f} to \
{ci_p.get("high", float("nan")):.3f}) |
| Hold-out recall | {h["recall"]:.3f} (95% CI {ci_r.get("low", float("nan")):.3f} to \
{ci_r.get("high", float("nan")):.3f}) |
| Brier score | {h["brier"]:.4f} |
| Recall gap across age bands | {fairness["equal_opportunity_difference_age"]:.3f} |
| Code | {meta["code"]["commit"] or "unknown"} |

Inputs: {", ".join(FEATURES)} (ranges in `{SCHEMA_FILE}`). The hold-out has {h["rows"]} rows, so
precision and recall are uncertain; read the intervals. Synthetic training data: not for real decisions
about people without revalidation on real data.

Check before use: `attrition verify <this directory>` (hashes before unpickling, then predictions).
"""


def build_metadata(
    params: Params,
    *,
    data_path: Path,
    frame: pd.DataFrame,
    model_path: Path,
    record: dict[str, Any],
    metrics: dict[str, Any],
    repo: Path,
) -> dict[str, Any]:
    model_sha = sha256_file(model_path)
    return {
        "artifact": params.package.name,
        "model_version": f"v{params.version}-{model_sha[:12]}",
        "decision_threshold": record["threshold"]["value"],
        "dataset": {
            "version": params.version,
            "path": data_path.as_posix(),
            "md5": md5_file(data_path),
            "sha256": sha256_file(data_path),
            "rows": len(frame),
            "positives": int(frame[TARGET].sum()),
            "positive_rate": float(frame[TARGET].mean()),
            "generator": {"n_samples": params.generate.n_samples, "seed": 1234 + params.version},
        },
        "model": {
            "file": MODEL_FILE,
            "sha256": model_sha,
            "md5": md5_file(model_path),
            "family": record["model_family"],
            "hyperparameters": record["hyperparameters"],
            "hyperparameter_grid": record["hyperparameter_grid"],
            "threshold_policy": {
                "policy": record["threshold"]["policy"],
                "min_recall": record["threshold"]["min_recall"],
            },
        },
        "features": {
            "order": FEATURES,
            "numeric": NUMERIC_FEATURES,
            "categorical": ["job_role"],
            "job_roles": sorted(frame["job_role"].unique().tolist()),
        },
        "split": {**record["split"], "training_rows": record["training_rows"]},
        "cv": record["cv"],
        "metrics": metrics,
        "training": {
            "wall_seconds": record["training_wall_seconds"],
            "trained_at": record["trained_at"],
        },
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "libraries": library_versions(RECORDED_LIBRARIES),
        },
        "code": git_commit(repo),
        "params": params.model_dump(mode="json"),
    }


def write_package(
    staging: Path,
    *,
    model_path: Path,
    metadata: dict[str, Any],
    schema: dict[str, Any],
    samples: list[dict[str, Any]],
) -> None:
    """Fill `staging` with every package file and, last, the manifest over them."""
    shutil.copyfile(model_path, staging / MODEL_FILE)
    for name, document in ((METADATA_FILE, metadata), (SCHEMA_FILE, schema)):
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        (staging / name).write_text(text, encoding="utf-8")
    (staging / SAMPLES_FILE).write_text(json.dumps(samples, indent=2) + "\n", encoding="utf-8")
    pins = library_versions(LOADING_REQUIREMENTS)
    (staging / "requirements.txt").write_text(
        "# Exactly what loading model.joblib needs, as it was built.\n"
        + "".join(f"{name}=={version}\n" for name, version in pins.items()),
        encoding="utf-8",
    )
    (staging / "README.md").write_text(model_card(metadata), encoding="utf-8")
    (staging / MANIFEST).write_text(manifest_text(staging), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Package the trained model with its lineage.")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="package directory")
    args = parser.parse_args(argv)

    def body() -> None:
        params = load_params(args.params)
        # No unpickling here: the model is loaded only by the fresh-process verification below.
        frame = read_dataset(args.data)
        record = json.loads(args.record.read_text(encoding="utf-8"))
        metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
        metadata = build_metadata(
            params,
            data_path=args.data,
            frame=frame,
            model_path=args.model,
            record=record,
            metrics={k: metrics[k] for k in ("holdout", "fairness")},
            repo=Path.cwd(),
        )
        with atomic_directory(args.out) as staging:
            write_package(
                staging,
                model_path=args.model,
                metadata=metadata,
                schema=record["input_schema"],
                samples=record["samples"],
            )
            summary = verify_package(staging)
        print(f"package: {metadata['model_version']} -> {args.out} (verified: {summary.split(': ')[-1]})")

    return run_stage(body, extra_errors=(PackageError,))


if __name__ == "__main__":
    raise SystemExit(main())
