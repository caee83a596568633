"""ASHA: asynchronous successive halving (Li et al. 2020), in two variants.

Rungs sit at ``min_epochs * eta^k`` epochs (and ``max_epochs`` last).

``type="promotion"`` (the default; the paper's Algorithm 2): a trial trains up to its
rung and pauses there with its checkpoint. Whenever a worker is free, ASHA looks from
the highest rung down for a trial in the top ``1/eta`` of the trials recorded at its
rung that has not been promoted yet, and resumes the best such trial up to the next
rung; if there is none, it starts a new trial at the bottom rung. It never waits for a
rung to fill: early promotions are decided on the trials seen so far.

``type="stopping"`` (Ray Tune's ``ASHAScheduler`` and Syne Tune's default): every trial
starts with ``max_epochs`` and never pauses; when it reaches a rung it goes on if its
value ranks in the top ``1/eta`` (rounded up, so the first trial at a rung always goes
on) of the values recorded at that rung so far, itself included, and is stopped
otherwise. Nothing waits for a promotion, so on many workers a good trial trains
straight through; on few workers the early trials, judged against few others, train
longer than promotion's would.

The rungs are kept in an index updated from the study view's change log
(:mod:`tunelab.schedulers.rung_index`), so a decision does not rescan the study.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from tunelab.budget import Budget
from tunelab.errors import ConfigError
from tunelab.schedulers.base import (
    Action,
    Resume,
    Scheduler,
    SchedulerView,
    Start,
    pause_at_budget,
    rank_key,
    value_at,
)
from tunelab.schedulers.halving import check_epochs
from tunelab.schedulers.plan import BracketPlan, Plan, RungPlan
from tunelab.schedulers.rung_index import RungIndex, rank_of
from tunelab.trial import Decision, TrialRecord, TrialStatus


class ASHAScheduler(Scheduler):
    """Asynchronous successive halving from ``min_epochs`` to ``max_epochs``, keeping the
    top ``1/eta`` of every rung (``eta`` default 3), by promotion (pausing at rungs) or
    by stopping (``type``, see the module)."""

    name = "asha"

    def __init__(
        self,
        *,
        max_epochs: int,
        min_epochs: int = 1,
        eta: int = 3,
        type: Literal["promotion", "stopping"] = "promotion",  # Syne Tune's name for it
    ) -> None:
        check_epochs(self.name, min_epochs, max_epochs, eta)
        if type not in ("promotion", "stopping"):
            raise ConfigError(f"asha: type must be 'promotion' or 'stopping', got {type!r}")
        self.max_epochs = max_epochs
        self.min_epochs = min_epochs
        self.eta = eta
        self.type = type
        self._index: RungIndex | None = None

    @property
    def rungs(self) -> list[int]:
        """The epochs at which trials are recorded and may be promoted."""
        out, r = [], self.min_epochs
        while r < self.max_epochs:
            out.append(r)
            r *= self.eta
        return [*out, self.max_epochs]

    def on_report(
        self, trial: TrialRecord, step: int, metrics: Any, view: SchedulerView
    ) -> Decision:
        if self.type == "promotion":
            return pause_at_budget(trial, step, self.max_epochs)
        rungs = self.rungs[:-1]
        if step not in rungs:
            return Decision.CONTINUE
        k = rungs.index(step)
        index = self._rung_index()
        if index.sync(view):
            rank, recorded = index.rank(k, trial, view.metric, view.mode)
        else:
            trials = [*view.finished, *view.running, *view.paused]
            rank, recorded = rank_of(trial, step, trials, view.metric, view.mode)
        return Decision.CONTINUE if rank < math.ceil(recorded / self.eta) else Decision.STOP

    def _rung_index(self) -> RungIndex:
        rungs = tuple(self.rungs[:-1])
        if self._index is None or self._index.rungs != rungs:
            self._index = RungIndex(rungs)
        return self._index

    def next(self, view: SchedulerView) -> Action:
        rungs = self.rungs
        if self.type == "stopping":
            return Start(budget=self.max_epochs)
        index = self._rung_index()
        if index.sync(view):
            found = index.promotion(self.eta)
            if found is None:
                return Start(budget=rungs[0])
            number, k = found
            return Resume(number, budget=rungs[k + 1])
        # A view without a change log (built by hand): rank from the lists themselves.
        trials = [*view.finished, *view.running, *view.paused]
        last_step = {t.number: max((r.step for r in t.reports), default=0) for t in trials}
        for k in range(len(rungs) - 2, -1, -1):
            recorded = []
            for t in trials:
                value = (
                    value_at(t, view.metric, rungs[k]) if last_step[t.number] >= rungs[k] else None
                )
                if value is not None:
                    recorded.append((value, t.number, t))
            recorded.sort(key=rank_key(view.mode))
            for _, number, t in recorded[: len(recorded) // self.eta]:
                if t.status is TrialStatus.PAUSED and (t.budget or 0) <= rungs[k]:
                    return Resume(number, budget=rungs[k + 1])
        return Start(budget=rungs[0])

    def plan(self, budget: Budget) -> Plan:
        rungs = self.rungs
        # In the long run rung k holds about 1/eta^k of the trials started.
        per_trial = sum((r - (rungs[k - 1] if k else 0)) / self.eta**k for k, r in enumerate(rungs))
        started = None
        if budget.max_epochs is not None:
            started = int(budget.max_epochs / per_trial)
        if budget.max_trials is not None:
            started = min(started, budget.max_trials) if started else budget.max_trials
        brackets: tuple[BracketPlan, ...] = ()
        if started:
            shape, previous = [], 0
            for k, r in enumerate(rungs):
                n = started // self.eta**k
                shape.append(RungPlan(n, r, n * (r - previous)))
                previous = r
            brackets = (BracketPlan("asha", tuple(shape)),)
        epochs = budget.max_epochs if budget.max_epochs is not None else None
        if epochs is None and brackets:
            epochs = brackets[0].epochs
        return Plan(
            self.name,
            f"rungs at {', '.join(map(str, rungs))} epochs, eta={self.eta}; "
            + (
                f"promotes the top 1/{self.eta} of each rung as soon as a worker is free"
                if self.type == "promotion"
                else f"stops a trial at a rung unless it is in the top 1/{self.eta} so far"
            ),
            budget,
            brackets,
            total_trials=started,
            total_epochs=epochs,
            exact=False,
            notes=(
                "asha keeps starting trials until the budget ends; the counts per rung are "
                "what it reaches in the long run, the actual ones depend on the results",
            ),
        )
