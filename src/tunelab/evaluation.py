"""Leak-free final evaluation of a finished study's best configuration.

Tuning reads training and validation data only. Afterwards the best configuration is
retrained on train+validation for the number of epochs that was best on validation,
and scored once on the held-back test part.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.space import Config
from tunelab.study import Study
from tunelab.tasks.base import Task
from tunelab.trial import TrialRecord


@dataclass(frozen=True)
class FinalEvaluation:
    """The best trial, the epochs it was retrained for, and its test metrics."""

    trial_number: int
    params: Config
    epochs: int
    validation_value: float
    test_metrics: dict[str, float]


def best_step(trial: TrialRecord, metric: str, mode: str) -> int:
    """The step (epoch) where ``metric`` was best; the last step if it was never reported."""
    history = trial.metric_history(metric)
    if not history:
        return max(trial.steps_trained, 1)
    sign = -1.0 if mode == "max" else 1.0
    return min(history, key=lambda item: (sign * item[1], item[0]))[0]


def evaluate_best(study: Study, task: Task) -> FinalEvaluation:
    """Retrain the study's best configuration on train+validation and score it on test once."""
    best = study.best_trial
    epochs = best_step(best, study.metric, study.mode)
    test = task.final_evaluation(best.params, epochs)
    assert best.value is not None
    return FinalEvaluation(
        trial_number=best.number,
        params=dict(best.params),
        epochs=epochs,
        validation_value=best.value,
        test_metrics=dict(test),
    )
