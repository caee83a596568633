"""The fail-fast guard: a run stops after too many failed trials in a row."""

from __future__ import annotations

import pytest

import tunelab as tl
from tunelab.compare import ConsecutiveFailuresError, FailFastExecutor
from tunelab.executors import make_executor
from tunelab.trial import TrialStatus


def test_an_epoch_budget_with_an_objective_that_never_reports_stops_after_the_limit():
    calls = []

    def broken(trial: tl.Trial) -> float:
        calls.append(trial.number)
        trial.hp.Float("x", 0.0, 1.0)
        raise ValueError("no data")

    study = tl.create_study(storage=":memory:", seed=0)
    with pytest.raises(
        ConsecutiveFailuresError,
        match="after 4 failed trials in a row; the last: ValueError: no data",
    ):
        study.optimize(
            broken, max_epochs=50, executor=FailFastExecutor(make_executor("inline"), 4), quiet=True
        )
    assert len(calls) == 4
    assert [t.status for t in study.trials] == [TrialStatus.FAILED] * 4  # all recorded


def test_a_success_resets_the_count():
    def flaky(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        if trial.number % 3 != 2:
            raise RuntimeError("flaky")
        trial.report(1, value=x)
        return x

    study = tl.create_study(storage=":memory:", seed=0)
    study.optimize(
        flaky, max_trials=9, executor=FailFastExecutor(make_executor("inline"), 3), quiet=True
    )
    statuses = [t.status for t in study.trials]
    assert len(statuses) == 9 and statuses.count(TrialStatus.COMPLETED) == 3


def test_workers_that_keep_dying_stop_the_run_too():
    """A process worker that cannot even start its trial is retried without using any
    budget; the guard stops it. (A task loaded from a file path pickles in this process
    but its module cannot be imported in a spawned worker, which dies.)"""
    from tests.compare.synthetic import TASK
    from tunelab.compare import resolve_task
    from tunelab.executors.processes import ProcessExecutor

    study = tl.create_study(metric="val_score", mode="max", storage=":memory:", seed=0)
    with pytest.raises(
        ConsecutiveFailuresError, match="3 failed trials in a row; the last: worker"
    ):
        study.optimize(
            resolve_task(TASK, {}),
            max_epochs=10,
            executor=FailFastExecutor(ProcessExecutor(n_workers=1), 3),
            quiet=True,
        )
    assert all(t.failure is tl.FailureKind.WORKER_LOST for t in study.trials if t.failure)
