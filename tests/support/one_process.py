"""dvc.yaml's stage commands run one after the other in ONE Python process, for tests that need a
stage's outputs but not DVC around it.

A stage process spends most of its time importing pandas and scikit-learn (about 1 s of a 1.5 s
evaluate); seven of them per build, in a suite that builds many times, were the largest cost the
suite could drop without dropping a check. Here the third-party modules load once. The project's own
modules are imported afresh for each stage, as in a stage's own process, because a stage's code
identity (train.json, the package's metadata) is the set of project modules it loaded. The outputs
are byte for byte those of one process per stage: tests/pipeline/test_cpu_dispatch.py holds every
output of this driver, under each imitated CPU, to the template `dvc repro` built (a stage that
depended on what an earlier one left in the process would differ there).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

# dvc.yaml's stages in an order that runs each after what it reads.
STAGES = ("generate", "extract", "train", "evaluate", "evalset", "package", "score")

# argv: a JSON list of commands, each as dvc.yaml writes it (`attrition <stage> ...`). The last stdout
# line is MARKER and each stage's stdout as a JSON list.
MARKER = "one-process stage outputs: "
DRIVER = f"""
import contextlib, importlib, io, json, os, sys
outputs = []
for command in json.loads(sys.argv[1]):
    if command[0] != "attrition":
        sys.exit(f"not an attrition command: {{command[0]}}")
    for name in [name for name in sys.modules if name.split(".")[0] == "attrition"]:
        del sys.modules[name]
    main = importlib.import_module("attrition.cli").main
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(command[1:])
    outputs.append(captured.getvalue())
    if code:
        sys.exit(f"{{captured.getvalue()}}attrition {{command[1]}} exited {{code}}")
print({MARKER!r} + json.dumps(outputs), flush=True)
sys.stderr.flush()
os._exit(0)  # as `attrition` ends its Delta-reading commands: native reader threads can abort teardown
"""


def stage_commands(dvc_yaml: Path, params_yaml: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each stage's command and declared outputs (outs, metrics, plots) from dvc.yaml, in STAGES order,
    with the dataset version of params.yaml filled in."""
    version = str(yaml.safe_load(params_yaml.read_text(encoding="utf-8"))["version"])

    def fill(text: str) -> str:
        return text.replace("${version}", version)

    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]
    result = {}
    for name in STAGES:
        stage = stages[name]
        declared = [
            fill(next(iter(entry)) if isinstance(entry, dict) else entry)
            for key in ("outs", "metrics", "plots")
            for entry in stage.get(key, [])
        ]
        result[name] = (shlex.split(fill(stage["cmd"])), declared)
    return result


@dataclass(frozen=True)
class OneProcessRun:
    """What the code before the stages printed, and each stage's stdout in order."""

    before: str
    outputs: list[str]


def run_in_one_process(
    commands: list[list[str]], cwd: Path, env: dict[str, str], *, before: str = "", what: str = "stages"
) -> OneProcessRun:
    """Run `commands` in `cwd` in one new interpreter, after the Python code `before`.

    A failure raises AssertionError with the failing stage's output.
    """
    done = subprocess.run(
        [sys.executable, "-c", before + DRIVER, json.dumps(commands)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{what} failed: {done.stdout}{done.stderr}"
    printed, _, last = done.stdout.rstrip("\n").rpartition("\n")  # printed: "" if `before` printed none
    assert last.startswith(MARKER), f"{what}: no stage outputs in {done.stdout!r}"
    return OneProcessRun(printed, list(json.loads(last.removeprefix(MARKER))))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def output_md5s(workdir: Path, commands: dict[str, tuple[list[str], list[str]]]) -> dict[str, str]:
    """Every declared output file under `workdir` (a directory output file by file) with its md5."""
    outputs: dict[str, str] = {}
    for _, declared in commands.values():
        for out in declared:
            path = workdir / out
            for file in sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]:
                outputs[file.relative_to(workdir).as_posix()] = md5(file)
    return outputs
