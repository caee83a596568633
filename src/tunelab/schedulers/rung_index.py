"""ASHA's rungs, kept current from a study view's change log.

For every rung below the last: the trials recorded there (those that reported at or past
the rung's epoch), ranked by their value at the rung, and among them the paused ones
waiting there for a promotion. The index reads a view's lists in full once per change log
(:class:`~tunelab.schedulers.base.TrialChanges`) and then only the trials logged since,
so a decision costs the same in a study of a hundred trials and of a hundred thousand.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from tunelab.schedulers.base import SchedulerView, TrialChanges, value_at
from tunelab.trial import TrialRecord, TrialStatus

RankKey = tuple[float, int]
"""(signed value, trial number): lower ranks first; a NaN value ranks last."""


class RungIndex:
    """The trials of each rung in ``rungs`` (epochs), ranked for ``mode``."""

    def __init__(self, rungs: Sequence[int]) -> None:
        self.rungs = tuple(rungs)
        self._log: TrialChanges | None = None
        self._cursor = 0
        self._metric = ""
        self._sign = 1.0
        self._ranked: list[list[RankKey]] = []
        self._waiting: list[list[RankKey]] = []  # paused at the rung, not promoted
        self._entries: dict[int, tuple[RankKey | None, ...]] = {}
        self._waits: dict[int, tuple[bool, ...]] = {}

    def sync(self, view: SchedulerView) -> bool:
        """Bring the index up to ``view``; False when the view has no change log (then
        the caller ranks from the lists themselves)."""
        if view.changes is None or view.lookup is None:
            return False
        sign = -1.0 if view.mode == "max" else 1.0
        if view.changes is not self._log or view.metric != self._metric or sign != self._sign:
            self._metric, self._sign, self._log = view.metric, sign, view.changes
            self._cursor = len(view.changes)
            self._ranked = [[] for _ in self.rungs]
            self._waiting = [[] for _ in self.rungs]
            self._entries.clear()
            self._waits.clear()
            for t in (*view.finished, *view.running, *view.paused):
                self._update(t.number, t)
            return True
        logged = view.changes.since(self._cursor)
        self._cursor += len(logged)
        for number in dict.fromkeys(logged):
            self._update(number, view.lookup(number))
        return True

    def promotion(self, eta: int) -> tuple[int, int] | None:
        """(trial number, rung position) of the trial to promote: from the highest rung
        down, the best paused trial waiting at a rung if it ranks in the top ``1/eta`` of
        the trials recorded there; None when no rung has one."""
        for k in range(len(self.rungs) - 1, -1, -1):
            waiting = self._waiting[k]
            if not waiting:
                continue
            best = waiting[0]
            ranked = self._ranked[k]
            if bisect.bisect_left(ranked, best) < len(ranked) // eta:
                return best[1], k
        return None

    def rank(self, k: int, trial: TrialRecord, metric: str, mode: str) -> tuple[int, int]:
        """(how many recorded trials rank before ``trial``, how many are recorded) at rung
        ``k``, ``trial`` counted with its value there (a missing one ranks last)."""
        own = _key(trial, self.rungs[k], metric, -1.0 if mode == "max" else 1.0)
        ranked = self._ranked[k]
        stored = self._entries.get(trial.number)
        stale = stored[k] if stored is not None else None
        before = bisect.bisect_left(ranked, own)
        if stale is not None and stale < own:
            before -= 1
        return before, len(ranked) - (stale is not None) + 1

    def _update(self, number: int, record: TrialRecord | None) -> None:
        old_keys = self._entries.pop(number, None)
        old_waits = self._waits.pop(number, None)
        if old_keys is not None and old_waits is not None:
            for k, key in enumerate(old_keys):
                if key is not None:
                    _discard(self._ranked[k], key)
                    if old_waits[k]:
                        _discard(self._waiting[k], key)
        if record is None:
            return
        last_step = max((r.step for r in record.reports), default=0)
        paused = record.status is TrialStatus.PAUSED
        keys: list[RankKey | None] = []
        waits: list[bool] = []
        for k, rung in enumerate(self.rungs):
            value = value_at(record, self._metric, rung) if last_step >= rung else None
            if value is None:
                keys.append(None)
                waits.append(False)
                continue
            key = _signed_key(value, number, self._sign)
            bisect.insort(self._ranked[k], key)
            waiting = paused and (record.budget or 0) <= rung
            if waiting:
                bisect.insort(self._waiting[k], key)
            keys.append(key)
            waits.append(waiting)
        self._entries[number] = tuple(keys)
        self._waits[number] = tuple(waits)


def rank_of(
    trial: TrialRecord, rung: int, trials: Sequence[TrialRecord], metric: str, mode: str
) -> tuple[int, int]:
    """:meth:`RungIndex.rank` from a list of trials instead of an index."""
    sign = -1.0 if mode == "max" else 1.0
    own = _key(trial, rung, metric, sign)
    others = [
        _key(t, rung, metric, sign)
        for t in trials
        if t.number != trial.number and max((r.step for r in t.reports), default=0) >= rung
    ]
    return sum(key < own for key in others), len(others) + 1


def _key(trial: TrialRecord, rung: int, metric: str, sign: float) -> RankKey:
    return _signed_key(value_at(trial, metric, rung), trial.number, sign)


def _signed_key(value: float | None, number: int, sign: float) -> RankKey:
    """The rank key of ``value``: a missing or NaN value ranks last."""
    return (math.inf if value is None or math.isnan(value) else sign * value, number)


def _discard(ranked: list[RankKey], key: RankKey) -> None:
    at = bisect.bisect_left(ranked, key)
    if at < len(ranked) and ranked[at] == key:
        del ranked[at]
