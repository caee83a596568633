"""Synchronous successive halving, and the bracket engine Hyperband and BOHB share.

A bracket starts ``n_0`` trials with ``r_0`` epochs each; when every trial of rung
``i`` has reached ``r_i`` epochs (each paused there with its checkpoint), the best
``n_{i+1} = floor(n_i / eta)`` by the study metric at step ``r_i`` are resumed up to
``r_{i+1} = eta * r_i`` epochs, continuing from their checkpoints, and the others are
pruned. The last rung trains to ``max_epochs`` and completes (Jamieson & Talwalkar
2016; Li et al. 2018, the SuccessiveHalving subroutine of Hyperband).

A bracket's trials carry ``{"bracket": id}`` in ``meta["scheduler"]`` and their rung is
their budget, so the scheduler's view of every bracket is rebuilt from the stored trials
(after a crash too). With a total epoch or trial budget, brackets are opened only while
a whole one still fits: the run keeps to the budget and :meth:`plan` says what it runs.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from tunelab.budget import Budget
from tunelab.errors import ConfigError
from tunelab.schedulers.base import (
    Action,
    Done,
    Prune,
    Resume,
    Scheduler,
    SchedulerView,
    Start,
    Wait,
    pause_at_budget,
    rank_key,
    require_int,
    scheduler_meta,
    value_at,
)
from tunelab.schedulers.plan import BracketPlan, Plan, rungs_from
from tunelab.trial import Decision, TrialRecord, TrialStatus


def check_epochs(name: str, min_epochs: int, max_epochs: int, eta: int) -> None:
    """Validate the options every multi-fidelity scheduler shares."""
    require_int(name, "max_epochs", max_epochs, 1)
    require_int(name, "min_epochs", min_epochs, 1)
    require_int(name, "eta", eta, 2)
    if min_epochs > max_epochs:
        raise ConfigError(
            f"{name}: min_epochs ({min_epochs}) must not exceed max_epochs ({max_epochs})"
        )


def max_bracket_index(min_epochs: int, max_epochs: int, eta: int) -> int:
    """``s_max = floor(log_eta(max_epochs / min_epochs))``, in exact integer arithmetic."""
    s = 0
    while min_epochs * eta ** (s + 1) <= max_epochs:
        s += 1
    return s


@lru_cache(maxsize=256)
def bracket_rungs(s: int, n: int, max_epochs: int, eta: int) -> tuple[tuple[int, int], ...]:
    """Rungs ``(n_i, r_i)`` for ``i = 0..s``: ``n_i = floor(n / eta^i)`` trials reach
    ``r_i = max_epochs * eta^(i - s)`` epochs (rounded half up to whole epochs)."""
    rungs = []
    for i in range(s + 1):
        exact = Fraction(max_epochs * eta**i, eta**s)
        rungs.append((n // eta**i, max(1, math.floor(exact + Fraction(1, 2)))))
    return tuple(rungs)


@dataclass(frozen=True)
class BracketShape:
    """One kind of bracket: Hyperband's ``s`` and its rungs ``(trials, epochs)``."""

    s: int
    rungs: tuple[tuple[int, int], ...]

    @property
    def trials(self) -> int:
        return self.rungs[0][0]

    @property
    def epochs(self) -> int:
        """Epochs the bracket trains when promoted trials continue from checkpoints."""
        return sum(r.new_epochs for r in rungs_from(list(self.rungs)))

    def plan(self, label: str) -> BracketPlan:
        return BracketPlan(label, rungs_from(list(self.rungs)))


class BracketScheduler(Scheduler):
    """Runs successive-halving brackets of the shapes :meth:`shapes` lists, in a cycle.

    Subclasses define the cycle (one shape for halving; ``s_max .. 0`` for Hyperband).
    State: the brackets opened so far and what they committed of the budget.
    """

    max_epochs: int
    min_epochs: int
    eta: int

    def __init__(self) -> None:
        self.opened_: list[tuple[int, int]] = []  # (bracket id, index of its shape)
        self.cursor_ = 0
        self.committed_epochs_ = 0
        self.committed_trials_ = 0
        self.budget_ = Budget()

    @abstractmethod
    def shapes(self) -> tuple[BracketShape, ...]:
        """The bracket shapes, in the order they are cycled through."""

    @abstractmethod
    def describe(self) -> str:
        """One line for the plan: the options that shaped the brackets."""

    # -- budget ----------------------------------------------------------------------------
    def set_budget(self, budget: Budget) -> None:
        self.budget_ = budget

    def _choose(self, cursor: int, epochs_left: float, trials_left: float) -> int | None:
        """The next shape in the cycle from ``cursor`` that fits what is left, or None."""
        shapes = self.shapes()
        for k in range(len(shapes)):
            index = (cursor + k) % len(shapes)
            if shapes[index].epochs <= epochs_left and shapes[index].trials <= trials_left:
                return index
        return None

    def _left(self, budget: Budget, epochs: int, trials: int) -> tuple[float, float]:
        epochs_left = math.inf if budget.max_epochs is None else budget.max_epochs - epochs
        trials_left = math.inf if budget.max_trials is None else budget.max_trials - trials
        return epochs_left, trials_left

    def plan(self, budget: Budget) -> Plan:
        shapes = self.shapes()
        notes = [
            "exact when the objective checkpoints (a promoted trial trains only the epochs "
            "between rungs) and no trial fails"
        ]
        chosen: list[int] = []
        if budget.max_epochs is None and budget.max_trials is None:
            chosen = list(range(len(shapes)))
            notes.append("no epoch or trial budget: the brackets repeat until time runs out")
        else:
            cursor, epochs, trials = 0, 0, 0
            while len(chosen) < 100_000:
                index = self._choose(cursor, *self._left(budget, epochs, trials))
                if index is None:
                    break
                chosen.append(index)
                epochs += shapes[index].epochs
                trials += shapes[index].trials
                cursor = (index + 1) % len(shapes)
            if not chosen:
                smallest = min(shapes, key=lambda sh: sh.epochs)
                notes.append(
                    f"the budget is too small for any bracket (the smallest needs "
                    f"{smallest.epochs} epochs and {smallest.trials} trials)"
                )
        brackets = tuple(
            shapes[index].plan(f"{k + 1} (s={shapes[index].s})") for k, index in enumerate(chosen)
        )
        return Plan(
            self.name,
            self.describe(),
            budget,
            brackets,
            total_trials=sum(b.trials for b in brackets),
            total_epochs=sum(b.epochs for b in brackets),
            notes=tuple(notes),
        )

    # -- decisions -------------------------------------------------------------------------
    def on_report(
        self, trial: TrialRecord, step: int, metrics: Any, view: SchedulerView
    ) -> Decision:
        if "bracket" not in scheduler_meta(trial):
            return Decision.CONTINUE
        return pause_at_budget(trial, step, self.max_epochs)

    def next(self, view: SchedulerView) -> Action:
        members: dict[int, list[TrialRecord]] = {}
        for group in (view.finished, view.running, view.paused):
            for t in group:
                bracket = scheduler_meta(t).get("bracket")
                if isinstance(bracket, int):
                    members.setdefault(bracket, []).append(t)
        shapes = self.shapes()
        waiting = False
        for bracket_id, index in self.opened_:
            outcome = self._bracket_next(
                bracket_id, shapes[index], members.get(bracket_id, []), view
            )
            if isinstance(outcome, Wait):
                waiting = True
            elif not isinstance(outcome, Done):
                return outcome
        # Objectives that restart instead of resuming train more than planned.
        used = sum(t.steps_trained for g in (view.finished, view.running, view.paused) for t in g)
        opened = self._open_next(used)
        if opened is not None:
            bracket_id, shape = opened
            return self._bracket_next(bracket_id, shape, [], view)
        if waiting:
            return Wait()
        epochs_left, trials_left = self._left(
            self.budget_, max(self.committed_epochs_, used), self.committed_trials_
        )
        return Done(
            f"{self.name}: no further bracket fits the budget left "
            f"({_amount(epochs_left, 'epochs')}, {_amount(trials_left, 'trials')})"
        )

    def _open_next(self, used_epochs: int) -> tuple[int, BracketShape] | None:
        """Open the next bracket of the cycle that fits the budget left, if any."""
        index = self._choose(
            self.cursor_,
            *self._left(
                self.budget_, max(self.committed_epochs_, used_epochs), self.committed_trials_
            ),
        )
        if index is None:
            return None
        shape = self.shapes()[index]
        bracket_id = len(self.opened_)
        self.opened_.append((bracket_id, index))
        self.cursor_ = (index + 1) % len(self.shapes())
        self.committed_epochs_ += shape.epochs
        self.committed_trials_ += shape.trials
        return bracket_id, shape

    def _bracket_next(
        self,
        bracket_id: int,
        shape: BracketShape,
        members: Sequence[TrialRecord],
        view: SchedulerView,
    ) -> Action:
        """The next action of one bracket: Start, Resume or Prune; Wait while a rung is
        still running; Done when the bracket has finished."""
        rungs = shape.rungs
        if len(members) < rungs[0][0]:
            return Start(budget=rungs[0][1], meta={"bracket": bracket_id, "s": shape.s})

        def rung(t: TrialRecord) -> int:
            budget = t.budget or 0
            return max((i for i, (_, r) in enumerate(rungs) if r <= budget), default=0)

        live = (TrialStatus.RUNNING, TrialStatus.WAITING)
        for i in range(len(rungs) - 1):
            entered = [t for t in members if rung(t) >= i]
            here = [t for t in entered if rung(t) == i]
            if any(t.status in live for t in here):
                return Wait()
            promoted = len(entered) - len(here)
            if promoted < rungs[i + 1][0]:
                candidates = []
                for t in here:
                    value = value_at(t, view.metric, rungs[i][1])
                    if t.status is TrialStatus.PAUSED and value is not None:
                        candidates.append((value, t.number))
                if candidates:
                    _, best = min(candidates, key=rank_key(view.mode))
                    return Resume(best, budget=rungs[i + 1][1])
            for t in here:
                if t.status is TrialStatus.PAUSED:
                    return Prune(t.number, reason=f"not promoted from rung {i}")
        if any(t.status in live for t in members):
            return Wait()
        return Done(f"bracket {bracket_id} finished")

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "opened": [list(pair) for pair in self.opened_],
            "cursor": self.cursor_,
            "committed_epochs": self.committed_epochs_,
            "committed_trials": self.committed_trials_,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opened_ = [(int(a), int(b)) for a, b in state.get("opened", [])]
        self.cursor_ = int(state.get("cursor", 0))
        self.committed_epochs_ = int(state.get("committed_epochs", 0))
        self.committed_trials_ = int(state.get("committed_trials", 0))


def _amount(value: float, unit: str) -> str:
    return f"no limit on {unit}" if math.isinf(value) else f"{int(value)} {unit}"


class HalvingScheduler(BracketScheduler):
    """Synchronous successive halving, bracket after bracket until the budget is used.

    Each bracket starts ``n_trials`` trials (default ``eta^s``, so that one reaches
    ``max_epochs``) at ``max_epochs / eta^s`` epochs, where ``s`` is the largest integer
    with ``min_epochs * eta^s <= max_epochs`` (and ``eta^s <= n_trials``, so that at
    least one trial reaches the top); every rung keeps the best ``1/eta``.
    """

    name = "halving"

    def __init__(
        self,
        *,
        max_epochs: int,
        min_epochs: int = 1,
        eta: int = 3,
        n_trials: int | None = None,
    ) -> None:
        check_epochs(self.name, min_epochs, max_epochs, eta)
        require_int(self.name, "n_trials", n_trials, 1, optional=True)
        self.max_epochs = max_epochs
        self.min_epochs = min_epochs
        self.eta = eta
        self.n_trials = n_trials
        super().__init__()

    def shapes(self) -> tuple[BracketShape, ...]:
        s = max_bracket_index(self.min_epochs, self.max_epochs, self.eta)
        n = self.n_trials if self.n_trials is not None else self.eta**s
        while s > 0 and n // self.eta**s < 1:  # at least one trial must reach max_epochs
            s -= 1
        return (BracketShape(s, bracket_rungs(s, n, self.max_epochs, self.eta)),)

    def describe(self) -> str:
        (shape,) = self.shapes()
        return (
            f"brackets of {shape.trials} trials from {shape.rungs[0][1]} to "
            f"{self.max_epochs} epochs, eta={self.eta}; {shape.epochs} epochs per bracket"
        )
