"""A worker's in-memory view of its study's trials, kept current without rereading them.

The view holds what this worker knows: the trials it runs, other workers' running and
queued trials, paused ones, the finished ones (those finished before the study was
loaded are read from storage only if a searcher or scheduler reads them), which trials
a retry replaced, the best trial, and the budget counts (trials and epochs) that follow
from them. Its cost grows with the trials merged into it, not with the study.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from tunelab.budget import BudgetUsage
from tunelab.finished_trials import FinishedTrials
from tunelab.runner.handle import StudyHandle
from tunelab.schedulers.base import SchedulerView, TrialChanges
from tunelab.searchers.base import History
from tunelab.storage.base import ranks_before
from tunelab.trial import TrialRecord, TrialStatus

_FINISHED = tuple(s for s in TrialStatus if s.is_finished)


_V = TypeVar("_V")


class LoggedDict(dict[int, _V]):
    """Trials by number; every key set or removed is noted in ``changes``."""

    def __init__(self, changes: TrialChanges) -> None:
        super().__init__()
        self.changes = changes

    def __setitem__(self, number: int, value: _V) -> None:
        super().__setitem__(number, value)
        self.changes.note(number)

    def __delitem__(self, number: int) -> None:
        super().__delitem__(number)
        self.changes.note(number)

    def pop(self, number: int, *default: Any) -> Any:
        if number in self:
            self.changes.note(number)
        return super().pop(number, *default)

    def clear(self) -> None:
        for number in self:
            self.changes.note(number)
        super().clear()


class Joined(Sequence[TrialRecord]):
    """Several collections of trials read as one sequence without copying them (a study
    with ASHA holds tens of thousands of paused trials, and a view is made for every
    decision). Valid until the collections change: a view is used at once."""

    def __init__(self, *parts: Collection[TrialRecord]) -> None:
        self._parts = parts
        self._items: list[TrialRecord] | None = None

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def __iter__(self) -> Iterator[TrialRecord]:
        return itertools.chain.from_iterable(self._parts)

    @overload
    def __getitem__(self, index: int) -> TrialRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TrialRecord]: ...

    def __getitem__(self, index: int | slice) -> TrialRecord | Sequence[TrialRecord]:
        if self._items is None:
            self._items = list(self)
        return self._items[index]


@dataclass
class Running:
    """A trial this worker runs: its record kept current (params, reports) as it reports."""

    record: TrialRecord
    params_written: int = 0
    taken_over: bool = False  # another worker ended it after its lease expired


class RunningRecords(Collection[TrialRecord]):
    """The current records of the trials running here, read without a copy (a view is
    made for every decision, and a simulated study runs hundreds of trials at once)."""

    def __init__(self, running: Mapping[int, Running]) -> None:
        self._running = running

    def __len__(self) -> int:
        return len(self._running)

    def __iter__(self) -> Iterator[TrialRecord]:
        return (r.record for r in self._running.values())

    def __contains__(self, item: object) -> bool:
        return any(item is r.record for r in self._running.values())


class TrialView:
    """The trials of ``study`` as this worker knows them, and the counts in ``usage``
    (trials and epochs) that follow from them."""

    def __init__(self, study: StudyHandle, usage: BudgetUsage) -> None:
        self.study = study
        self.usage = usage
        # Trials finished when the study was loaded (numbered up to newest_at_load and not
        # live then) are read from storage only if a searcher or scheduler reads them.
        self.newest_at_load = -1
        self.live_at_load: frozenset[int] = frozenset()
        self._older: list[TrialRecord] | None = None
        # Every change to the lists a scheduler sees (running, paused, finished) is logged.
        self.changes = TrialChanges()
        self.trials: dict[int, TrialRecord] = {}  # trials known, but those running here
        self._finished = FinishedTrials()
        self._finished_numbers: set[int] = set()  # those finished since the study was loaded
        self._scheduled = FinishedTrials()  # the finished trials a scheduler sees
        self._steps: dict[int, int] = {}  # steps trained by every trial known
        # other workers' running or queued trials
        self.live: LoggedDict[TrialRecord] = LoggedDict(self.changes)
        self.running: LoggedDict[Running] = LoggedDict(self.changes)  # the trials run here
        self.paused: LoggedDict[TrialRecord] = LoggedDict(self.changes)
        self.retried: set[int] = set()  # trials another trial retries (they do not count)
        self._best: TrialRecord | None = None
        self._best_pruned: TrialRecord | None = None  # the best, when none completed

    # -- views given to the searcher and scheduler -------------------------------------
    def others(self, *statuses: TrialStatus) -> list[TrialRecord]:
        """Other workers' trials that are running or queued."""
        if not self.live:  # one worker alone: asked several times per trial
            return []
        return [t for t in self.live.values() if t.status in statuses]

    def waiting(self) -> list[TrialRecord]:
        return self.others(TrialStatus.WAITING)

    def history(self) -> History:
        return History(
            space=self.study.space,
            metric=self.study.metric,
            mode=self.study.mode,
            finished=self._finished,
            pending=Joined(
                RunningRecords(self.running),
                self.paused.values(),
                self.others(TrialStatus.RUNNING, TrialStatus.WAITING),
            ),
        )

    def scheduler_view(self) -> SchedulerView:
        running = Joined(RunningRecords(self.running), self.others(TrialStatus.RUNNING))
        return SchedulerView(
            metric=self.study.metric,
            mode=self.study.mode,
            finished=self._scheduled,
            running=running,
            paused=Joined(self.paused.values()),
            space=self.study.space,
            changes=self.changes,
            lookup=self.scheduler_record,
        )

    def scheduler_record(self, number: int) -> TrialRecord | None:
        """Trial ``number`` as it stands in the scheduler's view (None: in no list)."""
        running = self.running.get(number)
        if running is not None:
            return running.record
        if number in self.paused:
            return self.paused[number]
        other = self.live.get(number)
        if other is not None:
            return other if other.status is TrialStatus.RUNNING else None
        if number in self._finished_numbers and number not in self.retried:
            return self.trials.get(number)
        return None

    def note_report(self, number: int) -> None:
        """A trial running here reported (its record in ``running`` changed)."""
        self.changes.note(number)

    def trials_in_use(self) -> int:
        """Trials that use up ``max_trials``: finished, running, paused and queued trials
        of every worker."""
        return (
            self.usage.trials
            + len(self.running)
            + len(self.paused)
            + len(self.others(TrialStatus.RUNNING, TrialStatus.WAITING))
        )

    def is_resumed(self) -> bool:
        """Whether the study had trials when this worker joined it."""
        return bool(self.trials) or self.newest_at_load >= 0

    def newest(self) -> int:
        """The highest trial number this worker knows (-1: none)."""
        return max([*self.trials, *self.running, self.newest_at_load])

    # -- loading and merging -----------------------------------------------------------
    def load(self) -> None:
        """Read the study's counts, best trial and live trials (not its finished ones)."""
        storage, study_id = self.study.storage, self.study.study_id
        snapshot = storage.snapshot(study_id)
        # A new log: a scheduler reads the lists in full again.
        self.changes = TrialChanges()
        for logged in (self.live, self.running, self.paused):
            logged.changes = self.changes
        self.newest_at_load = snapshot.newest
        self.live_at_load = frozenset(t.number for t in snapshot.live)
        self.retried.update(snapshot.retried)
        self.usage.trials = snapshot.counted
        self.usage.epochs = snapshot.finished_steps
        if snapshot.newest >= len(snapshot.live):  # some trials had finished
            self._finished = FinishedTrials(self._older_finished)
            self._scheduled = FinishedTrials(
                lambda: [t for t in self._older_finished() if t.number not in self.retried]
            )
            best = storage.best_trial(study_id, self.study.mode)
            if best is not None and best.status is TrialStatus.COMPLETED:
                self._best = best
            elif best is not None:
                self._best_pruned = best
        self.absorb(list(snapshot.live))

    def absorb(self, trials: list[TrialRecord]) -> None:
        """Merge trials read from storage into this worker's view (its cost grows with
        the trials given, not with the study)."""
        for t in trials:
            if t.number in self.running or self._is_older(t.number):
                continue
            self.trials[t.number] = t
            self.set_steps(t.number, t.steps_trained)
            self.paused.pop(t.number, None)
            self.live.pop(t.number, None)
            if t.retry_of is not None:
                self.mark_retried(t.retry_of)
            if t.status is TrialStatus.PAUSED:
                self.paused[t.number] = t
            elif t.status.is_finished:
                self.add_finished(t)
            else:
                self.live[t.number] = t

    def adopt(self, record: TrialRecord) -> None:
        """This worker runs ``record`` from now on."""
        self.running[record.number] = Running(record, params_written=len(record.params))
        self.set_steps(record.number, record.steps_trained)
        self.trials.pop(record.number, None)
        self.live.pop(record.number, None)

    def add_finished(self, t: TrialRecord) -> None:
        """Count a trial that finished (once), keeping the lists in number order."""
        if t.number in self._finished_numbers or self._is_older(t.number):
            return
        self._finished_numbers.add(t.number)
        self._finished.add(t)
        if t.number not in self.retried:
            self._scheduled.add(t)
            self.changes.note(t.number)
        if self._counts(t):
            self.usage.trials += 1
        self._note_best(t)

    def mark_retried(self, number: int) -> None:
        """A retry replaces trial ``number``: it no longer counts, nor is the scheduler's
        (its retry takes its place: its bracket, rung and budget)."""
        if number in self.retried:
            return
        self.retried.add(number)
        if number in self._finished_numbers or self._is_older(number):
            failed = self.known(number)
            if failed is not None and failed.counts_toward_budget:
                self.usage.trials -= 1
            self._scheduled.remove_number(number)
            self.changes.note(number)

    def set_steps(self, number: int, steps: int) -> None:
        """Keep ``usage.epochs`` the sum of every known trial's steps."""
        self.usage.epochs += steps - self._steps.get(number, 0)
        self._steps[number] = steps

    def known(self, number: int) -> TrialRecord | None:
        """Trial ``number`` as this worker knows it, read from storage when it is one of
        the older trials not read yet (None: no such trial, or running here)."""
        if number in self.trials:
            return self.trials[number]
        if self._is_older(number):
            found = self.study.storage.get_trials(self.study.study_id, numbers=[number])
            if found:
                self.trials[number] = found[0]
                return found[0]
        return None

    def _is_older(self, number: int) -> bool:
        """Whether trial ``number`` had finished when this worker loaded the study."""
        return number <= self.newest_at_load and number not in self.live_at_load

    def _older_finished(self) -> list[TrialRecord]:
        """The trials finished when the study was loaded (read once, on first use)."""
        if self._older is None:
            stored = self.study.storage.get_trials(self.study.study_id, statuses=_FINISHED)
            self._older = [t for t in stored if self._is_older(t.number)]
        return self._older

    def _counts(self, t: TrialRecord) -> bool:
        """Whether a finished trial uses up the trial budget (a retried one does not)."""
        return t.counts_toward_budget and t.number not in self.retried

    # -- the best trial ------------------------------------------------------------------
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

    def leader(self) -> TrialRecord | None:
        """The best trial as Study.best_trial chooses it: completed, else pruned."""
        return self._best if self._best is not None else self._best_pruned
