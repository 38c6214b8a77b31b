"""Log records that cannot forge log lines: the control characters a record carries are escaped.

Whatever a client controls can reach a message (a token's subject names who reloaded the model). A
newline in it would start what reads as a second, forged record; an ANSI escape would repaint the
operator's terminal. The formatter escapes C0 and C1 control characters, DEL and the Unicode line
separators in every message; a traceback keeps its line breaks, but each of its lines is indented
("  | "), so only a record's own first line ever starts at column 0.
"""

from __future__ import annotations

import logging
import re
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """`text` on one line: every control character written as its Python escape."""
    return _CONTROL.sub(_escape, text)


class EscapingFormatter(logging.Formatter):
    """logging.Formatter whose output has exactly one line per record starting at column 0."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        details = [record.exc_text or "", self.formatStack(record.stack_info) if record.stack_info else ""]
        for detail in filter(None, details):
            lines = [escape_controls(line) for line in detail.splitlines()]
            text += "".join(f"\n  | {line}" for line in lines)
        return text


def logging_config(server_level: str) -> dict[str, Any]:
    """dictConfig for `attrition serve`: every logger, uvicorn's too, through one escaping handler.

    The service's own records are logged from INFO; uvicorn's from `server_level` (--log-level).
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"escaped": {"()": EscapingFormatter, "fmt": LOG_FORMAT}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "escaped", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            name: {"level": server_level.upper(), "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        },
    }
