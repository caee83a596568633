"""The lines a run prints: its headline, its progress, and its summary when it stops."""

from __future__ import annotations

from tunelab.budget import Budget
from tunelab.progress import ProgressDisplay
from tunelab.runner.handle import StudyHandle
from tunelab.runner.view import TrialView
from tunelab.trial import TrialRecord, TrialStatus


class RunText:
    """What the run tells the user about ``study``, from this worker's ``view``."""

    def __init__(
        self, study: StudyHandle, view: TrialView, budget: Budget, progress: ProgressDisplay
    ) -> None:
        self.study = study
        self.view = view
        self.budget = budget
        self.progress = progress

    def show_progress(self, ended: TrialRecord | None = None) -> None:
        if not self.progress.quiet:  # quiet: not even the text is made
            self.progress.update(self.view.usage, best=self.best(), ended=ended)

    def best(self) -> str:
        best = self.view.leader()
        if best is None or best.value is None:
            return "-"
        pruned = ", pruned" if best.status is TrialStatus.PRUNED else ""
        return f"{self.study.metric}={best.value:.4g} (#{best.number}{pruned})"

    def headline(self) -> str:
        state = "resumed" if self.view.is_resumed() else "new"
        searcher, scheduler = self.study.searcher.name, self.study.scheduler.name
        return (
            f"tunelab: study {self.study.name!r} in {self.study.storage.url} "
            f"({state}; {searcher} search, {scheduler} scheduler; "
            f"{self.view.usage.describe(self.budget)})"
        )

    def summary(self, stop_reason: str | None) -> str:
        reason = f" ({stop_reason})" if stop_reason else ""
        used = self.view.usage.describe(self.budget)
        name = self.study.name
        if self.view.leader() is None:
            return f"tunelab: study {name!r} stopped{reason}: no completed trial; {used}"
        return f"tunelab: study {name!r} stopped{reason}: best {self.best()}; {used}"
