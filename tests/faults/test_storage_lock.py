"""Issue 15, case 3 (storage side): a write that meets another process's SQLite lock
waits it out with retries up to a bounded total wait, saying so once, and past that
wait raises StorageLockedError naming the lock (never a bare "database is locked")."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.faults.storage_helpers import lock_held
from tunelab.errors import StorageError, StorageLockedError
from tunelab.storage import Storage, make_storage
from tunelab.storage.artifacts import default_artifact_root
from tunelab.storage.sql import SqlStorage
from tunelab.trial import TrialRecord


def _study_with_a_trial(storage: Storage) -> TrialRecord:
    study = storage.create_study(
        "locked",
        metric="loss",
        mode="min",
        searcher={"name": "random"},
        scheduler={"name": "fifo"},
        space={},
    )
    return storage.create_trial(study.study_id, proposal={}, meta={}, budget=None)


def test_a_write_waits_out_a_lock_held_longer_than_the_busy_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "locked.db"
    storage = SqlStorage(f"sqlite:///{path}", busy_timeout=0.5, lock_timeout=120)
    trial = _study_with_a_trial(storage)

    with (
        caplog.at_level(logging.WARNING, logger="tunelab.storage"),
        lock_held(path, seconds=5) as holder,
    ):
        storage.add_report(trial.trial_id, 1, {"loss": 0.5})
        written_at = time.time()
        released_at = holder.released_at()

    assert written_at >= released_at  # it waited for the lock (10 attempts' worth) ...
    stored = storage.get_trial(trial.trial_id)
    assert [r.metrics for r in stored.reports] == [{"loss": 0.5}]  # ... and then wrote
    said = [r for r in caplog.records if r.name == "tunelab.storage"]
    assert len(said) == 1  # once per wait, not once per attempt
    assert said[0].levelno == logging.WARNING
    assert "database is locked by another process; waiting up to 120 s" in said[0].getMessage()
    storage.close()


def test_a_lock_held_past_the_total_wait_raises_storage_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}?busy_timeout=0.2&lock_timeout=2"
    storage = make_storage(url)
    trial = _study_with_a_trial(storage)

    with lock_held(path, seconds=300):
        start = time.monotonic()
        with pytest.raises(StorageLockedError) as info:
            storage.add_report(trial.trial_id, 1, {"loss": 0.5})
        waited = time.monotonic() - start

    assert isinstance(info.value, StorageError)
    message = str(info.value)
    assert "locked by another process" in message
    assert str(path) in message
    assert "2 s" in message
    assert 2.0 <= waited < 60.0  # the total wait, not SQLite's default of minutes
    assert storage.get_trial(trial.trial_id).reports == ()
    assert storage.url == url  # workers opening this URL get the same waits
    assert default_artifact_root(storage) == tmp_path / "locked.db.artifacts"
    storage.close()


@pytest.mark.parametrize("query", ["lock_timeout=soon", "busy_timeout=-1"])
def test_bad_lock_options_are_refused_before_creating_the_file(tmp_path: Path, query: str) -> None:
    path = tmp_path / "never.db"
    key = query.partition("=")[0]
    with pytest.raises(StorageError, match=key):
        make_storage(f"sqlite:///{path}?{query}")
    assert list(tmp_path.iterdir()) == []
