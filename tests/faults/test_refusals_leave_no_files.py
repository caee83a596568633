"""Issue 15, case 6: what tunelab refuses leaves nothing on disk. A run configuration
refused for a bad space or an unknown searcher creates no tunelab.db; a database refused
for its newer schema stays byte-identical with no -shm/-wal file beside it; creating a
database on a full disk leaves no empty or half-made file. Today's main created the
storage before checking the study, left -shm/-wal files beside the refused database, and
left a 0-byte (or a schema-less) database behind on a full disk."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.storage_helpers import STUDY, make_study_file
from tunelab.errors import StorageError
from tunelab.storage import make_storage
from tunelab.storage.sql import SCHEMA_VERSION

OBJECTIVE = """
def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.report(1, loss=x)
    return x
"""


def _tunelab(
    *args: str, cwd: Path, file_size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    def limit_file_size() -> None:  # pragma: no cover - runs in the child
        # A write past the limit fails with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        assert file_size_limit is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "tunelab.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "TUNELAB_STORAGE"},
        preexec_fn=None if file_size_limit is None else limit_file_size,
    )


def _config(folder: Path, **lines: str) -> Path:
    (folder / "obj.py").write_text(OBJECTIVE)
    settings = {
        "study": STUDY,
        "objective": "obj.py:objective",
        "metric": "loss",
        "mode": "min",
        "budget": "{max_trials: 2}",
        **lines,
    }
    path = folder / "run.yaml"
    path.write_text("".join(f"{key}: {value}\n" for key, value in settings.items()))
    return path


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ({"space": "{lr: {type: float, min: 0.1, max: 0.01}}"}, "lr"),
        ({"space": "{units: {type: complex, min: 8, max: 64}}"}, "units"),
        ({"searcher": "simulated_annealing"}, "simulated_annealing"),
        ({"scheduler": "{name: asha, eta: 1}"}, "eta"),
    ],
    ids=["space-bounds", "space-type", "unknown-searcher", "bad-scheduler"],
)
def test_a_refused_config_creates_no_database(
    tmp_path: Path, lines: dict[str, str], reason: str
) -> None:
    config = _config(tmp_path, **lines)
    before = sorted(p.name for p in tmp_path.iterdir())

    result = _tunelab("run", str(config), "-q", cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    assert reason in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no tunelab.db


def test_a_refused_newer_schema_stays_byte_identical_with_nothing_beside_it(
    tmp_path: Path,
) -> None:
    path = make_study_file(tmp_path / "future.db")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tunelab_schema SET version = ?", (SCHEMA_VERSION + 1,))
    conn.close()
    before = path.read_bytes()

    with pytest.raises(StorageError, match="newer"):
        make_storage(path)
    listed = _tunelab("ls", "-s", str(path), cwd=tmp_path)

    assert listed.returncode == 2
    assert "newer" in listed.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["future.db"]


# 0: not a byte can be written (the file itself can still be created, empty);
# 20 000: SQLite gets part of the way (a header page, a WAL index) before a write fails.
@pytest.mark.parametrize("limit", [0, 20_000])
def test_a_full_disk_at_creation_leaves_no_database(tmp_path: Path, limit: int) -> None:
    config = _config(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())

    result = _tunelab("run", str(config), "-q", cwd=tmp_path, file_size_limit=limit)

    assert result.returncode == 2, result.stderr
    assert "tunelab.db" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before

    # With room again, the same command creates the study and runs it.
    again = _tunelab("run", str(config), "-q", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "tunelab.db").stat().st_size > 0
