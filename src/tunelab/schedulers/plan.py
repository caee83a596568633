"""What a scheduler will run, before it runs: brackets, rungs, trials and epochs.

``study.plan()`` and ``tunelab plan CONFIG.yaml`` print a :class:`Plan`. For
Hyperband-like schedulers the numbers are exact: with objectives that checkpoint (a
promoted trial trains only the epochs between two rungs) and no failed trials, the run
trains ``total_epochs`` epochs, no more; under an epoch budget that is the whole budget
(brackets cut to what is left are listed, labelled ``cut``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tunelab.budget import Budget


@dataclass(frozen=True)
class RungPlan:
    """One rung: ``trials`` trials reach ``epochs`` epochs each, training ``new_epochs``
    epochs in this rung (each continues from the previous rung's checkpoint)."""

    trials: int
    epochs: int
    new_epochs: int


@dataclass(frozen=True)
class BracketPlan:
    """A successive-halving bracket (or, for fifo/pbt, one group of trials); ``cut``: a
    bracket cut to the budget left (fewer starting trials, or a last one whose top rung
    is the epochs left)."""

    label: str
    rungs: tuple[RungPlan, ...]
    cut: bool = False

    @property
    def trials(self) -> int:
        return self.rungs[0].trials if self.rungs else 0

    @property
    def epochs(self) -> int:
        return sum(r.new_epochs for r in self.rungs)


def rungs_from(shape: list[tuple[int, int]]) -> tuple[RungPlan, ...]:
    """Rungs from ``[(trials, epochs per trial), ...]``, counting only new epochs."""
    out, previous = [], 0
    for trials, epochs in shape:
        out.append(RungPlan(trials, epochs, trials * (epochs - previous)))
        previous = epochs
    return tuple(out)


@dataclass(frozen=True)
class Plan:
    """A scheduler's plan for a budget.

    ``total_trials``/``total_epochs`` are None when they depend on results (asha,
    median); ``exact`` says whether the totals are what will run or an estimate.
    """

    scheduler: str
    description: str
    budget: Budget
    brackets: tuple[BracketPlan, ...] = ()
    total_trials: int | None = None
    total_epochs: int | None = None
    exact: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        lines = [f"{self.scheduler} plan: {self.description}", f"budget: {_budget(self.budget)}"]
        if self.brackets:
            header = f"{'bracket':<14}{'rung':>5}{'trials':>8}{'epochs/trial':>14}{'epochs':>9}"
            lines += ["", header, "-" * len(header)]
            for b in self.brackets:
                for i, r in enumerate(b.rungs):
                    label = b.label if i == 0 else ""
                    lines.append(f"{label:<14}{i:>5}{r.trials:>8}{r.epochs:>14}{r.new_epochs:>9}")
                lines.append(f"{'':<14}{'':>5}{b.trials:>8}{'bracket total':>14}{b.epochs:>9}")
            lines.append("-" * len(header))
        approx = "" if self.exact else "about "
        trials = "?" if self.total_trials is None else f"{approx}{self.total_trials}"
        epochs = "?" if self.total_epochs is None else f"{approx}{self.total_epochs}"
        total = f"total: {trials} trials, {epochs} epochs"
        if self.brackets:
            n = len(self.brackets)
            total = f"total: {n} bracket{'s' if n != 1 else ''}, {trials} trials, {epochs} epochs"
        if self.budget.max_epochs is not None and self.total_epochs is not None:
            unused = self.budget.max_epochs - self.total_epochs
            if unused > 0:
                total += f" ({unused} of the {self.budget.max_epochs}-epoch budget unused)"
        lines.append(total)
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _budget(budget: Budget) -> str:
    parts = []
    if budget.max_trials is not None:
        parts.append(f"{budget.max_trials} trials")
    if budget.max_epochs is not None:
        parts.append(f"{budget.max_epochs} epochs")
    if budget.max_seconds is not None:
        parts.append(f"{budget.max_seconds:g} seconds")
    return ", ".join(parts) + " (whichever comes first)" if parts else "none"
