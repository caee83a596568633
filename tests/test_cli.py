"""The ``tunelab`` command, run as a real subprocess."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunelab as tl
from tests.cli import read_terminal, tunelab
from tunelab.table import format_number

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
    assert "total: 10 brackets, 126 trials, 810 epochs" in out
    assert not (tmp_path / "tunelab.db").exists()
    smaller = tunelab("plan", str(config), "--max-epochs", "100", cwd=tmp_path)
    assert "total: 2 brackets, 28 trials, 100 epochs" in smaller.stdout
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
    assert (epochs, left) == (100, 0)
    assert (tmp_path / "tunelab.db.artifacts").is_dir()


# -- tunelab show on a wide study, in a terminal and piped ------------------------------------

N_WIDE = 28


def wide_objective(trial):
    """28 parameters (floats, ints, choices; one conditional), as wide as the digits space."""
    total = 0.0
    for i in range(N_WIDE):
        if i % 7 == 3:
            trial.hp.Choice(f"p{i:02d}_activation", ["relu", "tanh", "gelu"])
        elif i % 7 == 5:
            total += trial.hp.Int(f"p{i:02d}_units", 8, 512) / 512
        else:
            total += trial.hp.Float(f"p{i:02d}_rate", 1e-5, 1.0, sampling="log")
    if trial.hp.Boolean("use_extra"):
        total += trial.hp.Float("extra", 0.0, 1.0, parent_name="use_extra", parent_values=[True])
    trial.report(1, {"loss": total})
    if trial.number % 5 == 3:
        raise tl.TrialPruned()
    if trial.number % 5 == 4:
        raise ValueError("unlucky")
    return total


@pytest.fixture(scope="module")
def wide_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wide")
    study = tl.create_study("wide", metric="loss", storage=folder / "tunelab.db", seed=3)
    study.optimize(wide_objective, max_trials=14, quiet=True, max_consecutive_failures=None)
    return folder


def run_in_terminal(args: list[str], cwd: Path, columns: int) -> tuple[int, str]:
    """Run the CLI with a real pseudo-terminal of ``columns`` columns as its stdout and
    stderr; returns the exit code and what the terminal received, escape codes removed."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunelab.cli", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    received = read_terminal(master)
    code = proc.wait(timeout=120)
    os.close(master)
    text = received.decode().replace("\r\n", "\n")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def trial_rows(text: str) -> dict[int, list[str]]:
    """Table rows by trial number: lines of a number, then a state."""
    states = {s.value for s in tl.TrialStatus}
    rows = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) > 2 and words[0].isdigit() and words[1] in states:
            rows[int(words[0])] = words
    return rows


def assert_every_trial_listed(text: str, db: Path) -> None:
    trials = tl.load_study("wide", storage=db).trials
    assert {t.status.value for t in trials} >= {"completed", "pruned", "failed"}
    rows = trial_rows(text)
    assert sorted(rows) == [t.number for t in trials], text
    for t in trials:
        assert rows[t.number][1] == t.status.value, rows[t.number]
        assert rows[t.number][2] == format_number(t.value), rows[t.number]
    assert "…" not in text


def test_show_at_80_columns_in_a_terminal_fits_and_lists_every_trial(wide_db):
    code, text = run_in_terminal(["show", "wide"], wide_db, columns=80)
    assert code == 0, text
    assert_every_trial_listed(text, wide_db / "tunelab.db")
    assert max(len(line) for line in text.splitlines()) <= 80
    header = next(line for line in text.splitlines() if line.split()[:2] == ["#", "state"])
    assert header.split()[2:5] == ["loss", "epochs", "duration"]
    hidden = N_WIDE + 2 - (len(header.split()) - 5)
    assert f"{hidden} more parameters not shown (--all-columns" in text


def test_show_piped_is_plain_text_with_every_cell(wide_db):
    result = tunelab("show", "wide", cwd=wide_db)
    assert result.returncode == 0, result.stderr
    assert_every_trial_listed(result.stdout, wide_db / "tunelab.db")
    header = result.stdout.splitlines()[1].split()
    names = tl.load_study("wide", storage=wide_db / "tunelab.db").space.names
    assert header == ["#", "state", "loss", "epochs", "duration", *names]
    assert len(names) == N_WIDE + 2
    rows = trial_rows(result.stdout)
    assert all(len(words) == len(header) for words in rows.values())  # no cell left out
    assert "\x1b" not in result.stdout and "─" not in result.stdout
    assert "best trial: #" in result.stdout


def test_show_csv_columns_sort_top_and_state(wide_db):
    study = tl.load_study("wide", storage=wide_db / "tunelab.db")
    by_value = sorted(
        (t for t in study.trials if t.status.value in ("completed", "pruned")),
        key=lambda t: t.value,
    )
    result = tunelab(
        "show", "wide", "-f", "csv", "--columns", "number,loss,p03_activation,extra",
        "--state", "completed,pruned", "--top", "3", cwd=wide_db,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0] == ["number", "value", "p03_activation", "extra"]
    assert [int(r[0]) for r in rows[1:]] == [t.number for t in by_value[:3]]
    for row, t in zip(rows[1:], by_value, strict=False):
        assert float(row[1]) == t.value  # full precision
        assert row[2] == t.params["p03_activation"]
        assert row[3] == ("" if t.params.get("extra") is None else repr(t.params["extra"]))

    ascending = tunelab("show", "wide", "-f", "csv", "-c", "number", "--sort", "epochs",
                        "--reverse", cwd=wide_db)  # fmt: skip
    numbers = [int(r) for r in ascending.stdout.split()[1:]]
    assert sorted(numbers) == [t.number for t in study.trials]

    failed = tunelab("show", "wide", "--state", "failed", "-c", "number,state,error", cwd=wide_db)
    assert failed.returncode == 0 and "ValueError: unlucky" in failed.stdout
    assert "completed" not in failed.stdout.split("best trial")[0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--columns", "number,nope"], "unknown column 'nope'"),
        (["--sort", "nope"], "unknown column 'nope'"),
        (["--state", "done"], "unknown state 'done'"),
        (["--top", "0"], "--top must be a positive integer"),
    ],
)
def test_show_bad_options_exit_2_with_one_line(wide_db, args, fragment):
    result = tunelab("show", "wide", *args, cwd=wide_db)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and fragment in result.stderr


def test_version(tmp_path):
    import tomllib

    result = tunelab("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert result.stdout.strip() == f"tunelab {version}"


def test_h_is_help_on_every_command():
    from typer.core import TyperGroup
    from typer.main import get_command
    from typer.testing import CliRunner

    from tunelab.cli import app

    group = get_command(app)
    assert isinstance(group, TyperGroup)
    assert {"show", "export"} <= set(group.commands)
    runner = CliRunner()
    for args in ([], *([name] for name in group.commands)):
        short, long = runner.invoke(app, [*args, "-h"]), runner.invoke(app, [*args, "--help"])
        assert short.exit_code == 0, (args, short.output)
        assert short.output == long.output and "Usage:" in short.output
