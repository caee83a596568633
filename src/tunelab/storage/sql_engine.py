"""The connection to a SQL database: engine, file checks, transactions, errors.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit survives the process
being killed (not a power cut), and readers never block the writer nor wait for it.
Write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue instead
of failing on a lock upgrade; a lock held longer than SQLite's busy timeout is waited
out with retries up to a total wait (see :mod:`tunelab.storage.sqlite`). A read-only
database reads without ever taking a write lock and refuses writes with
StorageReadOnlyError.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool, StaticPool

from tunelab.errors import StorageError, StorageLockedError, StorageReadOnlyError
from tunelab.storage.sql_schema import (
    check_sqlite_file,
    create_schema,
    missing_indexes,
    schema_ready,
)
from tunelab.storage.sql_statements import lease_now
from tunelab.storage.sqlite import (
    LockWait,
    begin_immediate,
    connector,
    create_file,
    read_only_reason,
)


class SqlDatabase:
    """An open tunelab database given by a SQLAlchemy URL: its engine, its read and
    write transactions, and the clock its leases use."""

    url: str
    read_only: bool

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
            configure_sqlite(engine, self._lock_wait, where=where, read_only=self.read_only)
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
                create_file(path, build_new_file)
            except StorageReadOnlyError:
                raise
            except (DatabaseError, StorageError, OSError) as exc:
                raise StorageError(
                    f"cannot create {path}: {failure_text(exc)}; nothing was left on disk"
                ) from None
        check_sqlite_file(path)
        reason = read_only_reason(path)
        if reason is not None:
            self.read_only, self._read_only_reason = True, reason

    def _init_schema(self) -> None:
        """Check the database's schema without a write lock; create it in a database
        that has none yet (an empty file, a new PostgreSQL database)."""
        with self._read() as conn:
            if schema_ready(conn, self.url, self._dialect):
                missing = [] if self.read_only else missing_indexes(conn)
                if not missing:
                    return
                ready = True
            else:
                ready = False
        if ready:
            # A database written before these indexes existed: add them.
            with self._write() as conn:
                for index in missing:
                    index.create(conn, checkfirst=True)
            return
        if self.read_only:
            raise StorageError(f"{self.url} holds no tunelab storage (no tunelab tables)")
        with self._write() as conn:
            if not schema_ready(conn, self.url, self._dialect):
                create_schema(conn)

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

    # -- the lease clock ---------------------------------------------------------------
    def _lease_clock(self) -> Any:
        """The time to write into heartbeats: the server's clock on PostgreSQL, this
        machine's for a SQLite file (see :class:`~tunelab.storage.sql_statements.lease_now`)."""
        return lease_now()

    def now(self) -> float:
        if self._dialect != "postgresql":
            return time.time()
        with self._read() as conn:
            return float(conn.execute(sa.select(self._lease_clock())).scalar_one())


def build_new_file(path: Path) -> None:
    """Write a complete, empty tunelab database at ``path`` (a new file)."""
    engine = sa.create_engine("sqlite:///" + str(path), poolclass=NullPool)
    configure_sqlite(engine, LockWait(), where=str(path), read_only=False)
    try:
        with engine.begin() as conn:
            create_schema(conn)
    finally:
        engine.dispose()
    # Closing the last connection moved the WAL into the file and removed it; a WAL left
    # behind (its checkpoint failed) would hold the schema the file itself lacks.
    if Path(f"{path}-wal").exists():
        raise StorageError("the new database could not be moved out of its write-ahead log")


def failure_text(exc: BaseException) -> str:
    """What SQLite or the OS said, without the temporary file's name."""
    if isinstance(exc, DatabaseError):
        return str(exc.orig)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc.__cause__ or exc)


def configure_sqlite(engine: Engine, wait: LockWait, *, where: str, read_only: bool) -> None:
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
