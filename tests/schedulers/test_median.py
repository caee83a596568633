"""Median stopping: which trials are stopped, and when."""

from __future__ import annotations

import pytest

import tunelab as tl
from tunelab.errors import ConfigError


def curves_objective(curves: dict[int, list[float]]):
    """Trial ``n`` reports ``curves[n]`` epoch by epoch (a fixed, known curve)."""

    def objective(trial: tl.Trial) -> None:
        trial.hp.Float("x", 0.0, 1.0)
        for epoch, value in enumerate(curves[trial.number], start=1):
            trial.report(epoch, score=value)

    return objective


def run(curves: dict[int, list[float]], mode: str = "max", **options: int) -> tl.Study:
    study = tl.create_study(
        metric="score",
        mode=mode,
        storage=":memory:",
        seed=0,
        scheduler={"name": "median", **options},
    )
    study.optimize(curves_objective(curves), max_trials=len(curves), quiet=True)
    return study


# Five completed trials; at every step their median is trial 2's value (0.3, 0.4, ...).
BASE = {n: [0.1 * n + 0.1 * s for s in range(1, 6)] for n in range(5)}


def test_stops_exactly_the_trials_worse_than_the_median_at_the_step():
    curves = {
        **BASE,
        5: [0.35, 0.45, 0.2, 0.2, 0.2],  # above the median at steps 1-2, best 0.45 < 0.5 at 3
        6: [0.1, 0.9, 0.9, 0.9, 0.9],  # below the median (0.3) at step 1
        7: [0.9, 0.9, 0.9, 0.9, 0.9],  # always above the median: completes
    }
    study = run(curves, min_trials=5)
    status = {t.number: (t.status, len(t.reports)) for t in study.trials}
    assert status[5] == (tl.TrialStatus.PRUNED, 3)
    assert status[6] == (tl.TrialStatus.PRUNED, 1)
    assert status[7] == (tl.TrialStatus.COMPLETED, 5)
    assert study.trials[5].value == pytest.approx(0.45)  # a pruned trial keeps its best


def test_warmup_steps_are_never_stopped():
    curves = {**BASE, 5: [0.0, 0.0, 0.0, 0.0, 0.0]}
    study = run(curves, min_trials=5, warmup_steps=3)
    assert len(study.trials[5].reports) == 4
    assert study.trials[5].status is tl.TrialStatus.PRUNED


def test_nothing_is_stopped_before_min_trials_have_completed():
    curves = {0: [0.9] * 5, 1: [0.1] * 5, 2: [0.1] * 5}
    study = run(curves, min_trials=2)
    assert [t.status for t in study.trials] == [
        tl.TrialStatus.COMPLETED,
        tl.TrialStatus.COMPLETED,  # only one trial had completed when it ran
        tl.TrialStatus.PRUNED,  # median of 0.9 and 0.1 is 0.5 > 0.1
    ]


def test_minimisation():
    curves = {0: [1.0, 0.8], 1: [1.0, 0.6], 2: [1.0, 0.4], 3: [2.0, 2.0], 4: [0.5, 0.5]}
    study = run(curves, mode="min", min_trials=3)
    assert [t.status.value for t in study.trials] == [
        "completed",
        "completed",
        "completed",
        "pruned",
        "completed",
    ]
    assert len(study.trials[3].reports) == 1


def test_bad_options():
    with pytest.raises(ConfigError, match="warmup_steps must be an integer >= 0"):
        tl.create_study(storage=":memory:", scheduler={"name": "median", "warmup_steps": -1})
    with pytest.raises(ConfigError, match="min_trials"):
        tl.create_study(storage=":memory:", scheduler={"name": "median", "min_trials": 0})
