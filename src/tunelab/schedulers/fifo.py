"""FIFO: every trial runs to its full budget; the default scheduler."""

from __future__ import annotations

from tunelab.errors import ConfigError
from tunelab.schedulers.base import Action, Scheduler, SchedulerView, Start


class FIFOScheduler(Scheduler):
    """Start trials one after another, each with ``max_epochs`` steps.

    ``max_epochs=None`` leaves the number of epochs to the objective.
    """

    name = "fifo"

    def __init__(self, *, max_epochs: int | None = None) -> None:
        if max_epochs is not None and max_epochs < 1:
            raise ConfigError(f"fifo: max_epochs must be >= 1, got {max_epochs}")
        self.max_epochs = max_epochs

    def next(self, view: SchedulerView) -> Action:
        return Start(budget=self.max_epochs)
