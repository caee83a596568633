"""The numbers of a comparison report, computed once from the stored results.

Two scores per run: ``validation`` (the study's best value, what the searcher chased)
and ``test`` (that configuration retrained on train+validation, scored once on test).
The ``primary`` score (test when there is one, unless the config says otherwise)
orders the strategies and drives the conclusion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tunelab.compare.results import ComparisonResults, RunResult, StrategyResult
from tunelab.report.stats import (
    PairwiseTest,
    Summary,
    mean_ranks,
    pairwise_tests,
    probability_best,
)

ScoreKind = Literal["validation", "test"]
SCORE_KINDS: tuple[ScoreKind, ...] = ("validation", "test")


@dataclass(frozen=True)
class ScoreAnalysis:
    """Everything computed for one score (validation or test)."""

    kind: ScoreKind
    label: str
    """The score in a sentence: "the best validation val_accuracy"."""
    metric: str
    """The metric's own name, for axes: "val_accuracy", "test_accuracy"."""
    values: dict[str, list[float]]
    """Finished runs' scores per ranked strategy."""
    by_repeat: dict[str, dict[int, float | None]]
    """Score per repeat (None: the run failed) per ranked strategy."""
    summaries: dict[str, Summary]
    pairwise: list[PairwiseTest]
    ranks: dict[str, float]
    ranked_repeats: int
    p_best: dict[str, float]

    @property
    def title(self) -> str:
        return "Validation score" if self.kind == "validation" else "Test score"

    def order(self, mode: str) -> list[str]:
        """Ranked strategies, best median first (mean rank breaks ties)."""
        sign = -1.0 if mode == "max" else 1.0

        def key(name: str) -> tuple[float, float]:
            median = self.summaries[name].median
            rank = self.ranks.get(name, math.nan)
            return (
                sign * median if not math.isnan(median) else math.inf,
                rank if not math.isnan(rank) else math.inf,
            )

        return sorted(self.values, key=key)

    def test_between(self, a: str, b: str) -> PairwiseTest | None:
        for t in self.pairwise:
            if {t.a, t.b} == {a, b}:
                return t
        return None


@dataclass(frozen=True)
class Analysis:
    results: ComparisonResults
    primary: ScoreKind
    alpha: float
    test_metric: str | None
    scores: dict[ScoreKind, ScoreAnalysis]

    @property
    def ranked(self) -> list[str]:
        """Strategies with at least one finished run."""
        return [s.name for s in self.results.strategies if s.finished]

    @property
    def primary_scores(self) -> ScoreAnalysis:
        return self.scores[self.primary]


def run_score(run: RunResult, kind: ScoreKind, test_metric: str | None) -> float | None:
    if run.status != "finished":
        return None
    if kind == "validation":
        value = run.validation_value
        return None if value is None or not math.isfinite(value) else float(value)
    return run.test_value(test_metric)


def _score_analysis(
    results: ComparisonResults, kind: ScoreKind, test_metric: str | None
) -> ScoreAnalysis | None:
    ranked = [s for s in results.strategies if s.finished]
    values: dict[str, list[float]] = {}
    by_repeat: dict[str, dict[int, float | None]] = {}
    for strategy in ranked:
        scores = {r.repeat: run_score(r, kind, test_metric) for r in strategy.runs}
        finished = [v for v in scores.values() if v is not None]
        if finished:
            values[strategy.name] = finished
            by_repeat[strategy.name] = {
                r.repeat: scores[r.repeat] for r in strategy.runs if r.status != "incomplete"
            }
    if not values:
        return None
    ranks, used = mean_ranks(by_repeat, results.mode)
    if kind == "validation":
        label, metric = f"best validation {results.metric}", results.metric
    else:
        label = f"test score ({test_metric}, retrained on train+validation)"
        metric = str(test_metric)
    return ScoreAnalysis(
        kind=kind,
        label=label,
        metric=metric,
        values=values,
        by_repeat=by_repeat,
        summaries={name: Summary.of(v) for name, v in values.items()},
        pairwise=pairwise_tests(values, results.mode),
        ranks=ranks,
        ranked_repeats=used,
        p_best=probability_best(values, results.mode),
    )


def analyse(
    results: ComparisonResults,
    *,
    primary: ScoreKind | None = None,
    alpha: float | None = None,
) -> Analysis:
    """Compute the report's numbers; ``primary``/``alpha`` default to the stored settings."""
    settings = results.report_settings
    test_metric = results.test_metric
    scores: dict[ScoreKind, ScoreAnalysis] = {}
    for kind in SCORE_KINDS:
        analysis = _score_analysis(results, kind, test_metric)
        if analysis is not None:
            scores[kind] = analysis
    chosen = primary or settings.get("primary")
    if chosen not in scores:
        chosen = "test" if "test" in scores else "validation"
    return Analysis(
        results=results,
        primary=chosen,
        alpha=float(alpha if alpha is not None else settings.get("alpha") or 0.05),
        test_metric=test_metric,
        scores=scores,
    )


def strategy_summaries(strategy: StrategyResult) -> dict[str, Summary]:
    """Budget use of a strategy's finished runs: epochs, seconds, trials, stopped early."""
    runs = strategy.finished
    return {
        "epochs": Summary.of([r.epochs for r in runs]),
        "seconds": Summary.of([r.wall_seconds for r in runs]),
        "trials": Summary.of([r.trials_run for r in runs]),
        "stopped_early": Summary.of([r.stopped_early for r in runs]),
    }
