"""Where studies live: in memory, in SQLite (the default) or in PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tunelab.errors import StorageError
from tunelab.storage.base import (
    FinishedTrialError,
    StaleStateError,
    Storage,
    StudyRecord,
    StudySummary,
    StudyUpdate,
    TrialOutcome,
)
from tunelab.storage.memory import MemoryStorage

DEFAULT_STORAGE_FILE = "tunelab.db"
"""The SQLite file a study uses when no storage is given, in the working directory."""

__all__ = [
    "DEFAULT_STORAGE_FILE",
    "FinishedTrialError",
    "MemoryStorage",
    "StaleStateError",
    "Storage",
    "StudyRecord",
    "StudySummary",
    "StudyUpdate",
    "TrialOutcome",
    "default_storage_url",
    "make_storage",
]


def default_storage_url() -> str:
    return "sqlite:///" + str(Path.cwd() / DEFAULT_STORAGE_FILE)


def make_storage(storage: str | Path | Storage | None, *, read_only: bool = False) -> Storage:
    """Open a storage from a URL, a file path, ``":memory:"`` or None (the default file).

    SQLite URLs and bare paths are made absolute, so the study stays in the same file
    whatever the working directory later becomes. ``read_only=True`` opens an existing
    storage for reading: nothing is created or written, no lock is waited for, and a
    write raises StorageReadOnlyError (a SQLite file on a location this process cannot
    write is opened so anyway). A Storage instance is returned as it is.
    """
    if isinstance(storage, Storage):
        return storage
    if storage is None:
        storage = default_storage_url()
    if isinstance(storage, Path):
        storage = "sqlite:///" + str(storage.expanduser().resolve())
    text = str(storage).strip()
    if text == ":memory:":
        return MemoryStorage()
    if "://" not in text:
        if text.endswith((".db", ".sqlite", ".sqlite3")):
            text = "sqlite:///" + str(Path(text).expanduser().resolve())
        else:
            raise StorageError(
                f"cannot read storage {text!r}: use sqlite:///FILE.db, a path ending in .db, "
                "postgresql+psycopg://..., or ':memory:'"
            )
    elif text.startswith("sqlite:///") and not text.startswith("sqlite:////"):
        relative, query = text[len("sqlite:///") :], ""
        if "?" in relative:
            relative, query = relative.split("?", 1)
            query = "?" + query
        if relative and relative != ":memory:":
            text = "sqlite:///" + str(Path(relative).expanduser().resolve()) + query
    from tunelab.storage.sql import SqlStorage

    return SqlStorage(text, read_only=read_only)
