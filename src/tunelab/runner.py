"""The study loop: scheduler decides, searcher proposes, executor runs, storage records.

One loop for every executor and scheduler. It keeps an in-memory view of the study
(finished trials, running ones) so that no step rereads the whole study from storage,
and writes every change before acting on it: a report is committed before the
objective continues, a trial's result and the searcher state it produced are
committed together.

Paused trials: a trial the scheduler pauses keeps its checkpoint in the study's
artifact store and is resumed from it (``Resume``) or ended (``Prune``). When the study
ends cleanly (budget used, scheduler done, searcher exhausted) every trial still paused
is ended as PRUNED with its best reported value; after Ctrl-C or a crash they stay
PAUSED, and the next ``optimize`` resumes them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tunelab.budget import Budget, BudgetUsage
from tunelab.executors.base import Executor, Objective, TrialEnded, TrialJob
from tunelab.processes import is_alive, process_identity
from tunelab.progress import ProgressDisplay
from tunelab.schedulers.base import (
    META_KEY,
    Done,
    Prune,
    Resume,
    SchedulerView,
    Start,
    Wait,
    best_value,
)
from tunelab.searchers.base import History
from tunelab.space import Config, Param, Value
from tunelab.storage.artifacts import CheckpointRef
from tunelab.storage.base import StudyUpdate, TrialOutcome
from tunelab.trial import (
    Decision,
    FailureKind,
    Report,
    TrialChannel,
    TrialRecord,
    TrialStatus,
)

if TYPE_CHECKING:
    from tunelab.study import Study

_POLL_SECONDS = 0.2


@dataclass
class _Running:
    """A running trial: its record kept current (params, reports) as it reports."""

    record: TrialRecord
    params_written: int = 0


class StudyRunner(TrialChannel):
    """Runs one ``optimize`` call of a study. Not reusable."""

    def __init__(
        self,
        study: Study,
        objective: Objective,
        budget: Budget,
        executor: Executor,
        progress: ProgressDisplay,
    ) -> None:
        self.study = study
        self.objective = objective
        self.budget = budget
        self.executor = executor
        self.progress = progress
        self.worker = process_identity()
        self.usage = BudgetUsage()
        self._finished: list[TrialRecord] = []
        self._pending_other: list[TrialRecord] = []
        self._running: dict[int, _Running] = {}
        self._paused: dict[int, TrialRecord] = {}
        self._maybe_waiting = False
        self._last_searcher_state = ""
        self._last_scheduler_state = ""
        self._clock = time.monotonic()
        self._stop_reason: str | None = None
        self._best: TrialRecord | None = None
        self.artifacts = study.artifacts
        self._ended_here: list[int] = []
        self._warned_no_checkpoint = False

    # -- views given to the searcher and scheduler -------------------------------------
    def _history(self) -> History:
        pending = [r.record for r in self._running.values()]
        pending.extend(self._paused.values())
        pending.extend(self._pending_other)
        return History(
            space=self.study.space,
            metric=self.study.metric,
            mode=self.study.mode,
            finished=self._finished,
            pending=pending,
        )

    def _view(self) -> SchedulerView:
        return SchedulerView(
            metric=self.study.metric,
            mode=self.study.mode,
            finished=self._finished,
            running=[r.record for r in self._running.values()],
            paused=list(self._paused.values()),
            space=self.study.space,
        )

    def _state_update(self, *, space: bool = False, elapsed: bool = False) -> StudyUpdate:
        """Searcher/scheduler state that changed since the last write (and elapsed time)."""
        searcher_state = scheduler_state = None
        text = json.dumps(self.study.searcher.state_dict(), sort_keys=True)
        if text != self._last_searcher_state:
            self._last_searcher_state = text
            searcher_state = json.loads(text)
        text = json.dumps(self.study.scheduler.state_dict(), sort_keys=True)
        if text != self._last_scheduler_state:
            self._last_scheduler_state = text
            scheduler_state = json.loads(text)
        delta = 0.0
        if elapsed:
            now = time.monotonic()
            delta, self._clock = now - self._clock, now
            self.usage.seconds += delta
        return StudyUpdate(
            searcher_state=searcher_state,
            scheduler_state=scheduler_state,
            space=self.study.space.to_dict() if space else None,
            elapsed_delta=delta,
        )

    # -- set-up --------------------------------------------------------------------------
    def _load(self) -> None:
        storage, study_id = self.study.storage, self.study.study_id
        record = storage.get_study(self.study.name)
        self.usage.seconds = record.elapsed_seconds
        self._last_searcher_state = json.dumps(record.searcher_state or {}, sort_keys=True)
        self._last_scheduler_state = json.dumps(record.scheduler_state or {}, sort_keys=True)
        for t in storage.get_trials(study_id):
            if t.status.is_finished:
                self._finished.append(t)
                self._note_finished(t)
            elif t.status is TrialStatus.PAUSED:
                self._paused[t.number] = t
            elif t.status is TrialStatus.WAITING:
                self._pending_other.append(t)
                self._maybe_waiting = True
            elif t.status is TrialStatus.RUNNING:
                self._pending_other.append(t)
            self.usage.epochs += t.steps_trained

    def _recover_interrupted(self) -> None:
        """Fail the RUNNING trials whose process is gone and queue their configurations again."""
        storage, study_id = self.study.storage, self.study.study_id
        still_pending = []
        for t in self._pending_other:
            if t.status is not TrialStatus.RUNNING or is_alive(t.worker) is not False:
                still_pending.append(t)
                continue
            pid = t.worker.rsplit(":", 2)[1] if t.worker else "?"
            outcome = TrialOutcome(
                TrialStatus.FAILED,
                error=f"interrupted: the process that ran it (pid {pid}) is gone",
                failure=FailureKind.INTERRUPTED,
            )
            self._finished.append(storage.finish_trial(t.trial_id, outcome))
            retry = storage.create_trial(
                study_id,
                proposal=t.proposal,
                meta=t.meta,
                budget=t.budget,
                status=TrialStatus.WAITING,
                retry_of=t.number,
            )
            still_pending.append(retry)
            self._maybe_waiting = True
            self.progress.message(
                f"trial {t.number} was interrupted (process {pid} gone): marked failed, "
                f"its configuration queued again as trial {retry.number}"
            )
        self._pending_other = still_pending

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> BudgetUsage:
        self._load()
        self._recover_interrupted()
        self.progress.start(
            self._headline(),
            total=self.budget.max_trials,
            done=self.usage.trials,
            best=self._best_text(),
        )
        self._clock = time.monotonic()
        self.study.scheduler.set_budget(self.budget)
        try:
            self._loop()
            self._end_paused()
        finally:
            try:
                update = self._state_update(elapsed=True)
                if not update.is_empty:
                    self.study.storage.update_study(self.study.study_id, update)
            finally:
                self.executor.shutdown()
                self.progress.close(self._summary())
        return self.usage

    def _loop(self) -> None:
        exhausted = False
        while True:
            self._stop_reason = self._stop_reason or self._limit_reached()
            while self._stop_reason is None and not exhausted and self.executor.capacity() > 0:
                action = self.study.scheduler.next(self._view())
                if isinstance(action, Start):
                    if self._trial_limit_reached():
                        # Running trials may still let the scheduler resume paused ones.
                        if self.executor.running() == 0:
                            self._stop_reason = "max_trials"
                        break
                    exhausted = not self._start(action)
                elif isinstance(action, Resume):
                    self._resume(action)
                elif isinstance(action, Prune):
                    self._prune(action.trial_number)
                elif isinstance(action, Wait):
                    break
                elif isinstance(action, Done):
                    self._stop_reason = action.reason
                    break
                self._stop_reason = self._stop_reason or self._limit_reached()
            if exhausted and self._stop_reason is None:
                self._stop_reason = "searcher exhausted"
            if self.executor.running() == 0:
                if self._stop_reason is None and not exhausted:
                    self._stop_reason = "the scheduler has nothing to run"
                return
            for event in self.executor.poll(timeout=_POLL_SECONDS):
                self._on_ended(event)

    def _limit_reached(self) -> str | None:
        """The epoch or seconds limit, once reached (trial counts only limit new trials)."""
        return self.usage.exhausted(replace(self.budget, max_trials=None))

    def _trial_limit_reached(self) -> bool:
        """Whether ``max_trials`` forbids a new trial: finished, running and paused count."""
        limit = self.budget.max_trials
        used = self.usage.trials + len(self._running) + len(self._paused)
        return limit is not None and used >= limit

    def _submit(self, record: TrialRecord, restore: CheckpointRef | None = None) -> None:
        self._running[record.number] = _Running(record, params_written=len(record.params))
        declared = frozenset(self.study.declared)
        job = TrialJob(
            study_name=self.study.name,
            metric=self.study.metric,
            mode=self.study.mode,
            number=record.number,
            trial_id=record.trial_id,
            # A resumed trial keeps the values it drew for parameters the proposal lacked.
            proposal={**record.proposal, **record.params},
            budget=record.budget,
            space=self.study.space.copy(),
            declared=declared,
            artifact_dir=str(self.artifacts.directory),
            restore=restore,
        )
        self.executor.submit(job, self.objective, self)

    def _start(self, action: Start) -> bool:
        """Start the next queued trial, or a new configuration (the scheduler's, else the
        searcher's proposal); False when the searcher is exhausted."""
        storage, study_id = self.study.storage, self.study.study_id
        scheduler_meta = {META_KEY: dict(action.meta)} if action.meta else {}
        record = None
        if self._maybe_waiting and action.config is None:
            record = storage.start_waiting_trial(
                study_id, worker=self.worker, budget=action.budget, meta=scheduler_meta or None
            )
            if record is None:
                self._maybe_waiting = False
            else:
                self._pending_other = [t for t in self._pending_other if t.number != record.number]
        if record is None:
            if action.config is not None:
                config, meta = dict(action.config), scheduler_meta
            else:
                history = self.study.scheduler.project_history(self._history())
                proposals = self.study.searcher.suggest(history, 1)
                if not proposals:
                    return False
                config, meta = proposals[0].config, {**proposals[0].meta, **scheduler_meta}
            self.study.space.validate(config)
            record = storage.create_trial(
                study_id,
                proposal=config,
                meta=meta,
                budget=action.budget,
                worker=self.worker,
                update=self._state_update(),
            )
        restore = action.restore
        if restore is not None and not self.artifacts.exists(restore):
            self.progress.message(
                f"trial {record.number}: trial {restore.trial} saved no checkpoint at step "
                f"{restore.step}; it starts from scratch"
            )
            restore = None
        self._submit(record, restore)
        return True

    def _resume(self, action: Resume) -> None:
        paused = self._paused.pop(action.trial_number)
        record = self.study.storage.resume_trial(
            paused.trial_id, budget=action.budget, worker=self.worker
        )
        self._submit(record, self.artifacts.latest(record.number))

    def _pause(self, record: TrialRecord, params: Config) -> None:
        storage = self.study.storage
        storage.pause_trial(record.trial_id, params=params)
        self._paused[record.number] = replace(record, status=TrialStatus.PAUSED, params=params)
        update = self._state_update()
        if not update.is_empty:
            storage.update_study(self.study.study_id, update)
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
        self._finish(paused, outcome, paused.params)

    def _end_paused(self) -> None:
        """The study ended cleanly: prune what is still paused, keep one checkpoint each."""
        for number in sorted(self._paused):
            self._prune(number)
        for number in self._ended_here:
            self.artifacts.keep_latest(number)

    def _finish(self, record: TrialRecord, outcome: TrialOutcome, params: Config) -> TrialRecord:
        """Write a trial's end; tell the searcher and the scheduler."""
        local = replace(
            record,
            status=outcome.status,
            params=params,
            value=outcome.value,
            metrics=outcome.metrics,
            error=outcome.error,
            failure=outcome.failure,
        )
        if local.counts_toward_budget:
            self.study.searcher.observe(local, self._history())
        stored = self.study.storage.finish_trial(
            record.trial_id,
            outcome,
            params=params,
            update=self._state_update(elapsed=True),
        )
        self._finished.append(stored)
        self._ended_here.append(stored.number)
        self.study.scheduler.on_finish(stored, self._view())
        self._note_finished(stored)
        self.progress.update(done=self.usage.trials, best=self._best_text())
        return stored

    def _on_ended(self, event: TrialEnded) -> None:
        running = self._running.pop(event.number)
        storage = self.study.storage
        if event.paused:
            self._pause(running.record, event.params)
            return
        outcome = event.outcome
        assert outcome is not None
        record = self._finish(running.record, outcome, event.params)
        if outcome.failure is FailureKind.INTERRUPTED:
            retry = storage.create_trial(
                self.study.study_id,
                proposal=record.proposal,
                meta=record.meta,
                budget=record.budget,
                status=TrialStatus.WAITING,
                retry_of=record.number,
            )
            self._pending_other.append(retry)
        if record.status is TrialStatus.FAILED and outcome.failure is not FailureKind.INTERRUPTED:
            self.progress.message(f"trial {record.number} failed: {record.error}")
        if event.fatal is not None:
            raise event.fatal

    def _note_finished(self, t: TrialRecord) -> None:
        if t.counts_toward_budget:
            self.usage.trials += 1
        if (
            t.status is TrialStatus.COMPLETED
            and t.value is not None
            and (self._best is None or self.study.is_better(t.value, self._best.value))
        ):
            self._best = t

    # -- the channel a running trial talks through ----------------------------------------
    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        space = self.study.space
        is_new = param.name not in space
        space.add(param)  # raises SpaceError if it conflicts with the stored definition
        history = self.study.scheduler.project_history(self._history())
        value = self.study.searcher.suggest_param(
            param, config, self._running[number].record, history
        )
        update = self._state_update(space=is_new)
        if not update.is_empty:
            self.study.storage.update_study(self.study.study_id, update)
        return value

    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        running = self._running[number]
        changed = len(params) != running.params_written
        self.study.storage.add_report(
            running.record.trial_id, step, metrics, params=params if changed else None
        )
        running.params_written = len(params)
        running.record = replace(
            running.record,
            params=dict(params),
            reports=(*running.record.reports, Report(step, dict(metrics), time.time())),
        )
        self.usage.epochs += 1
        self.usage.seconds += time.monotonic() - self._clock
        self._clock = time.monotonic()
        decision = self.study.scheduler.on_report(running.record, step, metrics, self._view())
        if decision is Decision.CONTINUE:
            limit = self._limit_reached()
            if limit is not None:
                self._stop_reason = limit
                # A trial at the end of its own budget completes instead of being stopped.
                budget = running.record.budget
                if budget is None or step < budget:
                    decision = Decision.STOP
        return decision

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.study.storage.set_trial_user_attr(self._running[number].record.trial_id, key, value)

    # -- text ------------------------------------------------------------------------------
    def _best_text(self) -> str:
        if self._best is None or self._best.value is None:
            return "-"
        return f"{self.study.metric}={self._best.value:.4g} (#{self._best.number})"

    def _headline(self) -> str:
        state = "resumed" if self._finished or self._paused or self._pending_other else "new"
        searcher, scheduler = self.study.searcher.name, self.study.scheduler.name
        return (
            f"tunelab: study {self.study.name!r} in {self.study.storage.url} "
            f"({state}; {searcher} search, {scheduler} scheduler; "
            f"{self.usage.describe(self.budget)})"
        )

    def _summary(self) -> str:
        reason = f" ({self._stop_reason})" if self._stop_reason else ""
        used = self.usage.describe(self.budget)
        if self._best is None:
            return f"tunelab: study {self.study.name!r} stopped{reason}: no completed trial; {used}"
        return (
            f"tunelab: study {self.study.name!r} stopped{reason}: best {self._best_text()}; {used}"
        )
