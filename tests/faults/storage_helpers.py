"""Shared by the storage fault tests: a real study file, and a SQLite write lock held by
another process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tunelab as tl

STUDY = "faults"
N_TRIALS = 3

# Another process: BEGIN IMMEDIATE (and optionally an uncommitted insert), say "locked",
# hold the lock for the given seconds, then roll back and print when it started to.
_HOLDER = r"""
import sqlite3, sys, time
path, seconds, insert = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "insert"
conn = sqlite3.connect(path, isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
if insert:
    conn.execute(
        "INSERT INTO tunelab_studies (name, metric, mode, searcher, scheduler, space,"
        " user_attrs, created_at, elapsed_seconds, state_version)"
        " VALUES ('uncommitted', 'loss', 'min', '{}', '{}', '{}', '{}', 0, 0, 0)"
    )
print("locked", flush=True)
time.sleep(seconds)
letting_go = time.time()
conn.rollback()
print(letting_go, flush=True)
"""


def objective(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.report(1, loss=x)
    return x


def make_study_file(path: Path) -> Path:
    """A SQLite storage at ``path`` holding study STUDY with N_TRIALS completed trials,
    closed (no -wal or -shm file left beside it)."""
    study = tl.create_study(STUDY, metric="loss", storage=path, seed=0)
    study.optimize(objective, max_trials=N_TRIALS, quiet=True)
    study.storage.close()
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name)) == [
        path.name
    ]
    return path


class LockHolder:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._proc = proc

    def released_at(self) -> float:
        """A ``time.time()`` taken just before the holder let go of the lock (waits for it)."""
        assert self._proc.stdout is not None
        return float(self._proc.stdout.readline())


@contextmanager
def lock_held(path: Path, seconds: float, *, insert: bool = False) -> Iterator[LockHolder]:
    """Another process holds the write lock of the SQLite file at ``path`` (from when
    this enters) for ``seconds``, or until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(seconds), "insert" if insert else "-"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "locked", f"the lock holder did not get the lock (said {line!r})"
        yield LockHolder(proc)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
