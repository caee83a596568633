"""FIFO: every trial runs to its full budget; the default scheduler."""

from __future__ import annotations

from tunelab.budget import Budget
from tunelab.errors import ConfigError
from tunelab.schedulers.base import Action, Scheduler, SchedulerView, Start
from tunelab.schedulers.plan import BracketPlan, Plan, RungPlan


class FIFOScheduler(Scheduler):
    """Start trials one after another, each with ``max_epochs`` steps.

    ``max_epochs=None`` leaves the number of epochs to the objective.
    """

    name = "fifo"

    def __init__(self, *, max_epochs: int | None = None) -> None:
        if max_epochs is not None and max_epochs < 1:
            raise ConfigError(f"fifo: max_epochs must be >= 1, got {max_epochs}")
        self.max_epochs = max_epochs

    def next(self, view: SchedulerView) -> Action:
        return Start(budget=self.max_epochs)

    def plan(self, budget: Budget) -> Plan:
        epochs = self.max_epochs
        if epochs is None or (budget.max_trials is None and budget.max_epochs is None):
            what = (
                "as many epochs as the objective decides" if epochs is None else f"{epochs} epochs"
            )
            return Plan(
                self.name,
                f"every trial trains {what}",
                budget,
                total_trials=budget.max_trials,
                exact=False,
                notes=("trials run one after another until the budget ends",),
            )
        # Full trials that fit, then the epochs of a last trial the budget cuts short.
        if budget.max_epochs is None:
            full, last = budget.max_trials or 0, 0
        else:
            full, last = divmod(budget.max_epochs, epochs)
            if budget.max_trials is not None and budget.max_trials <= full:
                full, last = budget.max_trials, 0
        brackets = [BracketPlan("all", (RungPlan(full, epochs, full * epochs),))]
        if last:
            brackets.append(BracketPlan("cut by budget", (RungPlan(1, last, last),)))
        return Plan(
            self.name,
            f"every trial trains {epochs} epochs",
            budget,
            tuple(brackets),
            total_trials=full + (1 if last else 0),
            total_epochs=full * epochs + last,
        )
