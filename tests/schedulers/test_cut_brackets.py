"""Brackets cut to the budget left: the whole epoch budget is spent, never exceeded;
cut brackets promote like whole ones; a restart mid-bracket keeps to the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunelab as tl
from tests.schedulers.helpers import check_bracket_run, no_epoch_twice
from tunelab.budget import Budget
from tunelab.schedulers import SchedulerView, Start, make_scheduler
from tunelab.schedulers.halving import HalvingScheduler
from tunelab.schedulers.hyperband import HyperbandScheduler
from tunelab.tasks.curves import LearningCurves

SCHEDULERS = [
    {"name": "hyperband", "max_epochs": 27},
    {"name": "hyperband", "max_epochs": 9, "eta": 2},
    {"name": "bohb", "max_epochs": 27, "seed": 0},
    {"name": "halving", "max_epochs": 9},
    {"name": "halving", "max_epochs": 27, "n_trials": 20},
]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("epochs", [1, 10, 50, 150, 300, 1000])
def test_the_plan_spends_the_whole_epoch_budget(scheduler, epochs):
    plan = make_scheduler(scheduler).plan(Budget(max_epochs=epochs))
    assert plan.total_epochs == epochs
    assert all(b.rungs[-1].trials >= 1 for b in plan.brackets)  # every bracket has a top


def test_a_trial_budget_is_also_filled_with_cut_brackets():
    plan = make_scheduler({"name": "hyperband", "max_epochs": 27}).plan(Budget(max_trials=60))
    assert plan.total_trials == 60 and plan.brackets[-1].cut


@pytest.mark.parametrize(
    ("scheduler", "epochs"),
    [
        ({"name": "hyperband", "max_epochs": 27}, 150),
        ({"name": "hyperband", "max_epochs": 27}, 300),
        ({"name": "bohb", "max_epochs": 27, "seed": 0}, 300),
        ({"name": "halving", "max_epochs": 9}, 50),
        ({"name": "halving", "max_epochs": 27, "n_trials": 20}, 200),
    ],
)
def test_what_runs_is_the_plan_and_cut_brackets_promote_the_best(run_curves, scheduler, epochs):
    plan = make_scheduler(scheduler).plan(Budget(max_epochs=epochs))
    assert any(b.cut for b in plan.brackets)
    run = run_curves(scheduler, max_epochs=epochs)
    assert run.usage.epochs == len(run.task.trained) == epochs
    assert no_epoch_twice(run.task.trained)
    rungs = {i: [(r.trials, r.epochs) for r in b.rungs] for i, b in enumerate(plan.brackets)}
    check_bracket_run(run.study, rungs)
    for t in run.study.trials:
        cut = plan.brackets[t.meta["scheduler"]["bracket"]].cut
        assert t.meta["scheduler"].get("cut", False) is cut


def test_the_last_bracket_completes_its_trial_at_the_epochs_left(run_curves):
    run = run_curves({"name": "hyperband", "max_epochs": 27}, max_epochs=100)  # 81 + 19
    (last,) = [t for t in run.study.trials if t.meta["scheduler"]["bracket"] == 1]
    assert last.meta["scheduler"] == {"bracket": 1, "s": 0, "cut": True, "top": 19}
    assert last.status is tl.TrialStatus.COMPLETED and last.steps_trained == 19


class Interrupting(LearningCurves):
    """Synthetic curves that raise KeyboardInterrupt once, at the ``at``-th epoch trained."""

    def __init__(self, at: int) -> None:
        super().__init__(seed=0)
        self.at = at

    def _log(self, number: int, epoch: int) -> None:
        super()._log(number, epoch)
        if len(self.trained) == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("name", ["hyperband", "bohb"])
def test_a_restart_mid_bracket_keeps_to_the_whole_budget(tmp_path: Path, name: str):
    storage = f"sqlite:///{tmp_path / 'restart.db'}"
    scheduler = {"name": name, "max_epochs": 27}
    task = Interrupting(at=100)  # inside bracket 1 (s=2): 81 epochs were bracket 0
    study = tl.create_study(
        "restart",
        metric="val_accuracy",
        mode="max",
        storage=storage,
        seed=0,
        scheduler=scheduler,
        space=task.space(),
    )
    with pytest.raises(KeyboardInterrupt):
        study.optimize(task, max_epochs=150, quiet=True)
    resumed = tl.load_study("restart", storage=storage)
    restored = resumed.scheduler
    assert isinstance(restored, HyperbandScheduler)
    assert restored.opened_[-1][0] == 1  # the state came back: bracket 1 is open
    usage = resumed.optimize(task, max_epochs=150, quiet=True)
    assert usage.epochs == 150
    brackets = {t.meta["scheduler"]["bracket"] for t in resumed.trials}
    plan = make_scheduler(scheduler).plan(Budget(max_epochs=150))
    assert brackets <= set(range(len(plan.brackets)))
    assert not [t for t in resumed.trials if t.status is tl.TrialStatus.PAUSED]


def test_a_state_stored_before_cut_brackets_loads():
    scheduler = HyperbandScheduler(max_epochs=9)
    scheduler.load_state_dict(
        {"opened": [[0, 0], [1, 1]], "cursor": 2, "committed_epochs": 42, "committed_trials": 14}
    )
    shapes = scheduler.shapes()
    assert [(i, k, shape) for i, k, shape in scheduler.opened_] == [
        (0, 0, shapes[0]),
        (1, 1, shapes[1]),
    ]
    scheduler.set_budget(Budget(max_epochs=60))
    # 18 epochs left after 42: the s=0 bracket (3 trials, 27 epochs) cut to two trials.
    bracket_id, shape = scheduler._open_next() or (None, None)
    assert bracket_id == 2 and shape is not None
    assert shape.cut and shape.rungs == ((2, 9),) and scheduler.committed_epochs_ == 60
    again = HyperbandScheduler(max_epochs=9)
    again.load_state_dict(scheduler.state_dict())
    assert again.opened_ == scheduler.opened_ and again.cursor_ == scheduler.cursor_


def test_cut_bracket_trials_carry_their_top_rung():
    scheduler = HalvingScheduler(max_epochs=9)
    scheduler.set_budget(Budget(max_epochs=5))
    action = scheduler.next(SchedulerView("acc", "max", [], [], []))
    assert action == Start(budget=5, meta={"bracket": 0, "s": 0, "cut": True, "top": 5})


class StopsEarly(LearningCurves):
    """Synthetic curves whose every third trial stops training after 4 epochs, as early
    stopping in a real objective would: it completes short of its budget."""

    def objective(self, trial: tl.Trial) -> None:
        params = {
            "lr": trial.hp.Float("lr", 1e-4, 1.0, sampling="log"),
            "width": trial.hp.Int("width", 16, 512, sampling="log"),
            "activation": trial.hp.Choice("activation", ["relu", "tanh", "sigmoid"]),
        }
        state = trial.load_checkpoint()
        start = 0 if state is None else int(state["epoch"])
        for epoch in range(start + 1, (trial.budget or self.epochs) + 1):
            if trial.number % 3 == 0 and epoch > 4:
                return
            self._log(trial.number, epoch)
            trial.report(
                epoch,
                val_accuracy=0.5 + 0.01 * epoch * float(params["lr"]),
                checkpoint=lambda e=epoch: {"epoch": e},
            )


@pytest.mark.parametrize("name", ["hyperband", "bohb", "halving"])
def test_epochs_early_stopping_leaves_unused_go_to_later_brackets(run_curves, name):
    run = run_curves({"name": name, "max_epochs": 27}, max_epochs=300, task=StopsEarly())
    assert any(t.steps_trained < (t.budget or 0) for t in run.study.trials)
    assert 0.95 * 300 <= run.usage.epochs <= 300
    assert not [t for t in run.study.trials if t.status is tl.TrialStatus.PAUSED]
