"""The model package format: its files, its typed records, and how a package is written, checked and loaded.

Train, evaluate, package, score, verify, the registry, the gate and the service all read or write
packages; this module is the one place that knows the layout, so a field is renamed once and a reader
never indexes a dict by a string it guessed. Loading a joblib file runs code, so nothing is unpickled
before every file's SHA-256 matches the manifest and no file is missing or extra. Replaying the
recorded sample predictions needs pandas and the scorer, so those checks live in
attrition.modelpkg.verify, and this module imports neither.

The records hold content identities only (hashes, params, pinned versions): a package is a pure
function of code, params and data, so rebuilding a commit on any machine gives the same bytes. When
and where a build ran belongs to the run record (attrition.lifecycle.lineage), not here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from attrition import canonical_json
from attrition.provenance import CodeIdentity

MANIFEST = "MANIFEST.sha256"
MODEL_FILE = "model.joblib"
# The same model as plain numbers (attrition.modelpkg.scorer): what the service loads, never unpickling.
MODEL_DATA_FILE = "model.json"
METADATA_FILE = "metadata.json"
# What the monitor compares live traffic with (attrition.modelpkg.reference).
REFERENCE_FILE = "reference.json"
# Per-prediction reasons (attrition.modelpkg.explanation): background sample, words, reference samples.
EXPLANATION_FILE = "explanation.json"
SCHEMA_FILE = "input_schema.json"
SAMPLES_FILE = "samples.json"
REQUIREMENTS_FILE = "requirements.txt"
CARD_FILE = "README.md"
PREDICTION_TOLERANCE = 1e-9


class PackageError(Exception):
    """A package that is incomplete, altered, or whose model disagrees with its recorded samples."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sample(_Record):
    """A training row and the probability the in-memory model gave it before serialization."""

    profile: dict[str, Any]
    probability: float


class CvSummary(_Record):
    folds: int
    seed: int
    rows: int
    scores: dict[str, dict[str, float]]  # metric -> {"mean", "std"} at the chosen grid point
    threshold_metrics: dict[str, float]  # out-of-fold precision and recall at the chosen threshold


class ThresholdChoice(_Record):
    """The decision threshold: the policy's pick on out-of-fold scores, carried to the final model."""

    policy: str
    min_recall: float
    value: float  # decide score >= value, on the shipped model's scores
    cv_value: float | None = None  # the policy's pick on the out-of-fold scores
    flag_rate: float | None = None  # share of training rows flagged, kept by the carried threshold


class Split(_Record):
    """How the labelled rows were split (attrition.method.split): stratified, or out of time."""

    test_size: float  # stratified only
    seed: int  # stratified only
    method: Literal["stratified", "out_of_time"] = "stratified"
    holdout_snapshots: list[str] | None = None  # out of time: the most recent labelled snapshots
    train_last_snapshot: str | None = None  # out of time: the newest snapshot trained on


class TrainingRecord(_Record):
    """What train hands to evaluate and package (models/train.json): deterministic, no wall time."""

    input_schema: dict[str, Any]
    samples: list[Sample]
    model_family: str
    hyperparameters: dict[str, Any]
    hyperparameter_grid: dict[str, list[Any]]
    split: Split
    training_rows: int
    cv: CvSummary
    threshold: ThresholdChoice
    # the columns the model uses, the selection rounds' importances and the recalibration knots
    method: dict[str, Any]
    code: CodeIdentity


class DatasetInfo(_Record):
    """The training rows: their hashes and counts, and where stage extract took them from."""

    version: int  # params.yaml's dataset version (the generator's; unused by data.source hris)
    path: str
    md5: str
    sha256: str
    rows: int
    positives: int
    positive_rate: float
    generator: dict[str, int]  # the seed generator's size and seed (empty for data.source hris)
    source: Literal["seed", "hris"] = "seed"
    # data.source hris: the store URI, pinned table version, as-of date and snapshot grid
    feature_store: dict[str, Any] | None = None


class ModelInfo(_Record):
    file: str
    sha256: str
    md5: str
    family: str
    hyperparameters: dict[str, Any]
    hyperparameter_grid: dict[str, list[Any]]
    threshold_policy: dict[str, Any]


class Features(_Record):
    order: list[str]
    numeric: list[str]
    categorical: list[str]
    job_roles: list[str]


class Environment(_Record):
    """The identity of the build environment: Python minor version, OS, architecture, pinned libraries.

    Not the kernel build string or the patch release: those differ between machines that build the
    same bytes, and recording them would make the package a function of the machine.
    """

    python: str
    os: str
    machine: str
    libraries: dict[str, str]


class PackageMetadata(_Record):
    """metadata.json: the lineage of one model version."""

    artifact: str
    model_version: str
    decision_threshold: float
    dataset: DatasetInfo
    model: ModelInfo
    features: Features
    split: dict[str, Any]
    cv: CvSummary
    method: dict[str, Any]
    metrics: dict[str, Any]
    environment: Environment
    code: dict[str, CodeIdentity]  # stage name -> the code that ran it
    params: dict[str, Any]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def md5_file(path: Path) -> str:
    """MD5 as DVC records it, so a package's dataset hash can be matched against dvc.lock."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_md5(package_dir: Path) -> str:
    """The directory hash DVC records for the package in dvc.lock (``<md5>.dir``).

    DVC hashes a directory as the md5 of its sorted JSON listing of (file md5, relative path); the
    same value here lets gate.json be matched against dvc.lock and the registry's tags.
    """
    listing = sorted(
        (
            {"md5": md5_file(path), "relpath": path.relative_to(package_dir).as_posix()}
            for path in package_dir.rglob("*")
            if path.is_file()
        ),
        key=lambda entry: entry["relpath"],
    )
    encoded = json.dumps(listing, sort_keys=True).encode("utf-8")
    return hashlib.md5(encoded, usedforsecurity=False).hexdigest() + ".dir"


def read_record(path: Path) -> TrainingRecord:
    """Read models/train.json; a record from other code is a one-line PackageError naming the field."""
    try:
        return TrainingRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PackageError(f"{path}: unreadable ({error.strerror or error})") from None
    except ValidationError as error:
        raise PackageError(f"{path}: not a training record ({_first_error(error)})") from None


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{where}: {first['msg']}"


def manifest_text(package_dir: Path) -> str:
    """The manifest for every file under `package_dir` (itself excluded), sorted by path."""
    files = sorted(
        p for p in package_dir.rglob("*") if p.is_file() and p.relative_to(package_dir) != Path(MANIFEST)
    )
    return "".join(f"{sha256_file(p)}  {p.relative_to(package_dir).as_posix()}\n" for p in files)


def write_documents(staging: Path, documents: dict[str, Any]) -> None:
    """Write JSON documents (name -> content) into a package being assembled."""
    for name, document in documents.items():
        (staging / name).write_text(canonical_json.json_text(document), encoding="utf-8")


def seal(staging: Path) -> None:
    """Write the manifest over every file already in `staging`: the last step of assembling a package."""
    (staging / MANIFEST).write_text(manifest_text(staging), encoding="utf-8")


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


def _read_json(package_dir: Path, name: str) -> Any:
    try:
        return json.loads((package_dir / name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise PackageError(f"{package_dir}: {name} is unreadable ({error})") from None


@dataclass(frozen=True)
class PackageContents:
    """A package whose manifest has been checked; nothing in it has been unpickled."""

    path: Path
    metadata: PackageMetadata
    input_schema: dict[str, Any]
    samples: list[Sample]

    @property
    def model_version(self) -> str:
        return self.metadata.model_version

    @property
    def decision_threshold(self) -> float:
        return self.metadata.decision_threshold

    @property
    def job_roles(self) -> list[str]:
        return list(self.metadata.features.job_roles)

    def document(self, name: str) -> Any:
        """Any other JSON file of the package (already covered by the manifest check)."""
        return _read_json(self.path, name)


def read_package(package_dir: Path) -> PackageContents:
    """Check the manifest, then read and validate the records. Never unpickles."""
    check_manifest(package_dir)
    try:
        metadata = PackageMetadata.model_validate(_read_json(package_dir, METADATA_FILE))
        samples = [Sample.model_validate(item) for item in _read_json(package_dir, SAMPLES_FILE)]
    except ValidationError as error:
        where = f"{METADATA_FILE} or {SAMPLES_FILE}"
        raise PackageError(f"{package_dir}: {where}: {_first_error(error)}") from None
    schema = _read_json(package_dir, SCHEMA_FILE)
    return PackageContents(package_dir, metadata, schema, samples)


@dataclass(frozen=True)
class ModelPackage:
    """A verified package with its scikit-learn model loaded."""

    contents: PackageContents
    model: Any

    @property
    def path(self) -> Path:
        return self.contents.path

    @property
    def metadata(self) -> PackageMetadata:
        return self.contents.metadata

    @property
    def model_version(self) -> str:
        return self.contents.model_version

    @property
    def decision_threshold(self) -> float:
        return self.contents.decision_threshold

    @property
    def job_roles(self) -> list[str]:
        return self.contents.job_roles


# A pickle names the module of every class it holds. Packages built before the layout by capability
# (72f2401) pickled RecalibratedClassifier as attrition.calibration; registries keep such packages as
# production, and the gate and the batch scorer must still open them.
LEGACY_MODULES: dict[str, str] = {"attrition.calibration": "attrition.method.calibration"}


def load_model(path: Path) -> Any:
    """Unpickle a model.joblib (whose hash the caller has checked), old module paths included."""
    import importlib
    import sys

    import joblib  # only readers that unpickle pay for it; the service's data-only path never does

    for legacy, current in LEGACY_MODULES.items():
        sys.modules.setdefault(legacy, importlib.import_module(current))
    return joblib.load(path)


def load_package(package_dir: Path) -> ModelPackage:
    """Check the manifest, then (and only then) unpickle the model."""
    contents = read_package(package_dir)
    return ModelPackage(contents, load_model(package_dir / MODEL_FILE))


def sample_mismatch(scorer: Any, samples: list[Sample]) -> str | None:
    """Why the data-only scorer does not reproduce the recorded samples, or None when it does.

    Shared by the package check and the service's load; a NaN prediction is a mismatch.
    """
    for number, sample in enumerate(samples, 1):
        try:
            value = scorer.predict_one(sample.profile)
        except (KeyError, TypeError, ValueError) as error:
            return f"sample profile {number} is malformed ({error})"
        if not abs(value - sample.probability) <= PREDICTION_TOLERANCE:
            return (
                f"{MODEL_DATA_FILE} predicts {value!r} for sample profile {number}, "
                f"recorded {sample.probability!r} (tolerance {PREDICTION_TOLERANCE})"
            )
    return None
