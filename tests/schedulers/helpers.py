"""Shared by the scheduler tests: trial records to feed a scheduler, and checks that
read brackets and rungs back from a finished study."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import tunelab as tl
from tunelab.schedulers.base import value_at
from tunelab.trial import Report, TrialRecord, TrialStatus

PBT = {
    "name": "pbt",
    "max_epochs": 12,
    "perturbation_interval": 3,
    "population_size": 4,
    "seed": 0,
}
"""A small PBT: 4 members, 12 epochs in steps of 3."""


def make_record(
    number: int,
    status: TrialStatus,
    values: list[float],
    *,
    metric: str = "acc",
    budget: int | None = None,
    meta: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> TrialRecord:
    """A trial that reported ``values`` at steps 1, 2, ... (budget: their count)."""
    return TrialRecord(
        study_id=1,
        trial_id=number + 1,
        number=number,
        status=status,
        params=dict(params or {}),
        proposal=dict(params or {}),
        meta=dict(meta or {}),
        budget=len(values) if budget is None else budget,
        value=max(values) if values and status.is_finished else None,
        metrics={},
        reports=tuple(Report(i + 1, {metric: v}, 0.0) for i, v in enumerate(values)),
        created_at=0.0,
        started_at=0.0,
        ended_at=None,
    )


def paper_brackets(max_epochs: int, eta: int, min_epochs: int = 1) -> list[list[tuple[int, float]]]:
    """Li et al. 2018, Algorithm 1, written independently with floats: for each bracket
    ``s = s_max .. 0`` the rungs ``(n_i, r_i)``."""
    big_r = max_epochs / min_epochs
    s_max = math.floor(math.log(big_r) / math.log(eta) + 1e-9)
    budget = (s_max + 1) * big_r
    out = []
    for s in range(s_max, -1, -1):
        n = math.ceil(budget / big_r * eta**s / (s + 1) - 1e-9)
        r = big_r * eta ** (-s)
        out.append(
            [(math.floor(n * eta ** (-i) + 1e-9), min_epochs * r * eta**i) for i in range(s + 1)]
        )
    return out


def check_bracket_run(study: tl.Study, rungs_of: dict[int, list[tuple[int, int]]]) -> None:
    """For every bracket id: rung i holds n_i trials, and those promoted from rung i are
    the best n_{i+1} by the metric at r_i (ties: lower number); the top rung completes."""
    members: dict[int, list[tl.TrialRecord]] = defaultdict(list)
    for t in study.trials:
        members[t.meta["scheduler"]["bracket"]].append(t)
    assert set(members) == set(rungs_of)
    for bracket, trials in members.items():
        rungs = rungs_of[bracket]
        last = {t.number: max(r.step for r in t.reports) for t in trials}
        for i, (n_i, r_i) in enumerate(rungs):
            reached = [t for t in trials if last[t.number] >= r_i]
            assert len(reached) == n_i, (bracket, i, len(reached), n_i)
            if i + 1 < len(rungs):
                ranked = sorted(
                    reached, key=lambda t: (-value_at(t, "val_accuracy", r_i), t.number)
                )
                promoted = {t.number for t in trials if last[t.number] >= rungs[i + 1][1]}
                assert promoted == {t.number for t in ranked[: rungs[i + 1][0]]}
        top = rungs[-1][1]
        for t in trials:
            expected = tl.TrialStatus.COMPLETED if last[t.number] == top else tl.TrialStatus.PRUNED
            assert t.status is expected


def no_epoch_twice(trained: list[tuple[int, int]]) -> bool:
    return max(Counter(trained).values()) == 1
