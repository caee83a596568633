"""Stop a study whose trials keep failing, instead of burning (or never ending) its budget.

An epoch budget counts epochs trained, so an objective that fails before its first
report would never use it up. The guard wraps the study's executor and, after
``limit`` failed trials in a row, marks the last one fatal: the study records it and
then stops with :class:`~tunelab.errors.ConsecutiveFailuresError`.
``optimize(max_consecutive_failures=...)`` puts it in place (10 by default; Keras
Tuner's ``max_consecutive_failed_trials`` and Ray Tune's ``fail_fast`` answer the same
need).
"""

from __future__ import annotations

from dataclasses import replace

from tunelab.clock import Clock
from tunelab.errors import ConsecutiveFailuresError
from tunelab.executors.base import Executor, Objective, TrialEnded, TrialJob
from tunelab.trial import FailureKind, TrialChannel, TrialStatus

_COUNTED = (FailureKind.OBJECTIVE_ERROR, FailureKind.INVALID_VALUE, FailureKind.WORKER_LOST)


class FailFastExecutor(Executor):
    """Runs trials on ``inner``; ends the study after ``limit`` objective failures in a row."""

    name = "fail_fast"

    def __init__(self, inner: Executor, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.failures_in_a_row_ = 0

    def capacity(self) -> int:
        return self.inner.capacity()

    def submit(self, job: TrialJob, objective: Objective, channel: TrialChannel) -> None:
        self.inner.submit(job, objective, channel)

    def running(self) -> int:
        return self.inner.running()

    def shutdown(self) -> None:
        self.inner.shutdown()

    def end_running(self) -> list[int]:
        return self.inner.end_running()

    def set_deadline(self, deadline: float | None) -> None:
        self.inner.set_deadline(deadline)

    def clock(self) -> Clock | None:
        return self.inner.clock()

    def poll(self, timeout: float | None = None) -> list[TrialEnded]:
        events = self.inner.poll(timeout)
        out = []
        for ended in events:
            event, outcome = ended, ended.outcome
            if outcome is None:  # paused: no verdict yet
                out.append(event)
                continue
            if outcome.status is TrialStatus.FAILED and outcome.failure in _COUNTED:
                self.failures_in_a_row_ += 1
            elif outcome.status in (TrialStatus.COMPLETED, TrialStatus.PRUNED):
                self.failures_in_a_row_ = 0
            if self.failures_in_a_row_ >= self.limit and event.fatal is None:
                event = replace(
                    event,
                    fatal=ConsecutiveFailuresError(
                        f"stopped after {self.failures_in_a_row_} failed trials in a row; "
                        f"the last: {outcome.error}"
                    ),
                )
            out.append(event)
        return out
