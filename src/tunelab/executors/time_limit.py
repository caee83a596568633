"""Interrupting a trial that runs in the study's own thread when the time limit passes.

A worker process or a Ray actor can be ended from outside at ``max_seconds``; a trial
running inline cannot. Instead a timer thread sends SIGALRM to the main thread at the
deadline, and the handler raises :class:`TimeLimitReached` inside the objective, even
while it sleeps or waits (a long C call, such as one matrix product, finishes first).

Calls from the trial to the study (a report being stored) are never interrupted: a
deadline that passes during one is retried a moment later, and the report's own check
of the limit usually stops the trial first. Another SIGALRM (an alarm of the user's, or
pytest-timeout's) still reaches its own handler. Where this cannot work (off the main
thread, or on a platform without ``pthread_kill``) an inline trial stops at its first
report after the limit.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

from tunelab.space import Config, Param, Value
from tunelab.trial import Decision, TrialChannel

_T = TypeVar("_T")
_RETRY_SECONDS = 0.05
_SETTLE_SECONDS = 1.0


class TimeLimitReached(BaseException):
    """Raised inside an objective when the study's time limit passes. A BaseException,
    so that an objective's ``except Exception`` does not swallow it."""


class Interruption:
    """Raises TimeLimitReached in the main thread's objective at ``deadline``
    (a ``time.monotonic()`` value); see the module docstring."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._main = threading.main_thread().ident
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False
        self._sent = 0  # signals our timer sent ...
        self._seen = 0  # ... and those our handler has run for
        self._inside = False  # the objective's own code is running
        self._shielded = 0  # depth of calls to the study in progress
        self._previous: Any = None

    @staticmethod
    def possible() -> bool:
        return (
            hasattr(signal, "pthread_kill")
            and hasattr(signal, "SIGALRM")
            and threading.current_thread() is threading.main_thread()
        )

    def channel(self, inner: TrialChannel) -> TrialChannel:
        """``inner``, with its calls shielded from the interruption."""
        return _ShieldedChannel(inner, self)

    def run(self, function: Callable[[], _T]) -> _T:
        """``function()``, interrupted by TimeLimitReached if the deadline passes."""
        self._previous = signal.signal(signal.SIGALRM, self._on_signal)
        try:
            self._inside = True
            self._arm(max(0.0, self._deadline - time.monotonic()))
            try:
                return function()
            finally:
                self._inside = False
        finally:
            self._close()
            signal.signal(signal.SIGALRM, self._previous)

    @contextmanager
    def shield(self) -> Iterator[None]:
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1

    def _arm(self, delay: float) -> None:
        timer = threading.Timer(delay, self._ring)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _ring(self) -> None:  # the timer thread
        with self._lock:
            if self._closed or self._main is None:
                return
            self._sent += 1
            signal.pthread_kill(self._main, signal.SIGALRM)

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
        # A signal already sent must reach this handler, not the one restored after it;
        # sleeping lets it in (a pending signal interrupts the sleep).
        settle = time.monotonic() + _SETTLE_SECONDS
        while self._seen < self._sent and time.monotonic() < settle:
            time.sleep(0.001)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._seen >= self._sent:  # not ours: someone else's alarm
            self._forward(signum, frame)
            return
        self._seen += 1
        if not self._inside:
            return
        if self._shielded:
            with self._lock:
                if not self._closed:
                    self._arm(_RETRY_SECONDS)
            return
        self._inside = False  # raise once
        raise TimeLimitReached("the study's time limit (max_seconds) was reached")

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:  # the default action ends the process
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGALRM)


class _ShieldedChannel(TrialChannel):
    def __init__(self, inner: TrialChannel, interruption: Interruption) -> None:
        self._inner = inner
        self._interruption = interruption

    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        with self._interruption.shield():
            return self._inner.resolve_param(number, param, config)

    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        with self._interruption.shield():
            return self._inner.report(number, step, metrics, params)

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        with self._interruption.shield():
            self._inner.set_user_attr(number, key, value)
