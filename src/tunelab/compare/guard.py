"""Stop a run whose trials keep failing, instead of burning (or never ending) its budget.

An epoch budget counts epochs trained, so an objective that fails before its first
report would never use it up, and a worker process that dies is retried without using
any budget at all. The guard wraps the run's executor and, after
``limit`` failed trials in a row, marks the last one fatal: the study records it and
then stops with :class:`ConsecutiveFailuresError`, which the harness records as the
run's error. (Ray Tune's ``max_failures``/``fail_fast`` answer the same need.)
"""

from __future__ import annotations

from dataclasses import replace

from tunelab.errors import TunelabError
from tunelab.executors.base import Executor, Objective, TrialEnded, TrialJob
from tunelab.trial import FailureKind, TrialChannel, TrialStatus

# A worker that dies (it cannot import the objective, runs out of memory) does not use
# up the trial budget, so without counting it a run would retry forever.
_COUNTED = (FailureKind.OBJECTIVE_ERROR, FailureKind.INVALID_VALUE, FailureKind.WORKER_LOST)


class ConsecutiveFailuresError(TunelabError):
    """A run stopped because too many of its trials failed in a row."""


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
