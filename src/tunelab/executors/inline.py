"""Inline execution: one trial at a time, in the study's own process and thread.

At the study's time limit the running trial is interrupted by a timer (see
:mod:`tunelab.executors.time_limit`).
"""

from __future__ import annotations

from collections import deque

from tunelab.executors.base import Executor, Objective, TrialEnded, TrialJob, run_trial
from tunelab.trial import TrialChannel


class InlineExecutor(Executor):
    """Runs each submitted trial when polled; the simplest executor and the default."""

    name = "inline"

    def __init__(self) -> None:
        self._queue: deque[tuple[TrialJob, Objective, TrialChannel]] = deque()
        self._deadline: float | None = None

    def capacity(self) -> int:
        return 0 if self._queue else 1

    def submit(self, job: TrialJob, objective: Objective, channel: TrialChannel) -> None:
        self._queue.append((job, objective, channel))

    def poll(self, timeout: float | None = None) -> list[TrialEnded]:
        if not self._queue:
            return []
        job, objective, channel = self._queue.popleft()
        return [run_trial(objective, job, channel, deadline=self._deadline)]

    def set_deadline(self, deadline: float | None) -> None:
        self._deadline = deadline

    def running(self) -> int:
        return len(self._queue)
