"""SQL storage through SQLAlchemy Core: SQLite (default, embedded) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit survives the process
being killed (not a power cut), and readers never block the writer nor wait for it.
Write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue instead
of failing on a lock upgrade; a lock held longer than SQLite's busy timeout is waited
out with retries up to a total wait (see :mod:`tunelab.storage.sqlite`). A
schema-version table guards every database: a file that is not SQLite, a SQLite
database of another program, or a newer schema is refused with a clear error before
anything is written, and without a file created beside it.

A read-only storage (``read_only=True``, or a SQLite file on a location this process
cannot write) reads without ever taking a write lock and refuses writes with
StorageReadOnlyError.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tunelab import clock
from tunelab.errors import DuplicateStudyError, StudyNotFoundError
from tunelab.storage.base import (
    Storage,
    StudyRecord,
    StudySnapshot,
    StudySummary,
    StudyUpdate,
    TrialRow,
    json_attr_value,
)
from tunelab.storage.sql_rows import (
    FinishedRows,
    apply_update,
    bulk_objects,
    dumps,
    load_trial,
    loads_many,
    number_filter,
    select_trials,
    study_from_row,
)
from tunelab.storage.sql_schema import (
    COUNTED_FAILURES,
    FINISHED,
    LIVE_STATUSES,
    SCHEMA_VERSION,
    VERDICT,
    best_index,
    reports,
    studies,
    trials,
)
from tunelab.storage.sql_trials import SqlTrialWrites
from tunelab.trial import TrialRecord, TrialStatus

__all__ = ["SCHEMA_VERSION", "SqlStorage", "best_index"]


class SqlStorage(SqlTrialWrites, Storage):
    """Storage in a SQL database given by a SQLAlchemy URL.

    ``sqlite:///path/to/file.db`` (created if missing) or
    ``postgresql+psycopg://user:pass@host/db`` (the database must exist).

    ``read_only=True`` opens an existing storage for reading only: nothing is created or
    written, and no write lock is ever taken. A SQLite file on a location this process
    cannot write is opened so whatever ``read_only`` says. ``busy_timeout`` and
    ``lock_timeout`` (seconds; SQLite only, also URL options: ``?lock_timeout=60``) bound
    how long a write waits for another process's lock: one attempt, and all of them.
    """

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        busy_timeout: float | None = None,
        lock_timeout: float | None = None,
    ) -> None:
        self._finished_rows: dict[int, FinishedRows] = {}
        super().__init__(
            url, read_only=read_only, busy_timeout=busy_timeout, lock_timeout=lock_timeout
        )

    # -- studies ----------------------------------------------------------------------
    def create_study(
        self,
        name: str,
        *,
        metric: str,
        mode: str,
        searcher: dict[str, Any],
        scheduler: dict[str, Any],
        space: dict[str, Any],
        user_attrs: dict[str, Any] | None = None,
    ) -> StudyRecord:
        try:
            with self._write() as conn:
                conn.execute(
                    sa.insert(studies).values(
                        name=name,
                        metric=metric,
                        mode=mode,
                        searcher=dumps(searcher),
                        scheduler=dumps(scheduler),
                        space=dumps(space),
                        user_attrs=dumps(user_attrs or {}),
                        created_at=clock.now(),
                        elapsed_seconds=0.0,
                    )
                )
        except IntegrityError:
            raise DuplicateStudyError(
                f"a study named {name!r} already exists in {self.url}"
            ) from None
        return self.get_study(name)

    def get_study(self, name: str) -> StudyRecord:
        with self._read() as conn:
            row = conn.execute(sa.select(studies).where(studies.c.name == name)).mappings().first()
        if row is None:
            raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
        return study_from_row(row)

    def list_studies(self) -> list[StudySummary]:
        completed = trials.c.status == TrialStatus.COMPLETED.value
        query = (
            sa.select(
                studies.c.name,
                studies.c.metric,
                studies.c.mode,
                studies.c.created_at,
                sa.func.count(trials.c.id).label("n_trials"),
                sa.func.coalesce(sa.func.sum(sa.case((completed, 1), else_=0)), 0).label("n_done"),
                sa.func.max(sa.case((completed, trials.c.value))).label("vmax"),
                sa.func.min(sa.case((completed, trials.c.value))).label("vmin"),
            )
            .select_from(studies.outerjoin(trials, trials.c.study_id == studies.c.id))
            .group_by(studies.c.id)
            .order_by(studies.c.created_at, studies.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            StudySummary(
                name=r["name"],
                metric=r["metric"],
                mode=r["mode"],
                n_trials=int(r["n_trials"]),
                n_completed=int(r["n_done"]),
                best_value=r["vmax"] if r["mode"] == "max" else r["vmin"],
                created_at=r["created_at"],
            )
            for r in rows
        ]

    def delete_study(self, name: str) -> None:
        with self._write() as conn:
            study_id = conn.execute(sa.select(studies.c.id).where(studies.c.name == name)).scalar()
            if study_id is None:
                raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
            trial_ids = sa.select(trials.c.id).where(trials.c.study_id == study_id)
            conn.execute(sa.delete(reports).where(reports.c.trial_id.in_(trial_ids)))
            conn.execute(sa.delete(trials).where(trials.c.study_id == study_id))
            conn.execute(sa.delete(studies).where(studies.c.id == study_id))

    def update_study(self, study_id: int, update: StudyUpdate) -> None:
        with self._write() as conn:
            apply_update(conn, study_id, update)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        stored = json_attr_value(key, value)
        with self._write() as conn:
            raw = conn.execute(
                sa.select(studies.c.user_attrs).where(studies.c.id == study_id).with_for_update()
            ).scalar()
            if raw is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
            attrs = json.loads(raw)
            attrs[key] = stored
            conn.execute(
                sa.update(studies).where(studies.c.id == study_id).values(user_attrs=dumps(attrs))
            )

    # -- trial reads ------------------------------------------------------------------
    def get_trial(self, trial_id: int) -> TrialRecord:
        with self._read() as conn:
            return load_trial(conn, trial_id, self.url)

    def best_trial(self, study_id: int, mode: str) -> TrialRecord | None:
        value = trials.c.value.desc() if mode == "max" else trials.c.value.asc()
        ranked = [trials.c.study_id == study_id, trials.c.value.is_not(None)]
        if self._dialect == "postgresql":  # SQLite stores NaN as NULL; PostgreSQL keeps it
            ranked.append(trials.c.value != sa.literal("NaN", sa.Double))
        with self._read() as conn:
            for status in (TrialStatus.COMPLETED, TrialStatus.PRUNED):
                trial_id = conn.execute(
                    sa.select(trials.c.id)
                    .where(trials.c.status == status.value, *ranked)
                    .order_by(value, trials.c.number)
                    .limit(1)
                ).scalar()
                if trial_id is not None:
                    return load_trial(conn, trial_id, self.url)
        return None

    def get_trials(
        self,
        study_id: int,
        *,
        statuses: tuple[TrialStatus, ...] | None = None,
        with_reports: bool = True,
        numbers: Collection[int] | None = None,
        min_number: int | None = None,
    ) -> list[TrialRecord]:
        selected = number_filter(numbers, min_number)
        with self._read() as conn:
            return select_trials(conn, study_id, statuses, selected, with_reports=with_reports)

    def trial_table(self, study_id: int) -> list[TrialRow]:
        steps = (
            sa.select(sa.func.count(reports.c.id))
            .where(reports.c.trial_id == trials.c.id)
            .scalar_subquery()
        )
        query = sa.select(
            trials.c.number,
            trials.c.status,
            trials.c.value,
            steps,
            trials.c.started_at,
            trials.c.ended_at,
            trials.c.failure,
            trials.c.error,
            trials.c.retry_of,
            trials.c.params,
            trials.c.metrics,
        ).order_by(trials.c.number)
        with self._read() as conn:
            created = conn.execute(
                sa.select(studies.c.created_at).where(studies.c.id == study_id)
            ).scalar()
            kept = self._finished_rows.get(study_id)
            if kept is None or kept.created_at != created:  # (a new study with this id)
                kept = FinishedRows(created)
            # Finished trials never change: read only those after the run of finished
            # ones already kept. Compiled with its values inline and run as plain SQL,
            # rows come back as the driver's tuples, without a conversion per column.
            query = query.where(trials.c.study_id == study_id, trials.c.number > kept.upto)
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            rows = conn.exec_driver_sql(sql).all()
        with bulk_objects():
            params = loads_many([r[9] for r in rows])
            metrics = loads_many([r[10] for r in rows])
            new = [
                TrialRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], p, m)
                for r, p, m in zip(rows, params, metrics, strict=True)
            ]
        self._finished_rows[study_id] = kept.extended(new)
        return [*kept.rows, *new]

    def snapshot(self, study_id: int) -> StudySnapshot:
        of_study = trials.c.study_id == study_id
        finished = trials.c.status.in_(FINISHED)
        retry_of = sa.select(trials.c.retry_of).where(of_study, trials.c.retry_of.is_not(None))
        counted = sa.or_(
            trials.c.status.in_(VERDICT),
            sa.and_(
                trials.c.status == TrialStatus.FAILED.value,
                sa.or_(trials.c.failure.is_(None), trials.c.failure.in_(COUNTED_FAILURES)),
            ),
        )
        with self._read() as conn:
            newest = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(trials.c.number), -1)).where(of_study)
            ).scalar_one()
            retried = frozenset(conn.execute(retry_of.distinct()).scalars())
            n_counted = conn.execute(
                sa.select(sa.func.count())
                .select_from(trials)
                .where(of_study, counted, trials.c.number.not_in(retry_of))
            ).scalar_one()
            steps = conn.execute(
                sa.select(sa.func.count(reports.c.id))
                .select_from(reports.join(trials, trials.c.id == reports.c.trial_id))
                .where(of_study, finished)
            ).scalar_one()
            live = select_trials(conn, study_id, LIVE_STATUSES, None, with_reports=True)
        return StudySnapshot(
            newest=int(newest),
            counted=int(n_counted),
            finished_steps=int(steps),
            retried=retried,
            live=tuple(live),
        )
