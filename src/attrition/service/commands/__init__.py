"""The service's commands, one module each exposing `main(argv) -> int`: serve, token, audit.

`register` adds them to today's `attrition` parser until cli.py lists the modules itself, e.g.
`("serve", "attrition.service.commands.serve", "serve predictions over HTTP")`.
"""

from __future__ import annotations

import argparse
from typing import Any

from attrition.service.commands import audit, serve, token

COMMANDS = (
    (serve, "serve", "serve predictions over HTTP (FastAPI on uvicorn)"),
    (token, "token", "print a development JWT signed with the service's secret"),
    (audit, "audit", "audit store maintenance"),
)


def register(commands: Any) -> None:
    """Add the service's subcommands to the `attrition` parser's subparsers."""
    for module, name, help_text in COMMANDS:
        parser = commands.add_parser(
            name, help=help_text, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        module.add_arguments(parser)
        parser.set_defaults(handler=module.run)
