"""Rows to records and back: JSON columns, trial and study records, versioned updates."""

from __future__ import annotations

import gc
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tunelab.errors import StudyNotFoundError
from tunelab.storage import sql_statements as statements
from tunelab.storage.base import StaleStateError, StudyRecord, StudyUpdate, TrialRow
from tunelab.storage.sql_schema import FINISHED, reports, trials
from tunelab.trial import FailureKind, Report, TrialRecord, TrialStatus


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


@contextmanager
def bulk_objects() -> Iterator[None]:
    """No cyclic garbage collection while thousands of records are built: they hold no
    cycles, and the collections their allocations set off would otherwise scan the
    whole heap again and again (half the time of reading a large study)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def loads_many(texts: list[str]) -> list[Any]:
    """Many JSON texts parsed in one call (one array), much faster than one by one."""
    return list(json.loads("[" + ",".join(texts) + "]"))


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def apply_update(conn: Connection, study_id: int, update: StudyUpdate | None) -> None:
    """Write ``update`` in the transaction of ``conn``; StaleStateError (rolling the
    transaction back) when the study is no longer at the version it expects."""
    if update is None or update.is_empty:
        return
    checked = update.expected_version is not None
    params: dict[str, Any] = {"b_study": study_id}
    if checked:
        params["b_version"] = update.expected_version
    if update.searcher_state is not None:
        params["searcher_state"] = dumps(update.searcher_state)
    if update.scheduler_state is not None:
        params["scheduler_state"] = dumps(update.scheduler_state)
    if update.space is not None:
        params["space"] = dumps(update.space)
    if update.elapsed_delta:
        params["b_elapsed"] = update.elapsed_delta
    statement = statements.study_update(checked, bool(update.elapsed_delta))
    changed = conn.execute(statement, params).rowcount
    if changed != 1:
        version = conn.execute(statements.STUDY_VERSION, {"b_study": study_id}).scalar()
        if version is None:
            raise StudyNotFoundError(f"no study with id {study_id}")
        # Raising rolls back the whole transaction: the trial change is not written.
        raise StaleStateError(
            f"study id {study_id} changed (state version {version}, "
            f"expected {update.expected_version})"
        )


def load_trial(conn: Connection, trial_id: int, url: str) -> TrialRecord:
    """Trial ``trial_id`` with its reports; KeyError if there is none."""
    row = conn.execute(statements.TRIAL_ROW, {"b_trial": trial_id}).mappings().first()
    if row is None:
        raise KeyError(f"no trial with id {trial_id} in {url}")
    rows = conn.execute(statements.TRIAL_REPORTS, {"b_trial": trial_id}).all()
    return trial_from_row(row, tuple(Report(s, json.loads(m), t) for s, m, t in rows))


@dataclass(frozen=True)
class FinishedRows:
    """A study's trial table rows numbered up to ``upto``, all finished (so final)."""

    created_at: float | None
    rows: tuple[TrialRow, ...] = ()
    upto: int = -1

    def extended(self, newer: list[TrialRow]) -> FinishedRows:
        """Kept with the leading finished rows of ``newer`` (the rows after ``upto``)."""
        ahead: list[TrialRow] = []
        for row in newer:
            if row.number != self.upto + len(ahead) + 1 or row.status not in FINISHED:
                break
            ahead.append(row)
        if not ahead:
            return self
        return FinishedRows(self.created_at, (*self.rows, *ahead), ahead[-1].number)


def select_trials(
    conn: Connection,
    study_id: int,
    statuses: tuple[TrialStatus, ...] | None,
    selected: Any,
    *,
    with_reports: bool,
) -> list[TrialRecord]:
    """A study's trials in number order (by status, and by the ``selected`` clause)."""
    query = sa.select(trials).where(trials.c.study_id == study_id)
    if statuses is None:
        query = query.order_by(trials.c.number)
    else:
        query = query.where(trials.c.status.in_([s.value for s in statuses]))
    if selected is not None:
        query = query.where(selected)
    with bulk_objects():
        found = _trials_from_rows(conn, study_id, statuses, selected, with_reports, query)
    if statuses is not None:
        # Sorted here, not by the query: ORDER BY number makes SQLite walk the (study,
        # number) index through every trial of the study instead of the few of a status.
        found.sort(key=lambda t: t.number)
    return found


def _trials_from_rows(
    conn: Connection,
    study_id: int,
    statuses: tuple[TrialStatus, ...] | None,
    selected: Any,
    with_reports: bool,
    query: Any,
) -> list[TrialRecord]:
    rows = conn.execute(query).mappings().all()
    by_trial: dict[int, list[Report]] = {}
    if with_reports and rows:
        report_query = (
            sa.select(reports.c.trial_id, reports.c.step, reports.c.metrics, reports.c.time)
            .join(trials, trials.c.id == reports.c.trial_id)
            .where(trials.c.study_id == study_id)
            .order_by(reports.c.id)
        )
        if statuses is not None:
            report_query = report_query.where(trials.c.status.in_([s.value for s in statuses]))
        if selected is not None:
            report_query = report_query.where(selected)
        for trial_id, step, metrics, t in conn.execute(report_query):
            by_trial.setdefault(trial_id, []).append(Report(step, json.loads(metrics), t))
    return [trial_from_row(r, tuple(by_trial.get(r["id"], ()))) for r in rows]


def number_filter(numbers: Collection[int] | None, min_number: int | None) -> Any:
    """The WHERE clause selecting trials by number (None: all of them)."""
    clauses: list[Any] = []
    if numbers is not None:
        clauses.append(trials.c.number.in_(list(numbers)))
    if min_number is not None:
        clauses.append(trials.c.number >= min_number)
    return sa.or_(*clauses) if clauses else None


def study_from_row(row: Any) -> StudyRecord:
    return StudyRecord(
        study_id=row["id"],
        name=row["name"],
        metric=row["metric"],
        mode=row["mode"],
        searcher=json.loads(row["searcher"]),
        scheduler=json.loads(row["scheduler"]),
        space=json.loads(row["space"]),
        searcher_state=loads(row["searcher_state"]),
        scheduler_state=loads(row["scheduler_state"]),
        created_at=row["created_at"],
        elapsed_seconds=row["elapsed_seconds"] or 0.0,
        state_version=row["state_version"],
        user_attrs=json.loads(row["user_attrs"]),
    )


def trial_from_row(row: Any, trial_reports: tuple[Report, ...]) -> TrialRecord:
    return TrialRecord(
        study_id=row["study_id"],
        trial_id=row["id"],
        number=row["number"],
        status=TrialStatus(row["status"]),
        params=json.loads(row["params"]),
        proposal=json.loads(row["proposal"]),
        meta=json.loads(row["meta"]),
        budget=row["budget"],
        value=row["value"],
        metrics=json.loads(row["metrics"]),
        reports=trial_reports,
        created_at=row["created_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        error=row["error"],
        traceback=row["traceback"],
        failure=FailureKind(row["failure"]) if row["failure"] else None,
        worker=row["worker"],
        retry_of=row["retry_of"],
        user_attrs=json.loads(row["user_attrs"]),
    )
