"""Issue 15, case 7: noise instead of reasons.

Process workers end quietly when their driver is killed; an objective that spawned
workers cannot import (a script without a ``__main__`` guard, a script read from stdin,
an objective defined in ``python -c``, a script that fails when a worker imports it)
stops the study at once with one line saying how to fix it and charges no trial; a
PostgreSQL URL naming another driver says to use psycopg; ``python -m tunelab`` runs the
CLI. Every script runs in a real subprocess, its workers in real spawned processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunelab as tl
from tunelab.errors import StorageError
from tunelab.storage import make_storage

STUDY = "noise"
_GUARD = 'if __name__ == "__main__":'

_SCRIPT = """
import tunelab as tl

def objective(trial):
    return trial.hp.Float("x", 0.0, 1.0)

{entry}
"""

_RUN = """\
study = tl.create_study({study!r}, metric="loss", storage={db!r}, load_if_exists=True)
study.optimize(objective, max_trials=6, executor="processes", n_workers=2, quiet=True)
"""


def _script(db: Path, *, guarded: bool, prelude: str = "") -> str:
    run = _RUN.format(study=STUDY, db=str(db))
    entry = (
        _GUARD + "\n" + "".join(f"    {line}\n" for line in run.splitlines()) if guarded else run
    )
    return prelude + _SCRIPT.format(entry=entry)


def _python(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def _charged(db: Path) -> list[tl.TrialRecord]:
    return [t for t in tl.load_study(STUDY, storage=db).trials if t.counts_toward_budget]


def _assert_stopped_with_one_reason(result: subprocess.CompletedProcess[str], *says: str) -> None:
    """The script died of one WorkerStartError (its own traceback, none from workers)."""
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1, result.stderr
    assert last.startswith("tunelab.errors.WorkerStartError: "), result.stderr
    for text in says:
        assert text in last, last
    assert "worker lost" not in result.stderr
    assert result.stderr.count("Traceback") == 1, result.stderr


def test_noise_workers_exit_quietly_when_their_driver_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    (tmp_path / "busy_objective.py").write_text(
        "import os, time\n"
        "from pathlib import Path\n\n"
        "def objective(trial):\n"
        "    x = trial.hp.Float('x', 0.0, 1.0)\n"
        "    Path(os.environ['PIDS_DIR'], str(os.getpid())).touch()\n"
        "    if trial.number % 2 == 0:  # reports until the driver is gone\n"
        "        for step in range(1, 10**6):\n"
        "            trial.report(step, loss=x)\n"
        "            time.sleep(0.01)\n"
        "    time.sleep(600)  # silent\n"
        "    return x\n"
    )
    (tmp_path / "driver.py").write_text(
        "import tunelab as tl\n"
        "from busy_objective import objective\n\n"
        f"{_GUARD}\n"
        f"    study = tl.create_study('busy', metric='loss', storage={str(tmp_path / 'b.db')!r})\n"
        "    study.optimize(objective, max_trials=2, executor='processes', n_workers=2,\n"
        "                   quiet=True)\n"
    )
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        driver = subprocess.Popen(
            [sys.executable, "driver.py"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PIDS_DIR": str(pids)},
        )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 180
        while len(workers) < 2 and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.1)
            workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2, stderr.read_text()
        time.sleep(0.5)  # the reporting trial is well into its reports
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stderr.read_text() == ""
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        driver.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, waiting for its reaper, has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_noise_a_script_without_main_guard_stops_at_once_saying_to_guard_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    (tmp_path / "unguarded.py").write_text(_script(db, guarded=False))
    result = _python("unguarded.py", cwd=tmp_path)
    _assert_stopped_with_one_reason(result, "unguarded.py has no", _GUARD)
    assert _charged(db) == []


def test_noise_a_script_read_from_stdin_stops_at_once_saying_to_save_it(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    result = _python("-", cwd=tmp_path, stdin=_script(db, guarded=True))
    _assert_stopped_with_one_reason(result, "a script read from stdin", "save the script", _GUARD)
    assert _charged(db) == []


def test_noise_a_worker_joining_a_study_run_from_stdin_says_it_needs_an_objective(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    script = _script(db, guarded=True).replace('executor="processes", n_workers=2, ', "")
    ran = _python("-", cwd=tmp_path, stdin=script)
    assert ran.returncode == 0, ran.stderr
    joined = _python(
        "-m", "tunelab.cli", "worker", "--study", STUDY, "--storage", str(db), cwd=tmp_path
    )
    assert joined.returncode == 2
    assert "has no stored objective" in joined.stderr and "read from stdin" in joined.stderr
    assert "<stdin>" not in joined.stderr


def test_noise_an_objective_defined_in_python_c_stops_the_study_without_charging_a_trial(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    result = _python("-c", _script(db, guarded=False), cwd=tmp_path)
    _assert_stopped_with_one_reason(
        result, "a worker process cannot load the objective `objective`", "define it in a module"
    )
    assert _charged(db) == []
    stored = tl.load_study(STUDY, storage=db).trials
    assert any("cannot load the objective" in (t.error or "") for t in stored)  # the reason


def test_noise_a_script_that_fails_in_a_starting_worker_stops_the_study(tmp_path: Path) -> None:
    """Its top level refuses CPU-only processes, which tunelab's CPU workers are."""
    db = tmp_path / "t.db"
    prelude = (
        "import os, sys\n"
        "if os.environ.get('CUDA_VISIBLE_DEVICES') == '':\n"
        "    sys.exit('this script needs a GPU')\n"
    )
    (tmp_path / "gpu_only.py").write_text(_script(db, guarded=True, prelude=prelude))
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    result = _python("gpu_only.py", cwd=tmp_path, env=env)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "tunelab.errors.WorkerStartError: a worker process died with exit code 1"
    )
    assert "gpu_only.py again" in last and "its error is printed above" in last
    assert "this script needs a GPU" in result.stderr
    assert "worker lost" not in result.stderr
    assert _charged(db) == []


def test_noise_a_postgresql_url_with_another_driver_says_to_use_psycopg() -> None:
    with pytest.raises(StorageError) as refused:
        make_storage("postgresql+asyncpg://user:secret@127.0.0.1:1/db")
    message = str(refused.value)
    assert "asyncpg" in message and "psycopg" in message
    assert "use postgresql+psycopg://" in message and "tunelab[postgres]" in message
    assert "secret" not in message


def test_noise_python_m_tunelab_runs_the_cli(tmp_path: Path) -> None:
    helped = _python("-m", "tunelab", "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "Usage: python -m tunelab" in helped.stdout and "run" in helped.stdout
    listed = _python("-m", "tunelab", "ls", "--storage", str(tmp_path / "none.db"), cwd=tmp_path)
    assert listed.returncode == 2
    assert "no tunelab storage" in listed.stderr
