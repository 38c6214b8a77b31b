"""The service's commands, one module each exposing `main(argv) -> int`: serve, token, audit.

cli.py can list each module directly, e.g.
`Command("serve", "attrition.service.commands.serve", "serve predictions over HTTP")`; until it
does, `main([name, *argv])` here dispatches to them, and `register` adds them to an argparse parser.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from attrition.service.commands import audit, serve, token

COMMANDS = {
    "serve": (serve, "serve predictions over HTTP (FastAPI on uvicorn)"),
    "token": (token, "print a development JWT signed with the service's secret"),
    "audit": (audit, "audit store maintenance"),
}


def register(commands: Any) -> None:
    """Add the service's subcommands to an `attrition` parser's subparsers."""
    for name, (module, help_text) in COMMANDS.items():
        parser = commands.add_parser(
            name, help=help_text, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        module.add_arguments(parser)
        parser.set_defaults(handler=module.run)


def main(argv: list[str] | None = None) -> int:
    """`serve|token|audit ARGS`: run that command's own `main(ARGS)`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        given = repr(args[0]) if args else "no command"
        print(f"error: {given} is not a service command; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module, _ = COMMANDS[args[0]]
    return int(module.main(args[1:]))
