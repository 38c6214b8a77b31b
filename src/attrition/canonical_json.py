"""Canonical numbers and the one JSON writer: outputs that do not depend on the CPU they were built on.

NumPy picks its float64 ``log``/``exp`` kernels (and OpenBLAS its BLAS kernels) by CPU at run time:
on an AVX-512 machine ``np.log`` uses NumPy's own SIMD code and differs from the scalar C library in
the last bit for some inputs, on an AVX2 machine it is the C library. A float that passed through such
a kernel can print differently on another machine, so every float a DVC output records is rounded to
``SIGNIFICANT_DIGITS`` significant digits first, and every decision on such a float is made on the
rounded value. Ten digits keep a recorded probability within 5e-11 of the model's (the package check
allows 1e-9) and make a last-bit difference change the output only when it straddles a rounding
boundary (about 2e-6 per value instead of always). Rounding goes through Python's correctly rounded
decimal conversion, which no CPU feature changes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SIGNIFICANT_DIGITS = 10


def canonical_float(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """`value` rounded to `digits` significant digits (-0.0 becomes 0.0; inf and nan are kept)."""
    number = float(value)
    if not math.isfinite(number):
        return number
    return float(f"{number:.{digits - 1}e}") + 0.0


def per_distinct(function: Callable[[float], float], values: Any) -> np.ndarray:
    """`function` (a scalar, CPU-independent one) of every element, called once per distinct value.

    Model scores take few distinct values (tree cells, isotonic steps), so scalar Python maths costs
    little even on a million rows.
    """
    import numpy as np  # here only: the serving image imports this module (via the package format) without it

    array = np.asarray(values, dtype=np.float64)
    distinct, inverse = np.unique(array, return_inverse=True)
    mapped = np.array([function(v) for v in distinct.tolist()], dtype=np.float64)
    return mapped[inverse].reshape(array.shape)


def canonical_array(values: Any, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """canonical_float of every element as a float64 array."""
    return per_distinct(lambda value: canonical_float(value, digits), values)


def decimal_places_array(values: Any, places: int) -> np.ndarray:
    """Every element rounded to `places` decimal places (an absolute grid), as a float64 array.

    For values whose CPU-dependent error is absolute rather than relative, such as log-odds near 0,
    where significant digits would make the grid finest exactly where the error is largest.
    """
    return per_distinct(lambda value: float(f"{value:.{places}f}") + 0.0, values)


def canonical(document: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """A JSON-able document with every float (NumPy's too) rounded by canonical_float, NumPy ints as ints."""
    if isinstance(document, bool | str) or document is None:
        return document
    if isinstance(document, Integral):
        return int(document)
    if isinstance(document, Real):
        return canonical_float(float(document), digits)
    if isinstance(document, dict):
        return {key: canonical(value, digits) for key, value in document.items()}
    if isinstance(document, list | tuple):
        return [canonical(value, digits) for value in document]
    return document


def json_text(document: Any, *, exact: bool = False, sort_keys: bool = True) -> str:
    """The one JSON layout for records, package files, metrics and plots: equal content, equal bytes.

    Floats are canonical unless `exact`: only for numbers that are already a pure function of bytes
    that do not depend on the CPU (model.json, read from model.joblib), where rounding would lose the
    exact round trip. `sort_keys=False` keeps an order the writer fixed (dvclive's logging order).
    """
    content = document if exact else canonical(document)
    return json.dumps(content, indent=2, sort_keys=sort_keys) + "\n"


def canonicalise_file(path: Path) -> None:
    """Rewrite a JSON file another library wrote (dvclive) in the canonical layout, keeping its key order."""
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json_text(document, sort_keys=False), encoding="utf-8")
