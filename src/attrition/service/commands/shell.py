"""What every service command shell shares: one-line errors, exit 2, settings from env + flags."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

EXIT_BAD_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one stderr line `error: ...` and exit 2 (no usage dump)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message}; see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print `error: <message>` on stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def load_settings(**overrides: Any) -> Any:
    """ServiceSettings from env plus CLI overrides; a bad value becomes one line (ValueError)."""
    from pydantic import ValidationError

    from attrition.service.settings import ServiceSettings

    try:
        return ServiceSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, ValueError) and str(cause).startswith("ATTRITION_"):
            raise ValueError(str(cause)) from None  # already one line naming the setting
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ValueError(f"{where}: {first['msg']}") from None
