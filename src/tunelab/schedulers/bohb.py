"""BOHB (Falkner et al. 2018): Hyperband whose new configurations come from a model.

The brackets, rungs and promotions are Hyperband's. What changes is the history the
study's searcher sees when a bracket starts a trial: :func:`project_history` keeps only
the results at one budget, the largest rung budget with enough observations (at least
``min_points``; by default ``N_min + 2`` with ``N_min = d + 1`` for ``d`` parameters, as
in the paper's Algorithm 2), each trial's value being the
study metric it reported at that many epochs. A model-based searcher (``tpe``,
``bayes``) fitted on that history proposes configurations that did well at the most
informative budget; with probability ``random_fraction`` (BOHB's 1/3) the searcher sees
no observation and so draws at random, which keeps BOHB's convergence guarantee.

Any searcher that reads ``History.completed()`` works with it; with ``random`` it is
plain Hyperband.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tunelab.errors import ConfigError
from tunelab.schedulers.base import require_int, value_at
from tunelab.schedulers.hyperband import HyperbandScheduler
from tunelab.searchers.base import History
from tunelab.trial import TrialRecord, TrialStatus


def project_history(history: History, budgets: list[int], min_points: int) -> History:
    """``history`` as seen at the largest of ``budgets`` with ``min_points`` observations.

    Trials (finished or still running/paused) that reached that budget appear as
    completed trials whose value is the metric at that step, with their reports cut
    there; live trials that did not reach it stay pending; finished trials that did not
    reach it and have a value are left out; failed trials are kept as they are. With no
    budget having enough observations, no trial has a value (the searcher draws at
    random).
    """
    trials = [*history.finished, *history.pending]
    budget = None
    for b in sorted(set(budgets), reverse=True):
        if sum(_reached(t, b) and value_at(t, history.metric, b) is not None for t in trials) >= (
            min_points
        ):
            budget = b
            break
    finished: list[TrialRecord] = []
    pending: list[TrialRecord] = []
    for t in history.finished:
        if t.status is TrialStatus.FAILED:
            finished.append(t)
        elif budget is not None and (projected := _at_budget(t, history.metric, budget)):
            finished.append(projected)
    for t in history.pending:
        projected = _at_budget(t, history.metric, budget) if budget is not None else None
        (finished if projected else pending).append(projected or t)
    return replace(history, finished=finished, pending=pending)


def _reached(trial: TrialRecord, budget: int) -> bool:
    return any(r.step >= budget for r in trial.reports)


def _at_budget(trial: TrialRecord, metric: str, budget: int) -> TrialRecord | None:
    """``trial`` as a completed trial at ``budget`` epochs (None if it did not get there)."""
    if not _reached(trial, budget):
        return None
    value = value_at(trial, metric, budget)
    if value is None:
        return None
    return replace(
        trial,
        status=TrialStatus.COMPLETED,
        value=value,
        metrics={metric: value},
        reports=tuple(r for r in trial.reports if r.step <= budget),
        budget=budget,
    )


class BOHBScheduler(HyperbandScheduler):
    """Hyperband brackets; new configurations from the study's searcher fitted on the
    results at the largest budget with enough observations. Use it with a model-based
    searcher: ``create_study(searcher="tpe", scheduler={"name": "bohb", ...})``."""

    name = "bohb"

    def __init__(
        self,
        *,
        max_epochs: int,
        min_epochs: int = 1,
        eta: int = 3,
        min_points: int | None = None,
        random_fraction: float = 1 / 3,
        seed: int | None = None,
    ) -> None:
        super().__init__(max_epochs=max_epochs, min_epochs=min_epochs, eta=eta)
        require_int(self.name, "min_points", min_points, 1, optional=True)
        if not isinstance(random_fraction, int | float) or not 0.0 <= random_fraction <= 1.0:
            raise ConfigError(f"bohb: random_fraction must be in [0, 1], got {random_fraction!r}")
        self.min_points = min_points
        self.random_fraction = float(random_fraction)
        self.seed = seed
        self.rng_ = np.random.default_rng(seed)

    def project_history(self, history: History) -> History:
        if self.rng_.random() < self.random_fraction:
            return replace(history, finished=[])
        budgets = sorted({r for shape in self.shapes() for _, r in shape.rungs})
        min_points = self.min_points if self.min_points is not None else len(history.space) + 3
        return project_history(history, budgets, min_points)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["rng"] = dict(self.rng_.bit_generator.state)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "rng" in state:
            self.rng_.bit_generator.state = state["rng"]
