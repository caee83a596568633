"""The study loop: the scheduler decides, the searcher proposes, the executor runs.

:class:`StudyRunner` drives one ``optimize`` call (or serves ``ask``/``tell``) with its
collaborators: the worker's view of the trials (:mod:`tunelab.runner.view`), the shared
state it writes against (:mod:`tunelab.runner.shared`), leases and recovery
(:mod:`tunelab.runner.recovery`), the trials' lifecycle
(:mod:`tunelab.runner.lifecycle`) and the channel trials report through
(:mod:`tunelab.runner.channel`). The loop owns the budget: the time limit is hard, and
the study's elapsed time runs on :func:`tunelab.clock.monotonic`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab import clock
from tunelab.budget import Budget, BudgetUsage
from tunelab.errors import StorageError, StudyExhaustedError
from tunelab.executors.base import (
    Executor,
    Objective,
    TrialEnded,
    outcome_from_result,
    time_limit_outcome,
)
from tunelab.processes import process_identity
from tunelab.progress import ProgressDisplay
from tunelab.runner.candidates import CandidateList
from tunelab.runner.channel import RunnerChannel
from tunelab.runner.handle import LeaseExpiry, StudyHandle
from tunelab.runner.lifecycle import TrialLifecycle
from tunelab.runner.recovery import Heartbeat, Recovery
from tunelab.runner.shared import SharedState
from tunelab.runner.text import RunText
from tunelab.runner.view import TrialView
from tunelab.schedulers.base import Done, Prune, Resume, Start, Wait, best_value
from tunelab.storage.artifacts import CheckpointRef
from tunelab.storage.base import StaleStateError, TrialOutcome
from tunelab.trial import FailureKind, Trial, TrialRecord, TrialStatus

_POLL_SECONDS = 0.2


class StudyRunner:
    """Runs one ``optimize`` call of a study, or serves its ask/tell trials."""

    def __init__(
        self,
        study: StudyHandle,
        objective: Objective | None,
        budget: Budget,
        executor: Executor | None,
        progress: ProgressDisplay,
        *,
        lease_seconds: float = 60.0,
        lease_expired: LeaseExpiry = "requeue",
        max_retries: int = 0,
        candidates: CandidateList | None = None,
    ) -> None:
        self.study = study
        self.candidates = candidates
        self.objective = objective
        self.budget = budget
        self.executor = executor
        self.progress = progress
        self.lease_seconds = lease_seconds
        self.worker = process_identity()
        self.usage = BudgetUsage()
        self.artifacts = study.artifacts
        self.view = TrialView(study, self.usage)
        self.shared = SharedState(study, self.view, self.usage, budget)
        self.text = RunText(study, self.view, budget, progress)
        self.recovery = Recovery(
            study,
            self.view,
            self.shared,
            progress,
            self.artifacts,
            lease_seconds=lease_seconds,
            lease_expired=lease_expired,
            max_retries=max_retries,
        )
        self.trials = TrialLifecycle(
            study,
            self.view,
            self.shared,
            self.recovery,
            self.text,
            self.artifacts,
            progress,
            self.worker,
            candidates,
        )
        self.channel = RunnerChannel(
            study, self.view, self.shared, self.text, self._stop, max_retries=max_retries
        )
        self._stop_reason: str | None = None
        self._storage_failed = False  # no more writes when the study ends
        self._heartbeat: Heartbeat | None = None
        self._started = False

    def _stop(self, reason: str) -> None:
        self._stop_reason = reason

    # -- set-up --------------------------------------------------------------------------
    def _start_session(self) -> None:
        """Load the study, recover what crashed, start the heartbeat (once)."""
        if self._started:
            return
        self._started = True
        self.shared.load()
        self.view.load()
        if self.candidates is not None:  # one read of every trial, for this option only
            known = self.study.storage.get_trials(self.study.study_id, with_reports=False)
            self.candidates.mark_used({**t.proposal, **t.params} for t in known)
        self.recovery.recover_interrupted()
        self._heartbeat = Heartbeat(self.study, self.view, max(0.05, self.lease_seconds / 4))
        self._heartbeat.start()

    def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> BudgetUsage:
        assert self.executor is not None and self.objective is not None
        own_clock = self.executor.clock()
        if own_clock is None:
            return self._run()
        # A simulated executor's clock: stored times, elapsed time and the time limit
        # are simulated for the whole run (the heartbeat thread keeps the real clock).
        with clock.use(own_clock):
            return self._run()

    def _run(self) -> BudgetUsage:
        assert self.executor is not None
        self._start_session()
        self.progress.start(
            self.text.headline(),
            budget=self.budget,
            usage=self.usage,
            best=self.text.best(),
            metric=self.study.metric,
        )
        self.shared.restart_clock()
        self.study.scheduler.set_budget(self.budget)
        try:
            self._loop()
            self.trials.end_paused()
        except StorageError:
            self._storage_failed = True  # waiting on it again would only hide the reason
            raise
        finally:
            try:
                if not self._storage_failed:
                    self.recovery.interrupt_running()
                    update = self.shared.update(elapsed=True)
                    if (
                        update.elapsed_delta
                        or update.searcher_state is not None
                        or update.scheduler_state is not None
                    ):
                        self.shared.write_study(update)
            finally:
                self.close()
                self.executor.shutdown()
                self.progress.close(self.text.summary(self._stop_reason))
        return self.usage

    def _loop(self) -> None:
        assert self.executor is not None
        exhausted = False
        while True:
            self.recovery.expire_leases()
            self._stop_reason = self._stop_reason or self.shared.limit_reached()
            if self._time_up() and self.executor.running():
                self._end_at_time_limit()
            while self._stop_reason is None and self.executor.capacity() > 0:
                try:
                    progressed, exhausted_now = self._act(exhausted)
                except StaleStateError:
                    self.shared.refresh()
                    continue
                exhausted = exhausted or exhausted_now
                if not progressed:
                    break
                self._stop_reason = self._stop_reason or self.shared.limit_reached()
            # An exhausted searcher ends the study once nothing runs here: until then a
            # trial that ends may still let the scheduler resume a paused one.
            if exhausted and self._stop_reason is None and self.executor.running() == 0:
                self._stop_reason = "searcher exhausted"
            if self.executor.running() == 0:
                if self._stop_reason is None and not exhausted:
                    if self.view.others(TrialStatus.RUNNING, TrialStatus.WAITING):
                        # Other workers' trials may still give the scheduler work.
                        time.sleep(_POLL_SECONDS)
                        self.shared.refresh()
                        continue
                    self._stop_reason = "the scheduler has nothing to run"
                return
            self.executor.set_deadline(self._deadline())
            for event in self.executor.poll(timeout=_POLL_SECONDS):
                self.trials.on_ended(event)

    def _time_up(self) -> bool:
        limit = self.budget.max_seconds
        return limit is not None and self.usage.seconds >= limit

    def _deadline(self) -> float | None:
        """When the time limit passes, as a ``clock.monotonic()`` value (None: no limit)."""
        if self.budget.max_seconds is None:
            return None
        self.shared.tick()
        return clock.monotonic() + self.budget.max_seconds - self.usage.seconds

    def _end_at_time_limit(self) -> None:
        """The time limit passed: end the trials still running here instead of waiting."""
        assert self.executor is not None
        for event in self.executor.poll(timeout=0):  # those that just ended keep their result
            self.trials.on_ended(event)
        for number in self.executor.end_running():
            record = self.view.running[number].record
            value = best_value(record, self.study.metric, self.study.mode)
            outcome = time_limit_outcome(bool(record.reports), value, self.study.metric)
            self.trials.on_ended(TrialEnded(number, outcome, record.params))

    def _act(self, exhausted: bool = False) -> tuple[bool, bool]:
        """Ask the scheduler what to do and do it: (something happened, searcher exhausted).
        Once the searcher is ``exhausted`` only starts it is not needed for (a queued
        trial, a configuration the scheduler gives) and resumes or prunes still happen."""
        assert self.executor is not None
        action = self.study.scheduler.next(self.view.scheduler_view())
        if isinstance(action, Start):
            waiting = self.view.waiting()
            if exhausted and action.config is None and not waiting:
                return False, True
            if self._trial_limit_reached() and not waiting:
                # Running trials may still let the scheduler resume paused ones.
                if self.executor.running() == 0 and not self.view.others(TrialStatus.RUNNING):
                    self._stop_reason = "max_trials"
                return False, False
            record, restore = self.trials.begin(action)
            if record is None:
                return False, True
            self._submit(record, restore)
        elif isinstance(action, Resume):
            resumed = self.trials.resume(action)
            if resumed is not None:
                self._submit(*resumed)
        elif isinstance(action, Prune):
            self.trials.prune(action.trial_number)
        elif isinstance(action, Wait):
            return False, False
        elif isinstance(action, Done):
            self._stop_reason = action.reason
            return False, False
        return True, False

    def _trial_limit_reached(self) -> bool:
        """Whether ``max_trials`` forbids a new trial: finished, running, paused and queued
        trials of every worker count."""
        limit = self.budget.max_trials
        return limit is not None and self.view.trials_in_use() >= limit

    def _submit(self, record: TrialRecord, restore: CheckpointRef | None = None) -> None:
        assert self.executor is not None and self.objective is not None
        self.view.adopt(record)
        self.executor.submit(self.trials.job(record, restore), self.objective, self.channel)

    # -- ask and tell ----------------------------------------------------------------------
    def ask(self, budget: int | None = None) -> Trial:
        """Start a trial for a loop tunelab does not drive (see Study.ask)."""
        self._start_session()
        while True:
            try:
                record, restore = self.trials.begin(Start(budget=budget))
                break
            except StaleStateError:
                self.shared.refresh()
        if record is None:
            raise StudyExhaustedError(
                f"study {self.study.name!r}: the {self.study.searcher.name} searcher has no "
                "configuration left to propose"
            )
        self.view.adopt(record)
        return self.trials.job(record, restore).trial(self.channel)

    def tell(
        self,
        trial: Trial | int,
        result: Any = None,
        *,
        state: TrialStatus | None = None,
        error: str | BaseException | None = None,
    ) -> TrialRecord:
        """End a trial started with ask (see Study.tell)."""
        self._start_session()
        number = trial if isinstance(trial, int) else trial.number
        running = self.view.running.pop(number, None)
        if running is None:  # asked by another process: read it from storage
            self.shared.refresh()
            known = self.view.known(number)
            if known is None or known.status.is_finished:
                status = "unknown" if known is None else known.status.value
                raise ValueError(f"trial {number} cannot be told: it is {status}")
            self.view.adopt(known)
            running = self.view.running.pop(number)
        record = running.record
        params = trial.params if isinstance(trial, Trial) else record.params
        source: Any = (
            trial
            if isinstance(trial, Trial)
            else _ReportedView(record, self.study.metric, self.study.mode)
        )
        if error is not None or state is TrialStatus.FAILED:
            text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            outcome = TrialOutcome(
                TrialStatus.FAILED,
                error=text if error is not None else "told failed",
                failure=FailureKind.OBJECTIVE_ERROR,
            )
        elif state is TrialStatus.PRUNED:
            value = source.best_reported()
            metrics = {self.study.metric: value} if value is not None else {}
            outcome = TrialOutcome(TrialStatus.PRUNED, value=value, metrics=metrics)
        elif state not in (None, TrialStatus.COMPLETED):
            raise ValueError(f"tell(): state must be completed, pruned or failed, not {state}")
        else:
            outcome = outcome_from_result(result, source, self.study.metric)
        return self.trials.finish(record, outcome, params)


@dataclass(frozen=True)
class _ReportedView:
    """What outcome_from_result reads from a trial, for a stored record."""

    record: TrialRecord
    metric: str
    mode: str

    def best_reported(self) -> float | None:
        return best_value(self.record, self.metric, self.mode)

    def last_metrics(self) -> Mapping[str, float]:
        return dict(self.record.reports[-1].metrics) if self.record.reports else {}
