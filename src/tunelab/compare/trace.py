"""The anytime trace of a run: the best validation value seen so far, against the epochs
trained so far and against the study's clock.

Every report of every trial is one epoch (the core counts epochs the same way), taken
in the order the reports were stored. The best-so-far value is the best finite value of
the study metric reported so far by any trial, whatever became of the trial afterwards
(Syne Tune and Ray Tune plot the same "best observed" curve). It is monotone by
construction; the last cumulative epoch count equals the epochs the run trained.

The clock is the study's own (``elapsed_seconds``: time spent in ``optimize``, searcher
time included, pauses between sessions excluded). The harness records, when each
session starts, the wall time and the clock's value; a report's clock time is read
from the session it fell in, and kept monotone across a session killed mid-trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelab.trial import TrialRecord


@dataclass(frozen=True)
class Session:
    """An ``optimize`` call: wall time at its start and the study clock at that moment."""

    started_at: float
    clock: float

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Session:
        return cls(float(raw["started_at"]), float(raw["clock"]))

    def to_dict(self) -> dict[str, float]:
        return {"started_at": self.started_at, "clock": self.clock}


@dataclass(frozen=True, eq=False)
class AnytimeTrace:
    """One point per report, in stored order. Arrays share their length.

    Two traces are equal when all their arrays are (NaN equal to NaN).
    """

    epochs: np.ndarray[Any, Any]
    """Cumulative epochs after each report (1, 2, ...)."""
    seconds: np.ndarray[Any, Any]
    """The study clock at each report."""
    values: np.ndarray[Any, Any]
    """The reported value of the metric (NaN where the report did not carry it)."""
    best: np.ndarray[Any, Any]
    """The best finite value reported so far (NaN before the first)."""
    trials: np.ndarray[Any, Any]
    """The trial number of each report."""
    steps: np.ndarray[Any, Any]
    """The step (epoch of its trial) of each report."""

    def __len__(self) -> int:
        return len(self.epochs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnytimeTrace):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, name), getattr(other, name), equal_nan=True)
            for name in ("epochs", "seconds", "values", "best", "trials", "steps")
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def total_epochs(self) -> int:
        return int(self.epochs[-1]) if len(self.epochs) else 0

    @property
    def final_best(self) -> float | None:
        if not len(self.best) or math.isnan(self.best[-1]):
            return None
        return float(self.best[-1])

    def best_at(
        self, grid: Sequence[float] | np.ndarray[Any, Any], axis: str
    ) -> np.ndarray[Any, Any]:
        """The best-so-far value at each point of ``grid`` on the ``epochs`` or ``seconds``
        axis (a step function; NaN before the first report, the final value after the last)."""
        x = self.epochs if axis == "epochs" else self.seconds
        grid = np.asarray(grid, dtype=float)
        if not len(x):
            return np.full(grid.shape, np.nan)
        index = np.searchsorted(x, grid, side="right") - 1
        out = np.where(index >= 0, self.best[np.clip(index, 0, None)], np.nan)
        return np.asarray(out, dtype=float)


def _clock_at(wall: float, sessions: Sequence[Session], fallback_start: float) -> float:
    chosen = None
    for s in sessions:
        if s.started_at <= wall:
            chosen = s
    if chosen is None:
        return wall - fallback_start
    return chosen.clock + (wall - chosen.started_at)


def anytime_trace(
    trials: Sequence[TrialRecord],
    metric: str,
    mode: str,
    sessions: Sequence[Session] = (),
) -> AnytimeTrace:
    """The trace of a run from its trials (with reports) and the sessions that ran it.

    Without sessions (a study not run by the harness) the clock starts at the first
    trial's start.
    """
    events = sorted(
        (r.time, t.number, r.step, r.metrics.get(metric, math.nan))
        for t in trials
        for r in t.reports
    )
    starts = [t.started_at for t in trials if t.started_at is not None]
    fallback = min(starts) if starts else (events[0][0] if events else 0.0)
    n = len(events)
    seconds = np.empty(n)
    values = np.empty(n)
    best = np.empty(n)
    numbers = np.empty(n, dtype=int)
    steps = np.empty(n, dtype=int)
    better = (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)
    current = math.nan
    clock = 0.0
    for i, (wall, number, step, raw) in enumerate(events):
        value = float(raw)
        # A session killed mid-trial left reports past the clock it had stored; the
        # next session restarts from that clock, so keep the axis monotone.
        clock = max(clock, _clock_at(wall, sessions, fallback))
        if math.isfinite(value) and (math.isnan(current) or better(value, current)):
            current = value
        seconds[i], values[i], best[i], numbers[i], steps[i] = clock, value, current, number, step
    return AnytimeTrace(
        epochs=np.arange(1, n + 1),
        seconds=seconds,
        values=values,
        best=best,
        trials=numbers,
        steps=steps,
    )
