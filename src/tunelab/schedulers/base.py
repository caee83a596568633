"""The Scheduler contract: where the budget (epochs) goes.

A scheduler answers two questions. ``next(view)``: what should a free worker do now:
``Start`` a new configuration with a budget, ``Resume`` a paused trial with a larger
budget, ``Wait`` for running trials, or ``Done``. ``on_report(trial, step, metrics)``:
should this trial ``CONTINUE``, ``PAUSE`` (keep its checkpoint for a later resume) or
``STOP`` (pruned)? The budget is a typed field of the decision, never a key in the
configuration. Any searcher works with any scheduler: the study asks the searcher for
the configuration when the scheduler says ``Start``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from tunelab.configurable import Configurable
from tunelab.trial import Decision, TrialRecord


@dataclass(frozen=True)
class Start:
    """Start a new trial; ``budget`` is its number of steps (None: the objective decides)."""

    budget: int | None = None


@dataclass(frozen=True)
class Resume:
    """Resume paused trial ``trial_number`` from its checkpoint, up to ``budget`` steps."""

    trial_number: int
    budget: int | None


@dataclass(frozen=True)
class Wait:
    """Nothing to start now; wait for a running trial to report or finish."""


@dataclass(frozen=True)
class Done:
    """The scheduler has nothing more to run."""

    reason: str


Action: TypeAlias = Start | Resume | Wait | Done


@dataclass(frozen=True)
class SchedulerView:
    """What a scheduler may read about its study."""

    metric: str
    mode: Literal["min", "max"]
    finished: Sequence[TrialRecord]
    running: Sequence[TrialRecord]
    paused: Sequence[TrialRecord]


class Scheduler(Configurable, ABC):
    """Decides budgets; subclasses set ``name``. State goes through state_dict."""

    name: ClassVar[str]

    @abstractmethod
    def next(self, view: SchedulerView) -> Action:
        """What a free worker should do now."""

    def on_report(
        self, trial: TrialRecord, step: int, metrics: Mapping[str, float], view: SchedulerView
    ) -> Decision:
        """Called after every stored report of a running trial."""
        return Decision.CONTINUE

    def on_finish(self, trial: TrialRecord, view: SchedulerView) -> None:
        """Called once when a trial finishes, pauses excluded."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
