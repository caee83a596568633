"""The study progress bar counts the unit the budget limits: trials, epochs or seconds;
without a terminal, one line per finished trial replaces it."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import tunelab as tl
import tunelab.study
from tests.cli import read_terminal
from tunelab.budget import Budget, BudgetUsage
from tunelab.progress import ProgressDisplay, bar_units

EPOCHS_PER_TRIAL = 3


def objective(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    for epoch in range(1, EPOCHS_PER_TRIAL + 1):
        trial.report(epoch, {"value": x / epoch})
    return x / EPOCHS_PER_TRIAL


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


def plain(out: io.StringIO) -> str:
    """What the terminal received without its escape codes; each redraw of the bar
    starts after a carriage return."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())


def bars(text: str, unit: str) -> list[str]:
    """Every rendered bar line counting ``unit``, in order."""
    return [line for line in re.split(r"[\r\n]", text) if line.startswith(unit + " ")]


def last_bar(text: str, unit: str) -> str:
    lines = bars(text, unit)
    assert lines, text
    return lines[-1]


def count(bar: str) -> str:
    """The ``used/total`` column of a bar line."""
    found = re.search(r" (\d+/[\d?]+) ", bar)
    assert found, bar
    return found[1]


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Studies in this test render to a forced terminal; returns what it received."""
    console, out = terminal()
    monkeypatch.setattr(
        tunelab.study,
        "ProgressDisplay",
        lambda quiet: ProgressDisplay(quiet=quiet, console=console),
    )
    return out


def optimize(storage: Any, **budget: Any) -> tl.Study:
    study = tl.create_study("bar", storage=storage, seed=0, load_if_exists=True)
    study.optimize(objective, **budget)
    return study


def test_an_epoch_budget_counts_epochs_with_an_eta(console: io.StringIO) -> None:
    optimize(":memory:", max_epochs=12)
    bar = last_bar(plain(console), "epochs")
    assert re.search(r" 12/12 best value=\S+ \(#\d\) +\d+:\d\d:\d\d eta 0:00:00$", bar), bar
    assert not bars(plain(console), "trials")
    assert "?" not in bar


def test_epochs_reach_the_bar_as_they_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []

    class Recording(ProgressDisplay):
        def update(self, usage: BudgetUsage, *, best: str, ended: Any = None) -> None:
            seen.append((usage.trials, usage.epochs))
            super().update(usage, best=best, ended=ended)

    monkeypatch.setattr(tunelab.study, "ProgressDisplay", Recording)
    optimize(":memory:", max_epochs=5)
    # every report, then the trial's end
    assert seen[:5] == [(0, 1), (0, 2), (0, 3), (1, 3), (1, 4)]


def test_a_trial_budget_counts_trials(console: io.StringIO) -> None:
    optimize(":memory:", max_trials=3)
    bar = last_bar(plain(console), "trials")
    assert re.search(r" 3/3 best value=\S+ \(#\d\) +\d+:\d\d:\d\d eta 0:00:00$", bar), bar


def test_a_resumed_study_starts_at_what_it_used(console: io.StringIO, tmp_path: Path) -> None:
    storage = tmp_path / "study.db"
    optimize(storage, max_epochs=6)
    console.truncate(0)
    console.seek(0)
    optimize(storage, max_epochs=12)
    text = plain(console)
    assert "resumed" in text
    assert count(bars(text, "epochs")[0]) == "6/12"
    assert count(last_bar(text, "epochs")) == "12/12"


def render(budget: Budget, *updates: BudgetUsage) -> str:
    console, out = terminal()
    display = ProgressDisplay(console=console)
    display.start("headline", budget=budget, usage=BudgetUsage(), best="-")
    for usage in updates:
        display.update(usage, best="-")
    display.close()
    return plain(out)


def test_both_counts_limited_show_the_one_closer_to_its_limit() -> None:
    budget = Budget(max_trials=10, max_epochs=100)
    text = render(budget, BudgetUsage(trials=1, epochs=50))
    assert count(last_bar(text, "epochs")) == "50/100"
    text = render(budget, BudgetUsage(trials=1, epochs=50), BudgetUsage(trials=8, epochs=60))
    assert count(last_bar(text, "trials")) == "8/10"
    assert text.rstrip().splitlines()[-1].startswith("trials")


def test_a_seconds_budget_counts_seconds_on_the_clock() -> None:
    console, out = terminal()
    display = ProgressDisplay(console=console)
    display.start("headline", budget=Budget(max_seconds=60), usage=BudgetUsage(), best="-")
    display.update(BudgetUsage(trials=2, epochs=7, seconds=30.5), best="-")
    time.sleep(0.6)  # no update: the bar moves with the clock
    display.close()
    bar = last_bar(plain(out), "seconds")
    assert re.search(r" 31/60 best - +\d+:\d\d:\d\d eta \d+:\d\d:\d\d$", bar), bar


@pytest.mark.parametrize(
    ("budget", "units"),
    [
        (Budget(max_trials=5), ["trials"]),
        (Budget(max_epochs=5, max_seconds=9), ["epochs"]),
        (Budget(max_trials=5, max_epochs=5), ["trials", "epochs"]),
        (Budget(max_seconds=9), ["seconds"]),
        (Budget(), ["trials"]),
    ],
)
def test_bar_units(budget: Budget, units: list[str]) -> None:
    assert bar_units(budget) == units


def test_no_limit_counts_trials_without_a_total() -> None:
    assert re.match(r"trials .* 4/\? ", last_bar(render(Budget(), BudgetUsage(trials=4)), "trials"))


def test_quiet_prints_nothing() -> None:
    console, out = terminal()
    display = ProgressDisplay(quiet=True, console=console)
    display.start("headline", budget=Budget(max_epochs=3), usage=BudgetUsage(), best="-")
    display.update(BudgetUsage(epochs=3), best="-")
    display.close("summary")
    assert out.getvalue() == ""


def test_without_a_terminal_each_trial_prints_one_line_and_no_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(
        tunelab.study,
        "ProgressDisplay",
        lambda quiet: ProgressDisplay(quiet=quiet, console=Console(file=err, width=80)),
    )
    study = optimize(":memory:", max_trials=3)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("tunelab: study 'bar' in :memory:")
    assert lines[-1].startswith("tunelab: study 'bar' stopped (max_trials)")
    per_trial = lines[1:-1]
    assert len(per_trial) == 3, lines
    for line, t in zip(per_trial, study.trials, strict=True):
        assert line.startswith(
            f"trial {t.number} completed: value={t.value:.4g} after 3 epochs in "
        )
        assert "best value=" in line and f"trials {t.number + 1}/3, epochs " in line
    assert "\r" not in err.getvalue() and "\x1b" not in err.getvalue()
    assert out.getvalue() == ""


def test_the_bar_goes_to_a_terminal_stderr_and_lines_to_a_piped_one() -> None:
    """The default consoles: stderr decides, whatever stdout is (piped in both runs)."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    command = [
        sys.executable,
        "-c",
        "import tunelab as tl\n"
        "from tests.test_progress import objective\n"
        "tl.create_study('s', storage=':memory:', seed=0).optimize(objective, max_trials=2)\n",
    ]
    root = Path(__file__).parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    piped = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True, env=env)
    lines = piped.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["trial 0 completed", "trial 1 completed"]
    assert all(" after 3 epochs in " in line for line in lines)
    assert piped.stdout.startswith("tunelab: study 's'")

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=slave, env={**env, "COLUMNS": "120"}
    )
    os.close(slave)
    received = read_terminal(master)
    assert proc.stdout is not None
    stdout = proc.stdout.read().decode()
    assert proc.wait(timeout=120) == 0
    os.close(master)
    terminal = plain(io.StringIO(received.decode()))
    assert "trial 0 completed" not in terminal
    assert re.search(r"trials .* 2/2 best value=", terminal), terminal
    assert stdout.startswith("tunelab: study 's'")


def test_without_a_terminal_failures_are_told_on_the_same_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(
        tunelab.study,
        "ProgressDisplay",
        lambda quiet: ProgressDisplay(quiet=quiet, console=Console(file=err, width=80)),
    )

    def failing(trial: tl.Trial) -> float:
        trial.hp.Float("x", 0.0, 1.0)
        raise ValueError("bad batch")

    tl.create_study("f", storage=":memory:").optimize(failing, max_trials=1)
    lines = err.getvalue().splitlines()
    assert lines[1].startswith("trial 0 failed after 0 epochs in ")
    assert lines[2] == "trial 0 failed: ValueError: bad batch"
