"""Synchronous successive halving: rung sizes, promotions, waiting for a rung to fill."""

from __future__ import annotations

import pytest

from tests.schedulers.helpers import check_bracket_run, make_record, no_epoch_twice
from tunelab.budget import Budget
from tunelab.errors import ConfigError
from tunelab.schedulers import Prune, Resume, SchedulerView, Start, Wait
from tunelab.schedulers.halving import HalvingScheduler, bracket_rungs
from tunelab.trial import TrialRecord, TrialStatus


@pytest.mark.parametrize(
    ("options", "rungs"),
    [
        ({"max_epochs": 9, "eta": 3}, [(9, 1), (3, 3), (1, 9)]),
        ({"max_epochs": 8, "eta": 2}, [(8, 1), (4, 2), (2, 4), (1, 8)]),
        ({"max_epochs": 27, "min_epochs": 3, "eta": 3}, [(9, 3), (3, 9), (1, 27)]),
        ({"max_epochs": 27, "eta": 3, "n_trials": 20}, [(20, 3), (6, 9), (2, 27)]),
        ({"max_epochs": 20, "eta": 3}, [(9, 2), (3, 7), (1, 20)]),
    ],
)
def test_rungs_keep_floor_n_over_eta_and_multiply_epochs_by_eta(options, rungs):
    (shape,) = HalvingScheduler(**options).shapes()
    assert list(shape.rungs) == rungs


@pytest.mark.parametrize(
    "options",
    [{"max_epochs": 9, "eta": 3}, {"max_epochs": 8, "eta": 2}, {"max_epochs": 27, "n_trials": 20}],
)
def test_brackets_promote_the_best_and_train_no_epoch_twice(run_curves, options):
    (shape,) = HalvingScheduler(**options).shapes()
    run = run_curves({"name": "halving", **options}, max_epochs=2 * shape.epochs)
    check_bracket_run(run.study, {0: list(shape.rungs), 1: list(shape.rungs)})
    assert no_epoch_twice(run.task.trained)
    assert run.usage.epochs == 2 * shape.epochs


def _trial(number: int, status: TrialStatus, budget: int, values: list[float]) -> TrialRecord:
    meta = {"scheduler": {"bracket": 0, "s": 2}}
    return make_record(number, status, values, budget=budget, meta=meta)


def test_a_rung_waits_until_every_trial_in_it_has_finished_its_budget():
    scheduler = HalvingScheduler(max_epochs=9, eta=3)
    scheduler.set_budget(Budget(max_epochs=21))  # room for one bracket only (9 + 3*2 + 1*6)
    assert isinstance(scheduler.next(SchedulerView("acc", "max", [], [], [])), Start)
    paused = [_trial(i, TrialStatus.PAUSED, 1, [0.1 * i]) for i in range(8)]
    running = [_trial(8, TrialStatus.RUNNING, 1, [])]
    # Eight of nine are done: a synchronous rung waits for the ninth.
    assert isinstance(scheduler.next(SchedulerView("acc", "max", [], running, paused)), Wait)
    # With budget for another bracket, an idle worker starts that one instead of waiting.
    scheduler.set_budget(Budget(max_epochs=42))
    action = scheduler.next(SchedulerView("acc", "max", [], running, paused))
    assert action == Start(budget=1, meta={"bracket": 1, "s": 2})
    last = _trial(8, TrialStatus.PAUSED, 1, [0.05])
    view = SchedulerView("acc", "max", [], [], [*paused, last])
    assert scheduler.next(view) == Resume(7, budget=3)  # the best value at 1 epoch


def test_the_trials_left_after_promotion_are_pruned():
    scheduler = HalvingScheduler(max_epochs=9, eta=3)
    scheduler.next(SchedulerView("acc", "max", [], [], []))
    promoted = [_trial(i, TrialStatus.RUNNING, 3, [0.9]) for i in range(3)]
    rest = [_trial(i, TrialStatus.PAUSED, 1, [0.1]) for i in range(3, 9)]
    action = scheduler.next(SchedulerView("acc", "max", [], promoted, rest))
    assert action == Prune(3, reason="not promoted from rung 0")


def test_bracket_rungs_round_half_up():
    assert bracket_rungs(2, 9, 20, 3) == ((9, 2), (3, 7), (1, 20))  # 20/9=2.2, 20/3=6.7


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="n_trials must be an integer >= 1"):
        HalvingScheduler(max_epochs=9, n_trials=0)
