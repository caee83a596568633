"""What executors that run trials in other processes share: the worker-side channel
proxy, the message protocol, and the description of how a worker died.

A worker runs :func:`~tunelab.executors.base.run_trial` with a :class:`ChannelProxy`
as the trial's channel. Every channel call becomes a request message answered by the
driver, which owns the storage, the searcher and the scheduler; so a report is still
committed before ``trial.report`` returns, wherever the trial runs.
"""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from typing import Any

from tunelab.space import Config, Param, Value
from tunelab.storage.base import TrialOutcome
from tunelab.trial import Decision, FailureKind, TrialChannel, TrialStatus

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TUNELAB_NUM_THREADS",
)


class ChannelProxy(TrialChannel, ABC):
    """A TrialChannel whose every call is answered by the driver."""

    @abstractmethod
    def call(self, method: str, *args: Any) -> Any:
        """Send ``method(*args)`` to the driver; return its answer or raise its error."""

    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        value: Value = self.call("resolve_param", number, param, config)
        return value

    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        return Decision(self.call("report", number, step, metrics, params))

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.call("set_user_attr", number, key, value)


def answer(channel: TrialChannel, method: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """Run a proxied call on the driver's channel: ("ok", result) or ("error", exception)."""
    try:
        return "ok", getattr(channel, method)(*args)
    except Exception as exc:  # the error belongs to the trial that asked
        return "error", exc


def thread_environment(threads: int | None) -> dict[str, str]:
    """Environment variables that cap the math libraries' threads (read at import time)."""
    if threads is None:
        return {}
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def apply_thread_limit() -> None:
    """In a worker, before a trial: cap torch's threads too when it is loaded."""
    import sys

    threads = os.environ.get("TUNELAB_NUM_THREADS")
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


def lost_worker_outcome(description: str) -> TrialOutcome:
    """A FAILED outcome for a trial whose worker died under it."""
    return TrialOutcome(
        TrialStatus.FAILED, error=f"worker lost: {description}", failure=FailureKind.WORKER_LOST
    )


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "(exit status unknown)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (killed: out of memory, or by hand)" if name == "SIGKILL" else ""
        return f"from {name}{hint}"
    return f"with exit code {exitcode}"
