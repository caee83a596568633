"""The study loop with pausing schedulers: resume from checkpoints, end states, recovery."""

from __future__ import annotations

from collections import Counter

import pytest

import tunelab as tl
from tests.conftest import curves_study
from tunelab.schedulers import Scheduler, SchedulerView, Wait
from tunelab.storage import MemoryStorage
from tunelab.tasks.curves import LearningCurves


def test_paused_trials_left_when_the_study_ends_are_pruned_with_their_best_value(run_curves):
    # ASHA keeps trials paused for later promotion; the epoch budget ends the study.
    run = run_curves({"name": "asha", "max_epochs": 9}, max_epochs=40)
    trials = run.study.trials
    assert not [t for t in trials if t.status is tl.TrialStatus.PAUSED]
    pruned = [t for t in trials if t.status is tl.TrialStatus.PRUNED]
    assert pruned
    for t in pruned:
        assert t.value == max(r.metrics["val_accuracy"] for r in t.reports)
    assert run.usage.trials == len(trials) and run.usage.epochs == 40


def test_each_resume_continues_from_the_trials_own_checkpoint(run_curves):
    run = run_curves({"name": "hyperband", "max_epochs": 9}, max_epochs=200)
    trained = Counter(run.task.trained)
    assert trained and max(trained.values()) == 1  # no (trial, epoch) trained twice
    assert run.task.restores
    trials = run.trials_by_number()
    for restore in run.task.restores:
        assert restore.source == restore.trial
        # It continues right after the last step it had reported before the pause.
        steps = [r.step for r in trials[restore.trial].reports]
        assert restore.epoch + 1 in steps and steps.index(restore.epoch + 1) == restore.epoch


def test_ctrl_c_keeps_paused_trials_and_the_next_run_resumes_them(tmp_path):
    task = LearningCurves(seed=3)
    interrupted = {"done": False}

    def objective(trial: tl.Trial) -> None:
        if trial.number == 7 and not interrupted["done"]:
            interrupted["done"] = True
            raise KeyboardInterrupt
        task.objective(trial)

    storage = tmp_path / "study.db"
    study = curves_study({"name": "hyperband", "max_epochs": 9}, task, storage=storage, name="hb")
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, max_epochs=200, quiet=True)
    paused = [t.number for t in study.trials if t.status is tl.TrialStatus.PAUSED]
    assert paused == list(range(7))  # the first seven of bracket s=2 wait at rung 0

    again = tl.load_study("hb", storage=storage)
    again.optimize(objective, max_epochs=200, quiet=True)
    restored = {r.trial for r in task.restores}
    assert restored & set(paused)  # paused before the interruption, promoted after it
    for r in task.restores:
        assert r.source == r.trial
    trained = Counter(task.trained)
    assert max(trained.values()) == 1
    assert not [t for t in again.trials if t.status is tl.TrialStatus.PAUSED]


def test_an_objective_without_checkpoints_restarts_when_resumed(run_curves, capsys):
    task = LearningCurves(checkpointing=False)
    study = curves_study({"name": "halving", "max_epochs": 3, "eta": 3}, task)
    study.optimize(task, max_epochs=6)
    captured = capsys.readouterr()
    assert "without a checkpoint" in captured.out + captured.err
    promoted = next(t for t in study.trials if t.status is tl.TrialStatus.COMPLETED)
    # Epoch 1 was trained again: the restart is counted as the epochs it really trained.
    assert [r.step for r in promoted.reports] == [1, 1, 2, 3]
    assert Counter(task.trained)[(promoted.number, 1)] == 2
    assert study.budget_used().epochs == 6


def test_a_resumed_trial_keeps_values_drawn_for_undeclared_parameters():
    values: dict[int, list[float]] = {}

    def objective(trial: tl.Trial) -> None:
        x = trial.hp.Float("x", 0.0, 1.0)  # not declared: drawn when first defined
        values.setdefault(trial.number, []).append(x)
        state = trial.load_checkpoint()
        start = 0 if state is None else state
        for epoch in range(start + 1, trial.budget + 1):
            trial.report(epoch, score=x, checkpoint=epoch)

    study = tl.create_study(
        metric="score",
        mode="max",
        storage=":memory:",
        seed=0,
        scheduler={"name": "halving", "max_epochs": 9, "eta": 3},
    )
    study.optimize(objective, max_epochs=9 + 6 + 6, quiet=True)
    resumed = {n: v for n, v in values.items() if len(v) > 1}
    assert resumed
    for seen in resumed.values():
        assert len(set(seen)) == 1


def test_max_trials_counts_paused_trials(run_curves):
    run = run_curves({"name": "asha", "max_epochs": 9}, max_trials=5)
    assert len(run.study.trials) == 5
    assert run.usage.trials == 5


def test_a_scheduler_that_waits_with_nothing_running_ends_the_study(capsys):
    class Stuck(Scheduler):
        name = "stuck"

        def next(self, view: SchedulerView) -> Wait:
            return Wait()

    study = tl.create_study(metric="loss", storage=":memory:", scheduler=Stuck())
    used = study.optimize(lambda t: 0.0, max_trials=3)
    assert used.trials == 0
    captured = capsys.readouterr()
    assert "stopped (the scheduler has nothing to run)" in captured.out + captured.err


def test_sqlite_checkpoints_live_beside_the_file_and_finished_trials_keep_one(tmp_path):
    task = LearningCurves()
    study = curves_study({"name": "hyperband", "max_epochs": 9}, task, storage=tmp_path / "t.db")
    study.optimize(task, max_epochs=100, quiet=True)
    root = tmp_path / "t.db.artifacts"
    assert study.artifacts.directory.parent == root
    store = study.artifacts
    promoted_twice = [t for t in study.trials if t.budget == 9 and t.meta["scheduler"]["s"] == 2]
    assert promoted_twice
    for t in study.trials:
        assert len(store.steps(t.number)) <= 1
    paused_once = [t for t in study.trials if store.steps(t.number)]
    assert paused_once
    some = paused_once[0]
    assert study.checkpoint(some.number)["trial"] == some.number


@pytest.mark.parametrize("searcher", ["random", "tpe", "sobol"])
def test_a_study_loaded_before_another_worker_drew_does_not_repeat_its_draws(tmp_path, searcher):
    # Two workers open the study; one runs first. The other must draw from the stored
    # searcher state, not from the state it loaded, or it hands out the same configurations.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    tl.create_study("race", metric="loss", searcher=searcher, seed=0, storage=url)
    first = tl.load_study("race", storage=url)
    second = tl.load_study("race", storage=url)

    def objective(trial: tl.Trial) -> float:
        return trial.hp.Float("x", -5.0, 5.0) ** 2

    first.optimize(objective, max_trials=3, quiet=True)
    second.optimize(objective, max_trials=6, quiet=True)
    xs = [t.params["x"] for t in tl.load_study("race", storage=url).trials]
    assert len(xs) == 6 and len(set(xs)) == 6


class _FullReadCounter(MemoryStorage):
    """A memory storage that counts the reads of a whole study's trials."""

    def __init__(self) -> None:
        super().__init__()
        self.full_reads = 0

    def get_trials(
        self, study_id, *, statuses=None, with_reports=True, numbers=None, min_number=None
    ):
        if numbers is None and min_number is None:
            self.full_reads += 1
        return super().get_trials(
            study_id,
            statuses=statuses,
            with_reports=with_reports,
            numbers=numbers,
            min_number=min_number,
        )


def _define_and_fail_some(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.report(0, {"value": x})
    if x > 0.8:
        raise ValueError("too large")
    return x


def test_a_resumed_study_runs_random_search_without_reading_its_finished_trials():
    storage = _FullReadCounter()
    first = tl.create_study("resume", storage=storage, seed=3)
    first.optimize(_define_and_fail_some, max_trials=20, quiet=True)
    best = first.best_trial

    loaded = tl.load_study("resume", storage=storage)
    storage.full_reads = 0
    usage = loaded.optimize(_define_and_fail_some, max_trials=25, quiet=True)

    assert storage.full_reads == 0
    trials = loaded.trials
    assert len(trials) == 25 and usage.trials == 25
    assert usage.epochs == sum(t.steps_trained for t in trials) == 25
    assert loaded.best_trial.value <= best.value


def test_a_searcher_that_reads_the_history_gets_the_older_trials_read_once():
    storage = _FullReadCounter()
    first = tl.create_study("tpe", storage=storage, searcher="tpe", seed=3)
    first.optimize(_define_and_fail_some, max_trials=12, quiet=True)

    loaded = tl.load_study("tpe", storage=storage)
    storage.full_reads = 0
    loaded.optimize(_define_and_fail_some, max_trials=20, quiet=True)

    assert storage.full_reads == 1
    assert len(loaded.trials) == 20
