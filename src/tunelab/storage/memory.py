"""In-memory storage (``storage=":memory:"``): fast, thread-safe, gone with the process.

Stored times (created, started, ended, reports) come from :func:`tunelab.clock.now`, so a
simulated run stores simulated times; lease heartbeats keep the real clock.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from tunelab import clock
from tunelab.errors import DuplicateStudyError, StudyNotFoundError
from tunelab.space import Config
from tunelab.storage.base import (
    FinishedTrialError,
    StaleStateError,
    Storage,
    StudyRecord,
    StudySnapshot,
    StudySummary,
    StudyUpdate,
    TrialOutcome,
    json_attr_value,
    ranks_before,
)
from tunelab.trial import Report, TrialRecord, TrialStatus


class MemoryStorage(Storage):
    """Keeps every record in dictionaries behind one lock; records handed out are copies.

    Ids come from counters and are never reused, so an id held from a deleted study or
    trial cannot address a newer one.
    """

    def __init__(self) -> None:
        self.url = ":memory:"
        self._lock = threading.RLock()
        self._studies: dict[str, StudyRecord] = {}
        self._studies_by_id: dict[int, str] = {}
        self._trials: dict[int, TrialRecord] = {}
        self._reports: dict[int, list[Report]] = {}
        self._study_trials: dict[int, list[int]] = {}
        self._next_study_id = 1
        self._next_trial_id = 1
        self._heartbeats: dict[int, float] = {}
        # Per study, its best completed and best pruned trial ids, kept as trials finish.
        self._best: dict[int, dict[TrialStatus, int]] = {}

    # -- studies ----------------------------------------------------------------------
    def create_study(
        self,
        name: str,
        *,
        metric: str,
        mode: str,
        searcher: dict[str, Any],
        scheduler: dict[str, Any],
        space: dict[str, Any],
        user_attrs: dict[str, Any] | None = None,
    ) -> StudyRecord:
        with self._lock:
            if name in self._studies:
                raise DuplicateStudyError(f"a study named {name!r} already exists in {self.url}")
            study_id = self._next_study_id
            record = StudyRecord(
                study_id=study_id,
                name=name,
                metric=metric,
                mode=mode,
                searcher=copy.deepcopy(searcher),
                scheduler=copy.deepcopy(scheduler),
                space=copy.deepcopy(space),
                searcher_state=None,
                scheduler_state=None,
                created_at=clock.now(),
                user_attrs=copy.deepcopy(user_attrs or {}),
            )
            self._next_study_id += 1
            self._studies[name] = record
            self._studies_by_id[study_id] = name
            self._study_trials[study_id] = []
            self._best[study_id] = {}
            return copy.deepcopy(record)

    def get_study(self, name: str) -> StudyRecord:
        with self._lock:
            if name not in self._studies:
                raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
            return copy.deepcopy(self._studies[name])

    def list_studies(self) -> list[StudySummary]:
        with self._lock:
            out = []
            for record in self._studies.values():
                trials = [self._trials[t] for t in self._study_trials[record.study_id]]
                values = [
                    t.value
                    for t in trials
                    if t.status is TrialStatus.COMPLETED and t.value is not None
                ]
                best = (max if record.mode == "max" else min)(values) if values else None
                out.append(
                    StudySummary(
                        name=record.name,
                        metric=record.metric,
                        mode=record.mode,
                        n_trials=len(trials),
                        n_completed=sum(t.status is TrialStatus.COMPLETED for t in trials),
                        best_value=best,
                        created_at=record.created_at,
                    )
                )
            return out

    def delete_study(self, name: str) -> None:
        with self._lock:
            record = self._studies.pop(name, None)
            if record is None:
                raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
            del self._studies_by_id[record.study_id]
            self._best.pop(record.study_id, None)
            for trial_id in self._study_trials.pop(record.study_id):
                self._trials.pop(trial_id, None)
                self._reports.pop(trial_id, None)

    def update_study(self, study_id: int, update: StudyUpdate) -> None:
        with self._lock:
            self._commit_study(self._updated(study_id, update))

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        stored = json_attr_value(key, value)
        with self._lock:
            if study_id not in self._studies_by_id:
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
            record = self._studies[self._studies_by_id[study_id]]
            self._commit_study(replace(record, user_attrs={**record.user_attrs, key: stored}))

    def _updated(self, study_id: int, update: StudyUpdate | None) -> StudyRecord | None:
        """The study record with ``update`` applied, not yet stored (None: no change).

        Computed before anything is written, so a state that cannot be copied fails the
        whole write and the trial change it came with is not applied either.
        """
        if update is None or update.is_empty:
            return None
        if study_id not in self._studies_by_id:
            raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
        record = self._studies[self._studies_by_id[study_id]]
        if update.expected_version is not None and update.expected_version != record.state_version:
            raise StaleStateError(
                f"study {record.name!r} changed (state version {record.state_version}, "
                f"expected {update.expected_version})"
            )
        changes: dict[str, Any] = {"state_version": record.state_version + 1}
        if update.searcher_state is not None:
            changes["searcher_state"] = _copied(update.searcher_state)
        if update.scheduler_state is not None:
            changes["scheduler_state"] = _copied(update.scheduler_state)
        if update.space is not None:
            changes["space"] = _copied(update.space)
        if update.elapsed_delta:
            changes["elapsed_seconds"] = record.elapsed_seconds + update.elapsed_delta
        return _evolve_study(record, changes)

    def now(self) -> float:
        return time.time()

    def renew_leases(self, trial_ids: list[int]) -> None:
        with self._lock:
            now = time.time()
            for trial_id in trial_ids:
                t = self._trials.get(trial_id)
                if t is not None and t.status is TrialStatus.RUNNING:
                    self._heartbeats[trial_id] = now

    def expired_trials(self, study_id: int, lease_seconds: float) -> list[TrialRecord]:
        with self._lock:
            limit = time.time() - lease_seconds
            out = []
            for trial_id in self._study_trials.get(study_id, []):
                t = self._trials[trial_id]
                last = self._heartbeats.get(trial_id, t.started_at or t.created_at)
                if t.status is TrialStatus.RUNNING and last < limit:
                    out.append(self._with_reports(t))
            return out

    def _commit_study(self, record: StudyRecord | None) -> None:
        if record is not None:
            self._studies[record.name] = record

    # -- trials -----------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        *,
        proposal: Config,
        meta: dict[str, Any],
        budget: int | None,
        status: TrialStatus = TrialStatus.RUNNING,
        worker: str | None = None,
        retry_of: int | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        if status not in (TrialStatus.RUNNING, TrialStatus.WAITING):
            raise ValueError(f"a new trial is running or waiting, not {status.value}")
        with self._lock:
            if study_id not in self._study_trials:
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
            study = self._updated(study_id, update)
            now = clock.now()
            trial_id = self._next_trial_id
            record = TrialRecord(
                study_id=study_id,
                trial_id=trial_id,
                number=len(self._study_trials[study_id]),
                status=status,
                params={},
                proposal=dict(proposal),
                meta=copy.deepcopy(meta) if meta else {},
                budget=budget,
                value=None,
                metrics={},
                reports=(),
                created_at=now,
                started_at=now if status is TrialStatus.RUNNING else None,
                ended_at=None,
                worker=worker,
                retry_of=retry_of,
            )
            self._next_trial_id += 1
            self._trials[trial_id] = record
            if status is TrialStatus.RUNNING:
                self._heartbeats[trial_id] = time.time()
            self._reports[trial_id] = []
            self._study_trials[study_id].append(trial_id)
            self._commit_study(study)
            return self._with_reports(record)

    def start_waiting_trial(
        self,
        study_id: int,
        *,
        worker: str | None,
        budget: int | None = None,
        meta: dict[str, Any] | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord | None:
        with self._lock:
            for trial_id in self._study_trials.get(study_id, []):
                t = self._trials[trial_id]
                if t.status is TrialStatus.WAITING:
                    study = self._updated(study_id, update)
                    started = replace(
                        t,
                        status=TrialStatus.RUNNING,
                        started_at=clock.now(),
                        worker=worker,
                        budget=budget if budget is not None else t.budget,
                        meta={**t.meta, **copy.deepcopy(meta)} if meta else t.meta,
                    )
                    self._trials[trial_id] = started
                    self._heartbeats[trial_id] = time.time()
                    self._commit_study(study)
                    return self._with_reports(started)
            return None

    def resume_trial(
        self,
        trial_id: int,
        *,
        budget: int | None,
        worker: str | None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        with self._lock:
            t = self._trials[trial_id]
            if t.status is not TrialStatus.PAUSED:
                raise ValueError(f"trial {t.number} is {t.status.value}, not paused")
            study = self._updated(t.study_id, update)
            resumed = replace(t, status=TrialStatus.RUNNING, budget=budget, worker=worker)
            self._trials[trial_id] = resumed
            self._commit_study(study)
            self._heartbeats[trial_id] = time.time()
            return self._with_reports(resumed)

    def _live(self, trial_id: int) -> TrialRecord:
        """A trial that may still change; every such write also renews its lease."""
        t = self._trials[trial_id]
        if t.status.is_finished:
            raise FinishedTrialError(f"trial {t.number} is {t.status.value}; it cannot change")
        self._heartbeats[trial_id] = time.time()
        return t

    def add_report(
        self,
        trial_id: int,
        step: int,
        metrics: dict[str, float],
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> None:
        with self._lock:
            t = self._live(trial_id)
            study = self._updated(t.study_id, update)
            self._reports[trial_id].append(Report(step, dict(metrics), clock.now()))
            if params is not None:
                self._trials[trial_id] = replace(t, params=dict(params))
            self._commit_study(study)

    def set_trial_params(self, trial_id: int, params: Config) -> None:
        with self._lock:
            self._trials[trial_id] = replace(self._live(trial_id), params=dict(params))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            t = self._live(trial_id)
            attrs = dict(t.user_attrs)
            attrs[key] = copy.deepcopy(value)
            self._trials[trial_id] = replace(t, user_attrs=attrs)

    def pause_trial(
        self,
        trial_id: int,
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> None:
        with self._lock:
            t = self._live(trial_id)
            study = self._updated(t.study_id, update)
            self._trials[trial_id] = replace(
                t,
                status=TrialStatus.PAUSED,
                params=dict(params) if params is not None else t.params,
            )
            self._commit_study(study)

    def finish_trial(
        self,
        trial_id: int,
        outcome: TrialOutcome,
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        if not outcome.status.is_finished:
            raise ValueError(f"{outcome.status.value} is not a finished status")
        with self._lock:
            t = self._live(trial_id)
            study = self._updated(t.study_id, update)
            done = t.evolve(
                status=outcome.status,
                value=outcome.value,
                metrics=dict(outcome.metrics),
                error=outcome.error,
                traceback=outcome.traceback,
                failure=outcome.failure,
                ended_at=clock.now(),
                params=dict(params) if params is not None else t.params,
            )
            self._trials[trial_id] = done
            self._commit_study(study)
            self._note_best(done)
            return self._with_reports(done)

    def _note_best(self, t: TrialRecord) -> None:
        if t.status not in _RANKED or t.value is None or t.value != t.value:  # NaN ranks nowhere
            return
        best = self._best[t.study_id]
        current = self._trials[best[t.status]] if t.status in best else None
        mode = self._studies[self._studies_by_id[t.study_id]].mode
        if current is None or ranks_before(t, current, mode):
            best[t.status] = t.trial_id

    def snapshot(self, study_id: int) -> StudySnapshot:
        with self._lock:
            ids = self._study_trials.get(study_id, [])
            everything = [self._trials[i] for i in ids]
            retried = frozenset(t.retry_of for t in everything if t.retry_of is not None)
            finished = [t for t in everything if t.status.is_finished]
            return StudySnapshot(
                newest=len(ids) - 1,
                counted=sum(t.counts_toward_budget and t.number not in retried for t in finished),
                finished_steps=sum(len(self._reports[t.trial_id]) for t in finished),
                retried=retried,
                live=tuple(self._with_reports(t) for t in everything if not t.status.is_finished),
            )

    def best_trial(self, study_id: int, mode: str) -> TrialRecord | None:
        with self._lock:
            best = self._best.get(study_id, {})
            for status in _RANKED:
                if status in best:
                    return self._with_reports(self._trials[best[status]])
            return None

    def _with_reports(self, t: TrialRecord) -> TrialRecord:
        stored = self._reports[t.trial_id]
        return self._copy(t, tuple(Report(r.step, dict(r.metrics), r.time) for r in stored))

    @staticmethod
    def _copy(t: TrialRecord, reports: tuple[Report, ...] = ()) -> TrialRecord:
        # Copies of every mutable field, so a caller mutating a record cannot change
        # what is stored (nor what another caller holds).
        return t.evolve(
            params=dict(t.params),
            proposal=dict(t.proposal),
            meta=copy.deepcopy(t.meta) if t.meta else {},
            metrics=dict(t.metrics),
            user_attrs=copy.deepcopy(t.user_attrs) if t.user_attrs else {},
            reports=reports,
        )

    def get_trial(self, trial_id: int) -> TrialRecord:
        with self._lock:
            return self._with_reports(self._trials[trial_id])

    def get_trials(
        self,
        study_id: int,
        *,
        statuses: tuple[TrialStatus, ...] | None = None,
        with_reports: bool = True,
        numbers: Collection[int] | None = None,
        min_number: int | None = None,
    ) -> list[TrialRecord]:
        with self._lock:
            out = []
            for trial_id in self._study_trials.get(study_id, []):
                t = self._trials[trial_id]
                if not _selected(t.number, numbers, min_number):
                    continue
                if statuses is None or t.status in statuses:
                    out.append(self._with_reports(t) if with_reports else self._copy(t))
            return out


_RANKED = (TrialStatus.COMPLETED, TrialStatus.PRUNED)


def _copied(value: Any) -> Any:
    """A deep copy; JSON-like data (what states are) without ``copy.deepcopy``'s work."""
    kind = type(value)
    if kind is dict:
        return {k: _copied(v) for k, v in value.items()}
    if kind is list:
        return [_copied(v) for v in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def _evolve_study(record: StudyRecord, changes: dict[str, Any]) -> StudyRecord:
    """``dataclasses.replace`` for the study record written with every trial, without
    its per-field work; ``changes`` name fields only."""
    new = object.__new__(StudyRecord)
    new.__dict__.update(record.__dict__)
    new.__dict__.update(changes)
    return new


def _selected(number: int, numbers: Collection[int] | None, min_number: int | None) -> bool:
    """Whether a trial number is selected by ``numbers`` / ``min_number`` (either)."""
    if numbers is None and min_number is None:
        return True
    return (numbers is not None and number in numbers) or (
        min_number is not None and number >= min_number
    )
