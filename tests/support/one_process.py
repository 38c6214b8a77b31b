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

import json
import subprocess
import sys
from pathlib import Path

# argv: a JSON list of commands, each as dvc.yaml writes it (`attrition <stage> ...`).
DRIVER = """
import contextlib, importlib, io, json, sys
for command in json.loads(sys.argv[1]):
    if command[0] != "attrition":
        sys.exit(f"not an attrition command: {command[0]}")
    for name in [name for name in sys.modules if name.split(".")[0] == "attrition"]:
        del sys.modules[name]
    main = importlib.import_module("attrition.cli").main
    with contextlib.redirect_stdout(io.StringIO()):  # what `before` printed stays the only stdout
        code = main(command[1:])
    if code:
        sys.exit(f"attrition {command[1]} exited {code}")
"""


def run_in_one_process(
    commands: list[list[str]], cwd: Path, env: dict[str, str], *, before: str = "", what: str = "stages"
) -> str:
    """Run `commands` in `cwd` in one new interpreter, after the Python code `before`; its stdout.

    A failure raises AssertionError with the stage's output.
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
    return done.stdout
