"""Reads whose cost does not grow with the study: best_trial, snapshot, trial_table.

Each runs against every backend (the ``storage`` fixture) and must agree with what a
full read of the trials (``get_trials``) says.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tunelab.storage import Storage, StudyRecord, TrialOutcome, make_storage
from tunelab.storage.base import TrialRow
from tunelab.storage.sql_schema import ADDED_INDEXES
from tunelab.trial import FailureKind, TrialStatus

NameFactory = Callable[[str], str]


def new_study(storage: Storage, name: str, mode: str = "min") -> StudyRecord:
    return storage.create_study(
        name, metric="loss", mode=mode, searcher={}, scheduler={}, space={}, user_attrs={}
    )


def ended(
    storage: Storage,
    study: StudyRecord,
    status: TrialStatus,
    value: float | None = None,
    *,
    failure: FailureKind | None = None,
    reports: int = 0,
) -> int:
    params = {} if value is None else {"x": value}
    trial = storage.create_trial(study.study_id, proposal=params, meta={}, budget=None)
    for step in range(reports):
        storage.add_report(trial.trial_id, step, {"loss": float(step)}, params=params)
    outcome = TrialOutcome(status, value=value, metrics={"loss": value} if value else {})
    storage.finish_trial(trial.trial_id, outcome if failure is None else outcome_failed(failure))
    return trial.number


def outcome_failed(kind: FailureKind) -> TrialOutcome:
    return TrialOutcome(TrialStatus.FAILED, error="boom", failure=kind)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_best_trial_is_the_best_completed_one_earliest_on_ties(
    storage: Storage, study_name: NameFactory, mode: str
) -> None:
    study = new_study(storage, study_name("best"), mode)
    assert storage.best_trial(study.study_id, mode) is None
    ended(storage, study, TrialStatus.PRUNED, -100.0 if mode == "min" else 100.0)
    ended(storage, study, TrialStatus.COMPLETED, 2.0)
    first_tie = ended(storage, study, TrialStatus.COMPLETED, 1.0 if mode == "min" else 3.0)
    ended(storage, study, TrialStatus.COMPLETED, 1.0 if mode == "min" else 3.0)
    ended(storage, study, TrialStatus.FAILED, failure=FailureKind.OBJECTIVE_ERROR)

    best = storage.best_trial(study.study_id, mode)

    assert best is not None and best.number == first_tie
    assert best.status is TrialStatus.COMPLETED


def test_best_trial_falls_back_to_the_best_pruned_one(
    storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(storage, study_name("pruned"))
    ended(storage, study, TrialStatus.PRUNED, 5.0, reports=2)
    best_pruned = ended(storage, study, TrialStatus.PRUNED, 4.0, reports=1)
    ended(storage, study, TrialStatus.PRUNED, None)
    running = storage.create_trial(study.study_id, proposal={}, meta={}, budget=None)
    storage.add_report(running.trial_id, 0, {"loss": 0.0})

    best = storage.best_trial(study.study_id, "min")

    assert best is not None and best.number == best_pruned
    assert [r.step for r in best.reports] == [0]  # read with its reports


def test_snapshot_counts_what_a_full_read_counts(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("snapshot"))
    ended(storage, study, TrialStatus.COMPLETED, 1.0, reports=3)
    ended(storage, study, TrialStatus.PRUNED, 2.0, reports=1)
    failed = ended(storage, study, TrialStatus.FAILED, failure=FailureKind.OBJECTIVE_ERROR)
    ended(storage, study, TrialStatus.FAILED, failure=FailureKind.INTERRUPTED)
    ended(storage, study, TrialStatus.FAILED, failure=FailureKind.INVALID_VALUE)
    storage.create_trial(
        study.study_id,
        proposal={},
        meta={},
        budget=None,
        status=TrialStatus.WAITING,
        retry_of=failed,
    )
    running = storage.create_trial(study.study_id, proposal={}, meta={}, budget=None)
    storage.add_report(running.trial_id, 0, {"loss": 1.0})

    snapshot = storage.snapshot(study.study_id)

    assert snapshot.newest == 6
    # completed, pruned, invalid value; the retried failure and the interrupted one do not
    assert snapshot.counted == 3
    assert snapshot.finished_steps == 4
    assert snapshot.retried == frozenset({failed})
    assert [(t.number, t.status) for t in snapshot.live] == [
        (5, TrialStatus.WAITING),
        (6, TrialStatus.RUNNING),
    ]
    assert snapshot.live[1].steps_trained == 1


def test_snapshot_of_an_empty_study(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("empty"))
    snapshot = storage.snapshot(study.study_id)
    assert (snapshot.newest, snapshot.counted, snapshot.finished_steps) == (-1, 0, 0)
    assert snapshot.live == () and snapshot.retried == frozenset()


def test_trial_table_matches_the_trials(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("table"))
    ended(storage, study, TrialStatus.COMPLETED, 1.5, reports=2)
    ended(storage, study, TrialStatus.FAILED, failure=FailureKind.OBJECTIVE_ERROR)
    storage.create_trial(study.study_id, proposal={}, meta={}, budget=None)

    table = storage.trial_table(study.study_id)

    assert table == [TrialRow.of(t) for t in storage.get_trials(study.study_id)]
    assert [r.epochs for r in table] == [2, 0, 0]


def _index_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in rows}


def test_a_sqlite_file_from_before_the_added_indexes_gets_them_when_opened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    storage = make_storage(path)
    study = new_study(storage, "old")
    ended(storage, study, TrialStatus.COMPLETED, 3.0)
    ended(storage, study, TrialStatus.COMPLETED, 2.0)
    storage.close()
    added = {index.name for index in ADDED_INDEXES}
    with sqlite3.connect(path) as conn:  # the file as an earlier release wrote it
        for name in added:
            conn.execute(f"DROP INDEX {name}")
    assert not added & _index_names(path)

    read_only = make_storage(path, read_only=True)  # reads it as it is, writes nothing
    best = read_only.best_trial(study.study_id, "min")
    assert best is not None and best.value == 2.0
    assert read_only.snapshot(study.study_id).counted == 2
    read_only.close()
    assert not added & _index_names(path)

    reopened = make_storage(path)
    best = reopened.best_trial(study.study_id, "min")
    assert best is not None and best.value == 2.0
    assert reopened.snapshot(study.study_id).counted == 2
    reopened.close()
    assert added <= _index_names(path)


def test_trial_table_read_again_shows_what_changed_since(
    storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(storage, study_name("table-again"))
    ended(storage, study, TrialStatus.COMPLETED, 1.0)
    live = storage.create_trial(study.study_id, proposal={}, meta={}, budget=None)
    ended(storage, study, TrialStatus.COMPLETED, 2.0)
    assert [r.status for r in storage.trial_table(study.study_id)] == [
        "completed",
        "running",
        "completed",
    ]

    storage.add_report(live.trial_id, 0, {"loss": 0.5})
    storage.finish_trial(live.trial_id, TrialOutcome(TrialStatus.PRUNED, value=0.5))
    ended(storage, study, TrialStatus.FAILED, failure=FailureKind.OBJECTIVE_ERROR)

    table = storage.trial_table(study.study_id)
    assert table == [TrialRow.of(t) for t in storage.get_trials(study.study_id)]
    assert [(r.status, r.epochs) for r in table][1] == ("pruned", 1)
    assert len(storage.trial_table(study.study_id)) == 4


def test_trial_table_of_a_study_created_again_under_the_same_name(
    storage: Storage, study_name: NameFactory
) -> None:
    name = study_name("again")
    first = new_study(storage, name)
    ended(storage, first, TrialStatus.COMPLETED, 1.0)
    assert len(storage.trial_table(first.study_id)) == 1
    storage.delete_study(name)

    second = new_study(storage, name)
    assert storage.trial_table(second.study_id) == []
    ended(storage, second, TrialStatus.COMPLETED, 7.0)
    assert [r.value for r in storage.trial_table(second.study_id)] == [7.0]
