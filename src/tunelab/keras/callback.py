"""The Keras callback that hands every finished epoch to the trial's reporter.

Kept apart because it imports Keras: ``import tunelab.keras`` does not, this module is
imported only when a search runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

EpochSink = Callable[[int, dict[str, Any], Any], None]
"""Receives (epochs trained so far, the epoch's logs, the model)."""


class TrialCallback(keras.callbacks.Callback):
    """Calls ``on_epoch(epoch + 1, logs, model)`` at the end of every epoch. An exception
    raised there (the trial was pruned or paused) stops ``model.fit``."""

    def __init__(self, on_epoch: EpochSink) -> None:
        super().__init__()
        self._on_epoch = on_epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._on_epoch(int(epoch) + 1, dict(logs or {}), self.model)
