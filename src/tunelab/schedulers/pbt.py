"""Population-based training (Jaderberg et al. 2017), in synchronous generations.

``population_size`` members train ``perturbation_interval`` epochs at a time and pause
there with a checkpoint. When the whole population has paused at step ``s``, members are
ranked by the study metric; each member in the bottom ``quantile`` is pruned and its
place taken by a **new trial** that copies a random member of the top quantile: it
starts from that donor's checkpoint at step ``s`` (weights and optimizer state; the
checkpoint is pinned by (donor, step), so a donor that trains on cannot change what its
clone loads) with the donor's hyperparameters, explored: a continuous value is
multiplied by 0.8 or 1.2 (clipped and snapped to the space) or, with probability
``resample_probability``, drawn afresh; a categorical value is drawn afresh. The other
members resume. This repeats until every member has trained ``max_epochs`` epochs.

Clones are new trials rather than edited ones because a trial's configuration is fixed
for its whole record; the lineage (member slot, parent trial, step, the parent's values
and the new ones) is stored with each clone in ``meta["scheduler"]``, and
:mod:`tunelab.lineage` reads it back as tables and plots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

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
from tunelab.schedulers.plan import BracketPlan, Plan, RungPlan
from tunelab.space import Config, Fixed, Float, Int, Param, Space, Value
from tunelab.storage.artifacts import CheckpointRef
from tunelab.trial import Decision, TrialRecord, TrialStatus

MEMBER = "pbt_member"


def explore(
    config: Config,
    space: Space,
    rng: np.random.Generator,
    *,
    mutate: Sequence[str] | None = None,
    resample_probability: float = 0.25,
    factors: Sequence[float] = (0.8, 1.2),
) -> Config:
    """PBT's explore step: a perturbed copy of ``config``, valid in ``space``.

    Parameters outside ``mutate`` (default: all) keep their values. Parameters that
    become active through a changed parent are drawn at random.
    """
    new: Config = {}
    for p in space:
        if not all(c.holds(new) for c in p.conditions):
            continue
        if p.name not in config:
            new[p.name] = p.from_unit(float(rng.random()))
        elif mutate is not None and p.name not in mutate:
            new[p.name] = config[p.name]
        else:
            new[p.name] = _perturb(p, config[p.name], rng, resample_probability, factors)
    return new


def _perturb(
    p: Param,
    value: Value,
    rng: np.random.Generator,
    resample_probability: float,
    factors: Sequence[float],
) -> Value:
    if isinstance(p, Fixed):
        return value
    if not isinstance(p, Int | Float) or rng.random() < resample_probability:
        return p.from_unit(float(rng.random()))
    x = float(value) * float(factors[int(rng.integers(len(factors)))])
    x = min(max(x, p.min_value), p.max_value)
    if isinstance(p, Int):
        x = round(x)
    # Snap onto the parameter's grid (a step, whole numbers) through its unit encoding.
    return (
        p.from_unit(p.to_unit(x)) if p.step is not None else (int(x) if isinstance(p, Int) else x)
    )


class PBTScheduler(Scheduler):
    """Population-based training: ``population_size`` members, ``perturbation_interval``
    epochs per step, up to ``max_epochs`` epochs each. ``mutate`` names the
    hyperparameters to explore (default: all); the others, architecture say, are copied
    from the donor unchanged so that its weights fit."""

    name = "pbt"

    def __init__(
        self,
        *,
        max_epochs: int,
        perturbation_interval: int,
        population_size: int = 8,
        quantile: float = 0.25,
        resample_probability: float = 0.25,
        mutate: list[str] | None = None,
        seed: int | None = None,
    ) -> None:
        require_int(self.name, "max_epochs", max_epochs, 1)
        require_int(self.name, "perturbation_interval", perturbation_interval, 1)
        require_int(self.name, "population_size", population_size, 2)
        if not isinstance(quantile, int | float) or not 0.0 < quantile <= 0.5:
            raise ConfigError(f"pbt: quantile must be in (0, 0.5], got {quantile!r}")
        if not isinstance(resample_probability, int | float) or not (
            0.0 <= resample_probability <= 1.0
        ):
            raise ConfigError(
                f"pbt: resample_probability must be in [0, 1], got {resample_probability!r}"
            )
        if mutate is not None and (
            isinstance(mutate, str) or not all(isinstance(m, str) for m in mutate)
        ):
            raise ConfigError(f"pbt: mutate must be a list of parameter names, got {mutate!r}")
        self.max_epochs = max_epochs
        self.perturbation_interval = perturbation_interval
        self.population_size = population_size
        self.quantile = float(quantile)
        self.resample_probability = float(resample_probability)
        self.mutate = list(mutate) if mutate is not None else None
        self.seed = seed
        self.rng_ = np.random.default_rng(seed)
        self.queue_: list[dict[str, Any]] = []

    # -- decisions -------------------------------------------------------------------------
    def on_report(
        self, trial: TrialRecord, step: int, metrics: Any, view: SchedulerView
    ) -> Decision:
        return pause_at_budget(trial, step, self.max_epochs)

    def _budget_after(self, step: int) -> int:
        return min(step + self.perturbation_interval, self.max_epochs)

    def _members(self, view: SchedulerView) -> dict[int, TrialRecord]:
        """The current trial of every member slot (a clone replaces the trial it pruned)."""
        current: dict[int, TrialRecord] = {}
        for group in (view.finished, view.running, view.paused):
            for t in group:
                slot = scheduler_meta(t).get(MEMBER)
                if isinstance(slot, int) and (
                    slot not in current or t.number > current[slot].number
                ):
                    current[slot] = t
        return current

    def next(self, view: SchedulerView) -> Action:
        members = self._members(view)
        if len(members) < self.population_size:
            slot = min(set(range(self.population_size)) - set(members))
            return Start(
                budget=self._budget_after(0), meta={MEMBER: slot, "parent": None, "step": 0}
            )
        while self.queue_:
            action = self._queued(self.queue_.pop(0), members, view)
            if action is not None:
                return action
        if any(t.status is TrialStatus.RUNNING for t in members.values()):
            return Wait()
        paused = [t for t in members.values() if t.status is TrialStatus.PAUSED]
        if not paused:
            return Done(f"pbt: the population has trained {self.max_epochs} epochs")
        self._decide(members, view)
        while self.queue_:
            action = self._queued(self.queue_.pop(0), members, view)
            if action is not None:
                return action
        return Wait()

    def _decide(self, members: dict[int, TrialRecord], view: SchedulerView) -> None:
        """Exploit and explore for the generation the paused population reached."""
        paused = {slot: t for slot, t in members.items() if t.status is TrialStatus.PAUSED}
        ranked = []
        for slot, t in paused.items():
            value = value_at(t, view.metric, _last_step(t))
            if value is not None:
                ranked.append((value, t.number, slot))
        ranked.sort(key=rank_key(view.mode))
        size = min(math.ceil(len(ranked) * self.quantile), len(ranked) // 2)
        top = [slot for _, _, slot in ranked[:size]]
        bottom = [slot for _, _, slot in ranked[len(ranked) - size :]] if size else []
        # Members that failed, or paused without a value, are replaced as well.
        valued = {slot for _, _, slot in ranked}
        bottom += [
            slot
            for slot, t in members.items()
            if t.status is TrialStatus.FAILED or (slot in paused and slot not in valued)
        ]
        queue: list[dict[str, Any]] = []
        for slot in sorted(set(bottom)):
            if not top:
                break
            donor = paused[top[int(self.rng_.integers(len(top)))]]
            loser = members[slot]
            if loser.status is TrialStatus.PAUSED:
                queue.append({"kind": "prune", "trial": loser.number})
            queue.append(
                {
                    "kind": "clone",
                    "slot": slot,
                    "donor": donor.number,
                    "step": _last_step(donor),
                    "replaced": loser.number,
                }
            )
        cloned = {item["slot"] for item in queue if item["kind"] == "clone"}
        for slot, t in sorted(paused.items()):
            if slot not in cloned:
                queue.append({"kind": "resume", "trial": t.number})
        self.queue_ = queue

    def _queued(
        self, item: dict[str, Any], members: dict[int, TrialRecord], view: SchedulerView
    ) -> Action | None:
        """The action a queued decision stands for, or None when it no longer applies."""
        by_number = {t.number: t for t in members.values()}
        if item["kind"] in ("prune", "resume"):
            t = by_number.get(item["trial"])
            if t is None or t.status is not TrialStatus.PAUSED:
                return None
            if item["kind"] == "prune":
                return Prune(t.number, reason="pbt: bottom quantile, replaced by a clone")
            return Resume(t.number, budget=self._budget_after(_last_step(t)))
        donor = next(
            (
                t
                for g in (view.paused, view.running, view.finished)
                for t in g
                if t.number == item["donor"]
            ),
            None,
        )
        if donor is None or members[item["slot"]].number != item["replaced"]:
            return None  # the donor vanished, or the slot was already refilled
        if view.space is None:
            raise ConfigError("pbt needs the study's search space in the scheduler view")
        # The donor's checkpoint at the step it was ranked, even if it trains on meanwhile.
        step = int(item["step"])
        config = explore(
            donor.params,
            view.space,
            self.rng_,
            mutate=self.mutate,
            resample_probability=self.resample_probability,
        )
        return Start(
            budget=self._budget_after(step),
            config=config,
            restore=CheckpointRef(donor.number, step),
            meta={
                MEMBER: item["slot"],
                "parent": donor.number,
                "step": step,
                "replaced": item["replaced"],
                "parent_params": dict(donor.params),
            },
        )

    # -- plan and state --------------------------------------------------------------------
    def plan(self, budget: Budget) -> Plan:
        steps = list(range(self.perturbation_interval, self.max_epochs, self.perturbation_interval))
        steps.append(self.max_epochs)
        n = self.population_size
        swapped = min(math.ceil(n * self.quantile), n // 2)
        rungs, previous = [], 0
        for s in steps:
            rungs.append(RungPlan(n, s, n * (s - previous)))
            previous = s
        brackets = (BracketPlan("population", tuple(rungs)),)
        return Plan(
            self.name,
            f"{n} members, {self.max_epochs} epochs each in steps of "
            f"{self.perturbation_interval}; at each step the bottom {swapped} copy a member of "
            f"the top {swapped} (new trials that continue from the donor's checkpoint)",
            budget,
            brackets,
            total_trials=n + swapped * (len(steps) - 1),
            total_epochs=n * self.max_epochs,
            notes=(
                "a 'trial' in a rung here is a population member: its trial changes when "
                "it is replaced by a clone",
            ),
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": dict(self.rng_.bit_generator.state),
            "queue": [dict(item) for item in self.queue_],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "rng" in state:
            self.rng_.bit_generator.state = state["rng"]
        self.queue_ = [dict(item) for item in state.get("queue", [])]


def _last_step(trial: TrialRecord) -> int:
    return max((r.step for r in trial.reports), default=0)
