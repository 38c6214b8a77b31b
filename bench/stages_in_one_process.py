"""Every stage of dvc.yaml, as its command line says, run in ONE Python process: the same method
(selection, fitting, calibration, evaluation, evalset, package with its verification, scoring) on the
same rows, without DVC and without an interpreter start and import per stage. (Its run records
and train.json name more loaded modules than a stage process does: the code record is not the point.)

`bench_pipeline.py` times it beside `dvc repro -f` in the same run, so the difference is what the
stage boundaries cost (interpreter starts, imports, DVC's hashing and lock writing), apart from the
method's own cost. Each stage's wall time is printed with ``--per-stage``.

    .venv/bin/python bench/stages_in_one_process.py --repo DIR [--per-stage]
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from pathlib import Path

import yaml

from attrition import cli


def stage_commands(repo: Path) -> list[tuple[str, list[str]]]:
    """(stage, argv after `attrition`) in dvc.yaml order, ${...} filled from params.yaml."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((repo / "params.yaml").read_text())
    commands = []
    for name, stage in stages.items():
        command = " ".join(str(stage["cmd"]).split())
        for key, value in params.items():
            if not isinstance(value, dict):
                command = command.replace(f"${{{key}}}", str(value))
        argv = shlex.split(command)
        if argv[0] != "attrition":
            raise SystemExit(f"error: stage {name} does not run the attrition CLI: {argv[0]}")
        commands.append((name, argv[1:]))
    return commands


def run_all(repo: Path) -> dict[str, float]:
    """Run every stage in this process from `repo`; seconds per stage."""
    os.chdir(repo)
    seconds: dict[str, float] = {}
    for name, argv in stage_commands(repo):
        started = time.perf_counter()
        code = cli.main(argv)
        seconds[name] = time.perf_counter() - started
        if code != 0:
            raise SystemExit(f"error: stage {name} exited {code}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, required=True, help="a repository copy (outputs overwritten)")
    parser.add_argument("--per-stage", action="store_true", help="print each stage's seconds")
    args = parser.parse_args()
    seconds = run_all(args.repo.resolve())
    if args.per_stage:
        for name, value in seconds.items():
            print(f"{name:10s} {value:6.2f} s")


if __name__ == "__main__":
    main()
