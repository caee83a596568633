"""The Scheduler contract: where the budget (epochs) goes.

A scheduler answers two questions. ``next(view)``: what should a free worker do now:
``Start`` a new configuration with a budget, ``Resume`` a paused trial with a larger
budget, ``Prune`` a paused trial it will never resume, ``Wait`` for running trials, or
``Done``. ``on_report(trial, step, metrics)``: should this trial ``CONTINUE``, ``PAUSE``
(its checkpoint is saved for a later resume or clone) or ``STOP`` (pruned)? The budget
is a typed field of the decision, never a key in the configuration. Any searcher works
with any scheduler: the study asks the searcher for the configuration when the
scheduler says ``Start`` without one.

Rules every scheduler keeps:
- Pausing is the one mechanism behind promotion and cloning: a trial is paused at a
  step (its checkpoint saved), then resumed with a larger budget from that checkpoint,
  or copied by a new trial that starts from it (``Start(restore=...)``).
- Membership and lineage a scheduler needs after a crash go in ``Start.meta``: it is
  stored with the trial (``trial.meta["scheduler"]``) in the same write that creates it.
- A paused trial the scheduler will never resume is ended with ``Prune``; paused trials
  left when a study ends cleanly are pruned by the study loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

from tunelab.budget import Budget
from tunelab.configurable import Configurable
from tunelab.errors import ConfigError
from tunelab.searchers.base import History
from tunelab.space import Config, Space
from tunelab.storage.artifacts import CheckpointRef
from tunelab.trial import Decision, TrialRecord, TrialStatus

if TYPE_CHECKING:
    from tunelab.schedulers.plan import Plan

META_KEY = "scheduler"
"""The key of ``TrialRecord.meta`` holding what a scheduler gave in ``Start.meta``."""


@dataclass(frozen=True)
class Start:
    """Start a new trial with ``budget`` steps (None: the objective decides).

    ``config``: the configuration to run (None: ask the study's searcher). ``restore``:
    a checkpoint the new trial starts from (PBT's copy of a donor). ``meta``: the
    scheduler's bookkeeping, stored with the trial under ``meta["scheduler"]``.
    """

    budget: int | None = None
    config: Config | None = None
    restore: CheckpointRef | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resume:
    """Resume paused trial ``trial_number`` from its checkpoint, up to ``budget`` steps."""

    trial_number: int
    budget: int | None


@dataclass(frozen=True)
class Prune:
    """End paused trial ``trial_number`` as PRUNED (its best reported value counts):
    the scheduler will never resume it."""

    trial_number: int
    reason: str = ""


@dataclass(frozen=True)
class Wait:
    """Nothing to start now; wait for a running trial to report or finish."""


@dataclass(frozen=True)
class Done:
    """The scheduler has nothing more to run."""

    reason: str


Action: TypeAlias = Start | Resume | Prune | Wait | Done


class TrialChanges:
    """An append-only log of the trial numbers whose record changed in a study view.

    A number is logged whenever the trial it names enters, changes in (a report, a new
    budget, a pause, a resume, its end) or leaves the view's ``finished``, ``running`` and
    ``paused`` lists. A scheduler that keeps an index of its own (ASHA's rungs) reads the
    lists in full once per log and afterwards only the numbers logged since its last look,
    with ``SchedulerView.lookup``, so its cost per decision does not grow with the study.
    """

    def __init__(self) -> None:
        self._numbers: list[int] = []

    def note(self, number: int) -> None:
        self._numbers.append(number)

    def __len__(self) -> int:
        return len(self._numbers)

    def since(self, cursor: int) -> list[int]:
        """The numbers logged from position ``cursor`` on (repeats included)."""
        return self._numbers[cursor:]


@dataclass(frozen=True)
class SchedulerView:
    """What a scheduler may read about its study.

    ``changes`` and ``lookup`` come together or not at all (a view built by hand has
    neither): ``lookup(number)`` is the trial as it stands in ``finished``, ``running``
    or ``paused``, or None when it is in none of them.
    """

    metric: str
    mode: Literal["min", "max"]
    finished: Sequence[TrialRecord]
    running: Sequence[TrialRecord]
    paused: Sequence[TrialRecord]
    space: Space | None = None
    changes: TrialChanges | None = None
    lookup: Callable[[int], TrialRecord | None] | None = None


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

    def set_budget(self, budget: Budget) -> None:
        """Called at the start of every ``optimize`` with the study's total budget, so a
        scheduler that plans (Hyperband) can fit its brackets to it."""

    def project_history(self, history: History) -> History:
        """The history the searcher sees when it proposes a configuration for ``Start``.

        The default is the history itself; BOHB projects it to one budget so that a
        model-based searcher is fitted on comparable values."""
        return history

    def plan(self, budget: Budget) -> Plan:
        """What this scheduler will run under ``budget`` (from a fresh start)."""
        from tunelab.schedulers.plan import Plan

        return Plan(
            self.name,
            "budgets depend on the results as they come",
            budget,
            exact=False,
            notes=(f"{self.name} cannot say ahead how many trials or epochs it runs",),
        )

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


# -- what schedulers read about trials -------------------------------------------------------
def scheduler_meta(trial: TrialRecord) -> Mapping[str, Any]:
    """What the scheduler stored with ``trial`` through ``Start.meta`` (empty if nothing)."""
    meta = trial.meta.get(META_KEY)
    return meta if isinstance(meta, Mapping) else {}


def value_at(trial: TrialRecord, metric: str, step: int) -> float | None:
    """The study metric ``trial`` reported at ``step`` (its latest report at or before
    ``step`` when there is none exactly there); None when it reported none."""
    found: float | None = None
    for r in trial.reports:
        if r.step <= step and metric in r.metrics:
            found = r.metrics[metric]
    return found


def best_value(trial: TrialRecord, metric: str, mode: str) -> float | None:
    """The best value of ``metric`` over ``trial``'s reports (None if none)."""
    values = [r.metrics[metric] for r in trial.reports if metric in r.metrics]
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def rank_key(mode: str) -> Any:
    """Sort key for ``(value, trial number)`` pairs: best value first, then lower number."""
    sign = -1.0 if mode == "max" else 1.0
    return lambda item: (sign * item[0], item[1])


def is_live(trial: TrialRecord) -> bool:
    return trial.status in (TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.WAITING)


def pause_at_budget(trial: TrialRecord, step: int, max_epochs: int) -> Decision:
    """PAUSE a trial that has trained its budget, unless that budget is the last one
    (``max_epochs``): then it completes. The rule of every promoting scheduler."""
    if trial.budget is not None and trial.budget < max_epochs and step >= trial.budget:
        return Decision.PAUSE
    return Decision.CONTINUE


def require_int(owner: str, key: str, value: Any, low: int, *, optional: bool = False) -> None:
    """Raise ConfigError unless ``value`` is an integer >= ``low`` (or None if optional)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{owner}: {key} must be an integer >= {low}, got {value!r}")
