"""`attrition features refresh | training-set | materialize`: the feature store from the command line.

    attrition features refresh --store URI --hris hris_2024-01-31.csv --as-of 2024-01-31 [--backfill]
    attrition features training-set --store URI --as-of 2025-12-31 --horizon 12mo [--every 1mo]
        --out training.csv [--version N]
    attrition features materialize --store URI --as-of 2025-12-31 --out online.json.gz [--version N]
    attrition features outcomes --store URI --as-of 2025-12-31 --horizon 12mo --out outcomes.csv

URI is a folder or ``s3://bucket/prefix``; for S3 the credentials and endpoint come from
AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and
AWS_ALLOW_HTTP. training-set also writes ``<out>.json``: the table version it read and its counts;
materialize writes gzip-compressed JSON (the layout is in attrition.features.online).
Outputs are written atomically. Exit 0 ok, 1 the store could not be read or written, 2 bad input
(one line per problem on stderr; nothing written).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

from deltalake.exceptions import DeltaError

from attrition.atomic import atomic_write_bytes, atomic_write_text
from attrition.canonical_json import json_text
from attrition.features.extract import ExtractError, read_extract
from attrition.features.materialize import materialize
from attrition.features.online import online_file_bytes
from attrition.features.schema import (
    FeatureStoreError,
    error_line,
    parse_date,
    parse_months,
    storage_options,
)
from attrition.features.store import refresh
from attrition.features.training import outcome_rows, training_csv_bytes, training_set

USAGE_EXIT = 2
STORE_EXIT = 1


def record_path(out: Path) -> Path:
    """Where training-set records what it read: beside the CSV, ``<name>.json``."""
    return out.with_name(out.name + ".json")


def run_refresh(args: argparse.Namespace) -> str:
    as_of = parse_date(args.as_of, "--as-of")
    extract = read_extract(args.hris, as_of)
    result = refresh(args.store, extract, backfill=args.backfill, storage_options=storage_options(args.store))
    head = f"refresh: {extract.source} as of {as_of}"
    if result.status == "unchanged":
        return f"{head}: already applied, nothing changed (table version {result.table_version})"
    return (
        f"{head}: {result.changed_rows:,} of {result.extract_rows:,} employees new or changed "
        f"-> table version {result.table_version} (latest extract {result.latest_extract})"
    )


def run_training_set(args: argparse.Namespace) -> str:
    as_of = parse_date(args.as_of, "--as-of")
    horizon = parse_months(args.horizon, "--horizon")
    every = parse_months(args.every, "--every")
    rows = training_set(
        args.store, as_of, horizon, every, args.version, storage_options=storage_options(args.store)
    )
    data = training_csv_bytes(rows.frame)
    record = {**rows.record(args.store), "csv": args.out.name, "csv_sha256": hashlib.sha256(data).hexdigest()}
    atomic_write_bytes(args.out, data)
    atomic_write_text(record_path(args.out), json_text(record))
    return (
        f"training-set: {len(rows.frame):,} rows ({record['positives']:,} left within {horizon} months) "
        f"over {len(rows.snapshot_dates)} snapshots {rows.snapshot_dates[0]}..{rows.snapshot_dates[-1]} "
        f"from table version {rows.table_version} -> {args.out}"
    )


def run_materialize(args: argparse.Namespace) -> str:
    as_of = parse_date(args.as_of, "--as-of")
    snapshot = materialize(args.store, as_of, args.version, storage_options=storage_options(args.store))
    atomic_write_bytes(args.out, online_file_bytes(snapshot))
    return (
        f"materialize: {len(snapshot.active):,} active and {len(snapshot.left):,} departed employees "
        f"as of {as_of} from table version {snapshot.table_version} -> {args.out}"
    )


def run_outcomes(args: argparse.Namespace) -> str:
    as_of = parse_date(args.as_of, "--as-of")
    horizon = parse_months(args.horizon, "--horizon")
    outcomes, version = outcome_rows(
        args.store, as_of, horizon, args.version, storage_options=storage_options(args.store)
    )
    atomic_write_bytes(args.out, training_csv_bytes(outcomes))
    return (
        f"outcomes: {len(outcomes):,} employees active {horizon} months before {as_of}, "
        f"{int(outcomes['attrition'].sum()):,} left since, from table version {version} -> {args.out}"
    )


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="attrition features",
        description="The feature store on Delta Lake: apply HRIS extracts, build point-in-time training "
        "sets, materialize online features, write outcomes. Exit 0 ok, 1 store unreachable, 2 bad input.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    store_help = "a folder or s3://bucket/prefix"
    version_help = "Delta table version to read (default: the latest)"
    apply = commands.add_parser("refresh", help="apply one HRIS extract (idempotent)")
    apply.add_argument("--store", required=True, help=store_help)
    apply.add_argument("--hris", type=Path, required=True, help="extract CSV, e.g. hris_2024-01-31.csv")
    apply.add_argument("--as-of", required=True, help="the extract's date (YYYY-MM-DD)")
    apply.add_argument("--backfill", action="store_true", help="accept an extract older than the latest")
    apply.set_defaults(run=run_refresh)
    train = commands.add_parser("training-set", help="labelled point-in-time rows as CSV")
    train.add_argument("--store", required=True, help=store_help)
    train.add_argument("--as-of", required=True, help="T: no feature or label from after it")
    train.add_argument("--horizon", required=True, help="label window after each snapshot, e.g. 12mo")
    train.add_argument("--every", default="1mo", help="snapshot spacing (default 1mo)")
    train.add_argument("--out", type=Path, required=True, help="CSV path; <out>.json records the version")
    train.add_argument("--version", type=int, default=None, help=version_help)
    train.set_defaults(run=run_training_set)
    online = commands.add_parser("materialize", help="current features of every employee, as gzipped JSON")
    online.add_argument("--store", required=True, help=store_help)
    online.add_argument("--as-of", required=True, help="the date features are computed at")
    online.add_argument(
        "--out", type=Path, required=True, help="file for OnlineStore.load, e.g. online.json.gz"
    )
    online.add_argument("--version", type=int, default=None, help=version_help)
    online.set_defaults(run=run_materialize)
    labels = commands.add_parser(
        "outcomes", help="who left within the horizon: the monitor's --outcomes file from terminations"
    )
    labels.add_argument("--store", required=True, help=store_help)
    labels.add_argument("--as-of", required=True, help="the horizon's end: labels known completely by then")
    labels.add_argument("--horizon", required=True, help="the label window, e.g. 12mo (the model's)")
    labels.add_argument("--out", type=Path, required=True, help="CSV employee_id,attrition,observed_at")
    labels.add_argument("--version", type=int, default=None, help=version_help)
    labels.set_defaults(run=run_outcomes)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], str] = args.run
    try:
        print(run(args))
    except ExtractError as error:
        for line in error.lines:
            print(f"error: {line}", file=sys.stderr)
        return USAGE_EXIT
    except FeatureStoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_EXIT
    except (DeltaError, OSError) as error:
        # a local file names itself; the object store's errors do not name the store
        where = "" if getattr(error, "filename", None) else f"store {args.store}: "
        print(f"error: {where}{error_line(error)}", file=sys.stderr)
        return STORE_EXIT
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
