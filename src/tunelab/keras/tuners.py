"""The tuners, with Keras Tuner's constructor arguments, mapped onto tunelab's searchers
and schedulers.

| tuner | tunelab searcher | tunelab scheduler |
|---|---|---|
| RandomSearch | random | fifo (or ``scheduler=``) |
| GridSearch | grid (10 points per continuous float, as Keras Tuner) | fifo (or ``scheduler=``) |
| BayesianOptimization | bayes (GP, log EI) | fifo (or ``scheduler=``) |
| Sobol | sobol | fifo (or ``scheduler=``) |
| Hyperband | random | hyperband(max_epochs, eta=factor) |
| BOHB | tpe (or ``searcher=``) | bohb(max_epochs, eta=factor) |

Every tuner also takes the Keras Tuner arguments common to all of them
(``hyperparameters``, ``tune_new_entries``, ``allow_new_entries``,
``max_retries_per_trial``, ``max_consecutive_failed_trials``, ``directory``,
``project_name``, ``overwrite``, ``executions_per_trial``, ``max_model_size``,
``optimizer``, ``loss``, ``metrics``) and tunelab's ``storage=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.keras.hyperparameters import HyperParameters
from tunelab.keras.oracles import (
    BayesianOptimizationOracle,
    BOHBOracle,
    GridSearchOracle,
    HyperbandOracle,
    RandomSearchOracle,
    SchedulerSpec,
)
from tunelab.keras.sklearn_tuner import SklearnTuner
from tunelab.keras.tuner import Tuner


class _SequentialTuner(Tuner):
    """A tuner whose trials each train ``search(epochs=...)`` epochs, unless a tunelab
    ``scheduler`` (``"median"``, ``"asha"``...) sets budgets and stops trials early."""

    searcher_name: str = "random"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = 10,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        scheduler: SchedulerSpec = None,
        searcher_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        oracle = RandomSearchOracle(
            objective,
            max_trials,
            seed,
            hyperparameters,
            allow_new_entries,
            tune_new_entries,
            max_retries_per_trial,
            max_consecutive_failed_trials,
            scheduler=scheduler,
            searcher_options=searcher_options,
            searcher_name=self.searcher_name,
        )
        Tuner.__init__(self, oracle, hypermodel, **kwargs)


class RandomSearch(_SequentialTuner):
    """Random search (Keras Tuner's ``RandomSearch``): ``max_trials`` configurations drawn
    at random, seeded by ``seed``."""

    searcher_name = "random"


class Sobol(_SequentialTuner):
    """Quasi-random search on a scrambled Sobol sequence (tunelab's own): it covers the
    space more evenly than random search for the same ``max_trials``."""

    searcher_name = "sobol"


class GridSearch(Tuner):
    """Every combination of the parameters' values (Keras Tuner's ``GridSearch``).
    Continuous floats contribute ``points`` evenly spaced values (default 10, ends
    included), ints without a step all their values. ``max_trials=None`` (the default)
    runs the whole grid."""

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        points: int | Mapping[str, int] = 10,
        scheduler: SchedulerSpec = None,
        **kwargs: Any,
    ) -> None:
        oracle = GridSearchOracle(
            objective,
            max_trials,
            seed,
            hyperparameters,
            allow_new_entries,
            tune_new_entries,
            max_retries_per_trial,
            max_consecutive_failed_trials,
            points=points,
            scheduler=scheduler,
        )
        Tuner.__init__(self, oracle, hypermodel, **kwargs)


class BayesianOptimization(Tuner):
    """Gaussian-process Bayesian optimisation (Keras Tuner's ``BayesianOptimization``).

    tunelab's GP uses log expected improvement and fits its own noise level, so
    ``alpha`` and ``beta`` (Keras Tuner's GP noise and UCB exploration) have no
    counterpart: other values than Keras Tuner's defaults are refused.
    ``num_initial_points`` is the size of the initial (Sobol) design.
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = 10,
        num_initial_points: int | None = None,
        alpha: float = 1e-4,
        beta: float = 2.6,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        scheduler: SchedulerSpec = None,
        **kwargs: Any,
    ) -> None:
        oracle = BayesianOptimizationOracle(
            objective,
            max_trials,
            num_initial_points,
            alpha,
            beta,
            seed,
            hyperparameters,
            allow_new_entries,
            tune_new_entries,
            max_retries_per_trial,
            max_consecutive_failed_trials,
            scheduler=scheduler,
        )
        Tuner.__init__(self, oracle, hypermodel, **kwargs)


class Hyperband(Tuner):
    """Hyperband (Keras Tuner's ``Hyperband``) on tunelab's scheduler.

    Brackets ``s = s_max .. 0`` with ``s_max = floor(log_factor(max_epochs))``; bracket
    ``s`` starts ``ceil((s_max + 1) factor^s / (s + 1))`` trials at ``max_epochs /
    factor^s`` epochs and keeps the best ``1/factor`` at every rung. A promoted trial is
    the same trial resumed from its checkpoint (weights, optimizer state, epoch): it
    trains only the epochs between two rungs. The search trains exactly
    ``hyperband_iterations`` iterations of all the brackets (their epochs are the
    budget), or, with ``epoch_budget``, the brackets that fit that many epochs in total;
    ``max_trials`` (not a Keras Tuner argument of Hyperband) caps the trials as well.
    ``search`` prints the plan (``tuner.plan()`` returns it); ``search(epochs=...)`` is
    ignored, as in Keras Tuner: the scheduler gives every trial its epochs.
    """

    oracle_class: type[HyperbandOracle] = HyperbandOracle

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int | None = 1,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        max_trials: int | None = None,
        epoch_budget: int | None = None,
        searcher: str | Mapping[str, Any] = "random",
        scheduler_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        oracle = self.oracle_class(
            objective,
            max_epochs,
            factor,
            hyperband_iterations,
            seed,
            hyperparameters,
            allow_new_entries,
            tune_new_entries,
            max_retries_per_trial,
            max_consecutive_failed_trials,
            max_trials=max_trials,
            epoch_budget=epoch_budget,
            searcher=searcher,
            scheduler_options=scheduler_options,
        )
        self.max_epochs = max_epochs
        self.factor = factor
        self.hyperband_iterations = hyperband_iterations
        Tuner.__init__(self, oracle, hypermodel, **kwargs)

    def plan(self) -> Any:
        """The brackets this search runs (from the start), with trials and epochs per rung."""
        return self.study.plan(max_trials=self.max_trials, max_epochs=self.epoch_budget)

    def _announce(self) -> None:
        print(self.plan())


class BOHB(Hyperband):
    """BOHB (tunelab's own, Falkner et al. 2018): Hyperband's brackets, with new
    configurations proposed by a model (``searcher="tpe"`` by default, or ``"bayes"``)
    fitted on the results at the largest budget that has enough of them; a
    ``random_fraction`` of them drawn at random. Same arguments as :class:`Hyperband`,
    plus ``min_points`` and ``random_fraction``."""

    oracle_class = BOHBOracle

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        searcher: str | Mapping[str, Any] = "tpe",
        min_points: int | None = None,
        random_fraction: float = 1 / 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            hypermodel,
            objective,
            max_epochs,
            factor,
            hyperband_iterations,
            seed,
            hyperparameters,
            tune_new_entries,
            allow_new_entries,
            max_retries_per_trial,
            max_consecutive_failed_trials,
            searcher=searcher,
            scheduler_options={
                "min_points": min_points,
                "random_fraction": random_fraction,
                "seed": seed,
            },
            **kwargs,
        )


__all__ = [
    "BOHB",
    "BayesianOptimization",
    "GridSearch",
    "Hyperband",
    "RandomSearch",
    "SklearnTuner",
    "Sobol",
]
