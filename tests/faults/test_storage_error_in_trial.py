"""Issue 15, case 3 (runner side): a StorageError that ``trial.report()`` raises inside the
objective (here another process holds the SQLite write lock longer than the storage
waits) stops the study with that reason; the trial is not charged as a failure of its
configuration, which runs again when the study continues."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import tunelab as tl
from tests.faults.storage_helpers import lock_held
from tunelab.errors import StorageError
from tunelab.trial import FailureKind, TrialStatus

LOCK_WAIT = 2.0  # the storage's total wait for a lock, in seconds


def test_storage_error_in_a_report_stops_the_study_and_charges_nothing(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    url = f"sqlite:///{path}?busy_timeout=0.2&lock_timeout={LOCK_WAIT:g}"
    study = tl.create_study("locked", metric="loss", storage=url, seed=0)

    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        if trial.number == 0:
            # Another process takes the write lock and keeps it until the error has
            # passed through this block: the report must fail, the end be recorded.
            with lock_held(path, seconds=300):
                trial.report(1, loss=x)
        trial.report(1, loss=x)
        return x

    start = time.monotonic()
    with pytest.raises(StorageError, match="locked"):
        study.optimize(objective, max_trials=2, quiet=True)
    assert time.monotonic() - start < 60.0  # the storage's wait, not SQLite's minute

    first, queued = study.trials  # it stopped at the first trial
    assert first.status is TrialStatus.FAILED
    assert first.failure is FailureKind.ENVIRONMENT_ERROR  # not an objective error
    assert "locked" in (first.error or "") and first.reports == ()
    assert queued.status is TrialStatus.WAITING and queued.retry_of == first.number
    assert study.budget_used().trials == 0

    study.optimize(objective, max_trials=2, quiet=True)

    completed = study.get_trials((TrialStatus.COMPLETED,))
    assert [t.number for t in completed] == [queued.number, queued.number + 1]
    assert completed[0].params == first.params  # the stopped configuration ran again
    assert study.budget_used().trials == 2
    study.storage.close()
