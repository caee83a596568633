"""A study's budget: trials, epochs summed over trials, and wall-clock seconds.

Whichever limit is reached first ends the study cleanly. Epochs are counted as
reports (an objective reports once per epoch); seconds are the study's accumulated
running time over all ``optimize`` calls, so a resumed study keeps its clock. The
seconds limit is hard: trials still running when it passes are ended (see
:mod:`tunelab.runner`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunelab.errors import ConfigError

if TYPE_CHECKING:
    from tunelab.trial import TrialRecord


@dataclass(frozen=True)
class Budget:
    """Limits for a study; None means no limit of that kind."""

    max_trials: int | None = None
    max_epochs: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_trials", "max_epochs"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.max_seconds is not None and (
            not isinstance(self.max_seconds, int | float)
            or not math.isfinite(self.max_seconds)
            or self.max_seconds <= 0
        ):
            raise ConfigError(f"max_seconds must be a positive number, got {self.max_seconds!r}")

    @property
    def is_bounded(self) -> bool:
        return any(v is not None for v in (self.max_trials, self.max_epochs, self.max_seconds))


@dataclass
class BudgetUsage:
    """What a study has used: trials that reached a verdict, epochs trained, seconds run."""

    trials: int = 0
    epochs: int = 0
    seconds: float = 0.0

    def exhausted(self, budget: Budget, *, running: int = 0) -> str | None:
        """The name of the first limit reached, counting ``running`` trials as used."""
        if budget.max_trials is not None and self.trials + running >= budget.max_trials:
            return "max_trials"
        if budget.max_epochs is not None and self.epochs >= budget.max_epochs:
            return "max_epochs"
        if budget.max_seconds is not None and self.seconds >= budget.max_seconds:
            return "max_seconds"
        return None

    def describe(self, budget: Budget) -> str:
        parts = []
        for label, used, limit in (
            ("trials", self.trials, budget.max_trials),
            ("epochs", self.epochs, budget.max_epochs),
            ("seconds", round(self.seconds, 1), budget.max_seconds),
        ):
            parts.append(f"{label} {used}" + (f"/{limit}" if limit is not None else ""))
        return ", ".join(parts)


def counted_trials(trials: Iterable[TrialRecord]) -> int:
    """How many trials use up ``max_trials``: finished ones that reached a verdict
    (completed, pruned, failed by the objective or its worker), except attempts that a
    retry replaced. Trials interrupted or stopped by an error of their environment
    (unreadable data, unavailable storage) are always retried, so they never count."""
    trials = list(trials)
    retried = {t.retry_of for t in trials if t.retry_of is not None}
    return sum(
        t.status.is_finished and t.counts_toward_budget and t.number not in retried for t in trials
    )
