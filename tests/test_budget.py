"""A study's total budget: trials, epochs, seconds; whichever comes first ends it."""

from __future__ import annotations

import importlib
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


@pytest.mark.parametrize("last", [True, False])
def test_a_trial_at_its_last_step_when_the_epoch_budget_runs_out(last):
    """A trial without an epoch budget of its own (a fifo study) whose final report uses
    up the study's epochs completes when it says the step is its last; else the runner
    cannot tell it from a trial with steps to go and stops it (stored as pruned)."""
    study = tl.create_study(metric="v", mode="max", storage=":memory:", seed=0)

    def objective(trial: tl.Trial) -> None:
        x = trial.hp.Float("x", 0.0, 1.0)
        for step in (1, 2, 3):
            trial.report(step, v=x * step, last=last and step == 3)

    usage = study.optimize(objective, max_epochs=6, quiet=True)
    assert usage.epochs == 6
    ended = tl.TrialStatus.COMPLETED if last else tl.TrialStatus.PRUNED
    assert [t.status for t in study.trials] == [tl.TrialStatus.COMPLETED, ended]
    assert [len(t.reports) for t in study.trials] == [3, 3]


def test_two_workers_complete_the_trial_whose_last_epoch_ends_the_budget():
    """Two process workers, two trials of 9 epochs, a budget of 18: whichever trial ends
    last makes the study's 18th report with its 9th epoch, and completes (it trained
    every epoch)."""
    task = LearningCurves(seed=0, epochs=9)
    study = curves_study("fifo", task)
    study.optimize(task, max_epochs=18, max_trials=2, executor="processes", n_workers=2, quiet=True)
    assert [len(t.reports) for t in study.trials] == [9, 9]
    assert all(t.status is tl.TrialStatus.COMPLETED for t in study.trials)


def test_two_workers_never_exceed_the_epoch_budget():
    """Two process workers, trials of 9 epochs, a budget of 18 and no trial limit: exactly
    18 reports are stored whatever the workers' pace. A trial that trained its 9 epochs
    completes, one the budget stopped earlier is pruned, and one stopped before any of its
    reports was stored is interrupted (not counted). (When one trial ends well ahead of
    the other, a third starts on the freed worker and shares the epochs left.)"""
    task = LearningCurves(seed=0, epochs=9)
    study = curves_study("fifo", task)
    usage = study.optimize(task, max_epochs=18, executor="processes", n_workers=2, quiet=True)
    assert usage.epochs == sum(len(t.reports) for t in study.trials) == 18
    assert any(len(t.reports) == 9 for t in study.trials)
    for t in study.trials:
        if t.status is tl.TrialStatus.WAITING:  # an interrupted trial's configuration, queued
            assert t.retry_of is not None
            continue
        ended = {9: tl.TrialStatus.COMPLETED, 0: tl.TrialStatus.FAILED}.get(
            len(t.reports), tl.TrialStatus.PRUNED
        )
        assert t.status is ended, (t.number, len(t.reports), t.status)


# Two trials in two worker processes, in a fixed order through files: trial 0 ("slow")
# reports ``SLOW_FIRST`` steps, then trial 1 ("fast") reports 3 steps, using up the
# study's budget, then the slow trial reports once more.
PACED_OBJECTIVE = """
import time
from pathlib import Path

def wait_for(path):
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path.name} after 60 s"
        time.sleep(0.01)

def objective(trial):
    folder = Path(__file__).parent
    x = trial.hp.Float("x", 0.0, 1.0)
    (folder / f"started-{trial.number}").touch()
    wait_for(folder / f"started-{1 - trial.number}")
    if trial.number == 0:
        for step in range(1, {slow_first} + 1):
            trial.report(step, v=float(step))
        (folder / "slow-reported").touch()
        wait_for(folder / "fast-done")
        trial.report({slow_first} + 1, v=100.0)
        return 100.0
    wait_for(folder / "slow-reported")
    for step in (1, 2, 3):
        trial.report(step, v=10.0 * step, last=step == 3)
    (folder / "fast-done").touch()
    return 30.0
"""


@pytest.mark.parametrize("slow_first", [0, 1])
def test_a_report_after_another_worker_used_up_the_epoch_budget_is_refused(
    tmp_path, monkeypatch, slow_first
):
    """With the budget used up by the fast trial, the slow trial's next report is not
    stored: it ends pruned with the value it had stored, or, when it had stored none,
    interrupted (not counted; its configuration is queued to run again)."""
    name = f"paced_{slow_first}"
    (tmp_path / f"{name}.py").write_text(PACED_OBJECTIVE.replace("{slow_first}", str(slow_first)))
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker processes import it by name
    module = importlib.import_module(name)

    study = tl.create_study(metric="v", mode="max", storage=tmp_path / "s.db", seed=0)
    usage = study.optimize(
        module.objective,
        max_epochs=slow_first + 3,
        max_trials=2,
        executor="processes",
        n_workers=2,
        quiet=True,
    )
    assert usage.epochs == slow_first + 3
    slow, fast = study.trials[0], study.trials[1]
    assert fast.status is tl.TrialStatus.COMPLETED and fast.value == 30.0
    assert [r.step for r in slow.reports] == list(range(1, slow_first + 1))
    if slow_first:
        assert slow.status is tl.TrialStatus.PRUNED and slow.value == 1.0
    else:
        assert slow.status is tl.TrialStatus.FAILED
        assert slow.failure is tl.FailureKind.INTERRUPTED
        assert "epoch budget" in (slow.error or "")
        assert [t.retry_of for t in study.trials[2:]] == [0]


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
