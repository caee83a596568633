"""plan(): what runs is what was planned; brackets are chosen to fit the budget."""

from __future__ import annotations

import pytest

import tunelab as tl
from tests.schedulers.helpers import no_epoch_twice
from tunelab.budget import Budget
from tunelab.schedulers import make_scheduler


@pytest.mark.parametrize(
    ("scheduler", "budget"),
    [
        ({"name": "hyperband", "max_epochs": 27}, {"max_epochs": 100}),
        ({"name": "hyperband", "max_epochs": 27}, {"max_epochs": 810}),
        ({"name": "hyperband", "max_epochs": 9, "eta": 2}, {"max_epochs": 333}),
        ({"name": "hyperband", "max_epochs": 27}, {"max_trials": 60}),
        ({"name": "hyperband", "max_epochs": 27}, {"max_trials": 100, "max_epochs": 500}),
        ({"name": "halving", "max_epochs": 16, "eta": 2}, {"max_epochs": 200}),
        ({"name": "bohb", "max_epochs": 9, "seed": 0}, {"max_epochs": 150}),
        ({"name": "fifo", "max_epochs": 9}, {"max_epochs": 100}),
        ({"name": "fifo", "max_epochs": 9}, {"max_trials": 7}),
        ({"name": "fifo", "max_epochs": 9}, {"max_trials": 7, "max_epochs": 50}),
    ],
)
def test_plan_totals_equal_what_runs(run_curves, scheduler, budget):
    plan = make_scheduler(scheduler).plan(Budget(**budget))
    run = run_curves(scheduler, **budget)
    assert plan.exact
    assert plan.total_epochs == run.usage.epochs == len(run.task.trained)
    assert plan.total_trials == len(run.study.trials) == run.usage.trials
    assert no_epoch_twice(run.task.trained)
    if "max_epochs" in budget:
        assert run.usage.epochs <= budget["max_epochs"]


def test_whole_brackets_come_first_then_brackets_cut_to_what_is_left():
    # One Hyperband iteration for R=27, eta=3 costs 81 + 78 + 90 + 108 = 357 epochs.
    plan = make_scheduler({"name": "hyperband", "max_epochs": 27}).plan(Budget(max_epochs=460))
    assert [b.label for b in plan.brackets] == [
        "1 (s=3)",
        "2 (s=2)",
        "3 (s=1)",
        "4 (s=0)",
        "5 (s=3)",
        "6 (s=0, cut)",
    ]
    # 22 epochs left: no bracket with fewer trials fits, so one trial trains all 22.
    last = plan.brackets[-1]
    assert last.cut and [(r.trials, r.epochs) for r in last.rungs] == [(1, 22)]
    assert plan.total_epochs == 460
    # s=3 (81 epochs) does not fit 80, s=2 (78) does; 2 epochs are left for a last trial.
    plan = make_scheduler({"name": "hyperband", "max_epochs": 27}).plan(Budget(max_epochs=80))
    assert [b.label for b in plan.brackets] == ["1 (s=2)", "2 (s=0, cut)"]
    # No whole bracket fits 50: the costliest cut one (s=1 with 3 trials, 45 epochs) opens.
    plan = make_scheduler({"name": "hyperband", "max_epochs": 27}).plan(Budget(max_epochs=50))
    assert [b.label for b in plan.brackets] == ["1 (s=1, cut)", "2 (s=0, cut)"]
    assert [(r.trials, r.epochs) for r in plan.brackets[0].rungs] == [(3, 9), (1, 27)]
    assert plan.total_epochs == 50 and "cut: a bracket cut to the budget left" in str(plan)


def test_plan_prints_each_bracket_rung_and_the_totals():
    text = str(make_scheduler({"name": "hyperband", "max_epochs": 9}).plan(Budget(max_epochs=100)))
    assert "hyperband plan: R=9 epochs, eta=3" in text
    assert "bracket        rung  trials  epochs/trial   epochs" in text
    assert "1 (s=2)           0       9             1        9" in text
    assert "                  2       1             9        6" in text
    # 21 (s=2) + 21 (s=1) + 27 (s=0) + 21 (s=2); the 10 epochs left: s=0 cut to one
    # trial of 9 epochs, then one trial of 1 epoch
    assert "5 (s=0, cut)      0       1             9        9" in text
    assert "6 (s=0, cut)      0       1             1        1" in text
    assert "total: 6 brackets, 28 trials, 100 epochs" in text and "unused" not in text


def test_study_plan_uses_a_fresh_scheduler_and_the_given_budget(run_curves):
    run = run_curves({"name": "hyperband", "max_epochs": 9}, max_epochs=30)
    plan = run.study.plan(max_epochs=60)
    assert plan.total_epochs == 60 and plan.budget == Budget(max_epochs=60)
    assert [b.label for b in plan.brackets] == ["1 (s=2)", "2 (s=1)", "3 (s=0, cut)"]


def test_a_study_continued_with_a_larger_budget_opens_new_brackets(run_curves):
    run = run_curves({"name": "hyperband", "max_epochs": 9}, max_epochs=21)
    assert run.usage.epochs == 21  # bracket s=2 only
    more = run.study.optimize(run.task, max_epochs=60, quiet=True)
    assert more.epochs == 21 + 18 + 27 - 15 or more.epochs <= 60
    assert no_epoch_twice(run.task.trained)
    assert not [t for t in run.study.trials if t.status is tl.TrialStatus.PAUSED]
