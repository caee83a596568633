"""Keras Tuner's error for a trial that should fail (``keras_tuner.errors``)."""

from __future__ import annotations


class FailedTrialError(Exception):
    """Raise it from ``build`` or ``fit`` to fail the trial; the search goes on (until
    ``max_consecutive_failed_trials`` trials fail in a row)."""
