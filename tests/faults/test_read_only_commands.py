"""Issue 15, case 4: read paths (``tunelab ls``, ``show``, ``export`` and
``tunelab.load_study``) never wait for a writer: with another process holding a write
transaction on the study's SQLite file, each finishes at once and does not see the
uncommitted write (and on PostgreSQL a read-only storage reads and refuses writes).
Today's main took a write lock to open the file and waited behind the writer for its
busy timeout (60 s), then failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.storage_helpers import N_TRIALS, STUDY, lock_held, make_study_file
from tunelab.errors import StorageReadOnlyError
from tunelab.storage import make_storage

POSTGRES_URL_ENV = "TUNELAB_TEST_POSTGRES_URL"  # as in tests/storage/conftest.py

# Each command runs in a fresh interpreter (imports included) on a loaded 2-core machine;
# a reader that waits for the writer would take its whole busy timeout, 60 s.
READ_LIMIT_S = 30.0


@pytest.fixture
def busy_file(tmp_path: Path) -> Iterator[Path]:
    """A study file whose write lock another process holds (with an uncommitted insert)."""
    path = make_study_file(tmp_path / "tunelab.db")
    with lock_held(path, seconds=600, insert=True):
        yield path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=READ_LIMIT_S,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_ls_does_not_wait_for_a_writer(busy_file: Path) -> None:
    result = _run("-m", "tunelab.cli", "ls", "--storage", str(busy_file), cwd=busy_file.parent)
    assert result.returncode == 0, result.stderr
    assert STUDY in result.stdout
    assert "uncommitted" not in result.stdout


def test_show_does_not_wait_for_a_writer(busy_file: Path) -> None:
    result = _run("-m", "tunelab.cli", "show", STUDY, "-s", str(busy_file), cwd=busy_file.parent)
    assert result.returncode == 0, result.stderr
    assert "best trial: #" in result.stdout


def test_export_does_not_wait_for_a_writer(busy_file: Path) -> None:
    result = _run(
        "-m", "tunelab.cli", "export", STUDY, "-f", "json", "-s", str(busy_file),
        cwd=busy_file.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [t["status"] for t in json.loads(result.stdout)] == ["completed"] * N_TRIALS


def test_load_study_does_not_wait_for_a_writer(busy_file: Path) -> None:
    code = (
        "import sys, tunelab as tl\n"
        "study = tl.load_study(sys.argv[1], storage=sys.argv[2])\n"
        "print(len(study.trials), study.best_value)\n"
    )
    result = _run("-c", code, STUDY, str(busy_file), cwd=busy_file.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == str(N_TRIALS)


def test_a_read_only_postgresql_storage_reads_and_refuses_writes() -> None:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"needs {POSTGRES_URL_ENV} set to a PostgreSQL database URL")
    name = f"read-only-{uuid.uuid4().hex[:12]}"
    writer = make_storage(url)
    study = writer.create_study(
        name, metric="loss", mode="min", searcher={}, scheduler={}, space={}
    )
    writer.create_trial(study.study_id, proposal={"x": 1}, meta={}, budget=None)
    try:
        reader = make_storage(url, read_only=True)
        assert reader.read_only
        assert name in [s.name for s in reader.list_studies()]
        assert [t.proposal for t in reader.get_trials(study.study_id)] == [{"x": 1}]
        with pytest.raises(StorageReadOnlyError, match="read-only"):
            reader.set_study_user_attr(study.study_id, "k", 1)
        assert "k" not in writer.get_study(name).user_attrs
        reader.close()
    finally:
        writer.delete_study(name)
        writer.close()
