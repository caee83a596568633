"""One trial of a simulated run: its objective in a greenlet that runs only when told to.

The objective is ordinary code calling ``trial.report``, so it cannot be cut into events
without a stack of its own: each trial runs in a greenlet (a coroutine with its own stack,
switched in microseconds and in this thread, so a loaded machine does not slow the
switches as it slows waking threads), and only one runs at a time: the study's loop
switches into a trial, which runs its objective up to its next report and switches
back. The objective runs exactly as it would inline, one step at a time, in
simulated-time order.

A step runs the objective up to its next report and stops there, before the report
reaches the study: the report's simulated time is known (the trial's time plus the
report's ``epoch_seconds``) but the study sees it only when the simulation reaches that
time (:class:`~tunelab.executors.simulated.SimulatedExecutor` orders the steps).
"""

from __future__ import annotations

import contextvars
import math
from typing import Any

import greenlet

from tunelab.executors.base import Objective, TrialEnded, TrialJob, run_trial
from tunelab.space import Config, Param, Value
from tunelab.storage.base import TrialOutcome
from tunelab.trial import Decision, FailureKind, TrialChannel, TrialStatus

EPOCH_SECONDS = "epoch_seconds"
"""The metric a report carries its simulated duration in (seconds since the last one)."""

DEFAULT_SECONDS = 1.0
"""The simulated duration of a report without ``epoch_seconds``."""


class _Abandoned(BaseException):
    """Unwinds an objective whose trial the study ended (not an Exception, so that
    ``run_trial`` and the objective's own handlers let it through)."""


class SimulatedTrial(TrialChannel):
    """A submitted trial: its greenlet, its simulated time, and the channel its objective
    talks through (which forwards to the study's channel at the right simulated time)."""

    def __init__(
        self, job: TrialJob, objective: Objective, channel: TrialChannel, start: float
    ) -> None:
        self.job = job
        self.number = job.number
        self.time = start  # simulated time of the trial's latest event
        self.next_time = start  # when its next step happens
        self.ended: TrialEnded | None = None
        self._objective = objective
        self._channel = channel
        # Made in the study's greenlet, which it switches back to at every report.
        self._greenlet = greenlet.greenlet(self._main)
        # The study's context (with its clock installed) for the objective too.
        self._greenlet.gr_context = contextvars.copy_context()
        self._started = False
        self._abandon = False
        self.finished = False

    # -- driven by the executor (the study's greenlet) -----------------------------------
    def step(self) -> TrialEnded | None:
        """Run the objective to its next report (returns None; ``next_time`` says when
        it happens) or to its end (returns how it ended)."""
        self.time = self.next_time
        self._started = True
        self._greenlet.switch()  # back at the objective's next report, or at its end
        return self.ended

    def abandon(self) -> None:
        """End the trial without a result: unwind its objective if it started."""
        if not self._started or self.finished:
            self.finished = True
            return
        self._abandon = True
        self._greenlet.switch()

    # -- the trial's greenlet ------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.ended = run_trial(self._objective, self.job, self)
        except _Abandoned:
            self.ended = None
        except BaseException as exc:  # SystemExit and the like: stop the study with it
            outcome = TrialOutcome(
                TrialStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                failure=FailureKind.OBJECTIVE_ERROR,
            )
            self.ended = TrialEnded(self.number, outcome, fatal=exc)
        finally:
            self.finished = True
        # Returning switches back to the study's greenlet (the parent).

    def _wait_turn(self) -> None:
        if self._abandon:  # an objective that caught the first one and reports again
            raise _Abandoned
        parent = self._greenlet.parent
        assert parent is not None
        parent.switch()
        if self._abandon:
            raise _Abandoned

    # -- the objective's channel (called in the trial's thread, while the study waits) --
    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        seconds = metrics.get(EPOCH_SECONDS, DEFAULT_SECONDS)
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(
                f"trial.report(): {EPOCH_SECONDS} must be a finite number >= 0 "
                f"(the report's simulated duration), got {seconds!r}"
            )
        self.next_time = self.time + seconds
        self._wait_turn()  # the simulation reaches next_time
        return self._channel.report(number, step, metrics, params)

    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        return self._channel.resolve_param(number, param, config)

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self._channel.set_user_attr(number, key, value)
