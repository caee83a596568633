"""What a running study prints: a first line saying where it is stored, a rich progress
bar (trials done/total, best value, elapsed, ETA), failures as they happen, and a
closing line. ``quiet=True`` prints nothing."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressDisplay:
    """Prints progress to the terminal; every method is a no-op when quiet."""

    def __init__(self, *, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(highlight=False)
        self._progress: Progress | None = None
        self._task: Any = None

    def start(self, headline: str, *, total: int | None, done: int, best: str) -> None:
        if self.quiet:
            return
        self.console.print(headline, markup=False, soft_wrap=True)
        self._progress = Progress(
            TextColumn("trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True, highlight=False),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("trials", total=total, completed=done, best=best)

    def update(self, *, done: int, best: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, best=best)

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.console.print(text, markup=False, soft_wrap=True)
        else:
            self.console.print(text, markup=False, soft_wrap=True)

    def close(self, summary: str | None = None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if summary and not self.quiet:
            self.console.print(summary, markup=False, soft_wrap=True)
