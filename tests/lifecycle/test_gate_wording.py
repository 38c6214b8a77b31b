"""The bias rule's words follow the interval's three-valued place against the limit, never the point
estimate: a gap estimated under the limit whose interval reaches above it does not "exceed" it."""

from __future__ import annotations

import pytest

from attrition.lifecycle.gate.rules import _against
from attrition.method.confidence import Estimate


@pytest.mark.parametrize(
    ("gap", "words"),
    [
        (Estimate(0.010, 0.000, 0.019, 300), "is within 0.02 by its upper bound"),
        (Estimate(0.012, 0.003, 0.038, 300), "straddles 0.02"),  # estimate under the limit
        (Estimate(0.025, 0.010, 0.040, 300), "straddles 0.02"),  # estimate over it: still undecided
        (Estimate(0.050, 0.030, 0.080, 300), "exceeds 0.02 by its lower bound"),
        (Estimate(None, None, None, 0), "has no interval to compare with 0.02"),
    ],
)
def test_a_gap_is_placed_by_its_interval(gap: Estimate, words: str) -> None:
    assert _against(gap, 0.02) == words
    assert ("exceeds" in words) == (gap.low is not None and gap.low > 0.02)
