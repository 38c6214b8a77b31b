"""The `attrition` console script: one entry point for the commands people run by hand."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from attrition import verify
from attrition.service import commands as service_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attrition", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "verify", help="check a model package's hashes, then its predictions in a fresh process"
    )
    check.add_argument("package", type=Path)
    check.set_defaults(handler=lambda args: verify.main([str(args.package)]))
    service_commands.register(commands)  # serve, token, audit purge (issue #4)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
