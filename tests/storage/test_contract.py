"""The storage contract (tunelab/storage/base.py), checked for every backend.

The tests that take ``storage`` run once per backend in conftest.BACKENDS; those that
take ``shared_storage`` run on the backends several processes can open by URL. The
tests at the end are about SQLite files (refusing foreign, newer or corrupt files, WAL,
crash safety) and about ``make_storage``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tunelab.errors import DuplicateStudyError, StorageError, StudyNotFoundError
from tunelab.storage import (
    FinishedTrialError,
    MemoryStorage,
    StaleStateError,
    Storage,
    StudyRecord,
    StudyUpdate,
    TrialOutcome,
    make_storage,
)
from tunelab.storage.sql import SCHEMA_VERSION, SqlStorage
from tunelab.trial import FailureKind, TrialRecord, TrialStatus

NameFactory = Callable[[str], str]

SEARCHER: dict[str, Any] = {
    "name": "random",
    "seed": 7,
    "options": {"n_initial": 5, "weights": [0.25, 0.5, 1.0], "flag": True, "none": None},
}
SCHEDULER: dict[str, Any] = {"name": "asha", "grace": 1, "eta": 3, "max_budget": 27}
SPACE: dict[str, Any] = {
    "params": [
        {"name": "lr", "type": "float", "low": 1e-5, "high": 0.1, "log": True},
        {"name": "units", "type": "int", "low": 8, "high": 512, "step": 8},
        {"name": "act", "type": "choice", "choices": ["relu", "tanh", None]},
    ],
    "scopes": {"act": {"relu": ["alpha"]}},
}
USER_ATTRS: dict[str, Any] = {
    "owner": "ada",
    "tags": ["cnn", "cifar"],
    "nested": {"seed": 3, "ratio": 0.1 + 0.2},
    "text": "héllo ✓",
}


def new_study(storage: Storage, name: str, *, mode: str = "min") -> StudyRecord:
    return storage.create_study(
        name,
        metric="loss",
        mode=mode,
        searcher=SEARCHER,
        scheduler=SCHEDULER,
        space=SPACE,
        user_attrs=USER_ATTRS,
    )


def new_trial(
    storage: Storage,
    study: StudyRecord,
    *,
    status: TrialStatus = TrialStatus.RUNNING,
    budget: int | None = 3,
    update: StudyUpdate | None = None,
) -> TrialRecord:
    return storage.create_trial(
        study.study_id,
        proposal={"lr": 0.01, "units": 64},
        meta={"origin": "searcher", "rung": 0},
        budget=budget,
        status=status,
        update=update,
    )


def finished(storage: Storage, study: StudyRecord, value: float | None, status: TrialStatus) -> int:
    trial = new_trial(storage, study)
    storage.finish_trial(trial.trial_id, TrialOutcome(status=status, value=value))
    return trial.trial_id


# -- studies ---------------------------------------------------------------------------


def test_create_and_get_study_round_trip(storage: Storage, study_name: NameFactory) -> None:
    name = study_name("roundtrip")
    created = new_study(storage, name, mode="max")

    assert created.name == name
    assert (created.metric, created.mode) == ("loss", "max")
    assert created.searcher == SEARCHER
    assert created.scheduler == SCHEDULER
    assert created.space == SPACE
    assert created.user_attrs == USER_ATTRS
    assert created.searcher_state is None
    assert created.scheduler_state is None
    assert created.elapsed_seconds == 0.0
    assert created.created_at > 0
    assert storage.get_study(name) == created


def test_create_study_without_user_attrs(storage: Storage, study_name: NameFactory) -> None:
    name = study_name("plain")
    storage.create_study(name, metric="acc", mode="max", searcher={}, scheduler={}, space={})
    study = storage.get_study(name)
    assert study.user_attrs == {}
    assert (study.searcher, study.scheduler, study.space) == ({}, {}, {})


def test_duplicate_study_name_raises(storage: Storage, study_name: NameFactory) -> None:
    name = study_name("dup")
    original = new_study(storage, name)
    with pytest.raises(DuplicateStudyError, match=name):
        storage.create_study(name, metric="other", mode="max", searcher={}, scheduler={}, space={})
    assert storage.get_study(name) == original
    assert [s.name for s in storage.list_studies()].count(name) == 1


def test_missing_study_raises(storage: Storage, study_name: NameFactory) -> None:
    name = study_name("missing")
    with pytest.raises(StudyNotFoundError, match=name):
        storage.get_study(name)
    with pytest.raises(StudyNotFoundError, match=name):
        storage.delete_study(name)
    with pytest.raises(StudyNotFoundError):
        storage.create_trial(987654321, proposal={}, meta={}, budget=None)


def test_delete_study_removes_trials_and_reports(storage: Storage, study_name: NameFactory) -> None:
    doomed_name, kept_name = study_name("doomed"), study_name("kept")
    doomed, kept = new_study(storage, doomed_name), new_study(storage, kept_name)
    gone = new_trial(storage, doomed)
    storage.add_report(gone.trial_id, 0, {"loss": 1.0})
    stay = new_trial(storage, kept)
    storage.add_report(stay.trial_id, 0, {"loss": 2.0})

    storage.delete_study(doomed_name)

    with pytest.raises(StudyNotFoundError):
        storage.get_study(doomed_name)
    assert doomed_name not in {s.name for s in storage.list_studies()}
    assert storage.get_trials(doomed.study_id) == []
    with pytest.raises(KeyError):
        storage.get_trial(gone.trial_id)
    assert storage.get_study(kept_name) == kept
    assert [r.metrics for r in storage.get_trial(stay.trial_id).reports] == [{"loss": 2.0}]

    # The name is free again, and the new study starts from trial number 0.
    again = new_study(storage, doomed_name)
    assert new_trial(storage, again).number == 0


def test_ids_are_not_reused_after_delete(storage: Storage, study_name: NameFactory) -> None:
    a, b = new_study(storage, study_name("a")), new_study(storage, study_name("b"))
    for _ in range(2):
        new_trial(storage, a)
    b_trial = new_trial(storage, b)
    storage.delete_study(a.name)

    c = new_study(storage, study_name("c"))
    c_trial = new_trial(storage, c)

    assert c.study_id not in (a.study_id, b.study_id)
    assert [t.trial_id for t in storage.get_trials(b.study_id)] == [b_trial.trial_id]
    assert [t.trial_id for t in storage.get_trials(c.study_id)] == [c_trial.trial_id]
    assert storage.get_trial(b_trial.trial_id).study_id == b.study_id
    assert new_trial(storage, b).number == 1


@pytest.mark.parametrize(("mode", "best"), [("min", 1.0), ("max", 3.0)])
def test_list_studies_summaries(
    storage: Storage, study_name: NameFactory, mode: str, best: float
) -> None:
    full_name, empty_name = study_name("full"), study_name("empty")
    full = new_study(storage, full_name, mode=mode)
    for value in (3.0, 1.0, 2.0):
        finished(storage, full, value, TrialStatus.COMPLETED)
    # Only completed trials give the best value, whatever the others hold.
    finished(storage, full, -100.0 if mode == "min" else 100.0, TrialStatus.PRUNED)
    finished(storage, full, None, TrialStatus.FAILED)
    new_trial(storage, full)
    new_trial(storage, full, status=TrialStatus.WAITING)
    new_study(storage, empty_name, mode=mode)

    summaries = {s.name: s for s in storage.list_studies()}
    mine = [s.name for s in storage.list_studies() if s.name in (full_name, empty_name)]
    assert mine == [full_name, empty_name]  # oldest first

    s = summaries[full_name]
    assert (s.metric, s.mode) == ("loss", mode)
    assert (s.n_trials, s.n_completed) == (7, 3)
    assert s.best_value == best
    assert s.created_at == full.created_at

    e = summaries[empty_name]
    assert (e.n_trials, e.n_completed, e.best_value) == (0, 0, None)


# -- study-level state -----------------------------------------------------------------


def test_update_study_writes_state(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("update"))
    searcher_state = {"rng": [1, 2, 3], "told": {"0": 0.5}}
    storage.update_study(study.study_id, StudyUpdate(searcher_state=searcher_state))
    storage.update_study(
        study.study_id, StudyUpdate(scheduler_state={"rungs": [[0, 1]]}, elapsed_delta=1.5)
    )
    new_space = {**SPACE, "params": [*SPACE["params"], {"name": "alpha", "type": "float"}]}
    storage.update_study(study.study_id, StudyUpdate(space=new_space, elapsed_delta=2.25))
    storage.update_study(study.study_id, StudyUpdate())  # empty: changes nothing

    got = storage.get_study(study.name)
    assert got.searcher_state == searcher_state  # kept when a later update leaves it None
    assert got.scheduler_state == {"rungs": [[0, 1]]}
    assert got.space == new_space
    assert got.elapsed_seconds == 3.75
    assert (got.searcher, got.scheduler, got.user_attrs) == (SEARCHER, SCHEDULER, USER_ATTRS)

    storage.update_study(study.study_id, StudyUpdate(searcher_state={"rng": [4]}))
    assert storage.get_study(study.name).searcher_state == {"rng": [4]}


def test_update_lands_with_create_and_finish(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("atomic"))
    trial = new_trial(
        storage, study, update=StudyUpdate(searcher_state={"asked": 1}, elapsed_delta=0.5)
    )
    got = storage.get_study(study.name)
    assert got.searcher_state == {"asked": 1}
    assert got.elapsed_seconds == 0.5

    storage.finish_trial(
        trial.trial_id,
        TrialOutcome(status=TrialStatus.COMPLETED, value=0.3),
        update=StudyUpdate(searcher_state={"asked": 1, "told": 1}, scheduler_state={"r": 0}),
    )
    got = storage.get_study(study.name)
    assert got.searcher_state == {"asked": 1, "told": 1}
    assert got.scheduler_state == {"r": 0}
    assert got.elapsed_seconds == 0.5


def test_failed_update_rolls_back_the_trial_change(
    storage: Storage, study_name: NameFactory
) -> None:
    """State that cannot be stored fails the whole write: no half-applied trial change."""
    study = new_study(storage, study_name("rollback"))
    bad = StudyUpdate(searcher_state={"lock": threading.Lock()}, elapsed_delta=1.0)

    with pytest.raises(TypeError):
        new_trial(storage, study, update=bad)
    assert storage.get_trials(study.study_id) == []
    assert storage.get_study(study.name) == study

    trial = new_trial(storage, study)
    assert trial.number == 0
    with pytest.raises(TypeError):
        storage.finish_trial(
            trial.trial_id, TrialOutcome(status=TrialStatus.COMPLETED, value=1.0), update=bad
        )
    assert storage.get_trial(trial.trial_id) == trial
    assert storage.get_study(study.name) == study


# -- trials ----------------------------------------------------------------------------


def test_trial_numbers_are_dense_per_study(storage: Storage, study_name: NameFactory) -> None:
    a, b = new_study(storage, study_name("a")), new_study(storage, study_name("b"))
    made = [new_trial(storage, s) for s in (a, b, a, a, b)]

    assert [t.number for t in made] == [0, 0, 1, 2, 1]
    assert len({t.trial_id for t in made}) == 5
    assert [t.number for t in storage.get_trials(a.study_id)] == [0, 1, 2]
    assert [t.number for t in storage.get_trials(b.study_id)] == [0, 1]
    assert all(t.study_id == b.study_id for t in storage.get_trials(b.study_id))


def test_create_trial_fields(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("fields"))
    first = new_trial(storage, study)
    trial = storage.create_trial(
        study.study_id,
        proposal={"lr": 0.5, "act": "relu"},
        meta={"origin": "retry", "parents": [1, 2]},
        budget=9,
        worker="gpu-0",
        retry_of=first.trial_id,
    )
    assert trial.status is TrialStatus.RUNNING
    assert trial.proposal == {"lr": 0.5, "act": "relu"}
    assert trial.meta == {"origin": "retry", "parents": [1, 2]}
    assert (trial.budget, trial.worker, trial.retry_of) == (9, "gpu-0", first.trial_id)
    assert trial.params == {}
    assert trial.reports == ()
    assert (trial.value, trial.metrics, trial.ended_at) == (None, {}, None)
    assert trial.started_at is not None
    assert trial.created_at <= trial.started_at
    assert storage.get_trial(trial.trial_id) == trial
    with pytest.raises(ValueError, match="paused"):
        new_trial(storage, study, status=TrialStatus.PAUSED)
    assert len(storage.get_trials(study.study_id)) == 2


def test_reports_keep_order_and_values(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("reports"))
    trial = new_trial(storage, study)
    sent = [(step, {"loss": 1 / (step + 3), "acc": 0.1 * step}) for step in (0, 1, 2, 5, 9)]
    for step, metrics in sent:
        storage.add_report(trial.trial_id, step, metrics)

    reports = storage.get_trial(trial.trial_id).reports
    assert [(r.step, r.metrics) for r in reports] == sent
    times = [r.time for r in reports]
    assert times == sorted(times)
    listed = storage.get_trials(study.study_id)[0]
    assert listed.reports == reports
    assert listed.metric_history("loss") == [(s, m["loss"]) for s, m in sent]


def test_params_written_with_report_and_set_params(
    storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(storage, study_name("params"))
    trial = new_trial(storage, study)

    storage.add_report(trial.trial_id, 0, {"loss": 1.0}, params={"lr": 0.01})
    assert storage.get_trial(trial.trial_id).params == {"lr": 0.01}
    storage.add_report(trial.trial_id, 1, {"loss": 0.5})  # no params: kept
    assert storage.get_trial(trial.trial_id).params == {"lr": 0.01}
    storage.add_report(trial.trial_id, 2, {"loss": 0.4}, params={"lr": 0.01, "units": 64})
    assert storage.get_trial(trial.trial_id).params == {"lr": 0.01, "units": 64}

    storage.set_trial_params(trial.trial_id, {"lr": 0.02, "units": 32, "act": "tanh"})
    got = storage.get_trial(trial.trial_id)
    assert got.params == {"lr": 0.02, "units": 32, "act": "tanh"}
    assert got.proposal == {"lr": 0.01, "units": 64}  # the proposal never changes
    assert len(got.reports) == 3


def test_user_attrs(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("attrs"))
    trial, other = new_trial(storage, study), new_trial(storage, study)
    storage.set_trial_user_attr(trial.trial_id, "note", "first")
    storage.set_trial_user_attr(trial.trial_id, "sizes", {"train": 800, "val": [1, 2]})
    storage.set_trial_user_attr(trial.trial_id, "note", "second")

    assert storage.get_trial(trial.trial_id).user_attrs == {
        "note": "second",
        "sizes": {"train": 800, "val": [1, 2]},
    }
    assert storage.get_trial(other.trial_id).user_attrs == {}

    storage.finish_trial(trial.trial_id, TrialOutcome(status=TrialStatus.COMPLETED, value=1.0))
    with pytest.raises(FinishedTrialError):
        storage.set_trial_user_attr(trial.trial_id, "note", "third")
    assert storage.get_trial(trial.trial_id).user_attrs["note"] == "second"


def test_study_user_attrs(storage: Storage, study_name: NameFactory) -> None:
    study, other = new_study(storage, study_name("sattrs")), new_study(storage, study_name("o"))
    storage.set_study_user_attr(study.study_id, "result", {"test": [0.9, 0.95], "ok": True})
    storage.set_study_user_attr(study.study_id, "owner", "grace")  # replaces one key only
    storage.set_study_user_attr(study.study_id, "pair", (1, 2))

    got = storage.get_study(study.name)
    assert got.user_attrs == {
        **USER_ATTRS,
        "owner": "grace",
        "result": {"test": [0.9, 0.95], "ok": True},
        "pair": [1, 2],  # what JSON gives back, on every backend
    }
    assert storage.get_study(other.name).user_attrs == USER_ATTRS
    # other study-level state is untouched, and later updates keep the attributes
    storage.update_study(study.study_id, StudyUpdate(searcher_state={"n": 1}, elapsed_delta=2.0))
    again = storage.get_study(study.name)
    assert again.user_attrs == got.user_attrs
    assert (again.searcher_state, again.elapsed_seconds) == ({"n": 1}, 2.0)


def test_study_user_attr_errors_write_nothing(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("sattrs-bad"))
    with pytest.raises(StorageError, match="'blob' is not JSON-serialisable"):
        storage.set_study_user_attr(study.study_id, "blob", {"x": object()})
    with pytest.raises(StudyNotFoundError):
        storage.set_study_user_attr(987_654, "k", 1)
    assert storage.get_study(study.name).user_attrs == USER_ATTRS


def test_study_user_attrs_are_copied(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("sattrs-copy"))
    value: dict[str, Any] = {"list": [1]}
    storage.set_study_user_attr(study.study_id, "v", value)
    value["list"].append(2)
    got = storage.get_study(study.name)
    got.user_attrs["v"]["list"].append(3)
    assert storage.get_study(study.name).user_attrs["v"] == {"list": [1]}


def test_study_user_attrs_are_seen_by_another_connection(
    shared_storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(shared_storage, study_name("sattrs-shared"))
    shared_storage.set_study_user_attr(study.study_id, "done", True)
    other = make_storage(shared_storage.url)
    try:
        assert other.get_study(study.name).user_attrs["done"] is True
    finally:
        other.close()


def test_update_of_an_unknown_study_raises(storage: Storage) -> None:
    with pytest.raises(StudyNotFoundError):
        storage.update_study(987_654, StudyUpdate(elapsed_delta=1.0))


def test_finish_trial_returns_the_finished_record(
    storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(storage, study_name("finish"))
    trial = new_trial(storage, study)
    storage.add_report(trial.trial_id, 0, {"loss": 0.9})
    storage.add_report(trial.trial_id, 1, {"loss": 0.7})

    done = storage.finish_trial(
        trial.trial_id,
        TrialOutcome(status=TrialStatus.COMPLETED, value=0.7, metrics={"loss": 0.7, "acc": 0.8}),
        params={"lr": 0.01, "units": 64},
    )
    assert done.status is TrialStatus.COMPLETED
    assert (done.value, done.metrics) == (0.7, {"loss": 0.7, "acc": 0.8})
    assert done.params == {"lr": 0.01, "units": 64}
    assert [(r.step, r.metrics) for r in done.reports] == [(0, {"loss": 0.9}), (1, {"loss": 0.7})]
    assert done.ended_at is not None
    assert trial.started_at is not None
    assert done.ended_at >= trial.started_at
    assert (done.error, done.traceback, done.failure) == (None, None, None)
    assert storage.get_trial(trial.trial_id) == done


def test_finish_trial_failed_keeps_error(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("failed"))
    trial = new_trial(storage, study)
    outcome = TrialOutcome(
        status=TrialStatus.FAILED,
        error="ValueError: bad batch",
        traceback='Traceback (most recent call last):\n  File "x.py"\nValueError: bad batch\n',
        failure=FailureKind.INTERRUPTED,
    )
    done = storage.finish_trial(trial.trial_id, outcome)
    got = storage.get_trial(trial.trial_id)
    assert got == done
    assert got.status is TrialStatus.FAILED
    assert (got.error, got.traceback, got.failure) == (
        outcome.error,
        outcome.traceback,
        FailureKind.INTERRUPTED,
    )
    assert got.value is None
    assert not got.counts_toward_budget  # an interruption is run again, not counted


def test_finish_trial_needs_a_finished_status(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("notdone"))
    trial = new_trial(storage, study)
    for status in (TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.WAITING):
        with pytest.raises(ValueError, match=status.value):
            storage.finish_trial(trial.trial_id, TrialOutcome(status=status))
    assert storage.get_trial(trial.trial_id) == trial


@pytest.mark.parametrize(
    "status", [TrialStatus.COMPLETED, TrialStatus.PRUNED, TrialStatus.FAILED], ids=str
)
def test_finished_trial_is_immutable(
    storage: Storage, study_name: NameFactory, status: TrialStatus
) -> None:
    study = new_study(storage, study_name("frozen"))
    trial = new_trial(storage, study)
    storage.add_report(trial.trial_id, 0, {"loss": 0.5}, params={"lr": 0.01})
    storage.finish_trial(trial.trial_id, TrialOutcome(status=status, value=0.5))
    before = storage.get_trial(trial.trial_id)
    study_before = storage.get_study(study.name)

    with pytest.raises(FinishedTrialError):
        storage.add_report(trial.trial_id, 1, {"loss": 0.1}, params={"lr": 9.0})
    with pytest.raises(FinishedTrialError):
        storage.set_trial_params(trial.trial_id, {"lr": 9.0})
    with pytest.raises(FinishedTrialError):
        storage.pause_trial(trial.trial_id, params={"lr": 9.0})
    with pytest.raises(FinishedTrialError):
        storage.finish_trial(
            trial.trial_id,
            TrialOutcome(status=TrialStatus.COMPLETED, value=0.0),
            update=StudyUpdate(searcher_state={"x": 1}, elapsed_delta=5.0),
        )
    with pytest.raises(ValueError, match="not paused"):
        storage.resume_trial(trial.trial_id, budget=9, worker="w")

    assert storage.get_trial(trial.trial_id) == before
    assert storage.get_study(study.name) == study_before


# -- waiting, paused -------------------------------------------------------------------


def test_waiting_trials_start_oldest_first(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("queue"))
    assert storage.start_waiting_trial(study.study_id, worker="w0") is None

    w0 = new_trial(storage, study, status=TrialStatus.WAITING, budget=1)
    new_trial(storage, study)  # running: never handed out
    w2 = new_trial(storage, study, status=TrialStatus.WAITING, budget=3)
    assert w0.status is TrialStatus.WAITING
    assert w0.started_at is None
    waiting = storage.get_trials(study.study_id, statuses=(TrialStatus.WAITING,))
    assert [t.number for t in waiting] == [0, 2]

    first = storage.start_waiting_trial(study.study_id, worker="w1")
    assert first is not None
    assert (first.trial_id, first.number, first.status) == (w0.trial_id, 0, TrialStatus.RUNNING)
    assert (first.worker, first.budget) == ("w1", 1)
    assert first.started_at is not None
    assert storage.get_trial(w0.trial_id) == first

    second = storage.start_waiting_trial(study.study_id, worker="w2", budget=9)
    assert second is not None
    assert (second.trial_id, second.budget, second.worker) == (w2.trial_id, 9, "w2")
    assert storage.get_trial(w2.trial_id).budget == 9

    assert storage.start_waiting_trial(study.study_id, worker="w3") is None
    assert [t.status for t in storage.get_trials(study.study_id)] == [TrialStatus.RUNNING] * 3


def test_starting_a_waiting_trial_adds_scheduler_meta(
    storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(storage, study_name("queue-meta"))
    queued = new_trial(storage, study, status=TrialStatus.WAITING, budget=None)
    started = storage.start_waiting_trial(
        study.study_id, worker="w", budget=3, meta={"scheduler": {"bracket": 2}}
    )
    assert started is not None and started.trial_id == queued.trial_id
    expected = {"origin": "searcher", "rung": 0, "scheduler": {"bracket": 2}}
    assert started.meta == expected
    assert storage.get_trial(queued.trial_id).meta == expected


def test_waiting_trials_of_other_studies_are_not_taken(
    storage: Storage, study_name: NameFactory
) -> None:
    a, b = new_study(storage, study_name("a")), new_study(storage, study_name("b"))
    queued = new_trial(storage, b, status=TrialStatus.WAITING)
    assert storage.start_waiting_trial(a.study_id, worker=None) is None
    assert storage.get_trial(queued.trial_id).status is TrialStatus.WAITING


def test_pause_and_resume(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("pause"))
    trial = new_trial(storage, study, budget=3)
    storage.add_report(trial.trial_id, 0, {"loss": 0.8}, params={"lr": 0.01})

    with pytest.raises(ValueError, match="not paused"):
        storage.resume_trial(trial.trial_id, budget=9, worker="w")
    assert storage.get_trial(trial.trial_id).budget == 3

    storage.pause_trial(trial.trial_id, params={"lr": 0.01, "units": 64})
    paused = storage.get_trial(trial.trial_id)
    assert paused.status is TrialStatus.PAUSED
    assert paused.params == {"lr": 0.01, "units": 64}
    with pytest.raises(ValueError, match="not a finished status"):
        storage.finish_trial(trial.trial_id, TrialOutcome(status=TrialStatus.PAUSED))

    resumed = storage.resume_trial(trial.trial_id, budget=9, worker="gpu-1")
    assert resumed.status is TrialStatus.RUNNING
    assert (resumed.budget, resumed.worker) == (9, "gpu-1")
    assert resumed.number == trial.number
    assert resumed.params == {"lr": 0.01, "units": 64}
    assert [r.metrics for r in resumed.reports] == [{"loss": 0.8}]
    assert storage.get_trial(trial.trial_id) == resumed

    storage.add_report(trial.trial_id, 1, {"loss": 0.6})
    with pytest.raises(ValueError, match="not paused"):
        storage.resume_trial(trial.trial_id, budget=27, worker="w")
    assert storage.get_trial(trial.trial_id).budget == 9

    queued = new_trial(storage, study, status=TrialStatus.WAITING)
    with pytest.raises(ValueError, match="not paused"):
        storage.resume_trial(queued.trial_id, budget=1, worker="w")
    assert storage.get_trial(queued.trial_id).status is TrialStatus.WAITING


def test_pause_without_params_keeps_params(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("pause2"))
    trial = new_trial(storage, study)
    storage.set_trial_params(trial.trial_id, {"lr": 0.3})
    storage.pause_trial(trial.trial_id)
    got = storage.get_trial(trial.trial_id)
    assert (got.status, got.params) == (TrialStatus.PAUSED, {"lr": 0.3})


# -- snapshots -------------------------------------------------------------------------


def _scribble_trial(record: TrialRecord) -> None:
    record.params["lr"] = -1.0
    record.proposal["lr"] = -1.0
    record.meta["origin"] = "scribbled"
    record.metrics["loss"] = -1.0
    record.user_attrs["note"] = "scribbled"
    for report in record.reports:
        report.metrics["loss"] = -1.0


def test_records_are_snapshots(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("snap"))
    trial = new_trial(storage, study)
    storage.add_report(trial.trial_id, 0, {"loss": 0.5}, params={"lr": 0.01})
    storage.set_trial_user_attr(trial.trial_id, "note", "kept")
    expected = storage.get_trial(trial.trial_id)
    assert expected.metrics == {}

    _scribble_trial(trial)
    _scribble_trial(storage.get_trial(trial.trial_id))
    for listed in storage.get_trials(study.study_id):
        _scribble_trial(listed)
    for listed in storage.get_trials(study.study_id, with_reports=False):
        _scribble_trial(listed)
    assert storage.get_trial(trial.trial_id) == expected

    done = storage.finish_trial(
        trial.trial_id, TrialOutcome(status=TrialStatus.COMPLETED, value=0.5, metrics={"loss": 0.5})
    )
    final = storage.get_trial(trial.trial_id)
    _scribble_trial(done)
    for listed in storage.get_trials(study.study_id, with_reports=False):
        _scribble_trial(listed)
    assert storage.get_trial(trial.trial_id) == final
    assert final.metrics == {"loss": 0.5}
    assert final.user_attrs == {"note": "kept"}


def test_snapshots_do_not_change_under_the_reader(
    storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(storage, study_name("reader"))
    trial = new_trial(storage, study)
    storage.add_report(trial.trial_id, 0, {"loss": 0.5})
    old = storage.get_trial(trial.trial_id)
    old_list = storage.get_trials(study.study_id)

    storage.add_report(trial.trial_id, 1, {"loss": 0.4}, params={"lr": 0.1})
    storage.set_trial_user_attr(trial.trial_id, "k", 1)
    storage.finish_trial(trial.trial_id, TrialOutcome(status=TrialStatus.COMPLETED, value=0.4))

    assert old.status is TrialStatus.RUNNING
    assert [r.step for r in old.reports] == [0]
    assert (old.params, old.user_attrs, old.value) == ({}, {}, None)
    assert old_list[0] == old


def test_inputs_are_copied(storage: Storage, study_name: NameFactory) -> None:
    """Mutating the dicts a caller passed in does not reach what is stored."""
    name = study_name("inputs")
    searcher: dict[str, Any] = {"name": "random", "opts": {"seed": 1}}
    attrs: dict[str, Any] = {"tags": ["a"]}
    study = storage.create_study(
        name, metric="loss", mode="min", searcher=searcher, scheduler={}, space={}, user_attrs=attrs
    )
    state: dict[str, Any] = {"told": [1]}
    storage.update_study(study.study_id, StudyUpdate(searcher_state=state))
    meta: dict[str, Any] = {"parents": [1]}
    trial = storage.create_trial(study.study_id, proposal={"lr": 0.1}, meta=meta, budget=None)
    metrics = {"loss": 1.0}
    params: dict[str, Any] = {"lr": 0.1}
    storage.add_report(trial.trial_id, 0, metrics, params=params)
    value: dict[str, Any] = {"list": [1]}
    storage.set_trial_user_attr(trial.trial_id, "v", value)

    searcher["opts"]["seed"] = 2
    attrs["tags"].append("b")
    state["told"].append(2)
    meta["parents"].append(2)
    metrics["loss"] = 2.0
    params["lr"] = 0.2
    value["list"].append(2)

    got_study = storage.get_study(name)
    assert got_study.searcher == {"name": "random", "opts": {"seed": 1}}
    assert got_study.user_attrs == {"tags": ["a"]}
    assert got_study.searcher_state == {"told": [1]}
    got = storage.get_trial(trial.trial_id)
    assert got.meta == {"parents": [1]}
    assert got.reports[0].metrics == {"loss": 1.0}
    assert got.params == {"lr": 0.1}
    assert got.user_attrs == {"v": {"list": [1]}}


def test_study_records_are_snapshots(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("studysnap"))
    storage.update_study(study.study_id, StudyUpdate(searcher_state={"told": [1]}))
    got = storage.get_study(study.name)
    got.searcher["seed"] = -1
    got.space["params"].clear()
    got.user_attrs["tags"].append("x")
    assert got.searcher_state is not None
    got.searcher_state["told"].append(2)
    study.searcher["name"] = "scribbled"

    again = storage.get_study(study.name)
    assert (again.searcher, again.space, again.user_attrs) == (SEARCHER, SPACE, USER_ATTRS)
    assert again.searcher_state == {"told": [1]}


# -- reading trials --------------------------------------------------------------------


def test_get_trials_filters_by_status(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("filter"))
    completed = finished(storage, study, 1.0, TrialStatus.COMPLETED)
    running = new_trial(storage, study).trial_id
    pruned = finished(storage, study, 2.0, TrialStatus.PRUNED)
    waiting = new_trial(storage, study, status=TrialStatus.WAITING).trial_id
    paused = new_trial(storage, study).trial_id
    storage.pause_trial(paused)
    failed = finished(storage, study, None, TrialStatus.FAILED)

    def ids(statuses: tuple[TrialStatus, ...] | None) -> list[int]:
        return [t.trial_id for t in storage.get_trials(study.study_id, statuses=statuses)]

    assert ids(None) == [completed, running, pruned, waiting, paused, failed]
    assert ids((TrialStatus.COMPLETED,)) == [completed]
    assert ids((TrialStatus.FAILED, TrialStatus.PRUNED, TrialStatus.COMPLETED)) == [
        completed,
        pruned,
        failed,
    ]
    assert ids((TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.WAITING)) == [
        running,
        waiting,
        paused,
    ]
    assert ids(()) == []
    assert storage.get_trials(987654321) == []


def test_get_trials_without_reports(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("noreports"))
    for i in range(3):
        trial = new_trial(storage, study)
        for step in range(i + 1):
            storage.add_report(trial.trial_id, step, {"loss": float(step)}, params={"i": i})
        storage.set_trial_user_attr(trial.trial_id, "i", i)

    full = storage.get_trials(study.study_id)
    bare = storage.get_trials(study.study_id, with_reports=False)
    assert [len(t.reports) for t in full] == [1, 2, 3]
    assert all(t.reports == () for t in bare)
    # Everything but the reports is the same.
    assert [replace(t, reports=()) for t in full] == bare


# -- concurrency -----------------------------------------------------------------------


def test_threads_get_unique_dense_numbers(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("threads"))
    n_threads, per_thread = 4, 25
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                t = storage.create_trial(
                    study.study_id,
                    proposal={"i": i},
                    meta={},
                    budget=None,
                    worker=f"t{worker}",
                )
                storage.add_report(t.trial_id, 0, {"worker": float(worker), "i": float(i)})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    trials = storage.get_trials(study.study_id)
    assert [t.number for t in trials] == list(range(n_threads * per_thread))
    assert len({t.trial_id for t in trials}) == n_threads * per_thread
    for t in trials:
        assert t.worker is not None
        assert [r.metrics for r in t.reports] == [
            {"worker": float(t.worker[1:]), "i": float(t.proposal["i"])}
        ]


def _create_in_process(
    url: str, name: str, worker: int, n: int, barrier: Any
) -> None:  # pragma: no cover - runs in a child process
    storage = make_storage(url)
    study = storage.get_study(name)
    barrier.wait(timeout=60)
    for i in range(n):
        trial = storage.create_trial(
            study.study_id,
            proposal={"i": i},
            meta={"pid": os.getpid()},
            budget=2,
            worker=f"p{worker}",
        )
        for step in range(2):
            storage.add_report(trial.trial_id, step, {"loss": worker + i / 100 + step / 1000})
    storage.close()


def test_processes_get_unique_dense_numbers(
    shared_storage: Storage, study_name: NameFactory
) -> None:
    study = new_study(shared_storage, study_name("procs"))
    n_procs, per_proc = 3, 20
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n_procs)
    procs = [
        ctx.Process(
            target=_create_in_process,
            args=(shared_storage.url, study.name, w, per_proc, barrier),
        )
        for w in range(n_procs)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * n_procs

    trials = shared_storage.get_trials(study.study_id)
    assert [t.number for t in trials] == list(range(n_procs * per_proc))
    assert len({t.meta["pid"] for t in trials}) == n_procs
    for t in trials:
        assert t.worker is not None
        worker, i = int(t.worker[1:]), int(t.proposal["i"])
        assert [(r.step, r.metrics) for r in t.reports] == [
            (step, {"loss": worker + i / 100 + step / 1000}) for step in range(2)
        ]


# -- SQLite files ----------------------------------------------------------------------


def _sidecars(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def test_sqlite_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("my lab notes, not a database\n" * 20)
    before = path.read_bytes()

    with pytest.raises(StorageError, match="not a SQLite database") as info:
        make_storage(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert _sidecars(path) == []


def test_sqlite_refuses_a_database_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO foo (name) VALUES ('keep me')")
    conn.close()
    before = path.read_bytes()

    with pytest.raises(StorageError, match="another program") as info:
        make_storage(path)
    assert str(path) in str(info.value)
    assert "foo" in str(info.value)
    assert path.read_bytes() == before
    assert _sidecars(path) == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM foo").fetchall() == [("keep me",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    storage = make_storage(path)
    new_study(storage, "kept")
    storage.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tunelab_schema SET version = ?", (SCHEMA_VERSION + 1,))
    conn.close()
    before = path.read_bytes()

    with pytest.raises(StorageError, match="newer") as info:
        make_storage(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before

    # Back at our version, the same file opens with its study intact.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tunelab_schema SET version = ?", (SCHEMA_VERSION,))
    conn.close()
    reopened = make_storage(path)
    assert reopened.get_study("kept").searcher == SEARCHER
    reopened.close()


def test_sqlite_refuses_a_corrupt_file_after_a_valid_header(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 16)
    before = path.read_bytes()

    with pytest.raises(StorageError, match="corrupt") as info:
        make_storage(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_sqlite_corrupt_pages_give_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    storage = make_storage(path)
    study = new_study(storage, "damaged")
    for i in range(40):
        trial = new_trial(storage, study)
        for step in range(5):
            storage.add_report(trial.trial_id, step, {"loss": i + step / 10, "pad": 1.0 / 3})
        storage.set_trial_user_attr(trial.trial_id, "blob", "x" * 300)
    storage.close()
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    n_pages = len(data) // page_size
    assert n_pages >= 8
    start, stop = (n_pages // 4) * page_size, (3 * n_pages // 4) * page_size
    data[start:stop] = bytes([0xA5]) * (stop - start)
    path.write_bytes(bytes(data))

    # Damage is found when the file is opened or when the damaged pages are read;
    # either way it is a StorageError, never a raw database exception.
    with pytest.raises(StorageError):
        damaged = make_storage(path)
        try:
            found = damaged.get_study("damaged")
            for t in damaged.get_trials(found.study_id):
                damaged.get_trial(t.trial_id)
        finally:
            damaged.close()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    storage = make_storage(path)
    new_study(storage, "wal")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    storage.close()


def _report_then_die(url: str, trial_id: int) -> None:  # pragma: no cover - child process
    storage = make_storage(url)
    storage.set_trial_params(trial_id, {"lr": 0.02})
    storage.add_report(trial_id, 7, {"loss": 0.125})
    os.kill(os.getpid(), signal.SIGKILL)


def test_sqlite_commit_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    storage = make_storage(path)
    study = new_study(storage, "crash")
    trial = new_trial(storage, study)
    storage.close()

    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_report_then_die, args=(storage.url, trial.trial_id))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL

    reopened = make_storage(path)
    got = reopened.get_trial(trial.trial_id)
    assert [(r.step, r.metrics) for r in got.reports] == [(7, {"loss": 0.125})]
    assert got.params == {"lr": 0.02}
    assert got.status is TrialStatus.RUNNING
    reopened.close()


# -- make_storage ----------------------------------------------------------------------


def test_make_storage_memory() -> None:
    storage = make_storage(":memory:")
    assert isinstance(storage, MemoryStorage)
    assert isinstance(make_storage("  :memory: "), MemoryStorage)
    assert make_storage(storage) is storage
    assert make_storage(":memory:") is not storage  # each call is a new, empty storage
    new_study(storage, "only-here")
    assert make_storage(":memory:").list_studies() == []


def test_make_storage_resolves_relative_sqlite_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path.resolve()
    monkeypatch.chdir(tmp_path)
    bare = make_storage("x.db")
    url = make_storage("sqlite:///y.db")
    from_path = make_storage(Path("z.sqlite"))

    assert isinstance(bare, SqlStorage)
    assert bare.url == f"sqlite:///{root / 'x.db'}"
    assert url.url == f"sqlite:///{root / 'y.db'}"
    assert from_path.url == f"sqlite:///{root / 'z.sqlite'}"
    assert (root / "x.db").is_file()
    assert (root / "y.db").is_file()
    new_study(bare, "here")

    # The URL stays valid from another working directory.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    again = make_storage(bare.url)
    assert again.get_study("here").space == SPACE
    assert not (elsewhere / "x.db").exists()
    for s in (bare, url, from_path, again):
        s.close()


@pytest.mark.parametrize(
    "bad", ["", "results", "results.txt", "nosuchdb://host/db", "sqlite", "redis://localhost"]
)
def test_make_storage_rejects_bad_strings(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError):
        make_storage(bad)
    assert list(tmp_path.iterdir()) == []


# -- shared state between workers: versions, leases, study attributes ---------------------


def test_state_version_guards_concurrent_writers(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("version"))
    assert storage.get_study(study.name).state_version == 0
    first = new_trial(
        storage, study, update=StudyUpdate(searcher_state={"i": 1}, expected_version=0)
    )
    assert storage.get_study(study.name).state_version == 1
    # A second worker still at version 0 is refused, and its trial is not created.
    with pytest.raises(StaleStateError):
        new_trial(storage, study, update=StudyUpdate(searcher_state={"i": 99}, expected_version=0))
    record = storage.get_study(study.name)
    assert record.searcher_state == {"i": 1} and record.state_version == 1
    assert [t.number for t in storage.get_trials(study.study_id)] == [first.number]
    # The same refusal covers finishing a trial: nothing of it is written.
    outcome = TrialOutcome(status=TrialStatus.COMPLETED, value=1.0)
    with pytest.raises(StaleStateError):
        storage.finish_trial(first.trial_id, outcome, update=StudyUpdate(expected_version=0))
    assert storage.get_trial(first.trial_id).status is TrialStatus.RUNNING
    storage.finish_trial(first.trial_id, outcome, update=StudyUpdate(expected_version=1))
    assert storage.get_study(study.name).state_version == 2
    # Writes without an expected version still bump it, so others notice them.
    storage.update_study(study.study_id, StudyUpdate(scheduler_state={"rung": 1}))
    assert storage.get_study(study.name).state_version == 3


def test_study_user_attrs_can_be_added(storage: Storage, study_name: NameFactory) -> None:
    study = new_study(storage, study_name("sattrs"))
    storage.set_study_user_attr(study.study_id, "budget", {"max_trials": 10})
    storage.set_study_user_attr(study.study_id, "objective", "obj.py:objective")
    attrs = storage.get_study(study.name).user_attrs
    assert attrs == {**USER_ATTRS, "budget": {"max_trials": 10}, "objective": "obj.py:objective"}
    with pytest.raises(StudyNotFoundError):
        storage.set_study_user_attr(987_654, "x", 1)


def test_leases_expire_unless_renewed(storage: Storage, study_name: NameFactory) -> None:
    import time

    # Each expected outcome either follows from clocks measured around the calls or has
    # a whole lease (2 s) of slack, so a loaded machine cannot change it.
    lease = 2.0
    study = new_study(storage, study_name("lease"))
    quiet, busy = new_trial(storage, study), new_trial(storage, study)
    waiting = new_trial(storage, study, status=TrialStatus.WAITING)
    created = storage.now()
    assert abs(created - time.time()) < 5
    assert storage.expired_trials(study.study_id, lease_seconds=60) == []
    while storage.now() <= created + lease:  # neither was renewed since it started
        time.sleep(0.05)
    expired = storage.expired_trials(study.study_id, lease_seconds=lease)
    assert sorted(t.number for t in expired) == [quiet.number, busy.number]
    storage.renew_leases([busy.trial_id])
    storage.add_report(quiet.trial_id, 1, {"loss": 1.0})  # a report renews a lease too
    expired = storage.expired_trials(study.study_id, lease_seconds=lease)
    assert expired == []
    deadline = time.monotonic() + 120
    while not expired and time.monotonic() < deadline:  # until the quiet one lapses
        time.sleep(0.05)
        storage.renew_leases([busy.trial_id])
        expired = storage.expired_trials(study.study_id, lease_seconds=lease)
    assert [t.number for t in expired] == [quiet.number]
    assert expired[0].reports[0].metrics == {"loss": 1.0}
    assert waiting.number not in [t.number for t in expired]
