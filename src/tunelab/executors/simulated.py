"""Simulated execution: ``n_workers`` trials at once on a simulated clock.

A discrete-event simulation of a cluster, for tabular tasks (recorded learning curves)
and other objectives whose cost is known rather than spent. Each trial starts at the
simulated time it is submitted; each of its reports happens ``epoch_seconds`` (a metric
the report carries; 1.0 when it has none) after its previous report, or after its
start. Reports reach the study, whose scheduler and searcher are the real ones, in
simulated-time order (ties in the order they were scheduled), and a trial ends at the
time of its last report. Up to ``n_workers`` trials overlap in simulated time.

The study's stored times (trials created, started and ended, reports) and its time
limit (``max_seconds``) are simulated: the study's runner installs the executor's
:class:`SimulatedClock` (:meth:`SimulatedExecutor.clock`) for the whole run. Wall time
is only the cost of tunelab's own decisions and of the objective's bookkeeping.
Leases and heartbeats keep the real clock.

Objectives run in the study's thread, one greenlet (a coroutine with its own stack) per
running trial, one at a time (see :mod:`tunelab.executors.simulated_trial`).
"""

from __future__ import annotations

import heapq
import itertools
import time

from tunelab.clock import Clock
from tunelab.errors import ConfigError
from tunelab.executors.base import Executor, Objective, TrialEnded, TrialJob
from tunelab.executors.simulated_trial import SimulatedTrial
from tunelab.trial import TrialChannel

MAX_WORKERS = 1000


class SimulatedClock(Clock):
    """A clock that moves only when told: ``monotonic()`` is the simulated seconds since
    the clock was made, ``now()`` is ``start`` (seconds since the epoch) plus those."""

    def __init__(self, start: float | None = None) -> None:
        self.start = time.time() if start is None else float(start)
        self._elapsed = 0.0

    def now(self) -> float:
        return self.start + self._elapsed

    def monotonic(self) -> float:
        return self._elapsed

    def advance_to(self, elapsed: float) -> None:
        """Move to ``elapsed`` simulated seconds (never backwards)."""
        if elapsed < self._elapsed:
            raise ValueError(
                f"the simulated clock cannot go back from {self._elapsed} to {elapsed}"
            )
        self._elapsed = elapsed


class SimulatedExecutor(Executor):
    """Runs trials on ``n_workers`` simulated workers (1 to 1000) on a simulated clock.

    ``start`` is the clock's start in seconds since the epoch (default: the real time
    when the executor is made); stored times are ``start`` plus simulated seconds.
    """

    name = "simulated"

    def __init__(self, n_workers: int = 1, start: float | None = None) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int):
            raise ConfigError(
                f"simulated: n_workers must be an integer from 1 to {MAX_WORKERS}, "
                f"got {n_workers!r}"
            )
        if not 1 <= n_workers <= MAX_WORKERS:
            raise ConfigError(
                f"simulated: n_workers must be from 1 to {MAX_WORKERS}, got {n_workers}"
            )
        if start is not None and (isinstance(start, bool) or not isinstance(start, int | float)):
            raise ConfigError(f"simulated: start must be seconds since the epoch, got {start!r}")
        self.n_workers = n_workers
        self.start = start
        self._clock = SimulatedClock(start)
        self._trials: dict[int, SimulatedTrial] = {}  # submitted, not yet returned by poll
        # The next step of every running trial: (simulated time, order, trial).
        self._events: list[tuple[float, int, SimulatedTrial]] = []
        self._order = itertools.count()
        self._deadline: float | None = None

    def clock(self) -> SimulatedClock:
        return self._clock

    def capacity(self) -> int:
        return self.n_workers - len(self._trials)

    def running(self) -> int:
        return len(self._trials)

    def submit(self, job: TrialJob, objective: Objective, channel: TrialChannel) -> None:
        if self.capacity() <= 0:
            raise RuntimeError(f"simulated: all {self.n_workers} workers are busy")
        trial = SimulatedTrial(job, objective, channel, self._clock.monotonic())
        self._trials[job.number] = trial
        self._schedule(trial)

    def _schedule(self, trial: SimulatedTrial) -> None:
        heapq.heappush(self._events, (trial.next_time, next(self._order), trial))

    def set_deadline(self, deadline: float | None) -> None:
        self._deadline = deadline

    def poll(self, timeout: float | None = None) -> list[TrialEnded]:
        """Advance the simulation event by event until a trial ends (or, with a
        deadline, until the deadline: the clock stops there and nothing is returned)."""
        while self._events:
            at, _, trial = self._events[0]
            if self._deadline is not None and at > self._deadline:
                self._clock.advance_to(max(self._deadline, self._clock.monotonic()))
                return []
            heapq.heappop(self._events)
            self._clock.advance_to(at)
            ended = trial.step()
            if trial.finished:
                del self._trials[trial.number]
                if ended is not None:
                    return [ended]
            else:
                self._schedule(trial)
        return []

    def end_running(self) -> list[int]:
        ended = list(self._trials)
        for trial in self._trials.values():
            trial.abandon()
        self._trials.clear()
        self._events.clear()
        return ended

    def shutdown(self) -> None:
        self.end_running()
