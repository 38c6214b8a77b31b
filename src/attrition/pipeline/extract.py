"""Stage `extract`: the labelled rows every later stage reads, from the seed generator or the store.

``data.source: seed`` (the default) copies the dataset version's CSV byte for byte, so the seed-exact
datasets and the models trained on them are unchanged. ``data.source: hris`` builds a point-in-time
training set from the feature store at the pinned ``data.table_version`` (attrition.features.training):
one row per employee per monthly snapshot up to ``data.as_of`` minus the horizon. Either way the rows
and their record (attrition.modelpkg.training_rows) are DVC outputs, so dvc.lock hashes the rows, and
``dvc exp run -S data.source=hris ...`` runs the same train, evaluate and package on the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attrition.atomic import atomic_write_bytes, atomic_write_text
from attrition.canonical_json import json_text
from attrition.dataset import TARGET, DatasetError, read_dataset, validate_frame
from attrition.method.synthetic import dataset_filename
from attrition.modelpkg.training_rows import ExtractRecord, FeatureStoreSource, rows_sha256
from attrition.params import Params, load_params
from attrition.pipeline.stage import run_stage, stage_parser


def seed_rows(params: Params, seed_data: Path) -> tuple[bytes, ExtractRecord]:
    """The generator's CSV of dataset `version`, unchanged, after the usual validation."""
    expected = dataset_filename(params.version)
    if seed_data.name != expected:
        raise DatasetError(
            f"--seed-data {seed_data} is not dataset version {params.version} (params.yaml's version), "
            f"whose file is {expected}"
        )
    frame = read_dataset(seed_data)
    data = seed_data.read_bytes()
    record = ExtractRecord(
        source="seed",
        file=seed_data.name,
        dataset_version=params.version,
        rows=len(frame),
        positives=int(frame[TARGET].sum()),
        sha256=rows_sha256(data),
    )
    return data, record


def store_rows(params: Params, out: Path) -> tuple[bytes, ExtractRecord]:
    """The point-in-time training set params.yaml pins: store, table version, as-of, horizon."""
    # Imported here: pyarrow, DuckDB and delta-rs would cost the default (seed) run ~0.4 s of start-up.
    from deltalake.exceptions import DeltaError

    from attrition.features.schema import FeatureStoreError, error_line, storage_options
    from attrition.features.training import training_csv_bytes, training_set

    data_params = params.data
    assert data_params.store is not None and data_params.as_of is not None  # DataParams validated it
    try:
        rows = training_set(
            data_params.store,
            data_params.as_of,
            data_params.horizon_months,
            data_params.every_months,
            data_params.table_version,
            storage_options=storage_options(data_params.store),
        )
    except FeatureStoreError as error:  # no table, no such version, as-of after the latest extract
        message = str(error).removeprefix(f"{data_params.store}: ")  # named once, by its params key
        raise DatasetError(f"data.store {data_params.store}: {message}") from None
    except DeltaError as error:  # the store is unreachable or its log unreadable
        raise DatasetError(f"data.store {data_params.store}: {error_line(error)}") from None
    validate_frame(rows.frame, source=f"{data_params.store} table version {rows.table_version}")
    data = training_csv_bytes(rows.frame)
    summary = rows.record(data_params.store)
    source = FeatureStoreSource(**{key: summary[key] for key in FeatureStoreSource.model_fields})
    record = ExtractRecord(
        source="hris",
        file=out.name,
        feature_store=source,
        rows=summary["rows"],
        positives=summary["positives"],
        sha256=rows_sha256(data),
    )
    return data, record


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("extract", "Write the training rows: the seed dataset or a store training set.")
    parser.add_argument("--seed-data", type=Path, required=True, help="the version's generated CSV")
    parser.add_argument("--out", type=Path, required=True, help="training rows CSV")
    parser.add_argument("--record", type=Path, required=True, help="where the rows came from (JSON)")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        params = load_params(args.params)
        if params.data.source == "seed":
            data, record = seed_rows(params, args.seed_data)
        else:
            data, record = store_rows(params, args.out)
        atomic_write_bytes(args.out, data)
        atomic_write_text(args.record, json_text(record.model_dump(mode="json", exclude_none=True)))
        store = record.feature_store
        snapshots = "" if store is None else f" ({store.snapshots} snapshots)"
        print(
            f"extract: {record.rows} rows ({record.positives} left) from {record.describe()}{snapshots} "
            f"-> {args.out}"
        )
        return {"rows": record.rows, "sha256": record.sha256}

    return run_stage("extract", body, run_record=args.run_record)


if __name__ == "__main__":
    raise SystemExit(main())
