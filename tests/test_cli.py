"""The ``tunelab`` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

OBJECTIVE = """
import time

def objective(trial):
    x = trial.hp.Float("x", -5.0, 10.0)
    kind = trial.hp.Choice("kind", ["a", "b"])
    for epoch in range(1, 4):
        trial.report(epoch, loss=(x - 2) ** 2 + 1 / epoch)
        time.sleep({sleep})
    return {{"loss": (x - 2) ** 2 + (kind == "b")}}
"""


def write_config(tmp_path: Path, trials: int, sleep: float = 0.0, **extra: str) -> Path:
    (tmp_path / "obj.py").write_text(OBJECTIVE.format(sleep=sleep))
    lines = [
        "study: demo",
        "objective: obj.py:objective",
        "metric: loss",
        "mode: min",
        "searcher: sobol",
        "seed: 0",
        f"budget: {{max_trials: {trials}}}",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    path = tmp_path / "run.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def tunelab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tunelab.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def statuses(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select number, status from tunelab_trials order by number").fetchall()


def test_run_ls_show_export(tmp_path):
    config = write_config(tmp_path, trials=5)
    result = tunelab("run", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tunelab: study 'demo' in sqlite:///")
    assert str(tmp_path / "tunelab.db") in lines[0]
    assert "best trial: #" in result.stdout and "  x: " in result.stdout

    listed = tunelab("ls", cwd=tmp_path)
    assert listed.returncode == 0 and "demo" in listed.stdout and "loss" in listed.stdout

    shown = tunelab("show", "demo", cwd=tmp_path)
    assert shown.returncode == 0
    assert shown.stdout.count("completed") == 5 and "best trial: #" in shown.stdout

    csv_out = tunelab("export", "demo", "--format", "csv", cwd=tmp_path)
    rows = csv_out.stdout.strip().splitlines()
    assert rows[0].startswith("number,status,value") and "params_x" in rows[0]
    assert len(rows) == 6

    json_file = tmp_path / "trials.json"
    assert (
        tunelab("export", "demo", "-f", "json", "-o", str(json_file), cwd=tmp_path).returncode == 0
    )
    trials = json.loads(json_file.read_text())
    assert len(trials) == 5 and all(len(t["reports"]) == 3 for t in trials)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            "study: x\nobjective: obj.py:objective\nbudget: {max_trials: 0}\n",
            "max_trials must be a positive integer",
        ),
        (
            "study: x\nobjective: obj.py:objective\nbudget: {max_trials: 2}\nsearcher: magic\n",
            "unknown searcher 'magic'",
        ),
        ("study: x\nobjective: obj.py:nope\nbudget: {max_trials: 2}\n", "has no callable 'nope'"),
        ("study: x\nbudget: {max_trials: 2}\n", "exactly one of 'task' or 'objective'"),
        (
            "study: x\ntask: digits_mlp\nbudget: {max_trials: 2}\ncolour: red\n",
            "unknown key(s) ['colour']",
        ),
        ("study: x\ntask: no_such_task\nbudget: {max_trials: 2}\n", "unknown task 'no_such_task'"),
        ("study: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_input_exits_2_with_the_reason_on_stderr(tmp_path, content, fragment):
    (tmp_path / "obj.py").write_text(OBJECTIVE.format(sleep=0))
    (tmp_path / "bad.yaml").write_text(content)
    result = tunelab("run", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert fragment in result.stderr


def test_missing_config_study_and_storage_exit_2(tmp_path):
    assert "does not exist" in tunelab("run", "nope.yaml", cwd=tmp_path).stderr
    missing = tunelab("show", "demo", cwd=tmp_path)
    assert missing.returncode == 2 and "no tunelab storage" in missing.stderr
    write_config(tmp_path, trials=1)
    assert tunelab("run", "run.yaml", "-q", cwd=tmp_path).returncode == 0
    unknown = tunelab("show", "other", cwd=tmp_path)
    assert unknown.returncode == 2 and "no study named 'other'" in unknown.stderr


def test_foreign_sqlite_file_is_refused_and_left_alone(tmp_path):
    db = tmp_path / "tunelab.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table invoices (id integer)")
    before = db.read_bytes()
    write_config(tmp_path, trials=1)
    result = tunelab("run", "run.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a tunelab storage" in result.stderr
    assert db.read_bytes() == before


def test_sigkill_mid_run_then_rerun_continues_the_same_study(tmp_path):
    config = write_config(tmp_path, trials=10, sleep=0.1)
    db = tmp_path / "tunelab.db"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunelab.cli", "run", str(config), "-q"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it inside a trial, after a few completed
        time.sleep(0.05)
        try:
            rows = statuses(db)
        except sqlite3.OperationalError:  # the file exists before its tables do
            continue
        if rows:
            done = sum(s == "completed" for _, s in rows)
            if done >= 3 and rows[-1][1] == "running":
                with sqlite3.connect(db) as conn:
                    (reports,) = conn.execute(
                        "select count(*) from tunelab_reports r join tunelab_trials t "
                        "on r.trial_id = t.id where t.status = 'running'"
                    ).fetchone()
                if reports >= 1:
                    break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = statuses(db)
    completed_before = [n for n, s in before if s == "completed"]
    interrupted = [n for n, s in before if s == "running"]
    assert len(completed_before) >= 3 and len(interrupted) == 1
    with sqlite3.connect(db) as conn:
        finished_before = dict(
            conn.execute(
                "select number, ended_at from tunelab_trials where status='completed'"
            ).fetchall()
        )

    result = tunelab("run", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"trial {interrupted[0]} was interrupted" in result.stdout + result.stderr
    after = statuses(db)
    status_of = dict(after)
    assert status_of[interrupted[0]] == "failed"
    assert sum(s == "completed" for _, s in after) == 10
    with sqlite3.connect(db) as conn:
        # completed trials were not rerun: same rows, same end times
        for number, ended_at in finished_before.items():
            (again,) = conn.execute(
                "select ended_at from tunelab_trials where number = ?", (number,)
            ).fetchone()
            assert again == ended_at
        (failure,) = conn.execute(
            "select failure from tunelab_trials where number = ?", (interrupted[0],)
        ).fetchone()
    assert failure == "interrupted"
    assert tunelab("run", str(config), cwd=tmp_path).returncode == 0  # nothing left to do
    assert sum(s == "completed" for _, s in statuses(db)) == 10


def test_plan_prints_the_brackets_without_running_anything(tmp_path):
    config = tmp_path / "hb.yaml"
    config.write_text(
        "study: hb\n"
        "task: synthetic_curves\n"
        "scheduler: {name: hyperband, max_epochs: 27, eta: 3}\n"
        "budget: {max_epochs: 810}\n"
    )
    result = tunelab("plan", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("hyperband plan: R=27 epochs, eta=3")
    assert "1 (s=3)           0      27             1       27" in out
    assert "total: 9 brackets, 125 trials, 795 epochs (15 of the 810-epoch budget unused)" in out
    assert not (tmp_path / "tunelab.db").exists()
    smaller = tunelab("plan", str(config), "--max-epochs", "100", cwd=tmp_path)
    assert "total: 1 bracket, 27 trials, 81 epochs" in smaller.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: synthetic_curves\nscheduler: {name: hyperband}\n")
    failed = tunelab("plan", str(bad), cwd=tmp_path)
    assert failed.returncode == 2 and "scheduler 'hyperband': bad options" in failed.stderr


def test_run_a_hyperband_study_from_yaml_keeps_to_the_plan(tmp_path):
    config = tmp_path / "hb.yaml"
    config.write_text(
        "study: hb\n"
        "task: synthetic_curves\n"
        "scheduler: {name: hyperband, max_epochs: 9}\n"
        "budget: {max_epochs: 100}\n"
    )
    result = tunelab("run", str(config), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "tunelab.db") as conn:
        epochs = conn.execute("select count(*) from tunelab_reports").fetchone()[0]
        left = conn.execute(
            "select count(*) from tunelab_trials where status = 'paused'"
        ).fetchone()[0]
    assert (epochs, left) == (90, 0)
    assert (tmp_path / "tunelab.db.artifacts").is_dir()
