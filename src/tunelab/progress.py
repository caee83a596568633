"""What a running study prints: a first line saying where it is stored, then, when
stderr is a terminal (or a notebook), a rich progress bar on it (used/total of the unit
the budget limits, best value, elapsed, ETA), or else (stderr piped or sent to a file)
one plain line per finished trial on stderr; failures as they happen, and a closing line.
``quiet=True`` prints nothing.

The bar counts the unit that ends the study, named in its first column: trials when
``max_trials`` is set, epochs when ``max_epochs`` is set, and when both are, whichever
is closer to exhaustion (the larger used/limit fraction, trials on a tie) at each
update, since that is the limit likely to stop the study. Each unit keeps its own rich
task (only one visible), so switching keeps every unit's speed and ETA estimate. With
only ``max_seconds`` the bar counts the study's seconds, advancing between updates on
the wall clock. With no limit it counts trials and shows no total or ETA. A resumed
study starts the bar at what it has already used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Literal

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tunelab.budget import Budget, BudgetUsage
from tunelab.table import format_duration, format_number
from tunelab.trial import TrialRecord

Unit = Literal["trials", "epochs", "seconds"]  # a field of BudgetUsage and Budget.max_*


def bar_units(budget: Budget) -> list[Unit]:
    """The units the bar may count for ``budget``, in order of preference on a tie."""
    counted: list[Unit] = [u for u in ("trials", "epochs") if _limit(budget, u) is not None]
    if counted:
        return counted
    return ["seconds"] if budget.max_seconds is not None else ["trials"]


def _limit(budget: Budget, unit: Unit) -> float | None:
    limit: float | None = getattr(budget, f"max_{unit}")
    return limit


class _ClockedProgress(Progress):
    """A Progress that calls ``before_render`` on each refresh (about 10 a second)."""

    before_render: Callable[[], None] | None = None

    def get_renderables(self) -> Iterable[RenderableType]:
        if self.before_render is not None:
            self.before_render()
        yield from super().get_renderables()


class ProgressDisplay:
    """Prints progress; every method is a no-op when quiet.

    ``console``: where everything goes; by default the first and closing lines go to
    stdout, the bar (or the line per trial) and messages to stderr.
    """

    def __init__(self, *, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(highlight=False)
        self._bar_console = console or Console(stderr=True, highlight=False)
        self._progress: _ClockedProgress | None = None
        self._budget = Budget()
        self._tasks: dict[Unit, TaskID] = {}
        self._shown: Unit | None = None
        self._clock: tuple[float, float] = (0.0, 0.0)  # (study seconds, monotonic) last set
        self._lines = False  # a line per trial instead of the bar
        self._metric = "value"

    def start(
        self,
        headline: str,
        *,
        budget: Budget,
        usage: BudgetUsage,
        best: str,
        metric: str = "value",
    ) -> None:
        if self.quiet:
            return
        self.console.print(headline, markup=False, soft_wrap=True)
        self._budget = budget
        self._metric = metric
        self._shown = None
        self._lines = not (self._bar_console.is_terminal or self._bar_console.is_jupyter)
        if self._lines:
            return
        progress = _ClockedProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self._bar_console,
            transient=False,
        )
        self._tasks = {
            unit: progress.add_task(
                unit,
                total=_limit(budget, unit),
                completed=getattr(usage, unit),
                visible=False,
                best=best,
            )
            for unit in bar_units(budget)
        }
        if "seconds" in self._tasks:
            self._clock = (usage.seconds, time.monotonic())
            progress.before_render = self._advance_clock
        self._progress = progress
        self._show(usage)
        progress.start()

    def update(self, usage: BudgetUsage, *, best: str, ended: TrialRecord | None = None) -> None:
        """Move the bar to ``usage``: called at each epoch report and when a trial ends
        (``ended``, which without a bar prints its line)."""
        if self._lines and ended is not None and not self.quiet:
            self._bar_console.print(
                self._trial_line(ended, usage, best), markup=False, soft_wrap=True
            )
        if self._progress is None:
            return
        if "seconds" in self._tasks:
            self._clock = (usage.seconds, time.monotonic())
        for unit, task in self._tasks.items():
            self._progress.update(task, completed=getattr(usage, unit), best=best)
        self._show(usage)

    def _show(self, usage: BudgetUsage) -> None:
        """Make visible the unit closest to exhaustion (the first on a tie)."""
        assert self._progress is not None

        def used(unit: Unit) -> float:
            limit = _limit(self._budget, unit)
            return getattr(usage, unit) / limit if limit else 0.0

        shown = max(self._tasks, key=used)  # max keeps the first of equals
        if shown != self._shown:
            for unit, task in self._tasks.items():
                self._progress.update(task, visible=unit == shown)
            self._shown = shown

    def _advance_clock(self) -> None:
        assert self._progress is not None
        seconds, at = self._clock
        self._progress.update(self._tasks["seconds"], completed=seconds + time.monotonic() - at)

    def _trial_line(self, t: TrialRecord, usage: BudgetUsage, best: str) -> str:
        """trial 3 completed: loss=0.1234 after 3 epochs in 1.2s; best loss=0.1 (#2); trials
        4/10, epochs 12, seconds 5.1"""
        value = f": {self._metric}={format_number(t.value)}" if t.value is not None else ""
        epochs = f"{t.steps_trained} epoch{'s' if t.steps_trained != 1 else ''}"
        return (
            f"trial {t.number} {t.status.value}{value} after {epochs} in "
            f"{format_duration(t.duration)}; best {best}; {usage.describe(self._budget)}"
        )

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.console.print(text, markup=False, soft_wrap=True)
        elif self._lines:  # with the per-trial lines, on stderr
            self._bar_console.print(text, markup=False, soft_wrap=True)
        else:
            self.console.print(text, markup=False, soft_wrap=True)

    def close(self, summary: str | None = None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if summary and not self.quiet:
            self.console.print(summary, markup=False, soft_wrap=True)
