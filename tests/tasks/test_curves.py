"""Synthetic learning curves: deterministic, crossing, checkpointed, logged."""

from __future__ import annotations

import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.tasks import make_task
from tunelab.tasks.curves import LearningCurves, accuracy, asymptote, rate, read_log

GOOD_SLOW = {"lr": 0.01, "width": 128, "activation": "relu"}
FAST_WORSE = {"lr": 0.5, "width": 128, "activation": "relu"}


def test_curves_rise_and_cross():
    assert asymptote(GOOD_SLOW) > asymptote(FAST_WORSE)
    assert rate(FAST_WORSE) > rate(GOOD_SLOW)
    early = accuracy(FAST_WORSE, rate(FAST_WORSE)), accuracy(GOOD_SLOW, rate(GOOD_SLOW))
    late = accuracy(FAST_WORSE, 30 * rate(FAST_WORSE)), accuracy(GOOD_SLOW, 30 * rate(GOOD_SLOW))
    assert early[0] > early[1] and late[0] < late[1]  # the early leader loses
    values = [accuracy(GOOD_SLOW, e * rate(GOOD_SLOW)) for e in range(1, 30)]
    assert values == sorted(values)


def _run(task: LearningCurves, **budget: int) -> tl.Study:
    study = tl.create_study(
        metric="val_accuracy", mode="max", storage=":memory:", seed=0, space=task.space()
    )
    study.optimize(task, quiet=True, **budget)
    return study


def test_the_same_configuration_gives_the_same_curve():
    a, b = (
        _run(LearningCurves(epochs=5), max_trials=3),
        _run(LearningCurves(epochs=5), max_trials=3),
    )
    assert [[r.metrics for r in t.reports] for t in a.trials] == [
        [r.metrics for r in t.reports] for t in b.trials
    ]
    other_seed = _run(LearningCurves(epochs=5, seed=1), max_trials=3)
    assert [r.metrics for r in other_seed.trials[0].reports] != [
        r.metrics for r in a.trials[0].reports
    ]


def test_every_trained_epoch_is_logged_in_memory_and_in_a_file(tmp_path):
    log = tmp_path / "trained.txt"
    task = LearningCurves(epochs=4, log_path=str(log))
    _run(task, max_trials=2)
    assert task.trained == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (1, 3), (1, 4)]
    assert read_log(log) == task.trained


def test_registered_and_validated():
    assert isinstance(make_task("synthetic_curves", epochs=3), LearningCurves)
    with pytest.raises(ConfigError, match="epochs must be an integer >= 1"):
        LearningCurves(epochs=0)
    with pytest.raises(ConfigError, match="noise must be a number >= 0"):
        LearningCurves(noise=-1)


def test_final_evaluation_is_the_noise_free_curve():
    task = LearningCurves()
    assert task.final_evaluation(GOOD_SLOW, 10) == {
        "test_accuracy": pytest.approx(accuracy(GOOD_SLOW, 10 * rate(GOOD_SLOW)))
    }
