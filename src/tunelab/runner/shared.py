"""The study state workers share, written only against the version it was computed from.

Every write that changes shared state (a new trial, a finished one, searcher or
scheduler state, the study's elapsed time) carries the study's state version this worker
last saw; if another worker wrote in between, storage refuses it
(:class:`~tunelab.storage.base.StaleStateError`) and :meth:`SharedState.versioned`
refreshes this worker's view and decides again. The study's elapsed time is this
worker's share of it plus what is stored: it runs on :func:`tunelab.clock.monotonic`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from tunelab import clock
from tunelab.budget import Budget, BudgetUsage
from tunelab.runner.handle import StudyHandle
from tunelab.runner.view import TrialView
from tunelab.space import Space
from tunelab.storage.base import StaleStateError, StudyUpdate

_T = TypeVar("_T")


class StoredState:
    """A state_dict as last stored, so that only a changed one is written again."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] | None = None  # None: not known yet

    def changed(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """``state`` as it will read back from storage (JSON round trip: tuples become
        lists), or None when it equals the stored one."""
        if state == self.stored:  # the common case, without serialising
            return None
        normal: dict[str, Any] = _as_stored(state)
        return None if normal == self.stored else normal


_SCALARS = (str, int, float, bool, type(None))


def _as_stored(state: dict[str, Any]) -> dict[str, Any]:
    """``json.loads(json.dumps(state))``, without serialising when ``state`` holds only
    str-keyed dicts, lists, tuples and scalars (a searcher's RNG state on every trial)."""

    def plain(value: Any) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is dict and all(type(k) is str for k in value):
            return {k: plain(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [plain(v) for v in value]
        raise TypeError  # anything else: let JSON say what it becomes

    try:
        return plain(state)
    except TypeError:
        normal: dict[str, Any] = json.loads(json.dumps(state))
        return normal


class SharedState:
    """This worker's copy of the study's shared state: its version, the searcher's and
    scheduler's state as stored, and the study's elapsed time (in ``usage.seconds``)."""

    def __init__(
        self, study: StudyHandle, view: TrialView, usage: BudgetUsage, budget: Budget
    ) -> None:
        self.study = study
        self.view = view
        self.usage = usage
        self.budget = budget
        self._time_and_epochs = replace(budget, max_trials=None)
        self.version = 0
        self._searcher_state = StoredState()
        self._scheduler_state = StoredState()
        self._clock = clock.monotonic()
        self._stored_seconds = 0.0  # the study's clock as last written or read
        self._pending_elapsed = 0.0  # this worker's running time not written yet

    def load(self) -> None:
        """Read the study's version, clock and searcher and scheduler state."""
        record = self.study.storage.get_study(self.study.name)
        self.version = record.state_version
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

    def restart_clock(self) -> None:
        """Count this worker's running time from now on."""
        self._clock = clock.monotonic()

    def update(self, *, space: bool = False, elapsed: bool = False) -> StudyUpdate:
        """Searcher/scheduler state changed since the last write (and elapsed time),
        to be written only if the study is still at the version this worker last saw."""
        searcher_state = self._searcher_state.changed(self.study.searcher.state_dict())
        scheduler_state = self._scheduler_state.changed(self.study.scheduler.state_dict())
        if elapsed:
            self.tick()
        return StudyUpdate(
            searcher_state=searcher_state,
            scheduler_state=scheduler_state,
            space=self.study.space.to_dict() if space else None,
            elapsed_delta=self._pending_elapsed if elapsed else 0.0,
            expected_version=self.version,
        )

    def tick(self) -> None:
        """Move this worker's running time into the pending clock; update the usage."""
        now = clock.monotonic()
        self._pending_elapsed += now - self._clock
        self._clock = now
        self.usage.seconds = self._stored_seconds + self._pending_elapsed

    def written(self, update: StudyUpdate) -> None:
        """Record that ``update`` is stored: the version moved on by one."""
        self.version += 1
        if update.searcher_state is not None:
            self._searcher_state.stored = update.searcher_state
        if update.scheduler_state is not None:
            self._scheduler_state.stored = update.scheduler_state
        if update.elapsed_delta:
            self._stored_seconds += update.elapsed_delta
            self._pending_elapsed -= update.elapsed_delta

    def versioned(
        self, write: Callable[[StudyUpdate], _T], decide: Callable[[], Any], **kw: bool
    ) -> _T:
        """``decide()`` then ``write(update)``; when another worker wrote first, refresh
        and decide again (the decision may change with what the others did)."""
        while True:
            decide()
            update = self.update(**kw)
            try:
                result = write(update)
            except StaleStateError:
                self.refresh()
                continue
            self.written(update)
            return result

    def write_study(self, update: StudyUpdate) -> None:
        """Write ``update`` at the end of a run; when another worker moved on, keep only
        its clock."""
        try:
            self.study.storage.update_study(self.study.study_id, update)
        except StaleStateError:
            update = StudyUpdate(elapsed_delta=update.elapsed_delta)
            self.study.storage.update_study(self.study.study_id, update)
        self.written(update)

    def refresh(self) -> None:
        """Reload the study's shared state and the trials that changed since last seen."""
        storage, study = self.study.storage, self.study
        record = storage.get_study(study.name)
        self.version = record.state_version
        self._stored_seconds = record.elapsed_seconds
        self.tick()
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
        view = self.view
        live = [*view.live, *view.paused]
        changed = storage.get_trials(study.study_id, numbers=live, min_number=view.newest() + 1)
        view.absorb(changed)

    def epochs_spent(self) -> bool:
        """Whether the study's epoch budget is used up (every epoch reported)."""
        limit = self.budget.max_epochs
        return limit is not None and self.usage.epochs >= limit

    def limit_reached(self) -> str | None:
        """The epoch or seconds limit, once reached (trial counts only limit new trials)."""
        self.tick()
        return self.usage.exhausted(self._time_and_epochs)
