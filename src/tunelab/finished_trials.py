"""A study's finished trials in number order, read from storage only when first needed.

A worker that opens a study with thousands of finished trials should not read them
all to run one more: random search and a FIFO scheduler never look at them. The list
starts with what the worker learns afterwards (trials it finishes, or sees finish) and
reads the trials that had finished before it opened the study on first use
(``len``, indexing, iteration), merging both in number order.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from typing import overload

from tunelab.trial import TrialRecord


def _number(t: TrialRecord) -> int:
    return t.number


class FinishedTrials(Sequence[TrialRecord]):
    """Finished trials in number order; ``older`` reads, once, those finished before.

    ``older`` must return trials that :meth:`add` is never given (the caller's
    bookkeeping guarantees it: they were finished when it loaded the study, and a
    finished trial never changes), and is called with no lock held.
    """

    def __init__(self, older: Callable[[], list[TrialRecord]] | None = None) -> None:
        self._older = older
        self._items: list[TrialRecord] = []

    @property
    def loaded(self) -> bool:
        """Whether the older trials have been read (or there were none to read)."""
        return self._older is None

    def add(self, t: TrialRecord) -> None:
        """Insert a trial in number order (at the end, usually)."""
        if self._items and self._items[-1].number > t.number:
            bisect.insort(self._items, t, key=_number)
        else:
            self._items.append(t)

    def remove_number(self, number: int) -> None:
        """Drop the trial ``number`` if present among those known (not the older ones)."""
        self._items = [t for t in self._items if t.number != number]

    def _all(self) -> list[TrialRecord]:
        if self._older is not None:
            older, self._older = self._older(), None
            merged = [*older, *self._items]
            merged.sort(key=_number)
            self._items = merged
        return self._items

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> TrialRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TrialRecord]: ...

    def __getitem__(self, index: int | slice) -> TrialRecord | Sequence[TrialRecord]:
        return self._all()[index]

    def __iter__(self) -> Iterator[TrialRecord]:
        return iter(self._all())
