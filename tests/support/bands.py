"""Labelled rows with a chosen recall per age band: the fixture data of the group-comparison tests."""

from __future__ import annotations

import numpy as np


def rows_with_band_recalls(
    recalls: dict[str, float], positives: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, decided, band) with `positives` positives and as many negatives per band, recall as given."""
    y: list[int] = []
    decided: list[int] = []
    groups: list[str] = []
    for band, recall in recalls.items():
        hits = round(recall * positives)
        y += [1] * positives + [0] * positives
        decided += [1] * hits + [0] * (positives - hits) + [0] * positives
        groups += [band] * (2 * positives)
    return np.array(y), np.array(decided), np.array(groups)
