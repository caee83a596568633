"""ASHA's rung index: the decisions it makes from the view's change log are those of a
full scan of the view's lists, in runs with one worker, many simulated workers, retries
and a resumed study."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import tunelab as tl
from tunelab.executors.simulated import SimulatedExecutor
from tunelab.schedulers import Action, SchedulerView
from tunelab.schedulers.asha import ASHAScheduler
from tunelab.schedulers.base import TrialChanges
from tunelab.schedulers.rung_index import RungIndex
from tunelab.tasks.curves import LearningCurves
from tunelab.trial import TrialStatus

from .helpers import make_record


class Checks:
    """Counts ASHA's decisions, each checked against a full scan of the view's lists."""

    decisions = 0
    indexed = 0


_next = ASHAScheduler.next


def _checked_next(self: ASHAScheduler, view: SchedulerView) -> Action:
    action = _next(self, view)
    plain = dataclasses.replace(view, changes=None, lookup=None)
    assert _next(self, plain) == action
    Checks.decisions += 1
    Checks.indexed += view.changes is not None
    return action


@pytest.fixture(autouse=True)
def _check_every_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    Checks.decisions = Checks.indexed = 0
    monkeypatch.setattr(ASHAScheduler, "next", _checked_next)


def _study(scheduler: ASHAScheduler, task: LearningCurves, **kw: Any) -> tl.Study:
    return tl.create_study(
        metric="val_accuracy",
        mode="max",
        storage=kw.pop("storage", ":memory:"),
        searcher="random",
        scheduler=scheduler,
        space=task.space(),
        seed=kw.pop("seed", 0),
        **kw,
    )


@pytest.mark.parametrize(("max_epochs", "eta"), [(9, 3), (27, 3), (8, 2)])
def test_one_worker_decides_as_a_full_scan(max_epochs: int, eta: int) -> None:
    task = LearningCurves(seed=1)
    study = _study(ASHAScheduler(max_epochs=max_epochs, eta=eta), task)
    study.optimize(task, max_epochs=20 * max_epochs, quiet=True)
    assert Checks.decisions > 30
    assert Checks.indexed == Checks.decisions
    assert any(t.budget == max_epochs for t in study.trials)  # promotions happened


def test_many_simulated_workers_decide_as_a_full_scan() -> None:
    task = LearningCurves(seed=2)
    study = _study(ASHAScheduler(max_epochs=27, eta=3), task)
    study.optimize(
        task, max_trials=300, executor=SimulatedExecutor(n_workers=32, start=0.0), quiet=True
    )
    assert Checks.decisions > 300
    assert sum(t.budget == 27 for t in study.trials) >= 3


def test_a_resumed_study_rebuilds_the_index_and_decides_as_a_full_scan(tmp_path) -> None:
    task = LearningCurves(seed=3)
    url = f"sqlite:///{tmp_path / 'asha.db'}"
    first = _study(ASHAScheduler(max_epochs=9, eta=3), task, storage=url, name="asha")
    first.optimize(task, max_trials=20, quiet=True)
    before = Checks.decisions
    resumed = _study(
        ASHAScheduler(max_epochs=9, eta=3), task, storage=url, name="asha", load_if_exists=True
    )
    resumed.optimize(task, max_trials=40, quiet=True)
    assert len(resumed.trials) == 40
    assert Checks.decisions - before >= 20
    assert Checks.indexed == Checks.decisions


def test_a_trial_that_leaves_the_view_leaves_its_rungs() -> None:
    changes = TrialChanges()
    records = {
        n: make_record(n, TrialStatus.PAUSED, [float(n)], metric="loss", budget=1) for n in range(6)
    }
    view = SchedulerView(
        "loss",
        "min",
        finished=[],
        running=[],
        paused=list(records.values()),
        changes=changes,
        lookup=records.get,
    )
    index = RungIndex([1, 3])
    assert index.sync(view)
    assert index.promotion(3) == (0, 0)  # the best of six; two of them may go on
    del records[0]
    changes.note(0)
    assert index.sync(view)
    assert index.promotion(3) == (1, 0)
    records[1] = dataclasses.replace(records[1], status=TrialStatus.RUNNING, budget=3)
    changes.note(1)
    assert index.sync(view)
    assert index.promotion(3) is None  # 2 ranks third of five: not in the top third


def test_without_a_change_log_the_index_steps_aside() -> None:
    view = SchedulerView("loss", "min", finished=[], running=[], paused=[])
    assert RungIndex([1, 3]).sync(view) is False
