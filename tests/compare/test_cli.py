"""``tunelab compare`` and ``tunelab report`` as real subprocesses: kill -9 and resume."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import tunelab
from tests.compare.synthetic import TASK_FILE, calls
from tunelab.compare.results import RESULT_KEY


def write_config(tmp_path: Path, *, sleep: float = 0.0, repeats: int = 2, extra: str = "") -> Path:
    config = tmp_path / "cmp.yaml"
    config.write_text(
        f"""
name: cmp
task: {TASK_FILE}:CurveTask
task_options: {{epochs: 4, sleep: {sleep}, calls_file: {tmp_path / "calls.txt"}}}
repeats: {repeats}
budget: {{epochs: 12}}
strategies:
  - random
  - sobol
  - quantum
{extra}"""
    )
    return config


def runs(db: Path) -> dict[str, dict[str, object]]:
    """Every run study's name -> its stored result (empty while it runs)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select name, user_attrs from tunelab_studies").fetchall()
    return {name: json.loads(attrs).get(RESULT_KEY) or {} for name, attrs in rows}


def trial_rows(db: Path, study: str) -> list[tuple[int, str, float | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select t.id, t.status, t.ended_at from tunelab_trials t join tunelab_studies s "
            "on t.study_id = s.id where s.name = ? order by t.number",
            (study,),
        ).fetchall()


def test_compare_then_report(tmp_path):
    config = write_config(tmp_path)
    result = tunelab("compare", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "quantum: unavailable" in result.stdout
    assert "4 runs finished, 0 failed" in result.stdout

    report = tunelab("report", str(config), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    html = tmp_path / "reports" / "cmp" / "report.html"
    assert f"report: {html}" in report.stdout
    assert html.is_file() and (tmp_path / "reports" / "cmp" / "summary.md").is_file()
    # the only comparison in the default storage, without the config; another folder
    bare = tunelab("report", "-o", "elsewhere", cwd=tmp_path)
    assert bare.returncode == 0, bare.stderr
    assert (tmp_path / "elsewhere" / "report.html").is_file()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("budget2: 1", "unknown key(s) ['budget2']"),
        ("  - {name: random, searcher: tpe}", "strategy names must be unique"),
    ],
)
def test_bad_configs_exit_2_with_the_reason(tmp_path, extra, fragment):
    config = write_config(tmp_path, extra=extra)
    result = tunelab("compare", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert not (tmp_path / "tunelab.db").exists()


def test_report_without_a_comparison_exits_2(tmp_path):
    result = tunelab("report", cwd=tmp_path)
    assert result.returncode == 2 and "no tunelab storage" in result.stderr


def test_sigkill_midway_then_rerun_finishes_only_the_missing_runs(tmp_path):
    config = write_config(tmp_path, sleep=0.03, repeats=3)
    db = tmp_path / "tunelab.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunelab.cli", "compare", str(config), "-q"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    killed_in: str | None = None
    while time.monotonic() < deadline and killed_in is None:  # kill inside a run's trial
        time.sleep(0.02)
        try:
            state = runs(db)
        except sqlite3.OperationalError:  # tables not created yet
            continue
        done = [n for n, r in state.items() if r]
        running = [n for n, r in state.items() if not r]
        if (
            len(done) >= 2
            and running
            and any(s == "running" for _, s, _ in trial_rows(db, running[0]))
        ):
            killed_in = running[0]
            proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed_in is not None, "the comparison ended before it could be killed"

    before = runs(db)
    finished_before = {n: r for n, r in before.items() if r}
    trials_before = {n: trial_rows(db, n) for n in before}
    log = tmp_path / "calls.txt"
    evaluations_before = calls(log).count("final_evaluation")
    assert evaluations_before == len(finished_before)
    assert not before[killed_in]

    result = tunelab("compare", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    missing = 6 - len(finished_before)
    assert f"{missing} of 6 runs to do" in result.stdout

    after = runs(db)
    assert len(after) == 6 and all(after.values())
    for name, stored in finished_before.items():  # finished runs were skipped
        assert after[name] == stored
        assert trial_rows(db, name) == trials_before[name]
    assert calls(log).count("final_evaluation") == evaluations_before + missing
    # the killed run continued its own study: earlier trials kept, the killed one failed
    kept = trial_rows(db, killed_in)
    for trial_id, status, ended_at in trials_before[killed_in]:
        match = next(row for row in kept if row[0] == trial_id)
        if status == "running":
            assert match[1] == "failed"
        else:
            assert match == (trial_id, status, ended_at)
    with sqlite3.connect(db) as conn:
        (epochs,) = conn.execute(
            "select count(*) from tunelab_reports r join tunelab_trials t on r.trial_id = t.id "
            "join tunelab_studies s on t.study_id = s.id where s.name = ?",
            (killed_in,),
        ).fetchone()
    assert epochs == 12  # the budget is kept across the kill
    assert after[killed_in]["epochs"] == 12

    report = tunelab("report", str(config), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
