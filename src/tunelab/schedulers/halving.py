"""Synchronous successive halving, and the bracket engine Hyperband and BOHB share.

A bracket starts ``n_0`` trials with ``r_0`` epochs each; when every trial of rung
``i`` has reached ``r_i`` epochs (each paused there with its checkpoint), the best
``n_{i+1} = floor(n_i / eta)`` by the study metric at step ``r_i`` are resumed up to
``r_{i+1} = eta * r_i`` epochs, continuing from their checkpoints, and the others are
pruned. The last rung trains to ``max_epochs`` and completes (Jamieson & Talwalkar
2016; Li et al. 2018, the SuccessiveHalving subroutine of Hyperband).

A bracket's trials carry ``{"bracket": id, "s": s}`` in ``meta["scheduler"]`` (plus
``"cut": True`` and ``"top"`` for a cut bracket) and their rung is their budget, so the
scheduler's view of every bracket is rebuilt from the stored trials (after a crash
too). With a total epoch or trial budget the whole budget is spent and never exceeded
(a finished bracket holds what its trials trained, so epochs that early stopping left
unused go to later brackets):
the next bracket of the cycle that fits opens; when no whole bracket fits any more, a
bracket *cut* to what is left opens (the one of largest cost among the cycle's
brackets with fewer starting trials, at least ``eta^s`` so one still reaches the top
rung); when not even that fits, a last bracket of one trial trains the epochs left and
completes there. :meth:`plan` lists exactly these brackets, cut ones marked.
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


@lru_cache(maxsize=1024)
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
    """One kind of bracket: Hyperband's ``s`` and its rungs ``(trials, epochs)``.

    ``cut``: a bracket cut to the budget left (fewer starting trials, or the last
    bracket whose top rung is the epochs left).
    """

    s: int
    rungs: tuple[tuple[int, int], ...]
    cut: bool = False

    @property
    def trials(self) -> int:
        return self.rungs[0][0]

    @property
    def top(self) -> int:
        """Epochs at the top rung, where trials complete."""
        return self.rungs[-1][1]

    @property
    def epochs(self) -> int:
        """Epochs the bracket trains when promoted trials continue from checkpoints."""
        return _epochs(self.rungs)

    def plan(self, label: str) -> BracketPlan:
        return BracketPlan(label, rungs_from(list(self.rungs)), cut=self.cut)


@lru_cache(maxsize=4096)
def _epochs(rungs: tuple[tuple[int, int], ...]) -> int:
    return sum(r.new_epochs for r in rungs_from(list(rungs)))


class BracketScheduler(Scheduler):
    """Runs successive-halving brackets of the shapes :meth:`shapes` lists, in a cycle,
    then brackets cut to the budget left (see the module docstring).

    State: the brackets opened so far (their shapes, cut ones included) and what they
    committed of the budget.
    """

    max_epochs: int
    min_epochs: int
    eta: int

    def __init__(self) -> None:
        self.opened_: list[tuple[int, int, BracketShape]] = []  # (id, cycle index, shape)
        self.cursor_ = 0
        # Finished brackets: (members, epochs trained) when found finished. A finished
        # bracket stays finished while no trial joins it (a retry would), so a decision
        # does not walk its rungs again.
        self._finished_brackets: dict[int, tuple[int, int]] = {}
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

    def _choose(
        self, cursor: int, epochs_left: float, trials_left: float
    ) -> tuple[int, BracketShape] | None:
        """The next bracket for what is left, with its index in the cycle, or None when
        nothing is left: the next whole shape of the cycle from ``cursor`` that fits,
        else the costliest cut one that fits, else one trial training the epochs left."""
        shapes = self.shapes()
        order = [(cursor + k) % len(shapes) for k in range(len(shapes))]
        for index in order:
            if shapes[index].epochs <= epochs_left and shapes[index].trials <= trials_left:
                return index, shapes[index]
        if epochs_left < 1 or trials_left < 1:
            return None
        best: tuple[int, BracketShape] | None = None
        for index in order:
            shape = shapes[index]
            # Cost grows with n: the largest n that fits is this shape's best cut.
            for n in range(min(shape.trials - 1, int(min(trials_left, 1e9))), 0, -1):
                if n < self.eta**shape.s:  # no trial would reach the top rung
                    break
                rungs = bracket_rungs(shape.s, n, shape.top, self.eta)
                if _epochs(rungs) <= epochs_left:
                    if best is None or _epochs(rungs) > best[1].epochs:
                        best = (index, BracketShape(shape.s, rungs, cut=True))
                    break
        if best is not None:
            return best
        top = int(min(epochs_left, self.max_epochs))
        return cursor % len(shapes), BracketShape(0, ((1, top),), cut=True)

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
        chosen: list[BracketShape] = []
        if budget.max_epochs is None and budget.max_trials is None:
            chosen = list(shapes)
            notes.append("no epoch or trial budget: the brackets repeat until time runs out")
        else:
            cursor, epochs, trials = 0, 0, 0
            while len(chosen) < 100_000:
                found = self._choose(cursor, *self._left(budget, epochs, trials))
                if found is None:
                    break
                index, shape = found
                chosen.append(shape)
                epochs += shape.epochs
                trials += shape.trials
                cursor = (index + 1) % len(shapes)
            if any(shape.cut for shape in chosen):
                notes.append(
                    "cut: a bracket cut to the budget left (fewer starting trials; the last "
                    "one's top rung is the epochs left, where its trials complete)"
                )
        brackets = tuple(
            shape.plan(f"{k + 1} (s={shape.s}{', cut' if shape.cut else ''})")
            for k, shape in enumerate(chosen)
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
        meta = scheduler_meta(trial)
        if "bracket" not in meta:
            return Decision.CONTINUE
        return pause_at_budget(trial, step, int(meta.get("top", self.max_epochs)))

    def next(self, view: SchedulerView) -> Action:
        members: dict[int, list[TrialRecord]] = {}
        for group in (view.finished, view.running, view.paused):
            for t in group:
                bracket = scheduler_meta(t).get("bracket")
                if isinstance(bracket, int):
                    members.setdefault(bracket, []).append(t)
        waiting = False
        # Epochs each bracket holds of the budget: its plan while it runs (or what it
        # trained, if more: an objective that restarts instead of resuming), what it
        # trained once finished (early stopping or failures leave part of a plan unused).
        committed = 0
        for bracket_id, _, shape in self.opened_:
            trials = members.pop(bracket_id, [])
            finished = self._finished_brackets.get(bracket_id)
            if finished is not None and finished[0] == len(trials):
                committed += finished[1]
                continue
            outcome = self._bracket_next(bracket_id, shape, trials, view)
            trained = sum(t.steps_trained for t in trials)
            if isinstance(outcome, Done):
                self._finished_brackets[bracket_id] = (len(trials), trained)
            committed += trained if isinstance(outcome, Done) else max(shape.epochs, trained)
            if isinstance(outcome, Wait):
                waiting = True
            elif not isinstance(outcome, Done):
                return outcome
        others = (*view.finished, *view.running, *view.paused)
        committed += sum(t.steps_trained for t in others if "bracket" not in scheduler_meta(t))
        committed += sum(t.steps_trained for ts in members.values() for t in ts)
        self.committed_epochs_ = committed
        opened = self._open_next()
        if opened is not None:
            bracket_id, shape = opened
            return self._bracket_next(bracket_id, shape, [], view)
        if waiting:
            return Wait()
        epochs_left, trials_left = self._left(
            self.budget_, self.committed_epochs_, self.committed_trials_
        )
        return Done(
            f"{self.name}: the budget is used ({_amount(epochs_left, 'epochs')}, "
            f"{_amount(trials_left, 'trials')} left)"
        )

    def _open_next(self) -> tuple[int, BracketShape] | None:
        """Open the next bracket for the budget left (whole, else cut), if any is left."""
        found = self._choose(
            self.cursor_,
            *self._left(self.budget_, self.committed_epochs_, self.committed_trials_),
        )
        if found is None:
            return None
        index, shape = found
        bracket_id = len(self.opened_)
        self.opened_.append((bracket_id, index, shape))
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
            meta: dict[str, Any] = {"bracket": bracket_id, "s": shape.s}
            if shape.cut:
                meta.update(cut=True, top=shape.top)
            return Start(budget=rungs[0][1], meta=meta)

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
            "opened": [
                [bracket_id, index, shape.s, [list(r) for r in shape.rungs], shape.cut]
                for bracket_id, index, shape in self.opened_
            ],
            "cursor": self.cursor_,
            "committed_epochs": self.committed_epochs_,
            "committed_trials": self.committed_trials_,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; states stored before cut brackets existed hold
        ``[id, cycle index]`` pairs and load as whole brackets of the cycle."""
        shapes = self.shapes()
        self.opened_ = []
        self._finished_brackets = {}
        for entry in state.get("opened", []):
            bracket_id, index = int(entry[0]), int(entry[1])
            if len(entry) == 2:
                shape = shapes[index]
            else:
                rungs = tuple((int(n), int(r)) for n, r in entry[3])
                shape = BracketShape(int(entry[2]), rungs, cut=bool(entry[4]))
            self.opened_.append((bracket_id, index, shape))
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
