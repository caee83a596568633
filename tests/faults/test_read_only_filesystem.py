"""Issue 15, case 5: a study on a read-only file system can be read. ``tunelab ls``,
``show``, ``export`` and ``tunelab.load_study`` work on it; a command that would write
says the storage is read-only. Today's main failed every one of them with "unable to
open database file. The file may be corrupt" (SQLite could not create the -shm file a
WAL database needs, and nothing opened the file read-only)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.storage_helpers import N_TRIALS, STUDY, make_study_file

# Runs "$@" with the folder "$1" bind-mounted read-only over itself, in a private mount
# namespace (as root there, mapped to this user: no privileges needed where user
# namespaces are allowed). Root ignores file modes, so chmod cannot make a root-owned
# test read-only; a read-only mount stops root too.
_READ_ONLY_MOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'

OBJECTIVE = """
def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.report(1, loss=x)
    return x
"""


class ReadOnlyFolder:
    """A folder holding a copy of a study file, that commands see as read-only."""

    def __init__(self, folder: Path, prefix: list[str]) -> None:
        self.folder = folder
        self.db = folder / "tunelab.db"
        self._prefix = prefix

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._prefix, sys.executable, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        )


def _mount_prefix(folder: Path) -> list[str] | None:
    """The command prefix that shows ``folder`` read-only, if this machine allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", _READ_ONLY_MOUNT]
    prefix += ["sh", str(folder)]
    probe = subprocess.run(
        [*prefix, "touch", str(folder / "probe")], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0 and "Read-only file system" in probe.stderr:
        return prefix
    (folder / "probe").unlink(missing_ok=True)
    return None


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[ReadOnlyFolder]:
    original = make_study_file(tmp_path / "made" / "tunelab.db")
    folder = tmp_path / "readonly"
    folder.mkdir()
    shutil.copy2(original, folder / "tunelab.db")
    prefix = _mount_prefix(folder)
    if prefix is not None:
        yield ReadOnlyFolder(folder, prefix)
        return
    if os.geteuid() == 0:
        pytest.skip("as root, a read-only folder needs a read-only mount: unshare -rm failed")
    (folder / "tunelab.db").chmod(0o444)
    folder.chmod(0o555)
    try:
        yield ReadOnlyFolder(folder, [])
    finally:
        folder.chmod(0o755)


def _unchanged(folder: Path, before: bytes) -> bool:
    return [p.name for p in folder.iterdir()] == ["tunelab.db"] and (
        folder / "tunelab.db"
    ).read_bytes() == before


def test_ls_show_and_export_read_a_study_on_a_read_only_file_system(
    read_only: ReadOnlyFolder, tmp_path: Path
) -> None:
    before = read_only.db.read_bytes()
    db = str(read_only.db)

    listed = read_only.run("-m", "tunelab.cli", "ls", "-s", db, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert STUDY in listed.stdout

    shown = read_only.run("-m", "tunelab.cli", "show", STUDY, "-s", db, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "best trial: #" in shown.stdout

    exported = read_only.run("-m", "tunelab.cli", "export", STUDY, "-s", db, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [row["status"] for row in rows] == ["completed"] * N_TRIALS

    code = (
        "import sys, tunelab as tl\n"
        "print(len(tl.load_study(sys.argv[1], storage=sys.argv[2]).trials))"
    )
    loaded = read_only.run("-c", code, STUDY, db, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == str(N_TRIALS)

    assert _unchanged(read_only.folder, before)


def test_a_write_to_a_study_on_a_read_only_file_system_says_read_only(
    read_only: ReadOnlyFolder, tmp_path: Path
) -> None:
    before = read_only.db.read_bytes()
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    config = tmp_path / "run.yaml"
    config.write_text(
        f"study: {STUDY}\nobjective: obj.py:objective\nmetric: loss\nmode: min\n"
        f"seed: 0\nbudget: {{max_trials: {N_TRIALS + 2}}}\nstorage: {read_only.db}\n"
    )

    result = read_only.run("-m", "tunelab.cli", "run", str(config), "-q", cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0], result.stderr
    assert str(read_only.db) in lines[0]
    assert _unchanged(read_only.folder, before)


def test_a_copy_with_its_wal_file_but_no_shm_file_is_read_with_every_commit(
    tmp_path: Path,
) -> None:
    import tunelab as tl

    live = tmp_path / "live" / "tunelab.db"
    study = tl.create_study(STUDY, metric="loss", storage=live, seed=0)
    study.optimize(lambda t: t.hp.Float("x", 0.0, 1.0), max_trials=N_TRIALS, quiet=True)
    folder = tmp_path / "readonly"
    folder.mkdir()
    # Copied while the study is still open: its last commits are only in the -wal file.
    shutil.copy2(live, folder / "tunelab.db")
    shutil.copy2(f"{live}-wal", folder / "tunelab.db-wal")
    study.storage.close()
    prefix = _mount_prefix(folder)
    if prefix is None:
        if os.geteuid() == 0:
            pytest.skip("as root, a read-only folder needs a read-only mount: unshare -rm failed")
        prefix = []
        folder.chmod(0o555)
    try:
        exported = ReadOnlyFolder(folder, prefix).run(
            "-m", "tunelab.cli", "export", STUDY, "-s", str(folder / "tunelab.db"), cwd=tmp_path
        )
    finally:
        folder.chmod(0o755)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [row["status"] for row in rows] == ["completed"] * N_TRIALS
    assert sorted(p.name for p in folder.iterdir()) == ["tunelab.db", "tunelab.db-wal"]
