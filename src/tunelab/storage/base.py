"""The storage contract, implemented by memory and SQL (SQLite, PostgreSQL) backends.

Contract (checked by tests/storage/test_contract.py for every backend):
- Thread- and process-safe for the backends that can be shared (SQL); one writer
  transaction at a time per study for trial creation, so trial numbers are unique and
  dense per study.
- Every write is committed before the method returns, so a crash loses at most what
  was in flight.
- Reads return snapshots: records are immutable and never change under the reader.
- A finished trial (completed, pruned, failed) is immutable: writing to it raises.
- Study-level state (searcher and scheduler state, the space, elapsed time) is written
  in the same transaction as the trial change that produced it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tunelab.errors import StorageError
from tunelab.space import Config
from tunelab.trial import FailureKind, TrialRecord, TrialStatus


@dataclass(frozen=True)
class StudyRecord:
    """A study as stored."""

    study_id: int
    name: str
    metric: str
    mode: str
    searcher: dict[str, Any]
    scheduler: dict[str, Any]
    space: dict[str, Any]
    searcher_state: dict[str, Any] | None
    scheduler_state: dict[str, Any] | None
    created_at: float
    elapsed_seconds: float = 0.0
    user_attrs: dict[str, Any] = field(default_factory=dict)
    state_version: int = 0


@dataclass(frozen=True)
class StudySummary:
    """One line of ``tunelab ls``."""

    name: str
    metric: str
    mode: str
    n_trials: int
    n_completed: int
    best_value: float | None
    created_at: float


@dataclass(frozen=True)
class StudyUpdate:
    """Study-level state written atomically with a trial change (None: unchanged).

    Several workers can share a study. A worker that computed its change from the
    study's state at version ``expected_version`` passes it: the write then happens only
    if nobody changed the state since (and bumps the version), else it raises
    :class:`StaleStateError` and writes nothing, so the worker refreshes and retries.
    """

    searcher_state: dict[str, Any] | None = None
    scheduler_state: dict[str, Any] | None = None
    space: dict[str, Any] | None = None
    elapsed_delta: float = 0.0
    expected_version: int | None = None

    @property
    def is_empty(self) -> bool:
        return (
            self.searcher_state is None
            and self.scheduler_state is None
            and self.space is None
            and self.elapsed_delta == 0.0
            and self.expected_version is None
        )


@dataclass(frozen=True)
class TrialOutcome:
    """How a trial ended, as written by :meth:`Storage.finish_trial`."""

    status: TrialStatus
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    failure: FailureKind | None = None


@dataclass(frozen=True)
class StudySnapshot:
    """What a worker needs to join a study, read at one instant without its finished trials.

    ``live`` are the trials not finished (running, paused, waiting), with their reports;
    every other trial numbered up to ``newest`` has finished.
    """

    newest: int
    """The highest trial number (-1: no trial yet)."""
    counted: int
    """Finished trials that use up ``max_trials`` (see :func:`tunelab.budget.counted_trials`)."""
    finished_steps: int
    """Reports of the finished trials (the epochs they trained)."""
    retried: frozenset[int]
    """Numbers of the trials that a retry replaces."""
    live: tuple[TrialRecord, ...]


class TrialRow(NamedTuple):
    """One line of a study's trial table (``Study.dataframe``): what it shows of a trial."""

    number: int
    status: str
    value: float | None
    epochs: int
    started_at: float | None
    ended_at: float | None
    failure: str | None
    error: str | None
    retry_of: int | None
    params: dict[str, Any]
    metrics: dict[str, float]

    @classmethod
    def of(cls, t: TrialRecord) -> TrialRow:
        return cls(
            t.number,
            t.status.value,
            t.value,
            t.steps_trained,
            t.started_at,
            t.ended_at,
            t.failure.value if t.failure else None,
            t.error,
            t.retry_of,
            t.params,
            t.metrics,
        )


def json_attr_value(key: str, value: Any) -> Any:
    """``value`` as it will read back from any backend (JSON round trip: tuples become
    lists), or StorageError naming ``key`` when it is not JSON-serialisable."""
    try:
        return json.loads(json.dumps(value, allow_nan=True))
    except (TypeError, ValueError) as exc:
        raise StorageError(f"user attribute {key!r} is not JSON-serialisable: {exc}") from None


def ranks_before(a: TrialRecord, b: TrialRecord, mode: str) -> bool:
    """Whether ``a`` ranks before ``b`` for a study of ``mode``: a better value, or the
    same value and an earlier number (both values set)."""
    assert a.value is not None and b.value is not None
    if a.value == b.value:
        return a.number < b.number
    return a.value > b.value if mode == "max" else a.value < b.value


class FinishedTrialError(RuntimeError):
    """A write to a trial that already finished (finished trials are immutable)."""


class StaleStateError(StorageError):
    """Another worker changed the study's shared state since this worker read it."""


class Storage(ABC):
    """Where studies, trials and reports live. See the module docstring for the contract."""

    url: str
    read_only: bool = False
    """Whether every write raises StorageReadOnlyError (opened for reading, or on a
    location that cannot be written)."""

    # -- studies ----------------------------------------------------------------------
    @abstractmethod
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
        """Create a study; raise DuplicateStudyError if the name exists."""

    @abstractmethod
    def get_study(self, name: str) -> StudyRecord:
        """Return the study; raise StudyNotFoundError if absent."""

    @abstractmethod
    def list_studies(self) -> list[StudySummary]:
        """All studies, oldest first."""

    @abstractmethod
    def delete_study(self, name: str) -> None:
        """Remove a study with its trials and reports."""

    @abstractmethod
    def update_study(self, study_id: int, update: StudyUpdate) -> None:
        """Write study-level state on its own (no trial change)."""

    @abstractmethod
    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        """Store (or replace) one JSON-serialisable attribute of a study.

        The other attributes are kept. Unlike a finished trial, a study stays writable:
        tools built on studies (the comparison harness) record their results here.
        Raise StudyNotFoundError for an unknown id and StorageError for a value that is
        not JSON-serialisable (nothing is written then).
        """

    # -- leases -----------------------------------------------------------------------
    @abstractmethod
    def now(self) -> float:
        """The storage's clock in seconds since the epoch (the database server's, when
        there is one), so leases mean the same on every machine."""

    @abstractmethod
    def renew_leases(self, trial_ids: list[int]) -> None:
        """Mark these running trials as alive now (their workers' heartbeat)."""

    @abstractmethod
    def expired_trials(self, study_id: int, lease_seconds: float) -> list[TrialRecord]:
        """RUNNING trials of the study not heard from for more than ``lease_seconds``."""

    # -- trials -----------------------------------------------------------------------
    @abstractmethod
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
        """Create a trial with the next number of its study (status RUNNING or WAITING)."""

    @abstractmethod
    def start_waiting_trial(
        self,
        study_id: int,
        *,
        worker: str | None,
        budget: int | None = None,
        meta: dict[str, Any] | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord | None:
        """Atomically turn the oldest WAITING trial into RUNNING and return it (None if none).

        ``budget``, when given, replaces the budget the trial was queued with; ``meta``
        entries (a scheduler's bookkeeping) are added to the trial's meta. ``update`` is
        written only when a trial was started."""

    @abstractmethod
    def resume_trial(
        self,
        trial_id: int,
        *,
        budget: int | None,
        worker: str | None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        """Turn a PAUSED trial into RUNNING again with a new budget."""

    @abstractmethod
    def add_report(
        self,
        trial_id: int,
        step: int,
        metrics: dict[str, float],
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> None:
        """Append a report (and the trial's active params when they changed)."""

    @abstractmethod
    def set_trial_params(self, trial_id: int, params: Config) -> None:
        """Record the parameters the running trial has used so far."""

    @abstractmethod
    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        """Store a JSON-serialisable attribute on a trial that has not finished."""

    @abstractmethod
    def pause_trial(
        self,
        trial_id: int,
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> None:
        """Mark a running trial PAUSED (its checkpoint is kept by the artifact store)."""

    @abstractmethod
    def finish_trial(
        self,
        trial_id: int,
        outcome: TrialOutcome,
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        """Write the final status, value and metrics; return the finished record."""

    @abstractmethod
    def get_trial(self, trial_id: int) -> TrialRecord:
        """One trial with its reports."""

    @abstractmethod
    def get_trials(
        self,
        study_id: int,
        *,
        statuses: tuple[TrialStatus, ...] | None = None,
        with_reports: bool = True,
        numbers: Collection[int] | None = None,
        min_number: int | None = None,
    ) -> list[TrialRecord]:
        """A study's trials in number order, optionally filtered by status.

        ``numbers`` and ``min_number`` select trials by number: those listed, or from
        ``min_number`` on (both given: either). A worker refreshing its view reads only
        the trials it had not seen finish, since finished trials never change."""

    def trial_table(self, study_id: int) -> list[TrialRow]:
        """Every trial of the study as a :class:`TrialRow`, in number order. SQL backends
        answer with one query, without reading reports."""
        return [TrialRow.of(t) for t in self.get_trials(study_id)]

    def snapshot(self, study_id: int) -> StudySnapshot:
        """The study's counts and its live trials, consistent with each other.

        Backends answer with aggregates, without reading the finished trials; this
        default, for other backends, reads them all."""
        everything = self.get_trials(study_id)
        retried = frozenset(t.retry_of for t in everything if t.retry_of is not None)
        finished = [t for t in everything if t.status.is_finished]
        return StudySnapshot(
            newest=max((t.number for t in everything), default=-1),
            counted=sum(t.counts_toward_budget and t.number not in retried for t in finished),
            finished_steps=sum(t.steps_trained for t in finished),
            retried=retried,
            live=tuple(t for t in everything if not t.status.is_finished),
        )

    def best_trial(self, study_id: int, mode: str) -> TrialRecord | None:
        """The completed trial with the best value for ``mode`` ("min"/"max"), earliest
        on ties; when none completed, the best pruned one the same way; else None.
        Trials without a value (or NaN) never rank.

        Backends answer without reading the whole study (kept as trials finish, or an
        index); this default, for other backends, reads the finished trials."""
        for status in (TrialStatus.COMPLETED, TrialStatus.PRUNED):
            best: TrialRecord | None = None
            for t in self.get_trials(study_id, statuses=(status,), with_reports=False):
                if t.value is None or t.value != t.value:
                    continue
                if best is None or ranks_before(t, best, mode):
                    best = t
            if best is not None:
                return self.get_trial(best.trial_id)
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
