"""Leak-free evaluation end to end: real studies never open the test part; the final
evaluation opens it once, after tuning, for the epoch count best on validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tunelab as tl
from tunelab.evaluation import best_step, evaluate_best
from tunelab.tasks.mlp import DigitsMLP, MnistMLP
from tunelab.trial import Trial, TrialStatus


def test_tuning_never_opens_the_test_part_and_final_evaluation_opens_it_once(
    data_dir: Path,
) -> None:
    task = MnistMLP(data_dir=str(data_dir), train_size=1000, epochs=3, max_layers=2, seed=0)
    study = tl.create_study(
        metric=task.metric, mode=task.mode, searcher="sobol", storage=":memory:", seed=0
    )
    study.optimize(task, max_trials=3, quiet=True)
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 3
    assert task.splits.test.openings == [], "tuning read test data"
    assert task.splits.test.is_sealed

    result = evaluate_best(study, task)
    assert task.splits.test.openings == ["mnist_mlp.final_evaluation"]
    assert task.splits.test.is_sealed
    best = study.best_trial
    assert result.epochs == best_step(best, "val_accuracy", "max")
    assert result.epochs == int(best.metrics["best_epoch"])
    assert 0.0 <= result.test_metrics["test_accuracy"] <= 1.0


class PeekingTask(DigitsMLP):
    """A faulty task whose objective looks at the test labels."""

    def objective(self, trial: Trial) -> Any:
        trial.hp.Float("x", 0.0, 1.0)
        return float(self.splits.y_test.mean())


class EarlyFinalTask(DigitsMLP):
    """A faulty task that scores on test from inside its objective."""

    def objective(self, trial: Trial) -> Any:
        params = self.define(trial.hp)
        return self.final_evaluation(params, epochs=1)["test_accuracy"]


@pytest.mark.parametrize(
    ("task_cls", "message"),
    [
        (PeekingTask, "y of the held-back test part was read while it is sealed"),
        (EarlyFinalTask, "cannot be opened during tuning"),
    ],
)
def test_an_objective_that_reads_test_data_fails_its_trials(task_cls: Any, message: str) -> None:
    task = task_cls(epochs=1)
    study = tl.create_study(metric="value", mode="max", storage=":memory:", seed=0)
    study.optimize(task, max_trials=2, quiet=True)
    assert [t.status for t in study.trials] == [TrialStatus.FAILED] * 2
    for t in study.trials:
        assert t.error is not None and "SealedTestDataError" in t.error and message in t.error
    assert task.splits.test.openings == []
