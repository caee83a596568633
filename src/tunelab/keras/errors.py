"""Keras Tuner's errors (``keras_tuner.errors``), with its semantics.

Raise :class:`FailedTrialError` from ``build``, ``fit`` or ``run_trial`` to fail the
trial: the search goes on (until ``max_consecutive_failed_trials`` trials fail in a
row). Raise a :class:`FatalError` (or ``FatalValueError``, ``FatalTypeError``,
``FatalRuntimeError``) to stop the whole search: the trial is recorded as failed and
``search`` raises the error.
"""

from __future__ import annotations

from tunelab.errors import AbortStudy


class FailedTrialError(Exception):
    """Fails the trial; the search goes on."""


class FatalError(AbortStudy):
    """Stops the search; ``search`` raises it after recording the trial as failed."""


class FatalValueError(FatalError, ValueError):
    """A :class:`FatalError` that is also a ``ValueError``."""


class FatalTypeError(FatalError, TypeError):
    """A :class:`FatalError` that is also a ``TypeError``."""


class FatalRuntimeError(FatalError, RuntimeError):
    """A :class:`FatalError` that is also a ``RuntimeError``."""


__all__ = [
    "FailedTrialError",
    "FatalError",
    "FatalRuntimeError",
    "FatalTypeError",
    "FatalValueError",
]
