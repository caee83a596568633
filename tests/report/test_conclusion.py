"""The conclusion paragraph follows the numbers: winner, certainty, caveats."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab.compare.results import ComparisonResults, RunResult, StrategyResult
from tunelab.compare.trace import anytime_trace
from tunelab.report import analyse, conclusion
from tunelab.report.conclusion import repeats_needed, smallest_possible_p


def results_from(
    scores: dict[str, Sequence[float | None]],
    *,
    mode: str = "max",
    test: dict[str, Sequence[float]] | None = None,
    unavailable: Sequence[str] = (),
) -> ComparisonResults:
    """Stored results with the given final scores (None: that run failed)."""
    repeats = max(len(v) for v in scores.values())
    strategies = []
    for name, values in scores.items():
        runs = []
        for i, value in enumerate(values):
            test_value = (test or {}).get(name, values)[i]
            runs.append(
                RunResult(
                    strategy=name,
                    repeat=i,
                    seed=i,
                    study_name=f"c/{name}/{i}",
                    status="finished" if value is not None else "failed",
                    trace=anytime_trace([], "acc", mode),
                    epochs=100,
                    wall_seconds=1.0,
                    trials_run=4,
                    stopped_early=0,
                    failed_trials=0,
                    error=None if value is not None else "RuntimeError: boom",
                    validation_value=value,
                    test_metrics={"test_acc": float(test_value)} if test_value is not None else {},
                )
            )
        strategies.append(
            StrategyResult(name, {"name": name, "searcher": name}, True, None, tuple(runs), repeats)
        )
    for name in unavailable:
        strategies.append(
            StrategyResult(name, {"name": name, "searcher": name}, False, "not here", (), repeats)
        )
    manifest = {"repeats": repeats, "budget": {"epochs": 300}, "report": {}, "task": "t"}
    return ComparisonResults("c", ":memory:", manifest, "val_acc", mode, tuple(strategies))


def spread(centre: float, n: int = 10, width: float = 0.01, seed: int = 0) -> list[float]:
    return list(centre + np.random.default_rng(seed).uniform(-width, width, n))


def test_a_clear_winner_is_named_with_confidence():
    results = results_from(
        {"random": spread(0.90), "sobol": spread(0.95, seed=1), "grid": spread(0.85, seed=2)}
    )
    text = conclusion(analyse(results))
    assert text.startswith("At a budget of 300 epochs per run, over 10 repeats, sobol reached")
    assert "ahead of random" in text and "grid" in text
    assert "beats every other strategy" in text and "100% of the time" in text
    assert "We are confident that sobol is the best strategy at this budget." in text


def test_a_leader_that_cannot_be_separated_from_the_runner_up():
    results = results_from(
        {"a": spread(0.95, seed=1), "b": spread(0.949, seed=2), "c": spread(0.80, seed=3)}
    )
    analysis = analyse(results)
    text = conclusion(analysis)
    leader = analysis.primary_scores.order("max")[0]
    other = "b" if leader == "a" else "a"
    assert f"{leader} is significantly better than c" in text
    assert f"cannot separate it from {other}" in text
    assert "We are fairly, not fully, confident" in text


def test_no_significant_difference_says_we_cannot_tell():
    results = results_from({"a": spread(0.9, seed=1), "b": spread(0.9, seed=2)})
    text = conclusion(analyse(results))
    assert "None of the pairwise differences is statistically significant" in text
    assert "We are not confident which strategy is best" in text


def test_too_few_repeats_are_called_out_with_how_many_would_do():
    results = results_from({"a": [0.9, 0.91], "b": [0.8, 0.81], "c": [0.7, 0.71]})
    text = conclusion(analyse(results))
    assert "no difference could reach significance" in text
    assert f"about {repeats_needed(3, 0.05)} repeats per strategy" in text
    assert repeats_needed(3, 0.05) == 5  # 3 * 2 / C(10, 5) = 0.024 < 0.05; n = 4 gives 0.086
    assert smallest_possible_p(5, 5) == 2 / 252


def test_minimisation_picks_the_lowest():
    results = results_from({"a": spread(0.3), "b": spread(0.1, seed=1)}, mode="min")
    text = conclusion(analyse(results))
    assert "b reached the best median" in text


def test_the_primary_score_is_test_and_a_disagreeing_validation_score_is_mentioned():
    results = results_from(
        {"a": spread(0.95), "b": spread(0.90, seed=1)},
        test={"a": spread(0.90, seed=2), "b": spread(0.95, seed=3)},
    )
    analysis = analyse(results)
    assert analysis.primary == "test" and analysis.test_metric == "test_acc"
    text = conclusion(analysis)
    assert "b reached the best median test score (test_acc" in text
    assert "On best validation val_acc, however, a has the best median" in text
    validation_first = conclusion(analyse(results, primary="validation"))
    assert "a reached the best median best validation val_acc" in validation_first


def test_single_strategy_failures_and_unavailable_ones():
    results = results_from(
        {"a": [0.9, 0.8, None], "broken": [None, None, None]}, unavailable=["bayes"]
    )
    text = conclusion(analyse(results))
    assert "It is the only strategy with finished runs" in text
    assert "bayes could not run in this tunelab and is not compared" in text
    assert "broken failed in every repeat and is not compared" in text
    assert "1 run(s) of the compared strategies failed; they rank last" in text
    none = conclusion(analyse(results_from({"broken": [None, None]})))
    assert none.startswith("No strategy finished a run")


def test_a_shared_best_median_is_said_as_such():
    results = results_from(
        {"a": [0.9, 0.95, 0.97, 0.99], "b": [0.92, 0.95, 0.97, 0.98], "c": [0.5, 0.6, 0.7, 0.8]}
    )
    text = conclusion(analyse(results))
    assert "a and b share the best median test score" in text
    assert "ahead of c 0.65" in text
    assert "On best validation val_acc, a and b share the best median (0.96)." in text
