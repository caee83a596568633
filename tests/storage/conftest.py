"""The ``storage`` fixture: every contract test runs once per backend listed in BACKENDS.

Adding a backend is one entry in BACKENDS. A backend that needs an outside service names
the environment variable that points at it and is skipped, with the reason shown, when
the variable is unset. Backends on a shared database (PostgreSQL) must not see one
test's studies in another: tests name their studies through ``study_name`` (a uuid in
every name), and the fixture deletes the studies of its test at teardown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tunelab.storage import MemoryStorage, Storage, make_storage
from tunelab.storage.sql import SqlStorage

POSTGRES_URL_ENV = "TUNELAB_TEST_POSTGRES_URL"
"""A SQLAlchemy URL of a PostgreSQL database the tests may write to (postgresql+psycopg://...)."""


@dataclass(frozen=True)
class Backend:
    """How to open one storage backend for one test."""

    name: str
    open: Callable[[Path], Storage]
    shared: bool = False
    """Several processes can open the same storage by its URL."""
    shared_database: bool = False
    """Other tests (and other CI jobs) see the same database: clean up by study name."""
    env: str | None = None
    """Skip unless this environment variable is set; ``open`` reads it."""


def _open_memory(_tmp_path: Path) -> Storage:
    return MemoryStorage()


def _open_sqlite(tmp_path: Path) -> Storage:
    storage = make_storage(tmp_path / "contract.db")
    assert isinstance(storage, SqlStorage)
    return storage


def _open_postgres(_tmp_path: Path) -> Storage:
    return SqlStorage(os.environ[POSTGRES_URL_ENV])


BACKENDS: list[Backend] = [
    Backend("memory", _open_memory),
    Backend("sqlite", _open_sqlite, shared=True),
    Backend("postgresql", _open_postgres, shared=True, shared_database=True, env=POSTGRES_URL_ENV),
]


@pytest.fixture
def test_token() -> str:
    """A token unique to this test, part of every study name it creates."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def study_name(test_token: str) -> Callable[[str], str]:
    """``study_name("label")`` -> a study name no other test (or earlier call) uses."""

    def make(label: str = "study") -> str:
        return f"{label}-{test_token}-{uuid.uuid4().hex[:8]}"

    return make


def _open_backend(backend: Backend, tmp_path: Path, token: str) -> Iterator[Storage]:
    if backend.env is not None and not os.environ.get(backend.env):
        pytest.skip(f"{backend.name} storage tests need {backend.env} set to a database URL")
    storage = backend.open(tmp_path)
    try:
        yield storage
    finally:
        try:
            if backend.shared_database:
                for summary in storage.list_studies():
                    if token in summary.name:
                        storage.delete_study(summary.name)
        finally:
            storage.close()


@pytest.fixture(params=[pytest.param(b, id=b.name) for b in BACKENDS])
def storage(request: pytest.FixtureRequest, tmp_path: Path, test_token: str) -> Iterator[Storage]:
    """Each backend in BACKENDS, opened fresh for the test."""
    yield from _open_backend(request.param, tmp_path, test_token)


@pytest.fixture(params=[pytest.param(b, id=b.name) for b in BACKENDS if b.shared])
def shared_storage(
    request: pytest.FixtureRequest, tmp_path: Path, test_token: str
) -> Iterator[Storage]:
    """The backends that several processes can open by URL (SQLite, PostgreSQL)."""
    yield from _open_backend(request.param, tmp_path, test_token)
