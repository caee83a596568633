"""One trial of a simulated run: its objective in a thread that runs only when told to.

The objective is ordinary code calling ``trial.report``, so it cannot be cut into events
without a stack of its own: each trial gets a thread, but only one thread runs at a time
(the study's thread waits while a trial's thread runs, and the other way round), so the
objective runs exactly as it would inline, one step at a time, in simulated-time order.

A step runs the objective up to its next report and stops there, before the report
reaches the study: the report's simulated time is known (the trial's time plus the
report's ``epoch_seconds``) but the study sees it only when the simulation reaches that
time (:class:`~tunelab.executors.simulated.SimulatedExecutor` orders the steps).
"""

from __future__ import annotations

import contextvars
import math
import threading
from typing import Any

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
    """A submitted trial: its thread, its simulated time, and the channel its objective
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
        # The study's context (with its clock installed) for the trial's thread too.
        self._context = contextvars.copy_context()
        self._thread: threading.Thread | None = None
        self._resume = threading.Lock()
        self._resume.acquire()
        self._stopped = threading.Lock()
        self._stopped.acquire()
        self._abandon = False
        self.finished = False

    # -- driven by the executor (the study's thread) -------------------------------------
    def step(self) -> TrialEnded | None:
        """Run the objective to its next report (returns None; ``next_time`` says when
        it happens) or to its end (returns how it ended)."""
        self.time = self.next_time
        self._run_thread()
        return self.ended

    def abandon(self) -> None:
        """End the trial without a result: unwind its objective if it started."""
        if self._thread is None or self.finished:
            self.finished = True
            return
        self._abandon = True
        self._run_thread()

    def _run_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._context.run,
                args=(self._main,),
                name=f"tunelab-simulated-trial-{self.number}",
                daemon=True,
            )
            self._thread.start()
        else:
            self._resume.release()
        self._stopped.acquire()  # until the objective reaches a report or ends
        if self.finished:
            self._thread.join()  # it is leaving: let it go before the trial counts as ended

    # -- the trial's thread --------------------------------------------------------------
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
            self._stopped.release()

    def _wait_turn(self) -> None:
        if self._abandon:  # an objective that caught the first one and reports again
            raise _Abandoned
        self._stopped.release()
        self._resume.acquire()
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
