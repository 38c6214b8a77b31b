"""PSI pinned against values worked out by hand and against a second formula (symmetric KL divergence)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy

from attrition.method.psi import profile_column, psi, shares, sturges_edges
from attrition.method.synthetic import generate_frame


def test_categorical_psi_matches_hand_computation() -> None:
    reference = profile_column(["a", "a", "b", "b"], numeric=False, max_values=100)
    # shares a: 0.5 -> 0.25, b: 0.5 -> 0.75
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    assert psi(reference, ["a", "b", "b", "b"]) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.25 * math.log(3), abs=1e-12)


def test_identical_samples_have_zero_psi() -> None:
    values = np.arange(100.0)
    assert psi(profile_column(values, numeric=True, max_values=1000), values) == pytest.approx(0.0, abs=1e-15)


def test_a_value_missing_on_one_side_gets_evidentlys_share_of_0_0001() -> None:
    reference = profile_column(["a", "a"], numeric=False, max_values=100)
    expected = (1.0 - 0.5) * math.log(1.0 / 0.5) + (0.0001 - 0.5) * math.log(0.0001 / 0.5)
    assert psi(reference, ["a", "b"]) == pytest.approx(expected, abs=1e-12)


def test_numeric_column_uses_sturges_bins_over_both_samples() -> None:
    # 64 values 0..63 -> log2(64) + 1 = 7 bins of width 9:
    # [0,9) [9,18) [18,27) [27,36) [36,45) [45,54) [54,63]
    reference = profile_column(np.arange(32), numeric=True, max_values=1000)
    current = np.arange(32, 64)
    ref = np.array([9, 9, 9, 5, 0, 0, 0]) / 32
    cur = np.array([0, 0, 0, 4, 9, 9, 10]) / 32
    ref, cur = np.where(ref == 0, 0.0001, ref), np.where(cur == 0, 0.0001, cur)
    expected = sum((r - c) * math.log(r / c) for r, c in zip(ref, cur, strict=True))
    assert psi(reference, current) == pytest.approx(expected, abs=1e-12)


def test_twenty_distinct_numeric_values_get_one_bin_each_as_in_evidently() -> None:
    reference = profile_column(np.arange(20), numeric=True, max_values=1000)
    assert reference.kind == "counts"
    assert profile_column(np.arange(21), numeric=True, max_values=1000).kind == "values"


@pytest.mark.parametrize("size", [7, 64, 100, 1000, 1024, 4096, 5000])
def test_sturges_edges_equal_numpys(size: int) -> None:
    data = np.random.default_rng(size).normal(5000, 1500, size)
    expected = np.histogram_bin_edges(data, bins="sturges")
    np.testing.assert_array_equal(sturges_edges(float(data.min()), float(data.max()), size), expected)


def test_psi_equals_symmetric_kl_divergence_of_the_shares() -> None:
    rng = np.random.default_rng(3)
    reference = profile_column(rng.normal(0, 1, 800), numeric=True, max_values=10000)
    current = rng.normal(0.5, 1.2, 600)
    ref, cur = shares(reference, current)
    ref, cur = ref / ref.sum(), cur / cur.sum()  # entropy() normalises; filled shares sum to ~1 + 1e-4
    symmetric_kl = entropy(ref, cur) + entropy(cur, ref)
    assert psi(reference, current) == pytest.approx(symmetric_kl, rel=1e-3)


def test_a_quantile_compressed_reference_gives_nearly_the_same_psi() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(0, 1, 100_000)
    current = rng.normal(0.3, 1, 2000)
    full = psi(profile_column(values, numeric=True, max_values=1_000_000), current)
    compressed = profile_column(values, numeric=True, max_values=10_000)
    assert len(compressed.values) == 10_000 and compressed.rows == 100_000
    assert psi(compressed, current) == pytest.approx(full, abs=0.002)


def test_income_psi_between_dataset_versions_matches_the_issues_measurements() -> None:
    training = generate_frame(3, 640, seed=11)["monthly_income"].to_numpy()
    reference = profile_column(training, numeric=True, max_values=10000)
    by_version = {
        v: psi(reference, generate_frame(v, 2000, seed=50 + v)["monthly_income"]) for v in (3, 5, 6, 8)
    }
    assert by_version[3] < 0.1
    assert 0.35 < by_version[5] < 0.8
    assert 0.9 < by_version[6] < 1.6
    assert by_version[8] > 2.0


def test_empty_current_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        psi(profile_column(["a"], numeric=False, max_values=10), [])
