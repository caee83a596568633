"""The statistics of a comparison: summaries, pairwise tests, effect sizes, ranks.

Choices (the issue leaves them open; these are what algorithm-comparison studies use):
- Pairwise test: two-sided Mann-Whitney U (scipy), because runs of different
  strategies are independent samples; repeat r of two strategies shares a seed number
  but no random stream, so pairing them (Wilcoxon) would pair arbitrary runs.
- Multiple comparisons: Holm's step-down correction over all pairs of one score.
- Effect size: Vargha and Delaney's A12, the probability that a run of A scores better
  than a run of B (ties count half), with their magnitude thresholds.
- Mean rank: strategies ranked within each repeat (1 = best, ties averaged, a failed
  run ranks last), averaged over the repeats every ranked strategy has ended.
- Probability of being best: how often a strategy has the best median when each
  strategy's runs are resampled with replacement (a seeded bootstrap).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

_MAGNITUDES = ((0.06, "negligible"), (0.14, "small"), (0.21, "medium"))


@dataclass(frozen=True)
class Summary:
    """Median and quartiles of a sample (NaN when empty)."""

    n: int
    median: float
    q1: float
    q3: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        if not len(data):
            return cls(0, math.nan, math.nan, math.nan)
        q1, median, q3 = np.percentile(data, [25, 50, 75])
        return cls(len(data), float(median), float(q1), float(q3))


@dataclass(frozen=True)
class PairwiseTest:
    """A two-sided Mann-Whitney U test of strategy ``a`` against ``b`` on one score."""

    a: str
    b: str
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    u: float
    """U statistic of ``a`` (scipy's convention: the number of pairs where a is larger)."""
    p_value: float
    p_holm: float
    a12: float
    """Probability that a run of ``a`` scores better than a run of ``b`` (ties half)."""

    @property
    def magnitude(self) -> str:
        return effect_magnitude(self.a12)

    def significant(self, alpha: float) -> bool:
        return self.p_holm < alpha

    @property
    def better(self) -> str | None:
        """The strategy more likely to score better, None on an exact tie."""
        if self.a12 > 0.5:
            return self.a
        if self.a12 < 0.5:
            return self.b
        return None


def effect_magnitude(a12: float) -> str:
    """Vargha and Delaney's (2000) labels for |A12 - 0.5|."""
    distance = abs(a12 - 0.5)
    for limit, label in _MAGNITUDES:
        if distance < limit:
            return label
    return "large"


def _oriented(values: Sequence[float], mode: str) -> np.ndarray:
    """Values turned so that larger is better."""
    data = np.asarray(values, dtype=float)
    return data if mode == "max" else -data


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(U of ``a``, two-sided p-value) from scipy; p = 1 when every value is the same,
    where scipy's normal approximation has no variance to work with."""
    from scipy.stats import mannwhitneyu

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(x) or not len(y):
        raise ValueError("mann_whitney needs at least one value on each side")
    if np.all(np.concatenate([x, y]) == x[0]):
        return float(len(x) * len(y)) / 2.0, 1.0
    result = mannwhitneyu(x, y, alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def vargha_delaney_a12(a: Sequence[float], b: Sequence[float], mode: str = "max") -> float:
    """P(a run of ``a`` is better than a run of ``b``) + P(tie) / 2, for ``mode``."""
    x, y = _oriented(a, mode), _oriented(b, mode)
    greater = (x[:, None] > y[None, :]).sum()
    ties = (x[:, None] == y[None, :]).sum()
    return float(greater + 0.5 * ties) / (len(x) * len(y))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (from 0) becomes ``max_{j<=i} (m - j) p_(j)``,
    capped at 1.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def pairwise_tests(groups: Mapping[str, Sequence[float]], mode: str) -> list[PairwiseTest]:
    """Every pair of groups (in the order given) with Holm-adjusted p-values."""
    names = [n for n, v in groups.items() if len(v)]
    pairs = list(itertools.combinations(names, 2))
    raw = [mann_whitney(groups[a], groups[b]) for a, b in pairs]
    adjusted = holm([p for _, p in raw])
    return [
        PairwiseTest(
            a=a,
            b=b,
            n_a=len(groups[a]),
            n_b=len(groups[b]),
            median_a=float(np.median(groups[a])),
            median_b=float(np.median(groups[b])),
            u=u,
            p_value=p,
            p_holm=p_adj,
            a12=vargha_delaney_a12(groups[a], groups[b], mode),
        )
        for (a, b), (u, p), p_adj in zip(pairs, raw, adjusted, strict=True)
    ]


def mean_ranks(
    by_repeat: Mapping[str, Mapping[int, float | None]], mode: str
) -> tuple[dict[str, float], int]:
    """Mean rank per strategy (1 = best) over the repeats every strategy has ended.

    ``by_repeat[strategy][repeat]`` is the run's score, or None when the run failed (it
    ranks last). A repeat missing for any strategy (not run yet) is left out. Returns
    the ranks and the number of repeats used.
    """
    from scipy.stats import rankdata

    names = list(by_repeat)
    if not names:
        return {}, 0
    common = set.intersection(*(set(v) for v in by_repeat.values()))
    repeats = sorted(common)
    totals = dict.fromkeys(names, 0.0)
    for repeat in repeats:
        scores = []
        for name in names:
            value = by_repeat[name][repeat]
            ok = value is not None and math.isfinite(value)
            scores.append(-_oriented([value], mode)[0] if ok else math.inf)  # type: ignore[list-item]
        for name, rank in zip(names, rankdata(scores, method="average"), strict=True):
            totals[name] += float(rank)
    if not repeats:
        return {name: math.nan for name in names}, 0
    return {name: totals[name] / len(repeats) for name in names}, len(repeats)


def probability_best(
    groups: Mapping[str, Sequence[float]],
    mode: str,
    *,
    resamples: int = 4000,
    seed: int = 0,
) -> dict[str, float]:
    """How often each group has the best median when every group is resampled with
    replacement (ties share the win). Seeded, so a report is reproducible."""
    names = [n for n, v in groups.items() if len(v)]
    if not names:
        return {}
    rng = np.random.default_rng(seed)
    medians = np.empty((resamples, len(names)))
    for j, name in enumerate(names):
        data = _oriented(groups[name], mode)
        draws = rng.integers(0, len(data), size=(resamples, len(data)))
        medians[:, j] = np.median(data[draws], axis=1)
    best = medians.max(axis=1, keepdims=True)
    winners = medians == best
    shares = winners / winners.sum(axis=1, keepdims=True)
    return {name: float(shares[:, j].mean()) for j, name in enumerate(names)}
