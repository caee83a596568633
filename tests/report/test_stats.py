"""The report's statistics against scipy and against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from tunelab.report.stats import (
    Summary,
    effect_magnitude,
    holm,
    mann_whitney,
    mean_ranks,
    pairwise_tests,
    probability_best,
    vargha_delaney_a12,
)

MALES = [19, 22, 16, 29, 24]
FEMALES = [20, 11, 17, 12]


def test_mann_whitney_matches_scipys_documented_example():
    u, p = mann_whitney(MALES, FEMALES)
    assert u == 17.0  # scipy.stats.mannwhitneyu's documentation: U1 = 17, exact p = 0.1111
    assert p == pytest.approx(1 / 9)
    reference = sps.mannwhitneyu(MALES, FEMALES, alternative="two-sided")
    assert (u, p) == (reference.statistic, reference.pvalue)


def test_mann_whitney_with_ties_matches_scipy_and_the_normal_approximation_by_hand():
    a = [0.91, 0.93, 0.93, 0.95, 0.96, 0.97, 0.97, 0.98]
    b = [0.90, 0.91, 0.91, 0.93, 0.94, 0.94, 0.95, 0.96, 0.96]
    u, p = mann_whitney(a, b)
    reference = sps.mannwhitneyu(a, b, alternative="two-sided")
    assert u == pytest.approx(reference.statistic) and p == pytest.approx(reference.pvalue)
    # by hand: U from midranks; normal approximation with tie and continuity correction
    ranks = sps.rankdata(a + b)
    n1, n2 = len(a), len(b)
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    assert u == u1
    n = n1 + n2
    _, counts = np.unique(a + b, return_counts=True)
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - (counts**3 - counts).sum() / (n * (n - 1))))
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / sigma
    assert p == pytest.approx(2 * sps.norm.sf(z), rel=1e-9)


def test_mann_whitney_of_identical_constant_samples_is_p_one():
    assert mann_whitney([0.5, 0.5, 0.5], [0.5, 0.5]) == (3.0, 1.0)
    with pytest.raises(ValueError):
        mann_whitney([], [1.0])


def test_a12_counts_wins_and_half_ties_and_agrees_with_u():
    a, b = [3, 5, 5, 8], [1, 5, 6]
    wins = sum(x > y for x in a for y in b) + 0.5 * sum(x == y for x in a for y in b)
    assert vargha_delaney_a12(a, b, "max") == pytest.approx(wins / 12)
    u, _ = mann_whitney(a, b)
    assert vargha_delaney_a12(a, b, "max") == pytest.approx(u / 12)
    assert vargha_delaney_a12(a, b, "min") == pytest.approx(1 - u / 12)
    assert vargha_delaney_a12([2, 3], [0, 1], "max") == 1.0
    assert vargha_delaney_a12([2, 3], [0, 1], "min") == 0.0


def test_holm_matches_a_hand_computation():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1, kept monotone
    assert holm([0.02]) == [0.02]
    assert holm([]) == []


def test_pairwise_tests_adjust_all_pairs_together():
    groups = {
        "a": [0.9, 0.91, 0.92, 0.93, 0.94],
        "b": [0.8, 0.81, 0.82, 0.83, 0.84],
        "c": [0.85, 0.95, 0.9, 0.86, 0.93],
    }
    tests = pairwise_tests(groups, "max")
    assert [(t.a, t.b) for t in tests] == [("a", "b"), ("a", "c"), ("b", "c")]
    raw = [sps.mannwhitneyu(groups[t.a], groups[t.b]).pvalue for t in tests]
    assert [t.p_value for t in tests] == pytest.approx(raw)
    assert [t.p_holm for t in tests] == pytest.approx(holm(raw))
    ab = tests[0]
    assert ab.a12 == 1.0 and ab.better == "a" and ab.magnitude == "large"
    assert ab.median_a == 0.92 and ab.n_b == 5
    assert ab.significant(0.05) == (ab.p_holm < 0.05)


def test_effect_magnitude_thresholds():
    assert [effect_magnitude(v) for v in (0.5, 0.555, 0.44, 0.6, 0.7, 0.72, 0.1)] == [
        "negligible",
        "negligible",
        "small",
        "small",
        "medium",
        "large",
        "large",
    ]


def test_mean_ranks_rank_failures_last_and_skip_unfinished_repeats():
    by_repeat = {
        "a": {0: 0.9, 1: 0.8, 2: 0.95},
        "b": {0: 0.85, 1: None, 2: 0.95},  # repeat 1 failed
        "c": {0: 0.7, 1: 0.9},  # repeat 2 not run yet
    }
    ranks, used = mean_ranks(by_repeat, "max")
    assert used == 2
    # repeat 0: a 1, b 2, c 3; repeat 1: c 1, a 2, b 3
    assert ranks == {"a": 1.5, "b": 2.5, "c": 2.0}
    ranks_min, _ = mean_ranks(by_repeat, "min")
    assert ranks_min == {"a": 2.0, "b": 2.5, "c": 1.5}  # the failed run is still last
    tie, _ = mean_ranks({"a": {0: 1.0}, "b": {0: 1.0}}, "max")
    assert tie == {"a": 1.5, "b": 1.5}


def test_probability_best_by_bootstrap():
    separated = probability_best({"a": [0.9, 0.91, 0.92], "b": [0.5, 0.6, 0.7]}, "max")
    assert separated == {"a": 1.0, "b": 0.0}
    assert probability_best({"a": [0.9, 0.91], "b": [0.5, 0.6]}, "min") == {"a": 0.0, "b": 1.0}
    same = probability_best({"a": [1.0, 1.0], "b": [1.0, 1.0]}, "max")
    assert same == {"a": 0.5, "b": 0.5}
    mixed = probability_best({"a": [0.8, 0.9, 0.7], "b": [0.85, 0.75, 0.8]}, "max", seed=1)
    assert sum(mixed.values()) == pytest.approx(1.0) and 0 < mixed["a"] < 1
    assert probability_best({"a": [0.8, 0.9, 0.7], "b": [0.85, 0.75, 0.8]}, "max", seed=1) == mixed


def test_summary_quartiles_match_numpy():
    values = [0.3, 0.1, 0.4, 0.15, 0.9]
    s = Summary.of([*values, math.nan])
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    assert (s.n, s.median, s.q1, s.q3) == (5, median, q1, q3)
    assert s.iqr == pytest.approx(q3 - q1)
    assert Summary.of([]).n == 0 and math.isnan(Summary.of([]).median)
