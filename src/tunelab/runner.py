"""The study loop: scheduler decides, searcher proposes, executor runs, storage records.

One loop for every executor and scheduler. It keeps an in-memory view of the study
(finished trials, running ones) so that no step rereads the whole study from storage,
and writes every change before acting on it: a report is committed before the
objective continues, a trial's result and the searcher state it produced are
committed together.

Several workers can share a study (``tunelab worker``, or ``optimize`` in several
processes or on several machines with one database). Every write that changes shared
state (a new trial, a finished one, searcher or scheduler state) carries the study's
state version it was computed from; if another worker wrote in between, storage refuses
it (:class:`~tunelab.storage.base.StaleStateError`) and this worker refreshes its view
and decides again. So trial numbers stay unique, ``max_trials`` is exact across
workers, and searcher and scheduler state is shared without a lock held while trials
run.

Leases: each worker renews the lease of its running trials from a background thread.
A trial whose lease expired (its worker or machine is gone) is failed or queued again
(``lease_expired="requeue"``, the default) by whichever worker notices first.

Paused trials: a trial the scheduler pauses keeps its checkpoint in the study's
artifact store and is resumed from it (``Resume``) or ended (``Prune``). When the study
ends cleanly (budget used, scheduler done, searcher exhausted) every trial still paused
is ended as PRUNED with its best reported value; after Ctrl-C or a crash they stay
PAUSED, and the next ``optimize`` resumes them.

The time limit (``max_seconds``) is hard: trials still running when it passes are
ended (their workers killed, an inline objective interrupted), as PRUNED with their best
value when they reported, else as interrupted, to run again when the study continues.

Errors that are not a configuration's fault (:class:`~tunelab.errors.EnvironmentFault`:
data that cannot be read, storage unavailable or locked past its wait) stop the study
at once with the reason; the trial that met one is not charged, and its configuration
runs again first when the study continues.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar

from tunelab.budget import Budget, BudgetUsage
from tunelab.errors import EnvironmentFault, StorageError, StudyExhaustedError
from tunelab.executors.base import (
    Executor,
    Objective,
    TrialEnded,
    TrialJob,
    outcome_from_result,
    time_limit_outcome,
)
from tunelab.finished_trials import FinishedTrials
from tunelab.processes import is_alive, process_identity
from tunelab.progress import ProgressDisplay
from tunelab.schedulers.base import (
    META_KEY,
    Done,
    Prune,
    Resume,
    Scheduler,
    SchedulerView,
    Start,
    Wait,
    best_value,
)
from tunelab.searchers.base import History, Searcher
from tunelab.space import Config, Param, Space, Value
from tunelab.storage.artifacts import ArtifactStore, CheckpointRef
from tunelab.storage.base import (
    FinishedTrialError,
    StaleStateError,
    Storage,
    StudyUpdate,
    TrialOutcome,
    ranks_before,
)
from tunelab.trial import (
    Decision,
    FailureKind,
    Report,
    Trial,
    TrialChannel,
    TrialRecord,
    TrialStatus,
)


class StudyHandle(Protocol):
    """What the loop uses of a study (``tunelab.study.Study`` is one); the loop does not
    depend on the facade built on it."""

    name: str
    study_id: int
    metric: str
    mode: Literal["min", "max"]
    storage: Storage
    searcher: Searcher
    scheduler: Scheduler
    space: Space
    declared: tuple[str, ...]

    @property
    def artifacts(self) -> ArtifactStore: ...


_POLL_SECONDS = 0.2
_T = TypeVar("_T")
LeaseExpiry = Literal["fail", "requeue"]
_RETRYABLE = (FailureKind.OBJECTIVE_ERROR, FailureKind.WORKER_LOST)
_FINISHED = tuple(s for s in TrialStatus if s.is_finished)
_NOT_CHARGED = (FailureKind.INTERRUPTED, FailureKind.ENVIRONMENT_ERROR)  # always run again


@dataclass
class _Running:
    """A trial this worker runs: its record kept current (params, reports) as it reports."""

    record: TrialRecord
    params_written: int = 0
    taken_over: bool = False  # another worker ended it after its lease expired


class _StoredState:
    """A state_dict as last stored, so that only a changed one is written again."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] | None = None  # None: not known yet

    def changed(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """``state`` as it will read back from storage (JSON round trip: tuples become
        lists), or None when it equals the stored one."""
        if state == self.stored:  # the common case, without serialising
            return None
        normal: dict[str, Any] = json.loads(json.dumps(state))
        return None if normal == self.stored else normal


class _Heartbeat(threading.Thread):
    """Renews the leases of this worker's running trials while it works."""

    def __init__(self, runner: StudyRunner, interval: float) -> None:
        super().__init__(name="tunelab-heartbeat", daemon=True)
        self._runner = runner
        self._interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            ids = [r.record.trial_id for r in list(self._runner._running.values())]
            try:
                self._runner.study.storage.renew_leases(ids)
            except Exception:  # a missed beat is retried; the lease is longer than a beat
                continue

    def stop(self) -> None:
        self._stop_event.set()


class StudyRunner(TrialChannel):
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
    ) -> None:
        self.study = study
        self.objective = objective
        self.budget = budget
        self._time_and_epochs = replace(budget, max_trials=None)
        self.executor = executor
        self.progress = progress
        self.lease_seconds = lease_seconds
        self.lease_expired = lease_expired
        self.max_retries = max_retries
        self.worker = process_identity()
        self.usage = BudgetUsage()
        self.artifacts = study.artifacts
        # Trials finished when the study was loaded (numbered up to _newest_at_load and not
        # live then) are read from storage only if a searcher or scheduler reads them.
        self._newest_at_load = -1
        self._live_at_load: frozenset[int] = frozenset()
        self._older: list[TrialRecord] | None = None
        self._trials: dict[int, TrialRecord] = {}  # trials known, but those running here
        self._finished = FinishedTrials()
        self._finished_numbers: set[int] = set()  # those finished since the study was loaded
        self._scheduled = FinishedTrials()  # the finished trials a scheduler sees
        self._steps: dict[int, int] = {}  # steps trained by every trial known
        self._live: dict[int, TrialRecord] = {}  # other workers' running or queued trials
        self._running: dict[int, _Running] = {}  # the trials this worker runs
        self._paused: dict[int, TrialRecord] = {}
        self._retried: set[int] = set()  # trials another trial retries (they do not count)
        self._version = 0
        self._searcher_state = _StoredState()
        self._scheduler_state = _StoredState()
        self._clock = time.monotonic()
        self._stored_seconds = 0.0  # the study's clock as last written or read
        self._pending_elapsed = 0.0  # this worker's running time not written yet
        self._next_lease_check = 0.0
        self._stop_reason: str | None = None
        self._storage_failed = False  # no more writes when the study ends
        self._best: TrialRecord | None = None
        self._best_pruned: TrialRecord | None = None  # the best, when none completed
        self._ended_here: list[int] = []
        self._warned_no_checkpoint = False
        self._heartbeat: _Heartbeat | None = None
        self._started = False

    # -- views given to the searcher and scheduler -------------------------------------
    def _others(self, *statuses: TrialStatus) -> list[TrialRecord]:
        """Other workers' trials that are running or queued."""
        return [t for t in self._live.values() if t.status in statuses]

    def _history(self) -> History:
        pending = [r.record for r in self._running.values()]
        pending.extend(self._paused.values())
        pending.extend(self._others(TrialStatus.RUNNING, TrialStatus.WAITING))
        return History(
            space=self.study.space,
            metric=self.study.metric,
            mode=self.study.mode,
            finished=self._finished,
            pending=pending,
        )

    def _view(self) -> SchedulerView:
        running = [r.record for r in self._running.values()]
        running.extend(self._others(TrialStatus.RUNNING))
        return SchedulerView(
            metric=self.study.metric,
            mode=self.study.mode,
            finished=self._scheduled,
            running=running,
            paused=list(self._paused.values()),
            space=self.study.space,
        )

    # -- shared state --------------------------------------------------------------------
    def _state_update(self, *, space: bool = False, elapsed: bool = False) -> StudyUpdate:
        """Searcher/scheduler state changed since the last write (and elapsed time),
        to be written only if the study is still at the version this worker last saw."""
        searcher_state = self._searcher_state.changed(self.study.searcher.state_dict())
        scheduler_state = self._scheduler_state.changed(self.study.scheduler.state_dict())
        if elapsed:
            self._tick()
        return StudyUpdate(
            searcher_state=searcher_state,
            scheduler_state=scheduler_state,
            space=self.study.space.to_dict() if space else None,
            elapsed_delta=self._pending_elapsed if elapsed else 0.0,
            expected_version=self._version,
        )

    def _tick(self) -> None:
        """Move this worker's running time into the pending clock; update the usage."""
        now = time.monotonic()
        self._pending_elapsed += now - self._clock
        self._clock = now
        self.usage.seconds = self._stored_seconds + self._pending_elapsed

    def _written(self, update: StudyUpdate) -> None:
        """Record that ``update`` is stored: the version moved on by one."""
        self._version += 1
        if update.searcher_state is not None:
            self._searcher_state.stored = update.searcher_state
        if update.scheduler_state is not None:
            self._scheduler_state.stored = update.scheduler_state
        if update.elapsed_delta:
            self._stored_seconds += update.elapsed_delta
            self._pending_elapsed -= update.elapsed_delta

    def _versioned(
        self, write: Callable[[StudyUpdate], _T], decide: Callable[[], Any], **kw: bool
    ) -> _T:
        """``decide()`` then ``write(update)``; when another worker wrote first, refresh
        and decide again (the decision may change with what the others did)."""
        while True:
            decide()
            update = self._state_update(**kw)
            try:
                result = write(update)
            except StaleStateError:
                self._refresh()
                continue
            self._written(update)
            return result

    def _refresh(self) -> None:
        """Reload the study's shared state and the trials that changed since last seen."""
        storage, study = self.study.storage, self.study
        record = storage.get_study(study.name)
        self._version = record.state_version
        self._stored_seconds = record.elapsed_seconds
        self._tick()
        from tunelab.schedulers import make_scheduler
        from tunelab.searchers import make_searcher

        if record.searcher_state is None:
            study.searcher = make_searcher(record.searcher)
        else:
            study.searcher.load_state_dict(record.searcher_state)
        if record.scheduler_state is None:
            study.scheduler = make_scheduler(record.scheduler)
        else:
            study.scheduler.load_state_dict(record.scheduler_state)
        study.scheduler.set_budget(self.budget)
        self._searcher_state.stored = record.searcher_state or {}
        self._scheduler_state.stored = record.scheduler_state or {}
        for param in Space.from_dict(record.space):
            if param.name not in study.space:
                study.space.add(param)
        live = [*self._live, *self._paused]
        newest = max([*self._trials, *self._running, self._newest_at_load])
        changed = storage.get_trials(study.study_id, numbers=live, min_number=newest + 1)
        self._absorb(changed)

    def _absorb(self, trials: list[TrialRecord]) -> None:
        """Merge trials read from storage into this worker's view (its cost grows with
        the trials given, not with the study)."""
        for t in trials:
            if t.number in self._running or self._is_older(t.number):
                continue
            self._trials[t.number] = t
            self._set_steps(t.number, t.steps_trained)
            self._paused.pop(t.number, None)
            self._live.pop(t.number, None)
            if t.retry_of is not None:
                self._mark_retried(t.retry_of)
            if t.status is TrialStatus.PAUSED:
                self._paused[t.number] = t
            elif t.status.is_finished:
                self._add_finished(t)
            else:
                self._live[t.number] = t

    def _add_finished(self, t: TrialRecord) -> None:
        """Count a trial that finished (once), keeping the lists in number order."""
        if t.number in self._finished_numbers or self._is_older(t.number):
            return
        self._finished_numbers.add(t.number)
        self._finished.add(t)
        if t.number not in self._retried:
            self._scheduled.add(t)
        if self._counts(t):
            self.usage.trials += 1
        self._note_best(t)

    def _mark_retried(self, number: int) -> None:
        """A retry replaces trial ``number``: it no longer counts, nor is the scheduler's
        (its retry takes its place: its bracket, rung and budget)."""
        if number in self._retried:
            return
        self._retried.add(number)
        if number in self._finished_numbers or self._is_older(number):
            failed = self._known(number)
            if failed is not None and failed.counts_toward_budget:
                self.usage.trials -= 1
            self._scheduled.remove_number(number)

    def _is_older(self, number: int) -> bool:
        """Whether trial ``number`` had finished when this worker loaded the study."""
        return number <= self._newest_at_load and number not in self._live_at_load

    def _older_finished(self) -> list[TrialRecord]:
        """The trials finished when the study was loaded (read once, on first use)."""
        if self._older is None:
            stored = self.study.storage.get_trials(self.study.study_id, statuses=_FINISHED)
            self._older = [t for t in stored if self._is_older(t.number)]
        return self._older

    def _known(self, number: int) -> TrialRecord | None:
        """Trial ``number`` as this worker knows it, read from storage when it is one of
        the older trials not read yet (None: no such trial, or running here)."""
        if number in self._trials:
            return self._trials[number]
        if self._is_older(number):
            found = self.study.storage.get_trials(self.study.study_id, numbers=[number])
            if found:
                self._trials[number] = found[0]
                return found[0]
        return None

    def _set_steps(self, number: int, steps: int) -> None:
        """Keep ``usage.epochs`` the sum of every known trial's steps."""
        self.usage.epochs += steps - self._steps.get(number, 0)
        self._steps[number] = steps

    def _counts(self, t: TrialRecord) -> bool:
        """Whether a finished trial uses up the trial budget (a retried one does not)."""
        return t.counts_toward_budget and t.number not in self._retried

    # -- set-up --------------------------------------------------------------------------
    def _load(self) -> None:
        record = self.study.storage.get_study(self.study.name)
        self._version = record.state_version
        self._stored_seconds = self.usage.seconds = record.elapsed_seconds
        # The searcher and scheduler must be at the version this worker writes against:
        # other workers may have drawn since this Study object was loaded, and drawing
        # from the older state would hand out their configurations again.
        if record.searcher_state is not None:
            self.study.searcher.load_state_dict(record.searcher_state)
        if record.scheduler_state is not None:
            self.study.scheduler.load_state_dict(record.scheduler_state)
        self._searcher_state.stored = record.searcher_state or {}
        self._scheduler_state.stored = record.scheduler_state or {}
        storage, study_id = self.study.storage, self.study.study_id
        snapshot = storage.snapshot(study_id)
        self._newest_at_load = snapshot.newest
        self._live_at_load = frozenset(t.number for t in snapshot.live)
        self._retried.update(snapshot.retried)
        self.usage.trials = snapshot.counted
        self.usage.epochs = snapshot.finished_steps
        if snapshot.newest >= len(snapshot.live):  # some trials had finished
            self._finished = FinishedTrials(self._older_finished)
            self._scheduled = FinishedTrials(
                lambda: [t for t in self._older_finished() if t.number not in self._retried]
            )
            best = storage.best_trial(study_id, self.study.mode)
            if best is not None and best.status is TrialStatus.COMPLETED:
                self._best = best
            elif best is not None:
                self._best_pruned = best
        self._absorb(list(snapshot.live))

    def _recover_interrupted(self) -> None:
        """End the RUNNING trials whose process on this host is gone, and queue them again."""
        for t in self._others(TrialStatus.RUNNING):
            if is_alive(t.worker) is not False:
                continue
            pid = t.worker.rsplit(":", 2)[1] if t.worker else "?"
            retry = self._end_foreign(
                t,
                f"interrupted: the process that ran it (pid {pid}) is gone",
                FailureKind.INTERRUPTED,
                requeue=True,
            )
            if retry is not None:
                self.progress.message(
                    f"trial {t.number} was interrupted (process {pid} gone): marked failed, "
                    f"its configuration queued again as trial {retry.number}"
                )

    def _expire_leases(self) -> None:
        """End trials whose workers stopped renewing their leases (checked now and then)."""
        now = time.monotonic()
        if now < self._next_lease_check:
            return
        self._next_lease_check = now + self.lease_seconds / 4
        expired = self.study.storage.expired_trials(self.study.study_id, self.lease_seconds)
        for t in expired:
            if t.number in self._running:
                continue
            requeue = self.lease_expired == "requeue"
            kind = FailureKind.INTERRUPTED if requeue else FailureKind.WORKER_LOST
            reason = (
                f"lease expired: no heartbeat from worker {t.worker} for more than "
                f"{self.lease_seconds:g} s"
            )
            retry = self._end_foreign(t, reason, kind, requeue=requeue)
            suffix = f", queued again as trial {retry.number}" if retry is not None else ""
            self.progress.message(f"trial {t.number}: {reason}{suffix}")

    def _end_foreign(
        self, t: TrialRecord, reason: str, kind: FailureKind, *, requeue: bool
    ) -> TrialRecord | None:
        """End another worker's trial (gone, or silent too long); its retry when requeued."""
        outcome = TrialOutcome(TrialStatus.FAILED, error=reason, failure=kind)
        try:
            stored = self._versioned(
                lambda u: self.study.storage.finish_trial(t.trial_id, outcome, update=u),
                lambda: None,
            )
        except FinishedTrialError:  # another worker ended it first
            self._refresh()
            return None
        self._absorb([stored])
        return self._queue_retry(stored) if requeue else None

    def _queue_retry(self, failed: TrialRecord) -> TrialRecord:
        retry = self._versioned(
            lambda u: self.study.storage.create_trial(
                self.study.study_id,
                proposal={**failed.proposal, **failed.params},
                meta=failed.meta,
                budget=failed.budget,
                status=TrialStatus.WAITING,
                retry_of=failed.number,
                update=u,
            ),
            lambda: None,
        )
        self._absorb([retry])
        return retry

    def _attempts(self, t: TrialRecord) -> int:
        """How many times this configuration ran: 1 plus its chain of retries before it."""
        n, current = 1, t
        while current.retry_of is not None:
            previous = self._known(current.retry_of)
            if previous is None:
                break
            n += 1
            current = previous
        return n

    def _latest_checkpoint(self, t: TrialRecord) -> CheckpointRef | None:
        """The newest checkpoint along a retry chain (the retried trials first)."""
        current: TrialRecord | None = t
        while current is not None:
            ref = self.artifacts.latest(current.number)
            if ref is not None:
                return ref
            current = self._known(current.retry_of) if current.retry_of is not None else None
        return None

    def _start_session(self) -> None:
        """Load the study, recover what crashed, start the heartbeat (once)."""
        if self._started:
            return
        self._started = True
        self._load()
        self._recover_interrupted()
        self._heartbeat = _Heartbeat(self, max(0.05, self.lease_seconds / 4))
        self._heartbeat.start()

    def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> BudgetUsage:
        assert self.executor is not None and self.objective is not None
        self._start_session()
        self.progress.start(
            self._headline(),
            budget=self.budget,
            usage=self.usage,
            best=self._best_text(),
            metric=self.study.metric,
        )
        self._clock = time.monotonic()
        self.study.scheduler.set_budget(self.budget)
        try:
            self._loop()
            self._end_paused()
        except StorageError:
            self._storage_failed = True  # waiting on it again would only hide the reason
            raise
        finally:
            try:
                if not self._storage_failed:
                    self._interrupt_running()
                    update = self._state_update(elapsed=True)
                    if (
                        update.elapsed_delta
                        or update.searcher_state is not None
                        or update.scheduler_state is not None
                    ):
                        self._write_study(update)
            finally:
                self.close()
                self.executor.shutdown()
                self.progress.close(self._summary())
        return self.usage

    def _write_study(self, update: StudyUpdate) -> None:
        try:
            self.study.storage.update_study(self.study.study_id, update)
        except StaleStateError:  # another worker moved on: keep only the clock
            update = StudyUpdate(elapsed_delta=update.elapsed_delta)
            self.study.storage.update_study(self.study.study_id, update)
        self._written(update)

    def _interrupt_running(self) -> None:
        """After Ctrl-C or an error: trials still running here were interrupted."""
        for number in list(self._running):
            running = self._running.pop(number)
            if running.taken_over:
                continue
            outcome = TrialOutcome(
                TrialStatus.FAILED,
                error="interrupted: the study stopped while the trial ran",
                failure=FailureKind.INTERRUPTED,
            )
            try:
                stored = self.study.storage.finish_trial(running.record.trial_id, outcome)
            except FinishedTrialError:
                continue
            self._absorb([stored])
            self._queue_retry(stored)

    def _loop(self) -> None:
        assert self.executor is not None
        exhausted = False
        while True:
            self._expire_leases()
            self._stop_reason = self._stop_reason or self._limit_reached()
            if self._time_up() and self.executor.running():
                self._end_at_time_limit()
            while self._stop_reason is None and self.executor.capacity() > 0:
                try:
                    progressed, exhausted_now = self._act(exhausted)
                except StaleStateError:
                    self._refresh()
                    continue
                exhausted = exhausted or exhausted_now
                if not progressed:
                    break
                self._stop_reason = self._stop_reason or self._limit_reached()
            # An exhausted searcher ends the study once nothing runs here: until then a
            # trial that ends may still let the scheduler resume a paused one.
            if exhausted and self._stop_reason is None and self.executor.running() == 0:
                self._stop_reason = "searcher exhausted"
            if self.executor.running() == 0:
                if self._stop_reason is None and not exhausted:
                    if self._others(TrialStatus.RUNNING, TrialStatus.WAITING):
                        # Other workers' trials may still give the scheduler work.
                        time.sleep(_POLL_SECONDS)
                        self._refresh()
                        continue
                    self._stop_reason = "the scheduler has nothing to run"
                return
            self.executor.set_deadline(self._deadline())
            for event in self.executor.poll(timeout=_POLL_SECONDS):
                self._on_ended(event)

    def _time_up(self) -> bool:
        limit = self.budget.max_seconds
        return limit is not None and self.usage.seconds >= limit

    def _deadline(self) -> float | None:
        """When the time limit passes, as a ``time.monotonic()`` value (None: no limit)."""
        if self.budget.max_seconds is None:
            return None
        self._tick()
        return time.monotonic() + self.budget.max_seconds - self.usage.seconds

    def _end_at_time_limit(self) -> None:
        """The time limit passed: end the trials still running here instead of waiting."""
        assert self.executor is not None
        for event in self.executor.poll(timeout=0):  # those that just ended keep their result
            self._on_ended(event)
        for number in self.executor.end_running():
            record = self._running[number].record
            value = best_value(record, self.study.metric, self.study.mode)
            outcome = time_limit_outcome(bool(record.reports), value, self.study.metric)
            self._on_ended(TrialEnded(number, outcome, record.params))

    def _act(self, exhausted: bool = False) -> tuple[bool, bool]:
        """Ask the scheduler what to do and do it: (something happened, searcher exhausted).
        Once the searcher is ``exhausted`` only starts it is not needed for (a queued
        trial, a configuration the scheduler gives) and resumes or prunes still happen."""
        assert self.executor is not None
        action = self.study.scheduler.next(self._view())
        if isinstance(action, Start):
            if exhausted and action.config is None and not self._waiting():
                return False, True
            if self._trial_limit_reached() and not self._waiting():
                # Running trials may still let the scheduler resume paused ones.
                if self.executor.running() == 0 and not self._others(TrialStatus.RUNNING):
                    self._stop_reason = "max_trials"
                return False, False
            record, restore = self._begin(action)
            if record is None:
                return False, True
            self._submit(record, restore)
        elif isinstance(action, Resume):
            self._resume(action)
        elif isinstance(action, Prune):
            self._prune(action.trial_number)
        elif isinstance(action, Wait):
            return False, False
        elif isinstance(action, Done):
            self._stop_reason = action.reason
            return False, False
        return True, False

    def _limit_reached(self) -> str | None:
        """The epoch or seconds limit, once reached (trial counts only limit new trials)."""
        self._tick()
        return self.usage.exhausted(self._time_and_epochs)

    def _waiting(self) -> list[TrialRecord]:
        return self._others(TrialStatus.WAITING)

    def _trial_limit_reached(self) -> bool:
        """Whether ``max_trials`` forbids a new trial: finished, running, paused and queued
        trials of every worker count."""
        limit = self.budget.max_trials
        if limit is None:
            return False
        used = (
            self.usage.trials
            + len(self._running)
            + len(self._paused)
            + len(self._others(TrialStatus.RUNNING, TrialStatus.WAITING))
        )
        return used >= limit

    def _job(self, record: TrialRecord, restore: CheckpointRef | None) -> TrialJob:
        return TrialJob(
            study_name=self.study.name,
            metric=self.study.metric,
            mode=self.study.mode,
            number=record.number,
            trial_id=record.trial_id,
            # A resumed trial keeps the values it drew for parameters the proposal lacked.
            proposal={**record.proposal, **record.params},
            budget=record.budget,
            space=self.study.space.copy(),
            declared=frozenset(self.study.declared),
            artifact_dir=str(self.artifacts.directory),
            restore=restore,
        )

    def _submit(self, record: TrialRecord, restore: CheckpointRef | None = None) -> None:
        assert self.executor is not None and self.objective is not None
        self._adopt(record)
        self.executor.submit(self._job(record, restore), self.objective, self)

    def _adopt(self, record: TrialRecord) -> None:
        """This worker runs ``record`` from now on."""
        self._running[record.number] = _Running(record, params_written=len(record.params))
        self._set_steps(record.number, record.steps_trained)
        self._trials.pop(record.number, None)
        self._live.pop(record.number, None)

    def _begin(self, action: Start) -> tuple[TrialRecord | None, CheckpointRef | None]:
        """Start the next queued trial, or a new configuration (the scheduler's, else the
        searcher's proposal). Returns the record (None: the searcher is exhausted) and
        the checkpoint to start from. Raises StaleStateError when another worker wrote."""
        storage, study_id = self.study.storage, self.study.study_id
        scheduler_meta = {META_KEY: dict(action.meta)} if action.meta else {}
        restore = action.restore
        record = None
        if self._waiting() and action.config is None:
            update = self._state_update()
            record = storage.start_waiting_trial(
                study_id,
                worker=self.worker,
                budget=action.budget,
                meta=scheduler_meta or None,
                update=update,
            )
            if record is not None:
                self._written(update)
                if record.retry_of is not None and restore is None:
                    restore = self._latest_checkpoint(record)
            else:
                self._refresh()
        if record is None:
            if action.config is not None:
                config, meta = dict(action.config), scheduler_meta
            else:
                history = self.study.scheduler.project_history(self._history())
                proposals = self.study.searcher.suggest(history, 1)
                if not proposals:
                    return None, None
                config, meta = proposals[0].config, {**proposals[0].meta, **scheduler_meta}
            self.study.space.validate(config)
            update = self._state_update()
            record = storage.create_trial(
                study_id,
                proposal=config,
                meta=meta,
                budget=action.budget,
                worker=self.worker,
                update=update,
            )
            self._written(update)
        if restore is not None and not self.artifacts.exists(restore):
            self.progress.message(
                f"trial {record.number}: trial {restore.trial} saved no checkpoint at step "
                f"{restore.step}; it starts from scratch"
            )
            restore = None
        return record, restore

    def _resume(self, action: Resume) -> None:
        paused = self._paused[action.trial_number]
        update = self._state_update()
        try:
            record = self.study.storage.resume_trial(
                paused.trial_id, budget=action.budget, worker=self.worker, update=update
            )
        except ValueError:  # another worker resumed or ended it first
            self._refresh()
            return
        self._written(update)
        self._paused.pop(action.trial_number)
        self._submit(record, self.artifacts.latest(record.number))

    def _pause(self, record: TrialRecord, params: Config) -> None:
        storage = self.study.storage
        self._versioned(
            lambda u: storage.pause_trial(record.trial_id, params=params, update=u), lambda: None
        )
        paused = replace(record, status=TrialStatus.PAUSED, params=params)
        self._paused[record.number] = paused
        self._trials[record.number] = paused
        last = record.reports[-1].step if record.reports else None
        if (
            not self._warned_no_checkpoint
            and last is not None
            and not self.artifacts.exists(CheckpointRef(record.number, last))
        ):
            self._warned_no_checkpoint = True
            self.progress.message(
                f"trial {record.number} was paused at step {last} without a checkpoint (the "
                "objective passes no checkpoint= to trial.report): paused trials restart "
                "from scratch when resumed"
            )

    def _prune(self, number: int) -> None:
        """End a paused trial as PRUNED with its best reported value."""
        paused = self._paused.pop(number)
        value = best_value(paused, self.study.metric, self.study.mode)
        outcome = TrialOutcome(
            TrialStatus.PRUNED,
            value=value,
            metrics={self.study.metric: value} if value is not None else {},
        )
        try:
            self._finish(paused, outcome, paused.params)
        except FinishedTrialError:  # another worker ended it first
            self._refresh()

    def _end_paused(self) -> None:
        """The study ended cleanly: prune what is still paused, keep one checkpoint each."""
        for number in sorted(self._paused):
            if number in self._paused:
                self._prune(number)
        if self.artifacts.directory.is_dir():  # else no trial saved a checkpoint
            for number in self._ended_here:
                self.artifacts.keep_latest(number)

    def _finish(
        self, record: TrialRecord, outcome: TrialOutcome, params: Config, *, retry: bool = False
    ) -> TrialRecord:
        """Write a trial's end, with what it taught the searcher and the scheduler."""
        local = record.evolve(
            status=outcome.status,
            params=params,
            value=outcome.value,
            metrics=outcome.metrics,
            error=outcome.error,
            failure=outcome.failure,
            ended_at=time.time(),
        )

        def decide() -> None:
            if local.counts_toward_budget and not retry:
                self.study.searcher.observe(local, self._history())
            self.study.scheduler.on_finish(local, self._view())

        stored = self._versioned(
            lambda u: self.study.storage.finish_trial(
                record.trial_id, outcome, params=params, update=u
            ),
            decide,
            elapsed=True,
        )
        self._trials[stored.number] = stored
        self._set_steps(stored.number, stored.steps_trained)
        self._add_finished(stored)
        self._ended_here.append(stored.number)
        if retry:
            self._mark_retried(stored.number)
        self._show_progress(stored)
        return stored

    def _should_retry(self, record: TrialRecord, outcome: TrialOutcome) -> bool:
        if outcome.failure in _NOT_CHARGED:
            return True
        return outcome.failure in _RETRYABLE and self._attempts(record) <= self.max_retries

    def _on_ended(self, event: TrialEnded) -> None:
        running = self._running.pop(event.number)
        if running.taken_over:
            self.progress.message(
                f"trial {event.number} was ended by another worker after its lease expired; "
                "its result is dropped"
            )
            return
        if event.paused:
            self._pause(running.record, event.params)
            return
        outcome = event.outcome
        assert outcome is not None
        retry = self._should_retry(running.record, outcome)
        try:
            record = self._finish(running.record, outcome, event.params, retry=retry)
        except FinishedTrialError:
            self.progress.message(f"trial {event.number} was ended by another worker")
            return
        except StorageError:
            # The trial stays RUNNING in storage and is recovered as interrupted later;
            # its own error is the reason the study stops.
            if isinstance(event.fatal, EnvironmentFault):
                raise event.fatal from None
            raise
        if retry:
            queued = self._queue_retry(record)
            if outcome.failure is FailureKind.ENVIRONMENT_ERROR:
                self.progress.message(
                    f"trial {record.number} is not charged (not its configuration's fault); "
                    f"its configuration runs again as trial {queued.number} when the study "
                    "continues"
                )
            elif outcome.failure is not FailureKind.INTERRUPTED:
                self.progress.message(
                    f"trial {record.number} failed ({record.error}); retrying it as trial "
                    f"{queued.number} from its last checkpoint"
                )
        elif record.status is TrialStatus.FAILED:
            self.progress.message(f"trial {record.number} failed: {record.error}")
        if event.fatal is not None:
            raise event.fatal

    def _note_best(self, t: TrialRecord) -> None:
        """Keep the best completed trial, and the best pruned one for a study that ends
        (by its time or epoch limit) before any trial completed."""
        if t.value is None or t.value != t.value:
            return
        mode = self.study.mode
        if t.status is TrialStatus.COMPLETED:
            if self._best is None or ranks_before(t, self._best, mode):
                self._best = t
        elif t.status is TrialStatus.PRUNED and (
            self._best_pruned is None or ranks_before(t, self._best_pruned, mode)
        ):
            self._best_pruned = t

    # -- the channel a running trial talks through ----------------------------------------
    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        space = self.study.space
        value: list[Value] = []
        is_new = param.name not in space

        def decide() -> None:
            space.add(param)  # raises SpaceError if it conflicts with the stored definition
            history = self.study.scheduler.project_history(self._history())
            value[:] = [
                self.study.searcher.suggest_param(
                    param, config, self._running[number].record, history
                )
            ]

        self._versioned(
            lambda u: self.study.storage.update_study(self.study.study_id, u),
            decide,
            space=is_new,
        )
        return value[0]

    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        running = self._running[number]
        if running.taken_over:
            return Decision.STOP
        changed = len(params) != running.params_written
        record = running.record.evolve(
            params=dict(params),
            reports=(*running.record.reports, Report(step, dict(metrics), time.time())),
        )
        decision = Decision.CONTINUE
        while True:
            decision = self.study.scheduler.on_report(record, step, metrics, self._view())
            update = self._state_update()
            # Only a change of shared state needs the version check (and moves it on).
            shared = update.searcher_state is not None or update.scheduler_state is not None
            try:
                self.study.storage.add_report(
                    running.record.trial_id,
                    step,
                    metrics,
                    params=params if changed else None,
                    update=update if shared else None,
                )
            except StaleStateError:
                self._refresh()
                continue
            except FinishedTrialError:
                running.taken_over = True
                return Decision.STOP
            if shared:
                self._written(update)
            break
        running.params_written = len(params)
        running.record = record
        self._set_steps(number, len(record.reports))
        self._tick()
        self._show_progress()
        if decision is Decision.CONTINUE:
            limit = self._limit_reached()
            if limit is not None:
                self._stop_reason = limit
                # A trial at the end of its own budget completes instead of being stopped.
                budget = running.record.budget
                if budget is None or step < budget:
                    decision = Decision.STOP
        if decision is Decision.CONTINUE and self.max_retries > 0:
            decision = Decision.CHECKPOINT  # keep a checkpoint to retry from
        return decision

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.study.storage.set_trial_user_attr(self._running[number].record.trial_id, key, value)

    # -- ask and tell ----------------------------------------------------------------------
    def ask(self, budget: int | None = None) -> Trial:
        """Start a trial for a loop tunelab does not drive (see Study.ask)."""
        self._start_session()
        while True:
            try:
                record, restore = self._begin(Start(budget=budget))
                break
            except StaleStateError:
                self._refresh()
        if record is None:
            raise StudyExhaustedError(
                f"study {self.study.name!r}: the {self.study.searcher.name} searcher has no "
                "configuration left to propose"
            )
        self._adopt(record)
        return self._job(record, restore).trial(self)

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
        running = self._running.pop(number, None)
        if running is None:  # asked by another process: read it from storage
            self._refresh()
            known = self._known(number)
            if known is None or known.status.is_finished:
                status = "unknown" if known is None else known.status.value
                raise ValueError(f"trial {number} cannot be told: it is {status}")
            self._adopt(known)
            running = self._running.pop(number)
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
        return self._finish(record, outcome, params)

    # -- text ------------------------------------------------------------------------------
    def _leader(self) -> TrialRecord | None:
        """The best trial as Study.best_trial chooses it: completed, else pruned."""
        return self._best if self._best is not None else self._best_pruned

    def _show_progress(self, ended: TrialRecord | None = None) -> None:
        if not self.progress.quiet:  # quiet: not even the text is made
            self.progress.update(self.usage, best=self._best_text(), ended=ended)

    def _best_text(self) -> str:
        best = self._leader()
        if best is None or best.value is None:
            return "-"
        pruned = ", pruned" if best.status is TrialStatus.PRUNED else ""
        return f"{self.study.metric}={best.value:.4g} (#{best.number}{pruned})"

    def _headline(self) -> str:
        state = "resumed" if self._trials or self._newest_at_load >= 0 else "new"
        searcher, scheduler = self.study.searcher.name, self.study.scheduler.name
        return (
            f"tunelab: study {self.study.name!r} in {self.study.storage.url} "
            f"({state}; {searcher} search, {scheduler} scheduler; "
            f"{self.usage.describe(self.budget)})"
        )

    def _summary(self) -> str:
        reason = f" ({self._stop_reason})" if self._stop_reason else ""
        used = self.usage.describe(self.budget)
        if self._leader() is None:
            return f"tunelab: study {self.study.name!r} stopped{reason}: no completed trial; {used}"
        return (
            f"tunelab: study {self.study.name!r} stopped{reason}: best {self._best_text()}; {used}"
        )


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
