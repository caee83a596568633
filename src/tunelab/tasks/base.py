"""The Task contract: a search space, an objective, the metric it is judged by, and a
leak-free final evaluation on held-back test data.

Built-in tasks, the CLI, the comparison harness and the examples all use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tunelab.space import Space, Value
    from tunelab.trial import Trial


class Task(ABC):
    """A tunable training problem.

    Contract:
    - ``objective(trial)`` defines its parameters through ``trial.hp`` (define-by-run),
      trains for at most ``trial.budget`` epochs when the budget is set (its own
      default otherwise), calls ``trial.report(epoch, ...)`` once per epoch with
      ``metric`` among the values, and returns its final metrics.
    - The objective reads training and validation data only. The test part is read by
      ``final_evaluation`` alone, after tuning, which retrains the given configuration
      on train+validation for ``epochs`` epochs and scores it once on test. Built-in
      tasks keep the test part in a :class:`~tunelab.tasks.sealed.SealedTestSet`, which
      refuses to open while an objective runs (``__call__`` runs it inside
      :func:`~tunelab.tasks.sealed.tuning_phase`).
    """

    name: str
    metric: str = "val_accuracy"
    mode: Literal["min", "max"] = "max"

    def space(self) -> Space | None:
        """A declared space, or None when the objective defines its parameters itself."""
        return None

    @abstractmethod
    def objective(self, trial: Trial) -> Mapping[str, float] | float | None:
        """Train one configuration, reporting every epoch."""

    @abstractmethod
    def final_evaluation(self, params: Mapping[str, Value], epochs: int) -> dict[str, float]:
        """Retrain ``params`` on train+validation for ``epochs`` epochs; score on test once."""

    def options(self) -> dict[str, Any]:
        """The constructor options, to record with a study."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({args})"

    def __call__(self, trial: Trial) -> Mapping[str, float] | float | None:
        from tunelab.tasks.sealed import tuning_phase

        with tuning_phase(f"task {self.name!r}, trial {trial.number}"):
            return self.objective(trial)
