"""The canonical writer: floats to fixed significant digits, so a last-bit difference prints the same."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from attrition.canonical_json import (
    SIGNIFICANT_DIGITS,
    canonical,
    canonical_array,
    canonical_float,
    canonicalise_file,
    decimal_places_array,
    json_text,
)


def test_a_last_bit_difference_disappears() -> None:
    # The two values issue 19's training record printed on an AVX-512 and an AVX2 CPU.
    assert canonical_float(-0.0021694383730704756) == canonical_float(-0.002169438373070473)
    assert canonical_float(-0.0021694383730704756) == -0.002169438373
    assert canonical_float(0.0005122842116807051) == canonical_float(0.0005122842116807053)


@pytest.mark.parametrize("value", [0.1, 0.05, 0.2, 1.0, 45231.5, 4523.25, 3, -7.5e-12, 1e300])
def test_short_decimals_are_kept_exactly(value: float) -> None:
    assert canonical_float(value) == value


def test_significant_digits_not_decimals() -> None:
    assert canonical_float(123456.78901234) == 123456.789
    assert canonical_float(1.234567890123e-20) == 1.23456789e-20
    assert len(repr(canonical_float(math.pi)).replace(".", "")) == SIGNIFICANT_DIGITS


def test_negative_zero_and_non_finite() -> None:
    assert math.copysign(1.0, canonical_float(-0.0)) == 1.0
    assert math.isnan(canonical_float(float("nan"))) and canonical_float(float("inf")) == math.inf


def test_documents_keep_their_shape_and_non_floats() -> None:
    document = {"b": [np.float64(0.30000000000000004), 1, True, None, "x"], "a": (np.int64(2), 2.5)}
    assert canonical(document) == {"b": [0.3, 1, True, None, "x"], "a": [2, 2.5]}
    assert isinstance(canonical(document)["a"][0], int)


def test_array_rounding_matches_the_scalar_one() -> None:
    values = np.random.default_rng(0).random((40, 3)) * 1000
    rounded = canonical_array(values)
    assert rounded.shape == values.shape
    assert rounded.tolist() == [[canonical_float(v) for v in row] for row in values.tolist()]


def test_json_text_sorts_and_rounds_unless_told() -> None:
    document = {"b": 0.1 + 0.2, "a": 1}
    assert json_text(document) == '{\n  "a": 1,\n  "b": 0.3\n}\n'
    assert json.loads(json_text(document, exact=True))["b"] == 0.1 + 0.2
    assert json_text(document, sort_keys=False).index('"b"') < json_text(document, sort_keys=False).index(
        '"a"'
    )


def test_a_file_another_library_wrote_is_rewritten_in_its_key_order(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"holdout": {"roc_auc": 0.8241418715870707}, "cv": 1}, indent=4))
    canonicalise_file(path)
    assert path.read_text() == '{\n  "holdout": {\n    "roc_auc": 0.8241418716\n  },\n  "cv": 1\n}\n'


def test_decimal_places_are_an_absolute_grid_that_a_last_bit_does_not_cross() -> None:
    """Log-odds near 0 keep the same grid as large ones (significant digits would refine it there)."""
    raw = np.array([1.2345678e-4, -2.18432881285159, 3.0000012345, -0.0000001])
    rounded = decimal_places_array(raw, 5)
    assert rounded.tolist() == [0.00012, -2.18433, 3.0, 0.0]  # -0.0 becomes 0.0
    nudged = raw + np.spacing(np.abs(raw)) * 1000  # a kernel's disagreement, a thousand ulps wide
    assert decimal_places_array(nudged, 5).tolist() == rounded.tolist()
