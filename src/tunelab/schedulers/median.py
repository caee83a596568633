"""Median stopping: stop a trial that is worse than the median of completed trials.

At every step after ``warmup_steps``, once ``min_trials`` trials have completed, a
running trial whose best value so far is worse than the median of the values completed
trials reported at that same step is stopped (PRUNED, its best value still counts).
This is Optuna's MedianPruner rule (Golovin et al. 2017, the Vizier paper).
"""

from __future__ import annotations

import statistics
from typing import Any

from tunelab.schedulers.base import (
    Action,
    Scheduler,
    SchedulerView,
    Start,
    best_value,
    require_int,
)
from tunelab.trial import Decision, TrialRecord, TrialStatus


class MedianStoppingScheduler(Scheduler):
    """Start every trial with ``max_epochs`` (None: the objective decides); stop it early
    when its best value is worse than the median of completed trials at the same step."""

    name = "median"

    def __init__(
        self, *, max_epochs: int | None = None, warmup_steps: int = 0, min_trials: int = 5
    ) -> None:
        require_int(self.name, "warmup_steps", warmup_steps, 0)
        require_int(self.name, "min_trials", min_trials, 1)
        require_int(self.name, "max_epochs", max_epochs, 1, optional=True)
        self.max_epochs = max_epochs
        self.warmup_steps = warmup_steps
        self.min_trials = min_trials
        self._curves: dict[int, dict[int, float]] = {}

    def next(self, view: SchedulerView) -> Action:
        return Start(budget=self.max_epochs)

    def on_report(
        self, trial: TrialRecord, step: int, metrics: Any, view: SchedulerView
    ) -> Decision:
        if step <= self.warmup_steps:
            return Decision.CONTINUE
        completed = [t for t in view.finished if t.status is TrialStatus.COMPLETED]
        if len(completed) < self.min_trials:
            return Decision.CONTINUE
        at_step = [v for t in completed if (v := self._curve(t, view.metric).get(step)) is not None]
        best = best_value(trial, view.metric, view.mode)
        if not at_step or best is None:
            return Decision.CONTINUE
        median = statistics.median(at_step)
        worse = best < median if view.mode == "max" else best > median
        return Decision.STOP if worse else Decision.CONTINUE

    def _curve(self, trial: TrialRecord, metric: str) -> dict[int, float]:
        """A completed trial's value at each step (cached: finished trials never change)."""
        curve = self._curves.get(trial.trial_id)
        if curve is None:
            curve = {r.step: r.metrics[metric] for r in trial.reports if metric in r.metrics}
            self._curves[trial.trial_id] = curve
        return curve
