"""Where the engine reads the time: the real clocks, or a simulated one.

The timestamps the engine stores (trial created, started and ended; report times) and the
study's elapsed time and time limit go through :func:`now` and :func:`monotonic`. They read
the real clocks unless a :class:`Clock` is installed for the current context with
:func:`use`, which is how a simulated run stores simulated times. Leases and heartbeats keep
the real clock: they are about whether a process is alive, which simulation does not change.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Clock(ABC):
    """A source of time.

    ``now`` is seconds since the Unix epoch (what is stored); ``monotonic`` never goes
    backwards (durations and deadlines). Both advance together.
    """

    @abstractmethod
    def now(self) -> float:
        """Seconds since the Unix epoch."""

    @abstractmethod
    def monotonic(self) -> float:
        """A time that never goes backwards, for durations and deadlines."""


class RealClock(Clock):
    """The machine's clocks."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


_installed: ContextVar[Clock | None] = ContextVar("tunelab_clock", default=None)


def now() -> float:
    """Seconds since the Unix epoch on the current context's clock."""
    clock = _installed.get()
    return time.time() if clock is None else clock.now()


def monotonic() -> float:
    """The current context's monotonic time."""
    clock = _installed.get()
    return time.monotonic() if clock is None else clock.monotonic()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Read time from ``clock`` in this context (and this thread) until the block ends."""
    token = _installed.set(clock)
    try:
        yield clock
    finally:
        _installed.reset(token)
