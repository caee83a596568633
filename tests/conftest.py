"""Shared fixtures: studies on synthetic learning curves (no training, milliseconds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

import tunelab as tl
from tunelab.budget import BudgetUsage
from tunelab.tasks.curves import LearningCurves


@dataclass
class CurvesRun:
    """A finished study on synthetic curves, the task (with its training log) and usage."""

    study: tl.Study
    task: LearningCurves
    usage: BudgetUsage

    def trials_by_number(self) -> dict[int, tl.TrialRecord]:
        return {t.number: t for t in self.study.trials}


RunCurves = Callable[..., CurvesRun]


def curves_study(
    scheduler: str | Mapping[str, Any] | Any,
    task: LearningCurves,
    *,
    searcher: str | Mapping[str, Any] | Any = "random",
    storage: Any = ":memory:",
    seed: int = 0,
    name: str | None = None,
) -> tl.Study:
    """A new study of ``task``'s curves (maximising validation accuracy) with ``scheduler``."""
    return tl.create_study(
        name,
        metric="val_accuracy",
        mode="max",
        storage=storage,
        seed=seed,
        searcher=searcher,
        scheduler=scheduler,
        space=task.space(),
    )


@pytest.fixture
def run_curves() -> RunCurves:
    """``run_curves(scheduler, max_epochs=..., ...)``: optimise a curves study in memory."""

    def run(
        scheduler: str | Mapping[str, Any] | Any,
        *,
        searcher: str | Mapping[str, Any] = "random",
        storage: Any = ":memory:",
        seed: int = 0,
        task: LearningCurves | None = None,
        **budget: Any,
    ) -> CurvesRun:
        task = task if task is not None else LearningCurves(seed=seed)
        study = curves_study(scheduler, task, searcher=searcher, storage=storage, seed=seed)
        usage = study.optimize(task, quiet=True, **budget)
        return CurvesRun(study, task, usage)

    return run
