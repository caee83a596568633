"""The anytime trace: monotone best-so-far, cumulative epochs = epochs trained, the clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tunelab as tl
from tests.compare.synthetic import CurveTask, StopOddScheduler
from tunelab.compare.trace import Session, anytime_trace
from tunelab.trial import Report, TrialRecord, TrialStatus


def record(number: int, values: list[float], times: list[float], **kw: object) -> TrialRecord:
    return TrialRecord(
        study_id=1,
        trial_id=number + 1,
        number=number,
        status=kw.get("status", TrialStatus.COMPLETED),
        params={},
        proposal={},
        meta={},
        budget=None,
        value=None,
        metrics={},
        reports=tuple(
            Report(i + 1, {"acc": v}, t) for i, (v, t) in enumerate(zip(values, times, strict=True))
        ),
        created_at=times[0] - 0.1,
        started_at=times[0] - 0.1,
        ended_at=times[-1],
    )


@pytest.mark.parametrize("mode", ["max", "min"])
def test_trace_of_a_real_study_is_monotone_and_counts_every_epoch_trained(mode):
    """A study with a scheduler that stops trials and an epoch budget that cuts the last."""
    study = tl.create_study(
        metric="val_score", mode=mode, storage=":memory:", seed=3, scheduler=StopOddScheduler()
    )
    study.optimize(CurveTask(epochs=5), max_epochs=23, quiet=True)

    trace = anytime_trace(study.trials, "val_score", mode)

    trained = sum(t.steps_trained for t in study.trials)
    assert trained == 23 == study.budget_used().epochs
    assert trace.total_epochs == trained and list(trace.epochs) == list(range(1, 24))
    assert any(t.status is TrialStatus.PRUNED for t in study.trials)
    steps = np.diff(trace.best)
    assert np.all(steps >= 0) if mode == "max" else np.all(steps <= 0)
    assert np.all(np.diff(trace.seconds) >= 0)
    every = [v for t in study.trials for _, v in t.metric_history("val_score")]
    assert trace.final_best == (max(every) if mode == "max" else min(every))
    assert sorted(trace.values) == sorted(every)


def test_best_so_far_skips_missing_and_nan_values_and_follows_report_times():
    trials = [
        record(0, [0.5, math.nan, 0.7], [10.0, 11.0, 12.0]),
        record(1, [0.9, 0.6], [12.5, 13.0]),
    ]
    trace = anytime_trace(trials, "acc", "max")
    assert list(trace.trials) == [0, 0, 0, 1, 1]
    assert list(trace.steps) == [1, 2, 3, 1, 2]
    np.testing.assert_allclose(trace.best, [0.5, 0.5, 0.7, 0.9, 0.9])
    # without sessions the clock starts when the first trial started
    np.testing.assert_allclose(trace.seconds, [0.1, 1.1, 2.1, 2.6, 3.1])
    assert math.isnan(anytime_trace([record(0, [math.nan], [1.0])], "acc", "max").best[0])


def test_the_clock_comes_from_the_sessions_and_stays_monotone_after_a_kill():
    # session 1 starts at wall 100 (clock 0) and is killed after the report at wall 108,
    # having stored a clock of 5 s; session 2 starts at wall 200 from clock 5.
    trials = [
        record(0, [0.1, 0.2], [102.0, 104.0]),
        record(1, [0.3, 0.4], [106.0, 108.0], status=TrialStatus.FAILED),
        record(2, [0.5, 0.6], [201.0, 210.0]),
    ]
    sessions = [Session(100.0, 0.0), Session(200.0, 5.0)]
    trace = anytime_trace(trials, "acc", "max", sessions)
    np.testing.assert_allclose(trace.seconds, [2.0, 4.0, 6.0, 8.0, 8.0, 15.0])
    assert trace.total_epochs == 6  # the killed trial's epochs were trained: they count


def test_best_at_is_a_step_function_on_either_axis():
    trace = anytime_trace(
        [record(0, [0.2, 0.6], [1.0, 2.0]), record(1, [0.4, 0.8], [3.0, 4.0])],
        "acc",
        "max",
        [Session(0.0, 0.0)],
    )
    np.testing.assert_allclose(
        trace.best_at([0, 1, 1.5, 2, 3, 4, 9], "epochs"), [math.nan, 0.2, 0.2, 0.6, 0.6, 0.8, 0.8]
    )
    np.testing.assert_allclose(
        trace.best_at([0.5, 1.0, 3.9, 4.0], "seconds"), [math.nan, 0.2, 0.6, 0.8]
    )
    empty = anytime_trace([], "acc", "max")
    assert len(empty) == 0 and empty.final_best is None
    assert np.isnan(empty.best_at([1, 2], "epochs")).all()
