"""`attrition warm -- COMMAND`: run COMMAND (`dvc repro`, `dvc exp run`) with a warm stage server.

Each `attrition <stage>` that COMMAND starts hands itself to the server, which forks it from an
interpreter that has already imported the stages' libraries; a stage the server cannot take (another
import-time environment, say `NPY_DISABLE_CPU_FEATURES` set for one stage) runs cold, as without the
server. Outputs, dvc.lock and code identities are those of the cold run (tests/launcher checks them
byte for byte). Exit code: COMMAND's; 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile

from attrition.launcher.server import Outcome, serve

ENTRY = (
    "attrition.cli"  # the module whose main(None) runs a command, and whose stage_modules() names the stages
)


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(
        prog="attrition warm",
        description="Run a command whose `attrition` stages fork from one warm interpreter.",
        epilog="example: attrition warm -- dvc repro",
    )
    result.add_argument("--quiet", action="store_true", help="no summary line on stderr")
    result.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    return result


def summary(outcome: Outcome) -> str:
    tally = outcome.tally
    refused = sum(tally.refused.values())
    why = "; ".join(f"{count} x {reason}" for reason, count in tally.refused.items())
    return (
        f"attrition warm: {tally.served} stage(s) forked from one interpreter (libraries loaded once,"
        f" {outcome.preload_seconds:.1f} s), {refused} ran cold{f' ({why})' if why else ''};"
        f" largest stage {tally.peak_rss_kib / 1024 / 1024:.2f} GiB"
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print(
            "error: warm needs a command to run after --, e.g. attrition warm -- dvc repro", file=sys.stderr
        )
        return 2
    if shutil.which(command[0]) is None:
        print(f"error: warm: command not found: {command[0]!r} (a program on PATH)", file=sys.stderr)
        return 2
    if not hasattr(os, "pidfd_open") or not hasattr(os, "fork"):
        print(
            "attrition warm: no pidfd on this system; running the command without a stage server",
            file=sys.stderr,
        )
        os.execvp(command[0], command)
    directory = tempfile.mkdtemp(prefix="attrition-stages-")  # mode 0700: only this user can connect
    try:
        outcome = serve(command, entry=ENTRY, directory=directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if not args.quiet:
        print(summary(outcome), file=sys.stderr)
    if outcome.code < 0:  # the command died of a signal: so does this process
        signal.signal(-outcome.code, signal.SIG_DFL)
        os.kill(os.getpid(), -outcome.code)
    return outcome.code
