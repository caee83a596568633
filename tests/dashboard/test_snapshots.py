"""The dashboard's view of a study while another writer changes it (real SQLite file)."""

from __future__ import annotations

import time

import pytest

import tunelab as tl
from tunelab.dashboard import snapshots
from tunelab.dashboard.snapshots import SnapshotCache
from tunelab.storage import TrialOutcome, make_storage
from tunelab.trial import TrialStatus


@pytest.fixture
def writer(tmp_path):
    storage = make_storage(tmp_path / "s.db")
    record = storage.create_study(
        "s", metric="loss", mode="min", searcher={"name": "random"},
        scheduler={"name": "fifo"}, space={},
    )  # fmt: skip
    return storage, record.study_id, tmp_path / "s.db"


def fresh(cache: SnapshotCache, name: str = "s"):
    time.sleep(snapshots.REUSE_SECONDS + 0.05)  # past the reuse window: read the storage
    return cache.snapshot(name)


def test_the_version_changes_exactly_when_the_study_does(writer):
    storage, study_id, path = writer
    cache = SnapshotCache(make_storage(path, read_only=True))
    empty = cache.snapshot("s")
    assert empty.trials == () and empty.status(time.time()) == "empty"
    assert fresh(cache).version == empty.version  # nothing written: same version

    trial = storage.create_trial(study_id, proposal={"x": 1.0}, meta={}, budget=None)
    started = fresh(cache)
    assert started.version > empty.version
    assert [t.status for t in started.trials] == [TrialStatus.RUNNING]
    assert started.status(time.time()) == "running"

    storage.add_report(trial.trial_id, 1, {"loss": 3.0})
    reported = fresh(cache)
    assert reported.version > started.version
    assert reported.trials[0].reports[-1].metrics == {"loss": 3.0}

    storage.finish_trial(trial.trial_id, TrialOutcome(TrialStatus.COMPLETED, value=3.0))
    second = storage.create_trial(study_id, proposal={"x": 2.0}, meta={}, budget=None)
    storage.finish_trial(second.trial_id, TrialOutcome(TrialStatus.COMPLETED, value=2.0))
    done = fresh(cache)
    assert [t.number for t in done.trials] == [0, 1]
    assert done.status(time.time()) == "finished"
    assert done.best() is not None and done.best().number == 1
    assert fresh(cache).version == done.version


def test_unfinished_trials_left_alone_for_long_read_as_stalled(writer):
    storage, study_id, path = writer
    storage.create_trial(study_id, proposal={}, meta={}, budget=None)
    snap = SnapshotCache(make_storage(path, read_only=True)).snapshot("s")
    assert snap.status(snap.activity + 1.0) == "running"
    assert snap.status(snap.activity + snapshots.STALLED_AFTER_SECONDS + 1.0) == "stalled"


def test_a_study_whose_unfinished_trials_are_only_queued_reads_as_waiting(writer):
    storage, study_id, path = writer
    done = storage.create_trial(study_id, proposal={}, meta={}, budget=None)
    storage.finish_trial(done.trial_id, TrialOutcome(TrialStatus.COMPLETED, value=1.0))
    storage.create_trial(
        study_id, proposal={}, meta={}, budget=None, status=TrialStatus.WAITING
    )  # what a run that ended at its budget leaves: a retry queued, no worker on it
    snap = SnapshotCache(make_storage(path, read_only=True)).snapshot("s")
    assert [t.status for t in snap.trials] == [TrialStatus.COMPLETED, TrialStatus.WAITING]
    assert snap.status(snap.activity + 1.0) == "running"  # a worker may be between trials
    assert snap.status(snap.activity + snapshots.WAITING_AFTER_SECONDS + 1.0) == "waiting"
    assert snap.status(snap.activity + snapshots.STALLED_AFTER_SECONDS + 1.0) == "waiting"


def test_a_study_deleted_and_made_again_is_read_anew(writer):
    storage, study_id, path = writer
    storage.create_trial(study_id, proposal={}, meta={}, budget=None)
    cache = SnapshotCache(make_storage(path, read_only=True))
    assert len(cache.snapshot("s").trials) == 1
    storage.delete_study("s")
    storage.create_study(
        "s", metric="loss", mode="max", searcher={"name": "random"},
        scheduler={"name": "fifo"}, space={},
    )  # fmt: skip
    again = fresh(cache)
    assert again.trials == () and again.record.mode == "max"
    with pytest.raises(tl.StudyNotFoundError):
        cache.snapshot("other")
