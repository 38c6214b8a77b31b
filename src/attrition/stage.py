"""The shared shape of a stage entry point: known input errors become one line and exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from attrition.dataset import DatasetError
from attrition.params import ParamsError

# Errors that mean "the input is wrong", as opposed to a bug: the user gets one line, not a trace.
INPUT_ERRORS: tuple[type[Exception], ...] = (ParamsError, DatasetError)


def run_stage(body: Callable[[], None], *, extra_errors: tuple[type[Exception], ...] = ()) -> int:
    """Run a stage body; report input errors on one stderr line and return a non-zero code."""
    try:
        body()
    except (*INPUT_ERRORS, *extra_errors) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
