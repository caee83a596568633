"""A study's total budget: trials, epochs, seconds; whichever comes first ends it."""

from __future__ import annotations

import time

import pytest

import tunelab as tl
from tests.conftest import curves_study
from tunelab.tasks.curves import LearningCurves

SCHEDULERS = [
    {"name": "fifo", "max_epochs": 9},
    {"name": "median", "max_epochs": 9, "min_trials": 3},
    {"name": "halving", "max_epochs": 9},
    {"name": "asha", "max_epochs": 9},
    {"name": "hyperband", "max_epochs": 9},
    {"name": "bohb", "max_epochs": 9, "seed": 0},
    {"name": "pbt", "max_epochs": 9, "perturbation_interval": 3, "population_size": 4},
]


@pytest.mark.parametrize("scheduler", SCHEDULERS, ids=lambda s: s["name"])
def test_the_epoch_budget_is_never_exceeded(run_curves, scheduler):
    run = run_curves(scheduler, max_epochs=50)
    assert run.usage.epochs <= 50
    assert (
        len(run.task.trained) == run.usage.epochs == sum(t.steps_trained for t in run.study.trials)
    )
    assert not [t for t in run.study.trials if t.status is tl.TrialStatus.PAUSED]
    if scheduler["name"] in ("fifo", "median", "asha"):
        assert run.usage.epochs == 50  # they use all of it


def test_a_trial_reaching_its_own_budget_at_the_limit_completes(run_curves):
    run = run_curves({"name": "fifo", "max_epochs": 9}, max_epochs=27)
    assert [t.status for t in run.study.trials] == [tl.TrialStatus.COMPLETED] * 3


def test_the_trial_budget_ends_hyperband_between_brackets(run_curves):
    # bracket s=2 (9 trials) + s=1 (5 trials) fit 14 of 15 trials; s=0 (3 more) does
    # not, so a bracket cut to the one trial left runs it to max_epochs.
    run = run_curves({"name": "hyperband", "max_epochs": 9}, max_trials=15)
    assert len(run.study.trials) == 15 and run.usage.trials == 15
    assert run.usage.epochs == 21 + 21 + 9


def test_the_wall_clock_budget_ends_the_study_cleanly():
    task = LearningCurves()

    def slow(trial: tl.Trial) -> None:
        time.sleep(0.01)
        task.objective(trial)

    study = curves_study({"name": "asha", "max_epochs": 9}, task)
    used = study.optimize(slow, max_seconds=0.5, quiet=True)
    assert 0.5 <= used.seconds < 0.5 + 3.0  # seconds of slack for a loaded machine
    assert not [t for t in study.trials if t.status is tl.TrialStatus.PAUSED]
    assert used.epochs == len(task.trained)


def test_whichever_limit_comes_first_is_reported(run_curves, capsys):
    task = LearningCurves()
    study = curves_study({"name": "hyperband", "max_epochs": 9}, task)
    used = study.optimize(task, max_epochs=500, max_trials=9, max_seconds=60)
    out = capsys.readouterr().out
    assert used.trials == 9 and used.epochs == 21
    assert "epochs 21/500" in out and "trials 9/9" in out
    assert study.budget_used().epochs == 21
