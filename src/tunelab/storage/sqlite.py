"""SQLite files: opening them for reading or writing, creating them, waiting out locks.

- **Locks.** A write starts with ``BEGIN IMMEDIATE``. When another process holds the
  write lock, SQLite waits ``busy_timeout`` seconds, then tunelab retries with backoff
  until ``lock_timeout`` seconds have passed in all, logging one warning on the
  ``tunelab.storage`` logger when it starts waiting, and finally raises
  :class:`~tunelab.errors.StorageLockedError`. Both are options of the URL:
  ``sqlite:///study.db?busy_timeout=10&lock_timeout=300`` (the defaults).
- **Reading** never takes the write lock, so under WAL a reader never waits for a
  writer. A read-only storage opens the file without creating anything: where its folder
  can be written, as a normal connection that SQLite refuses to write through
  (``query_only``), which removes the -wal/-shm files again when it closes; on a
  location this process cannot write, with ``mode=ro``, or as ``immutable`` when there is
  no -wal file (SQLite could not create the -shm file that a WAL database needs, and no
  process can be writing to it). A -wal file without its -shm file there (a copy of a
  database that was still open) is read from a private snapshot of both files.
- **Creating.** A new file is built under a temporary name beside it and linked into
  place complete, so a failure (a full disk) leaves nothing behind and two processes
  creating the same file never see half a database.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tunelab.errors import StorageError, StorageLockedError, StorageReadOnlyError

logger = logging.getLogger("tunelab.storage")

DEFAULT_BUSY_TIMEOUT = 10.0
DEFAULT_LOCK_TIMEOUT = 300.0
_SIDECARS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class LockWait:
    """How long a write waits for another process's lock, in seconds."""

    busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    """One attempt: SQLite's own wait before it reports the database locked."""
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    """All attempts together, after which StorageLockedError is raised."""

    @classmethod
    def from_options(cls, options: dict[str, str], **given: float | None) -> LockWait:
        """The waits from a URL's query (``options``), overridden by ``given`` values."""
        unknown = sorted(set(options) - {"busy_timeout", "lock_timeout"})
        if unknown:
            raise StorageError(
                f"unknown SQLite storage option(s) {unknown}: use busy_timeout and lock_timeout"
            )
        values: dict[str, float] = {}
        for key in ("busy_timeout", "lock_timeout"):
            value = given.get(key)
            raw: str | float | None = options.get(key) if value is None else value
            if raw is None:
                continue
            try:
                seconds = float(raw)
            except ValueError:
                seconds = -1.0
            if not seconds >= 0 or seconds == float("inf"):
                raise StorageError(f"storage option {key}={raw!r} is not a number of seconds >= 0")
            values[key] = seconds
        return cls(**values)

    def attempt_ms(self, remaining: float) -> int:
        """SQLite's busy timeout for an attempt with ``remaining`` seconds of the total left."""
        return max(1, int(1000 * min(self.busy_timeout, remaining)))


def begin_immediate(connection: sqlite3.Connection, where: str, wait: LockWait) -> None:
    """Start a write transaction, waiting for another process's lock up to the total wait."""
    start = time.monotonic()
    if _try_begin(connection, where):
        return
    logger.warning(
        "%s: database is locked by another process; waiting up to %g s", where, wait.lock_timeout
    )
    delay = 0.05
    try:
        while True:
            remaining = wait.lock_timeout - (time.monotonic() - start)
            if remaining <= 0:
                raise StorageLockedError(
                    f"{where}: the database is locked by another process; gave up after "
                    f"waiting {wait.lock_timeout:g} s (lock_timeout in the storage URL)"
                )
            time.sleep(min(delay, remaining))
            delay = min(2 * delay, 1.0)
            remaining = wait.lock_timeout - (time.monotonic() - start)
            connection.execute(f"PRAGMA busy_timeout={wait.attempt_ms(remaining)}")
            if _try_begin(connection, where):
                return
    finally:
        connection.execute(f"PRAGMA busy_timeout={wait.attempt_ms(wait.lock_timeout)}")


def _try_begin(connection: sqlite3.Connection, where: str) -> bool:
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_locked(exc):
            return False
        raise StorageError(f"{where}: {exc}") from exc
    return True


def _is_locked(exc: BaseException) -> bool:
    """Whether a SQLite error means another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def read_only_reason(path: Path) -> str | None:
    """Why this process cannot write the SQLite file at ``path`` (None: it can).

    Writing needs the file and its folder (where the -wal and -shm files go).
    """
    reason = _folder_read_only_reason(path.parent)
    if reason is None and not os.access(path, os.W_OK):
        reason = "this user cannot write the file"
    return reason


def _folder_read_only_reason(folder: Path) -> str | None:
    if _on_read_only_file_system(folder):
        return "it is on a read-only file system"
    if not os.access(folder, os.W_OK):
        return f"this user cannot write its folder {folder}"
    return None


def _on_read_only_file_system(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _uri(path: Path, query: str) -> str:
    return f"file:{quote(str(path.resolve()), safe='/')}?{query}"


def _readable(path: Path) -> Path:
    """``path``, or a private snapshot of it when SQLite cannot read it where it is: a
    -wal file (recent commits) without its -shm file on a location that cannot be
    written, where SQLite can neither create the -shm file nor skip the WAL."""
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if not wal.exists() or shm.exists() or _folder_read_only_reason(path.parent) is None:
        return path
    folder = Path(tempfile.mkdtemp(prefix="tunelab-readonly-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    shutil.copyfile(path, folder / path.name)
    shutil.copyfile(wal, folder / wal.name)
    return folder / path.name


def connector(path: Path, wait: LockWait, *, read_only: bool) -> Callable[[], sqlite3.Connection]:
    """What opens one connection to the existing file at ``path`` (never creates it)."""
    if read_only and read_only_reason(path) is not None:
        path = _readable(path)
        has_wal = Path(f"{path}-wal").exists()
        uri = _uri(path, "mode=ro" if has_wal else "immutable=1")
    else:
        uri = _uri(path, "mode=rw")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(
            uri,
            uri=True,
            timeout=wait.attempt_ms(wait.lock_timeout) / 1000,
            check_same_thread=False,
        )

    return connect


@contextmanager
def peek(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection for a quick look that creates no file beside ``path``.

    Without a -wal or -journal file no process is writing it (SQLite removes them when
    the last connection closes), so the file is read as it is (``immutable``); with one,
    ``mode=ro`` reads it consistently, sharing the files already there.
    """
    path = _readable(path)
    live = any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-journal"))
    conn = sqlite3.connect(_uri(path, "mode=ro" if live else "immutable=1"), uri=True)
    try:
        yield conn
    finally:
        conn.close()


def create_file(path: Path, build: Callable[[Path], None]) -> None:
    """Create the SQLite file ``path``: ``build`` writes a complete database at the
    temporary path it is given, which is then linked into place. If another process made
    ``path`` meanwhile, its file is kept and this one dropped. On any failure, nothing
    this call made is left: no file, no -journal, no folder."""
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    reason = _folder_read_only_reason(existing)
    if reason is not None:
        raise StorageReadOnlyError(f"cannot create {path}: {reason}")
    made = _make_folders(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    done = False
    try:
        build(tmp)
        _link_into_place(tmp, path)
        done = True
    finally:
        for leftover in (tmp, *(Path(f"{tmp}{s}") for s in _SIDECARS)):
            _remove_quietly(leftover)
        if not done:
            for folder in made:
                _remove_quietly(folder)


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; returns those this call made, deepest first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    made: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue  # another process made it meanwhile
        except OSError as exc:
            for undo in reversed(made):
                _remove_quietly(undo)
            raise StorageError(f"cannot create the folder {folder}: {exc.strerror}") from None
        made.append(folder)
    return made[::-1]


def _link_into_place(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process created it first: use theirs
    except OSError:
        # A file system without hard links: a rename, which may replace a file another
        # process created in the same instant (both are new and empty of studies).
        if not path.exists():
            os.replace(tmp, path)


def _remove_quietly(path: Path) -> None:
    try:
        if path.is_dir():
            path.rmdir()  # only if empty: never someone else's files
        else:
            path.unlink()
    except OSError:
        pass
