"""The fail-fast guard: a study stops after too many failed trials in a row."""

from __future__ import annotations

import pytest

import tunelab as tl
from tunelab.errors import ConsecutiveFailuresError
from tunelab.executors import make_executor
from tunelab.executors.fail_fast import FailFastExecutor
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
    """With an epoch budget, trials whose worker dies before reporting use none of it;
    the guard stops the run instead of starting workers for ever."""
    from tests.executors import objectives
    from tunelab.executors.processes import ProcessExecutor

    study = tl.create_study(metric="val_score", mode="max", storage=":memory:", seed=0)
    with pytest.raises(
        ConsecutiveFailuresError, match="3 failed trials in a row; the last: worker"
    ):
        study.optimize(
            objectives.always_dies,
            max_epochs=10,
            executor=FailFastExecutor(ProcessExecutor(n_workers=1), 3),
            quiet=True,
        )
    assert [t.failure for t in study.trials] == [tl.FailureKind.WORKER_LOST] * 3


def test_optimize_stops_a_study_that_only_fails_by_default():
    def broken(trial: tl.Trial) -> float:
        trial.hp.Float("x", 0.0, 1.0)
        raise ValueError("no data")

    study = tl.create_study(storage=":memory:", seed=0)
    with pytest.raises(ConsecutiveFailuresError, match="after 10 failed trials in a row"):
        study.optimize(broken, max_epochs=50, quiet=True)
    assert len(study.trials) == 10
    study = tl.create_study(storage=":memory:", seed=0)
    study.optimize(broken, max_trials=12, max_consecutive_failures=None, quiet=True)
    assert len(study.trials) == 12
