"""`attrition hris simulate`: write a simulated company's month-end HRIS extracts into a folder.

    attrition hris simulate --employees 5000 --months 36 --start 2023-01-01 --seed 7 --out DIR

writes DIR/hris_2023-01-31.csv ... DIR/hris_2025-12-31.csv (format: attrition.hris.simulate). The
folder is written as a whole (all extracts or none) and replaces an earlier export in DIR; a DIR
holding anything but extracts is refused. Exit 0 written, 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path

from attrition.atomic import atomic_directory
from attrition.hris.simulate import (
    SimulationConfig,
    SimulationError,
    extract_csv_bytes,
    extract_filename,
    simulate,
)

USAGE_EXIT = 2
_EXTRACT_NAME = re.compile(r"hris_\d{4}-\d{2}-\d{2}\.csv")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; allowed: YYYY-MM-DD") from None


def foreign_entry(folder: Path) -> str | None:
    """The first entry of `folder` that is not an extract (replacing the folder would delete it)."""
    if not folder.exists():
        return None
    if not folder.is_dir():
        return folder.name
    for entry in sorted(folder.iterdir()):
        if not (entry.is_file() and _EXTRACT_NAME.fullmatch(entry.name)):
            return entry.name
    return None


def write_export(config: SimulationConfig, out: Path) -> tuple[int, int, int]:
    """Write every extract of `config` into `out`; returns (extracts, employees in the last, leavers)."""
    count, last_rows, leavers = 0, 0, 0
    with atomic_directory(out) as staging:
        for extract in simulate(config):
            (staging / extract_filename(extract.extract_date)).write_bytes(extract_csv_bytes(extract.frame))
            count += 1
            last_rows = len(extract.frame)
            leavers = int(extract.frame["termination_date"].notna().sum())
    return count, last_rows, leavers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attrition hris",
        description="A simulated HRIS: month-end full extracts of a company drawn from the seed "
        "generator. Exit 0 ok, 2 bad input.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("simulate", help="write one CSV extract per month end into a folder")
    sim.add_argument("--employees", type=int, required=True, help="headcount at the start")
    sim.add_argument("--months", type=int, required=True, help="number of month-end extracts")
    sim.add_argument("--start", type=_date, required=True, help="first day of the first month")
    sim.add_argument("--seed", type=int, required=True)
    sim.add_argument("--out", type=Path, required=True, help="folder for hris_YYYY-MM-DD.csv files")
    sim.add_argument("--start-version", type=float, default=3.0, help="the seed's version at start")
    sim.add_argument(
        "--version-per-year", type=float, default=1.0, help="how many seed versions a year moves"
    )
    args = parser.parse_args(argv)
    try:
        config = SimulationConfig(
            employees=args.employees,
            months=args.months,
            start=args.start,
            seed=args.seed,
            start_version=args.start_version,
            version_per_year=args.version_per_year,
        )
    except SimulationError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_EXIT
    foreign = foreign_entry(args.out)
    if foreign is not None:
        print(
            f"error: refusing to replace {args.out}: it holds {foreign!r}, not an extract; "
            "allowed: a new folder or one holding only hris_YYYY-MM-DD.csv files",
            file=sys.stderr,
        )
        return USAGE_EXIT
    count, rows, leavers = write_export(config, args.out)
    print(
        f"hris simulate: {count} extracts -> {args.out} ({config.employees:,} employees at the start; "
        f"the last extract holds {rows:,}, of whom {leavers:,} left)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
