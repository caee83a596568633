"""Issue 15, case 2: ``max_seconds`` is a hard limit. A trial that does not report is
interrupted inline, and its worker process or Ray actor is ended; a trial that reported
is pruned with its value, and a run that ends so is not an error."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunelab as tl
from tunelab.executors.processes import ProcessExecutor
from tunelab.trial import FailureKind, TrialStatus

SLEEP = 120.0  # far beyond every limit below
LIMIT = 3.0


def silent(trial: tl.Trial) -> float:
    """Never reports: only the time limit can end it."""
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.set_user_attr("pid", os.getpid())
    time.sleep(SLEEP)
    return x


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (no such process, or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


def assert_interrupted_and_requeued(study: tl.Study) -> tl.TrialRecord:
    trial, retry = study.trials
    assert trial.status is TrialStatus.FAILED and trial.failure is FailureKind.INTERRUPTED
    assert "max_seconds" in (trial.error or "")
    assert retry.status is TrialStatus.WAITING and retry.retry_of == trial.number
    assert study.budget_used().trials == 0  # not charged to its configuration
    return trial


def test_inline_silent_trial_is_interrupted_at_the_time_limit(tmp_path: Path) -> None:
    study = tl.create_study("inline", metric="loss", storage=tmp_path / "t.db", seed=0)
    start = time.monotonic()
    usage = study.optimize(silent, max_seconds=LIMIT, quiet=True)
    elapsed = time.monotonic() - start

    assert LIMIT <= elapsed < 30.0
    assert usage.seconds >= LIMIT
    assert_interrupted_and_requeued(study)


def test_process_worker_running_a_silent_trial_is_ended_at_the_time_limit(
    tmp_path: Path,
) -> None:
    study = tl.create_study("processes", metric="loss", storage=tmp_path / "t.db", seed=0)
    limit = 15.0  # time for the spawned worker to start and say its pid, even under load
    start = time.monotonic()
    study.optimize(silent, max_seconds=limit, executor=ProcessExecutor(n_workers=1), quiet=True)
    elapsed = time.monotonic() - start

    assert limit <= elapsed < 60.0
    trial = assert_interrupted_and_requeued(study)
    pid = trial.user_attrs["pid"]
    assert pid != os.getpid() and gone(pid)


def test_ray_actor_running_a_silent_trial_is_ended_at_the_time_limit(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from tunelab.executors.ray import RayExecutor

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # An actor is a new Python process that imports Ray and tunelab: on a 2-core machine
        # loaded by four busy loops that alone can take more than 30 s, and the limit then
        # (correctly) ends a trial that never started. Only then is the run repeated with a
        # longer limit, so an idle machine still pays 30 s.
        for attempt, limit in enumerate((30.0, 120.0)):
            study = tl.create_study(
                f"ray{attempt}", metric="loss", storage=tmp_path / "t.db", seed=0
            )
            start = time.monotonic()
            study.optimize(silent, max_seconds=limit, executor=RayExecutor(n_workers=1), quiet=True)
            elapsed = time.monotonic() - start
            trial = assert_interrupted_and_requeued(study)
            assert limit <= elapsed < limit + 60.0
            if "pid" in trial.user_attrs:
                break
    finally:
        ray.shutdown()

    pid = trial.user_attrs["pid"]
    assert pid != os.getpid() and gone(pid)


OBJECTIVE = f"""
import time

def objective(trial):
    x = trial.hp.Float("x", -5.0, 10.0)
    trial.report(1, loss=(x - 2) ** 2)
    time.sleep({SLEEP})
    return (x - 2) ** 2
"""


def test_a_run_ended_by_its_time_limit_keeps_the_reported_value_and_exits_0(
    tmp_path: Path,
) -> None:
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    config = tmp_path / "run.yaml"
    config.write_text(
        "study: timed\nobjective: obj.py:objective\nmetric: loss\nmode: min\nseed: 0\n"
        f"budget: {{max_seconds: {LIMIT:g}}}\n"
    )
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tunelab.cli", "run", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    elapsed = time.monotonic() - start

    assert result.returncode == 0, result.stderr
    assert elapsed < 30.0
    with sqlite3.connect(tmp_path / "tunelab.db") as conn:
        rows = conn.execute("select number, status, value from tunelab_trials").fetchall()
    assert len(rows) == 1
    number, status, value = rows[0]
    assert status == "pruned" and value is not None
    assert f"best trial: #{number}  loss = {value:.4g} (pruned)" in result.stdout
