"""Held-back test data that cannot be read by accident.

A :class:`SealedTestSet` keeps a dataset's test part behind a seal: reading ``x`` or
``y`` raises :class:`~tunelab.errors.SealedTestDataError` until
:meth:`SealedTestSet.unsealed` opens it, and it refuses to open while a trial's
objective runs (inside :func:`tuning_phase`, which :meth:`Task.__call__
<tunelab.tasks.base.Task.__call__>` and the built-in objectives enter). So "tuning
never sees test data" is enforced, not a convention: a task that evaluated on test
during tuning would fail its trials, loudly. Every opening is logged in
:attr:`SealedTestSet.openings`, which is how tests prove test data was read exactly once,
after tuning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunelab.errors import SealedTestDataError

_TUNING: ContextVar[str | None] = ContextVar("tunelab_tuning_phase", default=None)


@contextmanager
def tuning_phase(what: str = "a trial's objective") -> Iterator[None]:
    """Mark the code inside as tuning: no sealed test set may be opened within it."""
    token = _TUNING.set(what)
    try:
        yield
    finally:
        _TUNING.reset(token)


def in_tuning_phase() -> bool:
    """Whether the current thread (or task) is inside :func:`tuning_phase`."""
    return _TUNING.get() is not None


def row_hashes(x: NDArray[Any]) -> list[str]:
    """One SHA-1 per row of ``x`` (its bytes after a C-contiguous reshape to 2-D)."""
    rows = np.ascontiguousarray(x).reshape(len(x), -1)
    return [hashlib.sha1(row.tobytes()).hexdigest() for row in rows]


class SealedTestSet:
    """A dataset's test part, readable only inside :meth:`unsealed`.

    ``len()`` and :meth:`row_hashes` (for the duplicate check) work while sealed: they
    tell nothing a model could learn from. The arrays are read-only.
    """

    def __init__(self, x: NDArray[Any], y: NDArray[Any], *, name: str = "dataset") -> None:
        if len(x) != len(y):
            raise ValueError(f"dataset {name!r}: x_test has {len(x)} rows but y_test has {len(y)}")
        x.setflags(write=False)
        y.setflags(write=False)
        self.name = name
        self._x = x
        self._y = y
        self._open = 0
        self.openings: list[str] = []
        """Why the set was opened, once per :meth:`unsealed` call, in order."""

    def __len__(self) -> int:
        return len(self._y)

    def __repr__(self) -> str:
        state = "open" if self._open else "sealed"
        return f"SealedTestSet({self.name!r}, rows={len(self)}, {state})"

    @property
    def is_sealed(self) -> bool:
        return self._open == 0

    def _check(self, what: str) -> None:
        if self._open == 0:
            raise SealedTestDataError(
                f"{self.name}: {what} of the held-back test part was read while it is sealed. "
                "Tuning may read train and validation data only; test data is opened by "
                "final_evaluation (SealedTestSet.unsealed) after tuning ends."
            )

    @property
    def x(self) -> NDArray[Any]:
        """The test inputs; raises :class:`SealedTestDataError` while sealed."""
        self._check("x")
        return self._x

    @property
    def y(self) -> NDArray[Any]:
        """The test labels; raises :class:`SealedTestDataError` while sealed."""
        self._check("y")
        return self._y

    @contextmanager
    def unsealed(self, reason: str) -> Iterator[tuple[NDArray[Any], NDArray[Any]]]:
        """Open the seal for the final evaluation and yield ``(x, y)``; sealed again after.

        Refused inside :func:`tuning_phase`: a trial's objective never reads test data.
        """
        if in_tuning_phase():
            raise SealedTestDataError(
                f"{self.name}: the test part cannot be opened during tuning "
                f"(inside {_TUNING.get()}); run final_evaluation after the study ends"
            )
        self.openings.append(reason)
        self._open += 1
        try:
            yield self._x, self._y
        finally:
            self._open -= 1

    def row_hashes(self) -> list[str]:
        """Row digests for :func:`~tunelab.tasks.data.find_overlaps`; allowed while sealed."""
        return row_hashes(self._x)

    def __getstate__(self) -> dict[str, Any]:
        # A copy sent to another process starts sealed, whatever this one is doing.
        state = dict(self.__dict__)
        state["_open"] = 0
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._x.setflags(write=False)
        self._y.setflags(write=False)
