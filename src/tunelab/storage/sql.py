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

import gc
import json
import sqlite3
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool, StaticPool

from tunelab.errors import (
    DuplicateStudyError,
    StorageError,
    StorageLockedError,
    StorageReadOnlyError,
    StudyNotFoundError,
)
from tunelab.space import Config
from tunelab.storage.base import (
    FinishedTrialError,
    StaleStateError,
    Storage,
    StudyRecord,
    StudySnapshot,
    StudySummary,
    StudyUpdate,
    TrialOutcome,
    TrialRow,
    json_attr_value,
)
from tunelab.storage.sqlite import (
    LockWait,
    begin_immediate,
    connector,
    create_file,
    peek,
    read_only_reason,
)
from tunelab.trial import FailureKind, Report, TrialRecord, TrialStatus

SCHEMA_VERSION = 1
_SQLITE_HEADER = b"SQLite format 3\x00"

metadata = sa.MetaData()

schema_table = sa.Table(
    "tunelab_schema",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

studies = sa.Table(
    "tunelab_studies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(512), nullable=False, unique=True),
    sa.Column("metric", sa.String(256), nullable=False),
    sa.Column("mode", sa.String(8), nullable=False),
    sa.Column("searcher", sa.Text, nullable=False),
    sa.Column("scheduler", sa.Text, nullable=False),
    sa.Column("space", sa.Text, nullable=False),
    sa.Column("searcher_state", sa.Text),
    sa.Column("scheduler_state", sa.Text),
    sa.Column("user_attrs", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("elapsed_seconds", sa.Double, nullable=False, default=0.0),
    sa.Column("state_version", sa.Integer, nullable=False, default=0),
)

trials = sa.Table(
    "tunelab_trials",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("tunelab_studies.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("proposal", sa.Text, nullable=False),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("budget", sa.Integer),
    sa.Column("value", sa.Double),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("traceback", sa.Text),
    sa.Column("failure", sa.String(32)),
    sa.Column("worker", sa.String(256)),
    sa.Column("retry_of", sa.Integer),
    sa.Column("user_attrs", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("started_at", sa.Double),
    sa.Column("ended_at", sa.Double),
    sa.Column("heartbeat_at", sa.Double),
    sa.UniqueConstraint("study_id", "number", name="uq_tunelab_trials_study_number"),
)
sa.Index("ix_tunelab_trials_study_status", trials.c.study_id, trials.c.status)
# best_trial reads the first entry of a study's completed (or pruned) trials by value.
best_index = sa.Index(
    "ix_tunelab_trials_best", trials.c.study_id, trials.c.status, trials.c.value, trials.c.number
)

reports = sa.Table(
    "tunelab_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("tunelab_trials.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("time", sa.Double, nullable=False),
)
sa.Index("ix_tunelab_reports_trial", reports.c.trial_id)

_LIVE = (TrialStatus.RUNNING.value, TrialStatus.PAUSED.value, TrialStatus.WAITING.value)
_LIVE_STATUSES = (TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.WAITING)
_FINISHED = [s.value for s in TrialStatus if s.is_finished]
_VERDICT = (TrialStatus.COMPLETED.value, TrialStatus.PRUNED.value)
_COUNTED_FAILURES = [k.value for k in FailureKind if k.counts_toward_budget]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


@contextmanager
def _bulk_objects() -> Iterator[None]:
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


def _loads_many(texts: list[str]) -> list[Any]:
    """Many JSON texts parsed in one call (one array), much faster than one by one."""
    return list(json.loads("[" + ",".join(texts) + "]"))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class SqlStorage(Storage):
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
        self.url = url
        self.read_only = read_only
        self._read_only_reason = "it was opened read-only"
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StorageError(f"cannot read storage URL {url!r}: {exc}") from None
        self._dialect = parsed.get_backend_name()
        self._lock_wait = LockWait()
        self._finished_rows: dict[int, _FinishedRows] = {}
        if self._dialect == "sqlite":
            self._lock_wait = LockWait.from_options(
                {k: str(v) for k, v in parsed.query.items()},
                busy_timeout=busy_timeout,
                lock_timeout=lock_timeout,
            )
        self._engine = self._create_engine(url)
        try:
            self._init_schema()
        except DatabaseError as exc:
            self._engine.dispose()
            raise StorageError(
                f"cannot open {url}: {exc.orig}. The file may be corrupt or not a database; "
                "nothing was written"
            ) from None
        except BaseException:
            self._engine.dispose()  # a refused database: close its connection now
            raise

    # -- connection set-up -------------------------------------------------------------
    def _create_engine(self, url: str) -> Engine:
        parsed = make_url(url)
        if self._dialect == "sqlite":
            database = parsed.database
            where = url
            if database in (None, "", ":memory:"):
                engine = sa.create_engine(
                    "sqlite://",
                    connect_args={"check_same_thread": False},
                    poolclass=StaticPool,
                )
            else:
                path = Path(database).expanduser()
                where = str(path)
                self._open_file(path)
                engine = sa.create_engine(
                    parsed.set(query={}),
                    creator=connector(path, self._lock_wait, read_only=self.read_only),
                )
            _configure_sqlite(engine, self._lock_wait, where=where, read_only=self.read_only)
            return engine
        if self._dialect == "postgresql":
            driver = parsed.get_driver_name()
            use_psycopg = (
                f"the storage URL asks for the PostgreSQL driver {driver}, but tunelab talks "
                "to PostgreSQL through psycopg: use postgresql+psycopg://... and "
                "pip install 'tunelab[postgres]'"
            )
            if driver in ("asyncpg", "psycopg_async"):  # async drivers do not fit its engine
                raise StorageError(use_psycopg)
            try:
                return sa.create_engine(url, pool_pre_ping=True)
            except ModuleNotFoundError as exc:
                if driver != "psycopg":
                    raise StorageError(f"{use_psycopg} ({exc.name} is not installed)") from None
                raise StorageError(
                    f"PostgreSQL storage needs the psycopg driver ({exc.name} is not "
                    "installed): pip install 'tunelab[postgres]'"
                ) from None
        raise StorageError(
            f"unsupported storage URL {url!r}: use sqlite:///FILE, postgresql+psycopg://..., "
            "or ':memory:'"
        )

    def _open_file(self, path: Path) -> None:
        """Create the SQLite file (unless read-only) or check it; learn if it is read-only."""
        if not path.exists() and not path.is_symlink():
            if self.read_only:
                raise StorageError(f"no tunelab storage at {path}")
            try:
                create_file(path, _build_new_file)
            except StorageReadOnlyError:
                raise
            except (DatabaseError, StorageError, OSError) as exc:
                raise StorageError(
                    f"cannot create {path}: {_failure_text(exc)}; nothing was left on disk"
                ) from None
        _check_sqlite_file(path)
        reason = read_only_reason(path)
        if reason is not None:
            self.read_only, self._read_only_reason = True, reason

    def _init_schema(self) -> None:
        """Check the database's schema without a write lock; create it in a database
        that has none yet (an empty file, a new PostgreSQL database)."""
        with self._read() as conn:
            if self._schema_ready(conn):
                if self.read_only or self._has_best_index(conn):
                    return
                ready = True
            else:
                ready = False
        if ready:
            # A database written before the index existed: add it (reading works without).
            with self._write() as conn:
                best_index.create(conn, checkfirst=True)
            return
        if self.read_only:
            raise StorageError(f"{self.url} holds no tunelab storage (no tunelab tables)")
        with self._write() as conn:
            if not self._schema_ready(conn):
                _create_schema(conn)

    def _schema_ready(self, conn: Connection) -> bool:
        """Whether the tunelab tables are there (False: the database is empty); raises
        for a database that is not a tunelab storage or is one of a newer version."""
        tables = set(sa.inspect(conn).get_table_names())
        ours = {t.name for t in metadata.sorted_tables}
        if schema_table.name in tables:
            version = conn.execute(sa.select(sa.func.max(schema_table.c.version))).scalar()
            if version is None:
                raise StorageError(f"{self.url}: the tunelab schema table is empty; refusing it")
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.url} was written by a newer tunelab (schema version {version}); "
                    f"this tunelab reads version {SCHEMA_VERSION}. Upgrade tunelab to open it"
                )
            missing = ours - tables
            if missing:
                raise StorageError(f"{self.url}: tunelab tables missing: {sorted(missing)}")
            return True
        if tables & ours:
            raise StorageError(
                f"{self.url} has tunelab tables but no schema version; refusing to use it"
            )
        if self._dialect == "sqlite" and tables:
            raise StorageError(
                f"{self.url} is a SQLite database of another program (tables: "
                f"{', '.join(sorted(tables))}), not a tunelab storage; refusing to touch it"
            )
        return False

    @staticmethod
    def _has_best_index(conn: Connection) -> bool:
        indexes = sa.inspect(conn).get_indexes(trials.name)
        return any(index["name"] == best_index.name for index in indexes)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self.read_only:
            raise StorageReadOnlyError(
                f"{self.url} is read-only ({self._read_only_reason}): tunelab can read it "
                "but not change it"
            )
        try:
            with self._engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise  # a broken constraint (a duplicate name): the caller names the error
        except DatabaseError as exc:
            raise self._database_error(exc) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as raw:
                conn = raw.execution_options(tunelab_read=True)
                with conn.begin():
                    yield conn
        except DatabaseError as exc:
            raise self._database_error(exc) from exc

    def _database_error(self, exc: DatabaseError) -> StorageError:
        """A failed statement as a StorageError: locked or unreachable, or a damaged file
        (SQLite reports damage only when it reads the damaged pages, long after opening)."""
        if isinstance(exc, OperationalError):
            text = str(exc.orig)
            if "locked" in text:
                return StorageLockedError(
                    f"{self.url}: the database is locked by another process ({text})"
                )
            if "readonly" in text:
                return StorageReadOnlyError(f"{self.url} is read-only: {text}")
            return StorageError(f"{self.url}: {exc.orig}")
        return StorageError(f"{self.url}: {exc.orig}. The database may be corrupt")

    def close(self) -> None:
        self._engine.dispose()

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
                        searcher=_dumps(searcher),
                        scheduler=_dumps(scheduler),
                        space=_dumps(space),
                        user_attrs=_dumps(user_attrs or {}),
                        created_at=time.time(),
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
        return _study_from_row(row)

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
            self._apply(conn, study_id, update)

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
                sa.update(studies).where(studies.c.id == study_id).values(user_attrs=_dumps(attrs))
            )

    # -- leases -----------------------------------------------------------------------
    def _clock(self) -> Any:
        """The time to write into heartbeats: the server's clock on PostgreSQL (shared by
        every machine), this machine's for a SQLite file (local by nature)."""
        if self._dialect == "postgresql":
            return sa.func.extract("epoch", sa.func.clock_timestamp())
        return time.time()

    def now(self) -> float:
        if self._dialect != "postgresql":
            return time.time()
        with self._read() as conn:
            return float(conn.execute(sa.select(self._clock())).scalar_one())

    def renew_leases(self, trial_ids: list[int]) -> None:
        if not trial_ids:
            return
        with self._write() as conn:
            conn.execute(
                sa.update(trials)
                .where(trials.c.id.in_(trial_ids), trials.c.status == TrialStatus.RUNNING.value)
                .values(heartbeat_at=self._clock())
            )

    def expired_trials(self, study_id: int, lease_seconds: float) -> list[TrialRecord]:
        with self._read() as conn:
            ids = conn.execute(
                sa.select(trials.c.id).where(
                    trials.c.study_id == study_id,
                    trials.c.status == TrialStatus.RUNNING.value,
                    sa.func.coalesce(trials.c.heartbeat_at, trials.c.started_at)
                    < self._clock() - lease_seconds,
                )
            ).scalars()
            return [self._load_trial(conn, trial_id) for trial_id in ids]

    @staticmethod
    def _apply(conn: Connection, study_id: int, update: StudyUpdate | None) -> None:
        if update is None or update.is_empty:
            return
        where = [studies.c.id == study_id]
        if update.expected_version is not None:
            where.append(studies.c.state_version == update.expected_version)
        values: dict[str, Any] = {"state_version": studies.c.state_version + 1}
        if update.searcher_state is not None:
            values["searcher_state"] = _dumps(update.searcher_state)
        if update.scheduler_state is not None:
            values["scheduler_state"] = _dumps(update.scheduler_state)
        if update.space is not None:
            values["space"] = _dumps(update.space)
        if update.elapsed_delta:
            values["elapsed_seconds"] = studies.c.elapsed_seconds + update.elapsed_delta
        changed = conn.execute(sa.update(studies).where(*where).values(**values)).rowcount
        if changed != 1:
            version = conn.execute(
                sa.select(studies.c.state_version).where(studies.c.id == study_id)
            ).scalar()
            if version is None:
                raise StudyNotFoundError(f"no study with id {study_id}")
            # Raising rolls back the whole transaction: the trial change is not written.
            raise StaleStateError(
                f"study id {study_id} changed (state version {version}, "
                f"expected {update.expected_version})"
            )

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
        now = time.time()
        with self._write() as conn:
            # Locks the study row on PostgreSQL so numbers are dense and unique;
            # SQLite's BEGIN IMMEDIATE already serialises writers.
            found = conn.execute(
                sa.select(studies.c.id).where(studies.c.id == study_id).with_for_update()
            ).scalar()
            if found is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}")
            number = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(trials.c.number), -1) + 1).where(
                    trials.c.study_id == study_id
                )
            ).scalar_one()
            values = {
                "study_id": study_id,
                "number": number,
                "status": status.value,
                "params": "{}",
                "proposal": _dumps(proposal),
                "meta": _dumps(meta),
                "budget": budget,
                "metrics": "{}",
                "worker": worker,
                "retry_of": retry_of,
                "user_attrs": "{}",
                "created_at": now,
                "started_at": now if status is TrialStatus.RUNNING else None,
                "heartbeat_at": self._clock() if status is TrialStatus.RUNNING else None,
            }
            trial_id = conn.execute(sa.insert(trials).values(**values)).inserted_primary_key[0]  # type: ignore[index]
            self._apply(conn, study_id, update)
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
        now = time.time()
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
                extra["meta"] = _dumps({**(_loads(stored) or {}), **meta})
            conn.execute(
                sa.update(trials)
                .where(trials.c.id == trial_id)
                .values(
                    status=TrialStatus.RUNNING.value,
                    started_at=now,
                    heartbeat_at=self._clock(),
                    worker=worker,
                    **extra,
                )
            )
            self._apply(conn, study_id, update)
            return self._load_trial(conn, trial_id)

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
                    heartbeat_at=self._clock(),
                )
            ).rowcount
            if done != 1:
                current = self._load_trial(conn, trial_id)
                raise ValueError(f"trial {current.number} is {current.status.value}, not paused")
            record = self._load_trial(conn, trial_id)
            self._apply(conn, record.study_id, update)
            return record

    def _touch_live(self, conn: Connection, trial_id: int, **values: Any) -> None:
        """Update a trial that must still be running/paused/waiting (finished ones are frozen)."""
        values.setdefault("heartbeat_at", self._clock())
        changed = conn.execute(
            sa.update(trials)
            .where(trials.c.id == trial_id, trials.c.status.in_(_LIVE))
            .values(**values)
        ).rowcount
        if changed != 1:
            status = conn.execute(
                sa.select(trials.c.status).where(trials.c.id == trial_id)
            ).scalar()
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
        now = time.time()
        with self._write() as conn:
            extra = {} if params is None else {"params": _dumps(params)}
            self._touch_live(conn, trial_id, **extra)
            conn.execute(
                sa.insert(reports).values(
                    trial_id=trial_id, step=step, metrics=_dumps(metrics), time=now
                )
            )
            if update is not None and not update.is_empty:
                self._apply(conn, self._study_of(conn, trial_id), update)

    def set_trial_params(self, trial_id: int, params: Config) -> None:
        with self._write() as conn:
            self._touch_live(conn, trial_id, params=_dumps(params))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._write() as conn:
            raw = conn.execute(
                sa.select(trials.c.user_attrs).where(trials.c.id == trial_id)
            ).scalar()
            if raw is None:
                raise KeyError(f"no trial with id {trial_id} in {self.url}")
            attrs = json.loads(raw)
            attrs[key] = value
            self._touch_live(conn, trial_id, user_attrs=_dumps(attrs))

    def pause_trial(
        self,
        trial_id: int,
        *,
        params: Config | None = None,
        update: StudyUpdate | None = None,
    ) -> None:
        with self._write() as conn:
            extra = {} if params is None else {"params": _dumps(params)}
            self._touch_live(conn, trial_id, status=TrialStatus.PAUSED.value, **extra)
            if update is not None and not update.is_empty:
                self._apply(conn, self._study_of(conn, trial_id), update)

    @staticmethod
    def _study_of(conn: Connection, trial_id: int) -> int:
        study_id: int = conn.execute(
            sa.select(trials.c.study_id).where(trials.c.id == trial_id)
        ).scalar_one()
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
            "metrics": _dumps(outcome.metrics),
            "error": outcome.error,
            "traceback": outcome.traceback,
            "failure": outcome.failure.value if outcome.failure else None,
            "ended_at": time.time(),
        }
        if params is not None:
            values["params"] = _dumps(params)
        with self._write() as conn:
            self._touch_live(conn, trial_id, **values)
            record = self._load_trial(conn, trial_id)
            self._apply(conn, record.study_id, update)
        return record

    def _load_trial(self, conn: Connection, trial_id: int) -> TrialRecord:
        row = conn.execute(sa.select(trials).where(trials.c.id == trial_id)).mappings().first()
        if row is None:
            raise KeyError(f"no trial with id {trial_id} in {self.url}")
        rows = conn.execute(
            sa.select(reports.c.step, reports.c.metrics, reports.c.time)
            .where(reports.c.trial_id == trial_id)
            .order_by(reports.c.id)
        ).all()
        return _trial_from_row(row, tuple(Report(s, json.loads(m), t) for s, m, t in rows))

    def get_trial(self, trial_id: int) -> TrialRecord:
        with self._read() as conn:
            return self._load_trial(conn, trial_id)

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
                    return self._load_trial(conn, trial_id)
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
        selected = _number_filter(numbers, min_number)
        with self._read() as conn:
            return _select_trials(conn, study_id, statuses, selected, with_reports=with_reports)

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
                kept = _FinishedRows(created)
            # Finished trials never change: read only those after the run of finished
            # ones already kept. Compiled with its values inline and run as plain SQL,
            # rows come back as the driver's tuples, without a conversion per column.
            query = query.where(trials.c.study_id == study_id, trials.c.number > kept.upto)
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            rows = conn.exec_driver_sql(sql).all()
        with _bulk_objects():
            params = _loads_many([r[9] for r in rows])
            metrics = _loads_many([r[10] for r in rows])
            new = [
                TrialRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], p, m)
                for r, p, m in zip(rows, params, metrics, strict=True)
            ]
        self._finished_rows[study_id] = kept.extended(new)
        return [*kept.rows, *new]

    def snapshot(self, study_id: int) -> StudySnapshot:
        of_study = trials.c.study_id == study_id
        finished = trials.c.status.in_(_FINISHED)
        retry_of = sa.select(trials.c.retry_of).where(of_study, trials.c.retry_of.is_not(None))
        counted = sa.or_(
            trials.c.status.in_(_VERDICT),
            sa.and_(
                trials.c.status == TrialStatus.FAILED.value,
                sa.or_(trials.c.failure.is_(None), trials.c.failure.in_(_COUNTED_FAILURES)),
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
            live = _select_trials(conn, study_id, _LIVE_STATUSES, None, with_reports=True)
        return StudySnapshot(
            newest=int(newest),
            counted=int(n_counted),
            finished_steps=int(steps),
            retried=retried,
            live=tuple(live),
        )


@dataclass(frozen=True)
class _FinishedRows:
    """A study's trial table rows numbered up to ``upto``, all finished (so final)."""

    created_at: float | None
    rows: tuple[TrialRow, ...] = ()
    upto: int = -1

    def extended(self, newer: list[TrialRow]) -> _FinishedRows:
        """Kept with the leading finished rows of ``newer`` (the rows after ``upto``)."""
        ahead: list[TrialRow] = []
        for row in newer:
            if row.number != self.upto + len(ahead) + 1 or row.status not in _FINISHED:
                break
            ahead.append(row)
        if not ahead:
            return self
        return _FinishedRows(self.created_at, (*self.rows, *ahead), ahead[-1].number)


def _select_trials(
    conn: Connection,
    study_id: int,
    statuses: tuple[TrialStatus, ...] | None,
    selected: Any,
    *,
    with_reports: bool,
) -> list[TrialRecord]:
    """A study's trials in number order (by status, and by the ``selected`` clause)."""
    query = sa.select(trials).where(trials.c.study_id == study_id).order_by(trials.c.number)
    if statuses is not None:
        query = query.where(trials.c.status.in_([s.value for s in statuses]))
    if selected is not None:
        query = query.where(selected)
    with _bulk_objects():
        return _trials_from_rows(conn, study_id, statuses, selected, with_reports, query)


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
    return [_trial_from_row(r, tuple(by_trial.get(r["id"], ()))) for r in rows]


def _number_filter(numbers: Collection[int] | None, min_number: int | None) -> Any:
    """The WHERE clause selecting trials by number (None: all of them)."""
    clauses: list[Any] = []
    if numbers is not None:
        clauses.append(trials.c.number.in_(list(numbers)))
    if min_number is not None:
        clauses.append(trials.c.number >= min_number)
    return sa.or_(*clauses) if clauses else None


def _check_sqlite_file(path: Path) -> None:
    """Refuse, without writing a byte, a file that is not a tunelab SQLite database.

    Runs before SQLAlchemy connects, because switching a database to WAL mode already
    rewrites its header; it reads without creating a -wal or -shm file beside it.
    """
    if path.is_dir():
        raise StorageError(f"storage path {path} is a directory, not a SQLite file")
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as fh:
        header = fh.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise StorageError(
            f"{path} is not a SQLite database, so it is not a tunelab storage; "
            "refusing to open it (nothing was written)"
        )
    try:
        with peek(path) as conn:
            tables = {
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            version = None
            if schema_table.name in tables:
                version = conn.execute(f"SELECT MAX(version) FROM {schema_table.name}").fetchone()[
                    0
                ]
    except sqlite3.DatabaseError as exc:
        raise StorageError(
            f"cannot read {path}: {exc}. The file may be corrupt; nothing was written"
        ) from None
    if schema_table.name not in tables and tables:
        raise StorageError(
            f"{path} is a SQLite database of another program (tables: "
            f"{', '.join(sorted(tables))}), not a tunelab storage; refusing to touch it"
        )
    if version is not None and version > SCHEMA_VERSION:
        raise StorageError(
            f"{path} was written by a newer tunelab (schema version {version}); "
            f"this tunelab reads version {SCHEMA_VERSION}. Upgrade tunelab to open it"
        )


def _create_schema(conn: Connection) -> None:
    metadata.create_all(conn)
    conn.execute(sa.insert(schema_table).values(version=SCHEMA_VERSION, created_at=time.time()))


def _build_new_file(path: Path) -> None:
    """Write a complete, empty tunelab database at ``path`` (a new file)."""
    engine = sa.create_engine("sqlite:///" + str(path), poolclass=NullPool)
    _configure_sqlite(engine, LockWait(), where=str(path), read_only=False)
    try:
        with engine.begin() as conn:
            _create_schema(conn)
    finally:
        engine.dispose()
    # Closing the last connection moved the WAL into the file and removed it; a WAL left
    # behind (its checkpoint failed) would hold the schema the file itself lacks.
    if Path(f"{path}-wal").exists():
        raise StorageError("the new database could not be moved out of its write-ahead log")


def _failure_text(exc: BaseException) -> str:
    """What SQLite or the OS said, without the temporary file's name."""
    if isinstance(exc, DatabaseError):
        return str(exc.orig)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc.__cause__ or exc)


def _configure_sqlite(engine: Engine, wait: LockWait, *, where: str, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so BEGIN IMMEDIATE is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={wait.attempt_ms(wait.lock_timeout)}")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
            else:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if read_only or conn.get_execution_options().get("tunelab_read", False):
            conn.exec_driver_sql("BEGIN")
        else:
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            begin_immediate(driver, where, wait)


def _study_from_row(row: Any) -> StudyRecord:
    return StudyRecord(
        study_id=row["id"],
        name=row["name"],
        metric=row["metric"],
        mode=row["mode"],
        searcher=json.loads(row["searcher"]),
        scheduler=json.loads(row["scheduler"]),
        space=json.loads(row["space"]),
        searcher_state=_loads(row["searcher_state"]),
        scheduler_state=_loads(row["scheduler_state"]),
        created_at=row["created_at"],
        elapsed_seconds=row["elapsed_seconds"] or 0.0,
        state_version=row["state_version"],
        user_attrs=json.loads(row["user_attrs"]),
    )


def _trial_from_row(row: Any, trial_reports: tuple[Report, ...]) -> TrialRecord:
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
