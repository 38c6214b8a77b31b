"""The extract record: which rows the pipeline trained on, and where they came from.

Stage `extract` writes the training rows (``data/training_rows.csv``) and this record beside them
(``data/training_rows.json``); both are DVC outputs, so dvc.lock hashes the rows themselves, not the
seed file's name or the Delta folder (whose log holds timestamps and random file names). Package
reads the record to label the model: the dataset version, or the store URI, table version and as-of
date, and refuses rows whose record does not match params.yaml or whose bytes are not the ones
recorded (a hand-copied CSV must not be packaged under another version's name).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from attrition.dataset import DatasetError
from attrition.params import Params


class FeatureStoreSource(BaseModel):
    """A point-in-time training set: enough to rebuild it byte for byte from the store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str
    table_version: int
    latest_extract: str
    as_of: str
    horizon_months: int
    every_months: int
    snapshots: int
    first_snapshot: str
    last_snapshot: str


class ExtractRecord(BaseModel):
    """data/training_rows.json. `dataset_version` for seed rows, `feature_store` for HRIS rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["seed", "hris"]
    file: str  # the seed dataset's file name, or the CSV the store's rows were written to
    dataset_version: int | None = None
    feature_store: FeatureStoreSource | None = None
    rows: int
    positives: int
    sha256: str

    def describe(self) -> str:
        """Where the rows came from, for logs and the package: ``dataset version 3`` or
        ``<store> table version 36 as of 2025-12-31``."""
        store = self.feature_store
        if store is None:
            return f"dataset version {self.dataset_version}"
        return f"{store.store} table version {store.table_version} as of {store.as_of}"

    def label(self) -> str:
        """The data part of a model version: ``v3`` (dataset version 3) or ``t36`` (table version 36)."""
        if self.feature_store is not None:
            return f"t{self.feature_store.table_version}"
        return f"v{self.dataset_version}"


def rows_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_extract_record(path: Path) -> ExtractRecord:
    """Read the record, or DatasetError in one line."""
    try:
        return ExtractRecord.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found; stage extract writes it (dvc repro extract)") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DatasetError(f"{path}: not an extract record ({where}: {first['msg']})") from None


def check_extract(record: ExtractRecord, params: Params, data_path: Path) -> None:
    """Refuse rows that are not what params.yaml asks for, or not the bytes the record names.

    The source reaches package twice, in params.yaml and in the rows' record; packaging a mismatch
    would label one dataset's model with another's version.
    """
    problems = []
    if record.source != params.data.source:
        problems.append(
            f"rows are from source {record.source}, params.yaml's data.source is {params.data.source}"
        )
    elif record.source == "seed" and record.dataset_version != params.version:
        problems.append(
            f"rows are dataset version {record.dataset_version}, params.yaml's version is {params.version}"
        )
    elif record.feature_store is not None:
        data, found = params.data, record.feature_store
        wanted: dict[str, Any] = {
            "store": data.store,
            "table_version": data.table_version,
            "as_of": None if data.as_of is None else data.as_of.isoformat(),
            "horizon_months": data.horizon_months,
            "every_months": data.every_months,
        }
        problems += [
            f"rows have {key} {getattr(found, key)!r}, params.yaml's data.{key} is {value!r}"
            for key, value in wanted.items()
            if getattr(found, key) != value
        ]
    if problems:
        raise DatasetError(f"--data {data_path}: {problems[0]}; run `dvc repro` to extract them again")
    actual = rows_sha256(data_path.read_bytes())
    if actual != record.sha256:
        raise DatasetError(
            f"--data {data_path}: sha256 {actual[:12]}... is not the extracted rows' "
            f"{record.sha256[:12]}...; the file was changed after extract ran"
        )
