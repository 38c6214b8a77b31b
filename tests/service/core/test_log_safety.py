"""The escaping log formatter: one line per record, whatever a message or a traceback carries."""

from __future__ import annotations

import logging

from attrition.service.core.log_safety import LOG_FORMAT, EscapingFormatter, escape_controls


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("attrition.service", logging.ERROR, __file__, 1, message, args, exc_info)


def test_control_characters_are_escaped() -> None:
    assert escape_controls("a\nb\r\tc\x1b[31m\x7f\x85\u2028") == "a\\nb\\r\\tc\\x1b[31m\\x7f\\x85\\u2028"
    assert escape_controls("plain text, ünïcode") == "plain text, ünïcode"


def test_a_record_starts_one_line_and_tracebacks_are_indented() -> None:
    formatter = EscapingFormatter(LOG_FORMAT)
    line = formatter.format(_record("reload (%s) failed", "op\n2099-01-01 ERROR forged"))
    assert "\n" not in line and "op\\n2099-01-01 ERROR forged" in line
    try:
        raise ValueError("bad\nforged line")
    except ValueError as error:
        text = formatter.format(_record("crashed", exc=error))
    first, *rest = text.splitlines()
    assert first.endswith("crashed") and rest
    assert all(line.startswith("  | ") for line in rest)
