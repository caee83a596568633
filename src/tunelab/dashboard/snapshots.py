"""What the dashboard knows of each study: its trials, re-read cheaply while it runs.

A finished trial never changes (storage contract), so after the first full read a
refresh reads only the trials that had not finished and those added since, the way a
worker refreshes its view. Each snapshot carries a ``version`` that changes exactly
when something the pages show changed, so the browser redraws only then and computed
views (plot data) are cached per version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from tunelab.storage import Storage, StudyRecord
from tunelab.trial import TrialRecord, TrialStatus

StudyStatus = Literal["running", "stalled", "waiting", "finished", "empty"]

STALLED_AFTER_SECONDS = 300.0
"""A study with unfinished trials but no activity for this long is shown as stalled
(its workers were probably stopped: a killed process leaves its trials RUNNING)."""

WAITING_AFTER_SECONDS = 30.0
"""A study whose unfinished trials are all queued or paused (none RUNNING) and that did
nothing for this long is shown as waiting: no worker is on it, and it continues when it
is run again (e.g. a run that ended at its epoch budget while a retry was queued, or
Hyperband trials paused for a next bracket). The delay keeps a worker's moment between
two trials from reading as waiting."""

REUSE_SECONDS = 0.5
"""A snapshot this fresh is served again without asking the storage: one page load
makes several requests at once, and they should share one read."""


def last_activity(trial: TrialRecord) -> float:
    """When the trial last did something: created, started, reported or ended."""
    times = [trial.created_at]
    if trial.started_at is not None:
        times.append(trial.started_at)
    if trial.reports:
        times.append(trial.reports[-1].time)
    if trial.ended_at is not None:
        times.append(trial.ended_at)
    return max(times)


@dataclass(frozen=True)
class StudySnapshot:
    """A study and all its trials (number order) as read at ``read_at``."""

    record: StudyRecord
    trials: tuple[TrialRecord, ...]
    version: int
    read_at: float
    activity: float
    """The latest activity of any trial (the study's creation when it has none)."""

    @property
    def name(self) -> str:
        return self.record.name

    def counts(self) -> dict[str, int]:
        """Trials per state (every state named, zeros included)."""
        counts = {s.value: 0 for s in TrialStatus}
        for t in self.trials:
            counts[t.status.value] += 1
        return counts

    def status(self, now: float) -> StudyStatus:
        if not self.trials:
            return "empty"
        unfinished = {t.status for t in self.trials if not t.status.is_finished}
        if not unfinished:
            return "finished"
        idle = now - self.activity
        if TrialStatus.RUNNING not in unfinished:
            return "running" if idle <= WAITING_AFTER_SECONDS else "waiting"
        return "running" if idle <= STALLED_AFTER_SECONDS else "stalled"

    def best(self) -> TrialRecord | None:
        """The best completed trial (earliest on ties), else the best pruned one: the
        same rule as :attr:`tunelab.Study.best_trial`."""
        sign = -1.0 if self.record.mode == "max" else 1.0
        for status in (TrialStatus.COMPLETED, TrialStatus.PRUNED):
            found = [t for t in self.trials if t.status is status and t.value is not None]
            if found:
                return min(found, key=lambda t: (sign * float(t.value or 0.0), t.number))
        return None

    def trial(self, number: int) -> TrialRecord | None:
        if 0 <= number < len(self.trials) and self.trials[number].number == number:
            return self.trials[number]  # numbers are dense from 0: the usual case
        return next((t for t in self.trials if t.number == number), None)


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshot: StudySnapshot | None = None


class SnapshotCache:
    """Snapshots of the studies of one storage, refreshed incrementally (thread-safe)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def snapshot(self, name: str) -> StudySnapshot:
        """The study as it is now (StudyNotFoundError when there is none by that name)."""
        with self._lock:
            entry = self._entries.setdefault(name, _Entry())
        with entry.lock:
            old = entry.snapshot
            if old is not None and time.time() - old.read_at < REUSE_SECONDS:
                return old
            entry.snapshot = self._refresh(name, old)
            return entry.snapshot

    def _refresh(self, name: str, old: StudySnapshot | None) -> StudySnapshot:
        record = self.storage.get_study(name)
        now = time.time()
        # A study deleted and made again under the same name may get the same id back.
        same = old is not None and (old.record.study_id, old.record.created_at) == (
            record.study_id,
            record.created_at,
        )
        if old is None or not same:
            trials = self.storage.get_trials(record.study_id)
            version = 1 if old is None else old.version + 1
            return _snapshot(record, trials, version, now)
        unfinished = [t.number for t in old.trials if not t.status.is_finished]
        next_number = old.trials[-1].number + 1 if old.trials else 0
        fresh = self.storage.get_trials(record.study_id, numbers=unfinished, min_number=next_number)
        merged = {t.number: t for t in old.trials}
        changed = record != old.record
        for t in fresh:
            if merged.get(t.number) != t:
                merged[t.number] = t
                changed = True
        if not changed:
            return StudySnapshot(old.record, old.trials, old.version, now, old.activity)
        ordered = [merged[n] for n in sorted(merged)]
        return _snapshot(record, ordered, old.version + 1, now)


def _snapshot(
    record: StudyRecord, trials: Sequence[TrialRecord], version: int, now: float
) -> StudySnapshot:
    activity = max((last_activity(t) for t in trials), default=record.created_at)
    return StudySnapshot(record, tuple(trials), version, now, activity)
