"""The `attrition` console script: one list of commands, each a module with ``main(argv) -> int``.

Adding a command is one line in COMMANDS. A module is imported only when its command runs, so
`attrition --help` and the light commands never pay for scikit-learn or FastAPI. Exit codes are the
same for every command: 0 ok, 1 a check failed, 2 bad input or usage; a command documents any other.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # exposes main(argv: list[str] | None) -> int
    help: str
    # End the process at once once the command returns, when run as a program: native libraries
    # (deltalake's and pyarrow's reader threads) can abort the interpreter's teardown with
    # "terminate called without an active exception" (exit 134; apache/arrow#34314,
    # delta-rs#2184), which would replace the command's own exit code and one-line error.
    skip_teardown: bool = False
    # A DVC stage: `attrition warm` may fork it from a warm interpreter (attrition.launcher).
    stage: bool = False


COMMANDS: tuple[Command, ...] = (
    # the DVC stages (dvc.yaml runs them; by hand they rebuild one output)
    Command("generate", "attrition.pipeline.generate", "stage: draw one dataset version as CSV", stage=True),
    Command(
        "extract",
        "attrition.pipeline.extract",
        "stage: the training rows, from the seed dataset or the feature store",
        skip_teardown=True,  # reads Delta with data.source=hris
        stage=True,
    ),
    Command(
        "train",
        "attrition.pipeline.train",
        "stage: fit the model with CV-chosen hyperparameters and threshold",
        stage=True,
    ),
    Command(
        "evaluate",
        "attrition.pipeline.evaluate",
        "stage: hold-out metrics, intervals and plots (dvclive)",
        stage=True,
    ),
    Command(
        "package", "attrition.pipeline.package", "stage: assemble and verify the model package", stage=True
    ),
    Command(
        "score", "attrition.pipeline.score", "stage: nightly batch scores, the service's fallback", stage=True
    ),
    Command(
        "evalset",
        "attrition.pipeline.evalset",
        "stage: labelled rows no model trained on, for the gate",
        stage=True,
    ),
    Command(
        "warm",
        "attrition.launcher.command",
        "run a command (dvc repro, dvc exp run) whose stages fork from one warm interpreter",
    ),
    # checks and lineage
    Command("params", "attrition.params", "check params.yaml without running anything"),
    Command("verify", "attrition.modelpkg.verify", "check a package's hashes, then its sample predictions"),
    Command(
        "lineage", "attrition.lifecycle.lineage", "which data, code and params made the model, at a revision"
    ),
    Command("plots", "attrition.lifecycle.plots", "render every DVC plot to PNG/SVG offline"),
    Command(
        "versions",
        "attrition.lifecycle.versions",
        "one DVC experiment per dataset version, one lineage table",
    ),
    # registry and deployment
    Command("gate", "attrition.lifecycle.gate.cli", "promotion gate: candidate vs production on shared rows"),
    Command(
        "registry",
        "attrition.lifecycle.registry.cli",
        "show / propose / promote / rollback model versions (GTO)",
    ),
    Command(
        "deploy",
        "attrition.lifecycle.deploy",
        "fetch, verify and swap in a stage's package; reload the service",
    ),
    # monitoring
    Command("monitor", "attrition.monitor.run", "drift, decay and fairness verdicts from the audit store"),
    Command("simulate", "attrition.monitor.simulate", "send a dataset version's employees to a service"),
    # the feature store (HRIS extracts -> Delta Lake -> training sets and online features)
    Command("hris", "attrition.hris.cli", "simulate an HRIS: month-end extracts of a company over time"),
    Command(
        "features",
        "attrition.features.cli",
        "feature store: refresh from an extract, point-in-time training sets, online features",
        skip_teardown=True,
    ),
    # the service
    Command("serve", "attrition.service.commands.serve", "serve predictions over HTTP"),
    Command("token", "attrition.service.commands.token", "print a development JWT"),
    Command("audit", "attrition.audit.command", "audit store: migrate, purge, export or erase rows"),
)

USAGE_EXIT = 2


def stage_modules() -> dict[str, str]:
    """The stage commands and their modules: what `attrition warm` preloads and will serve."""
    return {command.name: command.module for command in COMMANDS if command.stage}


def usage() -> str:
    width = max(len(command.name) for command in COMMANDS)
    lines = [f"  {command.name:<{width}}  {command.help}" for command in COMMANDS]
    return (
        "usage: attrition <command> [options]   (attrition <command> --help for its options)\n\n"
        "commands:\n" + "\n".join(lines) + "\n\nexit codes: 0 ok, 1 a check failed, 2 bad input or usage\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage(), end="")
        return 0 if args else USAGE_EXIT
    if args[0] == "--version":
        from attrition import __version__

        print(f"attrition {__version__}")
        return 0
    by_name = {command.name: command for command in COMMANDS}
    command = by_name.get(args[0])
    if command is None:
        print(
            f"error: unknown command {args[0]!r}; allowed: {', '.join(by_name)} (attrition --help)",
            file=sys.stderr,
        )
        return USAGE_EXIT
    # attrition.launcher.SERVER_VARIABLE, named here: importing it would put attrition.launcher into
    # every stage's recorded code identity (models/train.json), which the launcher does not affect.
    if argv is None and command.stage and os.environ.get("ATTRITION_STAGE_SERVER"):
        # Under `attrition warm`: a fork of the warm interpreter runs it, or this process re-runs it
        # cold (attrition.launcher.client.run_or_reexec never leaves its module loaded beside a stage).
        from attrition.launcher.client import run_or_reexec

        return run_or_reexec(sys.argv)
    code = int(importlib.import_module(command.module).main(args[1:]))
    if argv is None and command.skip_teardown:  # a program, not a caller in-process (tests pass argv)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
