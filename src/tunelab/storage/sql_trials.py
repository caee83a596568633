"""Trial rows: created, started, reported, paused, resumed and finished, and their leases.

Each write that changes shared study state applies its
:class:`~tunelab.storage.base.StudyUpdate` in the same transaction. Created, start, end
and report times are :func:`tunelab.clock.now`; heartbeats and lease expiry use the
database's clock (the server's on PostgreSQL), which simulation does not change.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tunelab import clock
from tunelab.errors import StudyNotFoundError
from tunelab.space import Config
from tunelab.storage import sql_statements as statements
from tunelab.storage.base import FinishedTrialError, StudyUpdate, TrialOutcome
from tunelab.storage.sql_engine import SqlDatabase
from tunelab.storage.sql_rows import apply_update, dumps, load_trial, loads
from tunelab.storage.sql_schema import trials
from tunelab.trial import TrialRecord, TrialStatus


class SqlTrialWrites(SqlDatabase):
    """The writes to trial rows, and their leases (see :class:`~tunelab.storage.base.Storage`)."""

    # -- leases -----------------------------------------------------------------------
    def renew_leases(self, trial_ids: list[int]) -> None:
        if not trial_ids:
            return
        with self._write() as conn:
            conn.execute(
                sa.update(trials)
                .where(trials.c.id.in_(trial_ids), trials.c.status == TrialStatus.RUNNING.value)
                .values(heartbeat_at=self._lease_clock())
            )

    def expired_trials(self, study_id: int, lease_seconds: float) -> list[TrialRecord]:
        with self._read() as conn:
            ids = conn.execute(
                sa.select(trials.c.id).where(
                    trials.c.study_id == study_id,
                    trials.c.status == TrialStatus.RUNNING.value,
                    sa.func.coalesce(trials.c.heartbeat_at, trials.c.started_at)
                    < self._lease_clock() - lease_seconds,
                )
            ).scalars()
            return [load_trial(conn, trial_id, self.url) for trial_id in ids]

    # -- trials -----------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        *,
        proposal: Config,
        meta: dict[str, Any],
        budget: int | None,
        status: TrialStatus = TrialStatus.RUNNING,
        worker: str | None = None,
        retry_of: int | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        if status not in (TrialStatus.RUNNING, TrialStatus.WAITING):
            raise ValueError(f"a new trial is running or waiting, not {status.value}")
        now = clock.now()
        with self._write() as conn:
            # Locks the study row on PostgreSQL so numbers are dense and unique;
            # SQLite's BEGIN IMMEDIATE already serialises writers.
            found = conn.execute(statements.LOCK_STUDY, {"b_study": study_id}).scalar()
            if found is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
            number = conn.execute(statements.NEXT_NUMBER, {"b_study": study_id}).scalar_one()
            values = {
                "study_id": study_id,
                "number": number,
                "status": status.value,
                "params": "{}",
                "proposal": dumps(proposal),
                "meta": dumps(meta),
                "budget": budget,
                "metrics": "{}",
                "worker": worker,
                "retry_of": retry_of,
                "user_attrs": "{}",
                "created_at": now,
                "started_at": now if status is TrialStatus.RUNNING else None,
            }
            running = status is TrialStatus.RUNNING
            insert = statements.INSERT_RUNNING if running else statements.INSERT_WAITING
            trial_id = conn.execute(insert, values).inserted_primary_key[0]  # type: ignore[index]
            apply_update(conn, study_id, update)
        return TrialRecord(
            study_id=study_id,
            trial_id=int(trial_id),
            number=int(number),
            status=status,
            params={},
            proposal=dict(proposal),
            meta=json.loads(values["meta"]),
            budget=budget,
            value=None,
            metrics={},
            reports=(),
            created_at=now,
            started_at=values["started_at"],
            ended_at=None,
            worker=worker,
            retry_of=retry_of,
        )

    def start_waiting_trial(
        self,
        study_id: int,
        *,
        worker: str | None,
        budget: int | None = None,
        meta: dict[str, Any] | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord | None:
        now = clock.now()
        with self._write() as conn:
            query = (
                sa.select(trials.c.id)
                .where(trials.c.study_id == study_id, trials.c.status == TrialStatus.WAITING.value)
                .order_by(trials.c.number)
                .limit(1)
            )
            if self._dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            trial_id = conn.execute(query).scalar()
            if trial_id is None:
                return None
            extra: dict[str, Any] = {} if budget is None else {"budget": budget}
            if meta:
                stored = conn.execute(
                    sa.select(trials.c.meta).where(trials.c.id == trial_id)
                ).scalar()
                extra["meta"] = dumps({**(loads(stored) or {}), **meta})
            conn.execute(
                sa.update(trials)
                .where(trials.c.id == trial_id)
                .values(
                    status=TrialStatus.RUNNING.value,
                    started_at=now,
                    heartbeat_at=self._lease_clock(),
                    worker=worker,
                    **extra,
                )
            )
            apply_update(conn, study_id, update)
            return load_trial(conn, trial_id, self.url)

    def resume_trial(
        self,
        trial_id: int,
        *,
        budget: int | None,
        worker: str | None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        with self._write() as conn:
            done = conn.execute(
                sa.update(trials)
                .where(trials.c.id == trial_id, trials.c.status == TrialStatus.PAUSED.value)
                .values(
                    status=TrialStatus.RUNNING.value,
                    budget=budget,
                    worker=worker,
                    heartbeat_at=self._lease_clock(),
                )
            ).rowcount
            if done != 1:
                current = load_trial(conn, trial_id, self.url)
                raise ValueError(f"trial {current.number} is {current.status.value}, not paused")
            record = load_trial(conn, trial_id, self.url)
            apply_update(conn, record.study_id, update)
            return record

    def _touch_live(self, conn: Connection, trial_id: int, **values: Any) -> None:
        """Update a trial that must still be running/paused/waiting (finished ones are frozen)."""
        changed = conn.execute(statements.UPDATE_LIVE, {"b_trial": trial_id, **values}).rowcount
        if changed != 1:
            status = conn.execute(statements.TRIAL_STATUS, {"b_trial": trial_id}).scalar()
            if status is None:
                raise KeyError(f"no trial with id {trial_id} in {self.url}")
            raise FinishedTrialError(f"trial id {trial_id} is {status}; it cannot change")

    def add_report(
        self,
        trial_id: int,
        step: int,
        metrics: dict[str, float],
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> None:
        now = clock.now()
        with self._write() as conn:
            extra = {} if params is None else {"params": dumps(params)}
            self._touch_live(conn, trial_id, **extra)
            conn.execute(
                statements.INSERT_REPORT,
                {"trial_id": trial_id, "step": step, "metrics": dumps(metrics), "time": now},
            )
            if update is not None and not update.is_empty:
                apply_update(conn, self._study_of(conn, trial_id), update)

    def set_trial_params(self, trial_id: int, params: Config) -> None:
        with self._write() as conn:
            self._touch_live(conn, trial_id, params=dumps(params))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._write() as conn:
            raw = conn.execute(
                sa.select(trials.c.user_attrs).where(trials.c.id == trial_id)
            ).scalar()
            if raw is None:
                raise KeyError(f"no trial with id {trial_id} in {self.url}")
            attrs = json.loads(raw)
            attrs[key] = value
            self._touch_live(conn, trial_id, user_attrs=dumps(attrs))

    def pause_trial(
        self,
        trial_id: int,
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> None:
        with self._write() as conn:
            extra = {} if params is None else {"params": dumps(params)}
            self._touch_live(conn, trial_id, status=TrialStatus.PAUSED.value, **extra)
            if update is not None and not update.is_empty:
                apply_update(conn, self._study_of(conn, trial_id), update)

    @staticmethod
    def _study_of(conn: Connection, trial_id: int) -> int:
        study_id: int = conn.execute(statements.TRIAL_STUDY, {"b_trial": trial_id}).scalar_one()
        return study_id

    def finish_trial(
        self,
        trial_id: int,
        outcome: TrialOutcome,
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> TrialRecord:
        if not outcome.status.is_finished:
            raise ValueError(f"{outcome.status.value} is not a finished status")
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "value": outcome.value,
            "metrics": dumps(outcome.metrics),
            "error": outcome.error,
            "traceback": outcome.traceback,
            "failure": outcome.failure.value if outcome.failure else None,
            "ended_at": clock.now(),
        }
        if params is not None:
            values["params"] = dumps(params)
        with self._write() as conn:
            self._touch_live(conn, trial_id, **values)
            record = load_trial(conn, trial_id, self.url)
            apply_update(conn, record.study_id, update)
        return record
