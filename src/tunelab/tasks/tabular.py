"""Tabular benchmarks: tasks that replay recorded learning curves instead of training.

A :class:`TabularTask` has the search space of the task its table was recorded from
(same names, ranges and conditions), answers a configuration from the nearest recorded
one (:meth:`LearningCurveTable.nearest`: exact for recorded configurations) and reports
that configuration's recorded validation metrics for epochs 1..``trial.budget``, each
with ``epoch_seconds``, the time the epoch took when it was recorded. It does not
sleep: on the real clock a trial costs microseconds, and ``executor="simulated"``
advances a simulated clock by ``epoch_seconds`` instead. Any searcher and scheduler runs
on it; pausing, resuming and PBT's cloning continue a curve from the checkpoint's epoch
(with the possibly new configuration's curve).

The recorded test metrics are never reported to the study: only
:meth:`TabularTask.final_evaluation` reads them (trained on the training part, not
retrained on train+validation, unlike the real tasks).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Literal

from tunelab.errors import ConfigError
from tunelab.space import Boolean, Choice, Config, Fixed, Float, Int, Space, Value
from tunelab.tasks.base import Task
from tunelab.tasks.tabular_table import LearningCurveTable, shipped_tables

if TYPE_CHECKING:
    from tunelab.hyperparameters import HyperParameters
    from tunelab.trial import Trial

__all__ = [
    "DigitsMLPTable",
    "LearningCurveTable",
    "MnistMLPTable",
    "TabularTask",
    "define_space",
    "shipped_tables",
]

TEST_PREFIX = "test_"
"""Metrics whose names start with this are test metrics: recorded, never reported."""


def define_space(hp: HyperParameters, space: Space) -> Config:
    """Define every parameter of ``space`` on ``hp``, in order and under its conditions,
    and return the active configuration (what a define-by-run objective would)."""
    for param in space:
        with ExitStack() as scopes:
            for condition in param.conditions:
                scopes.enter_context(hp.conditional_scope(condition.parent, condition.values))
            if isinstance(param, Boolean):
                hp.Boolean(param.name, default=param.default)
            elif isinstance(param, Choice):
                hp.Choice(param.name, param.values, param.ordered, param.default_value)
            elif isinstance(param, Fixed):
                hp.Fixed(param.name, param.value)
            elif isinstance(param, Int):
                hp.Int(
                    param.name,
                    int(param.min_value),
                    int(param.max_value),
                    None if param.step is None else int(param.step),
                    param.sampling,
                    param.default_value,  # type: ignore[arg-type]
                )
            elif isinstance(param, Float):
                hp.Float(
                    param.name,
                    param.min_value,
                    param.max_value,
                    param.step,
                    param.sampling,
                    param.default_value,  # type: ignore[arg-type]
                )
            else:  # pragma: no cover - every Param kind is handled above
                raise ConfigError(f"cannot define parameter {param.describe()} on hp")
    return hp.values


def _complete(space: Space, config: Config) -> bool:
    """Whether ``config`` holds every parameter active in it: what a trial of a study
    given the table's space up front starts with (its declared parameters, checked
    against the space when the trial was made), so nothing is left to define."""
    return bool(config) and all(p.name in config for p in space if space.is_active(p.name, config))


class TabularTask(Task):
    """A task that replays a :class:`LearningCurveTable` (see the module doc).

    ``table``: a shipped table's name (``digits_mlp``, ``mnist_mlp``, ``mnist_gan``) or the
    path of a table file. The objective returns, like the MLP tasks, the best value of the table's
    metric over the epochs reported, the other validation metrics of that epoch,
    ``best_epoch`` and ``epochs_trained``; plus ``table_index``, the configuration used.
    """

    name = "tabular"
    default_table: str | None = None

    def __init__(self, table: str | None = None) -> None:
        chosen = table if table is not None else self.default_table
        if chosen is None:
            raise ConfigError(f"task {self.name!r} needs a table: a shipped table's name or a path")
        self.table_name = str(chosen)
        self._table: LearningCurveTable | None = LearningCurveTable.load(self.table_name)
        self.metric = self._table.metric
        self.mode: Literal["min", "max"] = self._table.mode

    @property
    def table(self) -> LearningCurveTable:
        """The recorded table (loaded again after unpickling in a worker process)."""
        if self._table is None:
            self._table = LearningCurveTable.load(self.table_name)
        return self._table

    def space(self) -> Space:
        return self.table.space.copy()

    def options(self) -> dict[str, Any]:
        return {"table": self.table_name}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_table"] = None
        return state

    def objective(self, trial: Trial) -> dict[str, float]:
        table = self.table
        config = trial.params
        if not _complete(table.space, config):
            config = define_space(trial.hp, table.space)
        index = table.nearest(config)
        epochs = table.max_epochs if trial.budget is None else int(trial.budget)
        if not 1 <= epochs <= table.max_epochs:
            raise ConfigError(
                f"{self.name}: trial budget {epochs} is outside the table's recorded epochs "
                f"1..{table.max_epochs}"
            )
        state = trial.load_checkpoint()
        start = 0
        best: dict[str, float] = {}
        if state is not None:
            start = int(state["epoch"])
            best = dict(state.get("best") or {})
        sign = 1.0 if table.mode == "max" else -1.0
        for epoch in range(start + 1, epochs + 1):
            recorded = table.metrics(index, epoch)
            metrics = {k: v for k, v in recorded.items() if not k.startswith(TEST_PREFIX)}
            value = metrics[table.metric]
            if not best or sign * value > sign * best[table.metric]:
                best = {**metrics, "best_epoch": float(epoch)}
            metrics["epoch_seconds"] = table.seconds(index, epoch)
            snapshot = {"epoch": epoch, "index": index, "best": dict(best)}
            trial.report(epoch, metrics, checkpoint=snapshot, last=epoch == epochs)
        if not best:  # resumed at or past the budget: nothing left to report
            recorded = table.metrics(index, min(start, table.max_epochs))
            best = {k: v for k, v in recorded.items() if not k.startswith(TEST_PREFIX)}
        return {
            **best,
            "epochs_trained": float(max(epochs, start)),
            "table_index": float(index),
        }

    def final_evaluation(self, params: Mapping[str, Value], epochs: int) -> dict[str, float]:
        """The recorded test metrics of ``params``' nearest configuration after
        ``min(epochs, max_epochs)`` epochs (trained on the training part only)."""
        if epochs < 1:
            raise ValueError(f"{self.name}: final_evaluation needs epochs >= 1, got {epochs}")
        table = self.table
        recorded = table.metrics(table.nearest(params), min(epochs, table.max_epochs))
        return {k: v for k, v in recorded.items() if k.startswith(TEST_PREFIX)}


class DigitsMLPTable(TabularTask):
    """``digits_mlp`` replayed from its shipped table (1000 Sobol configurations x 27
    epochs of the 8x8 digits MLP)."""

    name = "digits_mlp_table"
    default_table = "digits_mlp"


class MnistMLPTable(TabularTask):
    """``mnist_mlp`` replayed from its shipped table (Sobol configurations x 27 epochs on
    5,000 training and 10,000 validation images)."""

    name = "mnist_mlp_table"
    default_table = "mnist_mlp"


class MnistGANTable(TabularTask):
    """``mnist_gan`` replayed from its shipped table (Sobol configurations of the GAN
    schedulers comparison's space x 8 epochs of 1000 steps; Inception Score, FID and the
    discriminator's accuracy per epoch, test FID for the final evaluation)."""

    name = "mnist_gan_table"
    default_table = "mnist_gan"
