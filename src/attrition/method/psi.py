"""Population Stability Index exactly as Evidently computes it, without Evidently.

Evidently (the deployment plan's tool) pulls in 81 packages and fails to import with the pandas this
project pins, so its definition is reproduced here (evidently/calculations/stattests/utils.py and psi.py):

* a numeric column with more than 20 distinct reference values is cut into equal-width bins over the
  reference and current values combined, as many as NumPy's "sturges" rule gives for the combined count;
  any other column gets one bin per value seen in either sample;
* shares are counts over each sample's size; an empty bin's share becomes 0.0001 (or the smallest
  non-zero share / 10**6 when that is already <= 0.0001);
* PSI = sum over bins of (ref - cur) * ln(ref / cur).

The reference side is a frozen profile (see `attrition.modelpkg.reference`), not the training frame.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

MAX_DISTINCT_FOR_VALUE_BINS = 20
EMPTY_SHARE = 0.0001

Scalar = int | float | str


@dataclass(frozen=True)
class ColumnProfile:
    """The reference side of PSI for one column.

    kind "values": a numeric column with > 20 distinct values; `values` holds them sorted (or evenly
    spaced quantiles of them when there were more than the cap) and `rows` the true count.
    kind "counts": every other column; `counts` maps each reference value to its count.
    """

    kind: Literal["values", "counts"]
    rows: int
    values: tuple[float, ...] = ()
    counts: tuple[tuple[Scalar, int], ...] = ()


def profile_column(values: Sequence[Scalar] | np.ndarray, *, numeric: bool, max_values: int) -> ColumnProfile:
    """Freeze one reference column in the form PSI needs (Evidently's choice of binning included)."""
    array = np.asarray(values)
    distinct = np.unique(array)
    if numeric and distinct.size > MAX_DISTINCT_FOR_VALUE_BINS:
        ordered = np.sort(array.astype(float))
        if ordered.size > max_values:
            # Evenly spaced order statistics keep each bin's share within 1/max_values of the full
            # sample's and keep the exact minimum and maximum, which fix the bin edges.
            ordered = ordered[np.linspace(0, ordered.size - 1, max_values).round().astype(int)]
        return ColumnProfile("values", int(array.size), values=tuple(float(v) for v in ordered))
    counts = Counter(_plain(v) for v in array.tolist())
    return ColumnProfile(
        "counts", int(array.size), counts=tuple(sorted(counts.items(), key=lambda kv: str(kv[0])))
    )


def _plain(value: object) -> Scalar:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str):
        return value
    return str(value)


def sturges_edges(low: float, high: float, count: int) -> np.ndarray:
    """NumPy's ``histogram_bin_edges(data, "sturges")`` from the data's min, max and size alone."""
    if low == high:  # NumPy widens a zero range by 0.5 each side and uses one bin
        return np.array([low - 0.5, high + 0.5])
    width = (high - low) / (np.log2(count) + 1.0)
    bins = max(1, int(np.ceil((high - low) / width)))
    return np.linspace(low, high, bins + 1)


def _fill_empty(shares: np.ndarray) -> np.ndarray:
    smallest = shares[shares > 0].min()
    filler = smallest / 10**6 if smallest <= EMPTY_SHARE else EMPTY_SHARE
    return np.where(shares == 0, filler, shares)


def shares(reference: ColumnProfile, current: Sequence[Scalar] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current shares per bin, empty bins already filled as Evidently fills them."""
    cur = np.asarray(current)
    if reference.kind == "values":
        ref = np.asarray(reference.values, dtype=float)
        cur = cur.astype(float)
        edges = sturges_edges(
            float(min(ref[0], cur.min())), float(max(ref[-1], cur.max())), reference.rows + cur.size
        )
        ref_shares = np.histogram(ref, edges)[0] / ref.size
        cur_shares = np.histogram(cur, edges)[0] / cur.size
    else:
        ref_counts = dict(reference.counts)
        cur_counts = Counter(_plain(v) for v in cur.tolist())
        keys = sorted(set(ref_counts) | set(cur_counts), key=str)
        ref_shares = np.array([ref_counts.get(k, 0) for k in keys]) / reference.rows
        cur_shares = np.array([cur_counts.get(k, 0) for k in keys]) / cur.size
    return _fill_empty(ref_shares), _fill_empty(cur_shares)


def psi(reference: ColumnProfile, current: Sequence[Scalar] | np.ndarray) -> float:
    """PSI of `current` against the frozen reference column (0 = identical shares)."""
    if len(current) == 0:
        raise ValueError("PSI needs at least one current value")
    ref, cur = shares(reference, current)
    return float(np.sum((ref - cur) * np.log(ref / cur)))
