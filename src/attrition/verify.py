"""Verify a model package: hashes first, unpickling second, predictions third.

Loading a joblib file runs code, so nothing in a package is unpickled until every file's SHA-256
matches the manifest and no file is missing or extra. Only then is the model loaded, in a fresh
process, and its predictions on the recorded sample profiles compared to the recorded ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from attrition.dataset import FEATURES

MANIFEST = "MANIFEST.sha256"
MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
SCHEMA_FILE = "input_schema.json"
SAMPLES_FILE = "samples.json"
PREDICTION_TOLERANCE = 1e-9


class PackageError(Exception):
    """A package that is incomplete, altered, or whose model disagrees with its recorded samples."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_text(package_dir: Path) -> str:
    """The manifest for every file under `package_dir` (itself excluded), sorted by path."""
    files = sorted(
        p for p in package_dir.rglob("*") if p.is_file() and p.relative_to(package_dir) != Path(MANIFEST)
    )
    return "".join(f"{sha256_file(p)}  {p.relative_to(package_dir).as_posix()}\n" for p in files)


def check_manifest(package_dir: Path) -> None:
    """Raise PackageError unless every file matches the manifest and nothing is missing or extra."""
    if not package_dir.is_dir():
        raise PackageError(f"{package_dir}: not a package directory")
    manifest_path = package_dir / MANIFEST
    if not manifest_path.is_file():
        raise PackageError(f"{package_dir}: no {MANIFEST}; refusing to load an unverifiable package")
    expected: dict[str, str] = {}
    for number, line in enumerate(manifest_path.read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or ".." in Path(name).parts:
            raise PackageError(f"{manifest_path}: line {number} is not '<sha256>  <file>'")
        expected[name] = digest
    present = {
        p.relative_to(package_dir).as_posix()
        for p in package_dir.rglob("*")
        if p.is_file() and p != manifest_path
    }
    missing = sorted(set(expected) - present)
    if missing:
        raise PackageError(f"{package_dir}: file {missing[0]} is listed in {MANIFEST} but missing")
    extra = sorted(present - set(expected))
    if extra:
        raise PackageError(f"{package_dir}: unexpected file {extra[0]} is not in {MANIFEST}")
    for name, digest in sorted(expected.items()):
        actual = sha256_file(package_dir / name)
        if actual != digest:
            raise PackageError(
                f"{package_dir}: file {name} was changed (sha256 {actual[:12]}…, "
                f"manifest says {digest[:12]}…)"
            )


@dataclass(frozen=True)
class ModelPackage:
    """A package whose manifest has been checked and whose model is loaded."""

    path: Path
    model: Any
    metadata: dict[str, Any]
    model_version: str
    decision_threshold: float
    job_roles: list[str]
    input_schema: dict[str, Any]


def _read_json(package_dir: Path, name: str) -> Any:
    try:
        return json.loads((package_dir / name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise PackageError(f"{package_dir}: {name} is unreadable ({error})") from None


def load_package(package_dir: Path) -> ModelPackage:
    """Check the manifest, then (and only then) unpickle the model."""
    check_manifest(package_dir)
    metadata = _read_json(package_dir, METADATA_FILE)
    schema = _read_json(package_dir, SCHEMA_FILE)
    try:
        version, threshold = str(metadata["model_version"]), float(metadata["decision_threshold"])
        roles = [str(role) for role in metadata["features"]["job_roles"]]
    except (KeyError, TypeError, ValueError) as error:
        raise PackageError(f"{package_dir}: {METADATA_FILE} lacks {error}") from None
    model = joblib.load(package_dir / MODEL_FILE)
    return ModelPackage(package_dir, model, metadata, version, threshold, roles, schema)


def check_predictions(package: ModelPackage) -> int:
    """Compare the loaded model's probabilities on the sample profiles with the recorded ones."""
    samples = _read_json(package.path, SAMPLES_FILE)
    frame = pd.DataFrame([sample["profile"] for sample in samples], columns=FEATURES)
    predicted = package.model.predict_proba(frame)[:, 1]
    for number, (sample, value) in enumerate(zip(samples, predicted, strict=True), 1):
        if abs(float(value) - float(sample["probability"])) > PREDICTION_TOLERANCE:
            raise PackageError(
                f"{package.path}: sample profile {number} predicts {value!r}, "
                f"recorded {sample['probability']!r} (tolerance {PREDICTION_TOLERANCE})"
            )
    return len(samples)


def verify_package(package_dir: Path) -> str:
    """Full check: manifest here, then load and predict in a fresh interpreter. Returns a summary."""
    check_manifest(package_dir)
    completed = subprocess.run(
        [sys.executable, "-m", "attrition.verify", "--predictions-only", str(package_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines() or ["no output"]
        raise PackageError(lines[-1].removeprefix("error: "))
    return completed.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a model package (manifest, then predictions).")
    parser.add_argument("package", type=Path)
    parser.add_argument(
        "--predictions-only", action="store_true", help=argparse.SUPPRESS
    )  # the fresh-process half of verify_package
    args = parser.parse_args(argv)
    try:
        if args.predictions_only:
            package = load_package(args.package)
            count = check_predictions(package)
            print(
                f"ok: {args.package} model {package.model_version}: manifest verified, "
                f"{count} sample predictions match to {PREDICTION_TOLERANCE:g} in a fresh process"
            )
        else:
            print(verify_package(args.package))
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
