"""Keras Tuner's oracles (``keras_tuner.oracles``): what a tuner searches with.

``kt.Tuner(oracle=kt.oracles.RandomSearchOracle(objective=..., max_trials=...),
hypermodel=build_model)`` is the same search as ``kt.RandomSearch(build_model, ...)``:
each oracle names a tunelab searcher (and scheduler) with Keras Tuner's arguments. Once
a tuner holds it, the oracle is also ``tuner.oracle``, the view of the study's trials
(``get_best_trials``, ``trials``, ``get_space``). An oracle serves one tuner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.errors import ConfigError
from tunelab.keras.oracle import Oracle
from tunelab.schedulers import make_scheduler
from tunelab.searchers.base import History, Proposal, Searcher
from tunelab.space import Config, Param, Space, Value
from tunelab.trial import TrialRecord

SchedulerSpec = str | Mapping[str, Any] | None


def scheduler_spec(scheduler: SchedulerSpec) -> dict[str, Any] | None:
    """A scheduler given by name or mapping, checked now (None: fifo)."""
    if scheduler is None:
        return None
    spec = make_scheduler(scheduler).spec()  # raises ConfigError on bad names or options
    return {"name": spec["name"], **spec["options"]}


class SearchOracle(Oracle):
    """A tunelab searcher and scheduler with Keras Tuner's common oracle arguments."""

    def __init__(
        self,
        objective: Any = None,
        *,
        searcher: Mapping[str, Any],
        scheduler: Mapping[str, Any] | None = None,
        max_trials: int | None = None,
        epoch_budget: int | None = None,
        seed: int | None = None,
        hyperparameters: Any = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
    ) -> None:
        super().__init__(
            objective,
            max_trials,
            hyperparameters,
            allow_new_entries,
            tune_new_entries,
            seed,
            max_retries_per_trial,
            max_consecutive_failed_trials,
        )
        self.searcher = dict(searcher)
        self.scheduler = dict(scheduler) if scheduler is not None else None
        self.epoch_budget = epoch_budget


class PopulateSpaceSearcher(Searcher):
    """The tunelab searcher behind a custom oracle: each proposal is what the oracle's
    ``populate_space`` returns, and each verdict goes to its ``update_trial``."""

    name = "keras-oracle"

    def __init__(self, oracle: Oracle) -> None:
        super().__init__(seed=oracle.seed)
        self.oracle = oracle

    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        proposals: list[Proposal] = []
        # The study numbers a trial once it is created; the next numbers are these.
        first = 1 + max((t.number for t in [*history.finished, *history.pending]), default=-1)
        for i in range(n):
            trial_id = str(first + i)
            answer = self.oracle.populate_space(trial_id)
            status = answer.get("status") if isinstance(answer, Mapping) else None
            if status == "STOPPED":
                break
            if status != "RUNNING":
                raise ConfigError(
                    f"{type(self.oracle).__name__}.populate_space must return "
                    '{"status": "RUNNING", "values": {...}} or {"status": "STOPPED"}, '
                    f"got {answer!r}"
                )
            values = dict(answer.get("values") or {})
            # Values of parameters the space does not hold yet are handed out by
            # suggest_param when the trial defines them (so that the space learns them).
            later = {k: v for k, v in values.items() if k not in history.space}
            known = {k: v for k, v in values.items() if k in history.space}
            meta = {"keras_trial_id": trial_id, "keras_values": later}
            proposals.append(Proposal(_with_defaults(history.space, known), meta))
        return proposals

    def suggest_param(
        self, param: Param, config: Config, trial: TrialRecord, history: History
    ) -> Value:
        """The value ``populate_space`` gave for a parameter new to the space; one it
        did not give takes its default (as in Keras Tuner)."""
        value = trial.meta.get("keras_values", {}).get(param.name, param.default)
        if not param.contains(value):
            raise ConfigError(
                f"{type(self.oracle).__name__}.populate_space: {param.name}={value!r} is not "
                f"a value of {param.describe()}"
            )
        return value

    def observe(self, trial: TrialRecord, history: History) -> None:
        trial_id = str(trial.meta.get("keras_trial_id", trial.number))
        self.oracle.update_trial(trial_id, dict(trial.metrics), step=trial.steps_trained)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"oracle": type(self.oracle).__qualname__}


def _with_defaults(space: Space, values: Config) -> Config:
    """``values`` with every active parameter it leaves out at its default."""
    config = dict(values)
    for param in space:
        if param.name not in config and space.is_active(param.name, config):
            config[param.name] = param.default
    return config


class RandomSearchOracle(SearchOracle):
    """Random search; ``scheduler=`` (tunelab's, e.g. ``"asha"``) may stop trials early."""

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 10,
        seed: int | None = None,
        hyperparameters: Any = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        scheduler: SchedulerSpec = None,
        searcher_options: Mapping[str, Any] | None = None,
        searcher_name: str = "random",
    ) -> None:
        super().__init__(
            objective,
            searcher={"name": searcher_name, **(searcher_options or {})},
            scheduler=scheduler_spec(scheduler),
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )


class GridSearchOracle(RandomSearchOracle):
    """Every combination of the parameters' values; continuous floats contribute
    ``points`` evenly spaced values (default 10). ``max_trials=None`` runs the grid."""

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters: Any = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        points: int | Mapping[str, int] = 10,
        scheduler: SchedulerSpec = None,
    ) -> None:
        super().__init__(
            objective,
            max_trials,
            seed,
            hyperparameters,
            allow_new_entries,
            tune_new_entries,
            max_retries_per_trial,
            max_consecutive_failed_trials,
            scheduler=scheduler,
            searcher_options={"points": dict(points) if isinstance(points, Mapping) else points},
            searcher_name="grid",
        )


class BayesianOptimizationOracle(RandomSearchOracle):
    """Gaussian-process Bayesian optimisation (tunelab's ``bayes``: log expected
    improvement, fitted noise); ``alpha`` and ``beta`` other than Keras Tuner's
    defaults are refused, having no counterpart."""

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 10,
        num_initial_points: int | None = None,
        alpha: float = 1e-4,
        beta: float = 2.6,
        seed: int | None = None,
        hyperparameters: Any = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        scheduler: SchedulerSpec = None,
    ) -> None:
        if alpha != 1e-4 or beta != 2.6:
            raise ConfigError(
                "BayesianOptimization: tunelab's GP fits its noise level and uses expected "
                "improvement, so alpha and beta (Keras Tuner's noise and UCB factor) cannot "
                f"be honoured; leave them at their defaults (got alpha={alpha}, beta={beta})"
            )
        super().__init__(
            objective,
            max_trials,
            seed,
            hyperparameters,
            allow_new_entries,
            tune_new_entries,
            max_retries_per_trial,
            max_consecutive_failed_trials,
            scheduler=scheduler,
            searcher_options={"n_initial": num_initial_points} if num_initial_points else None,
            searcher_name="bayes",
        )


class HyperbandOracle(SearchOracle):
    """Hyperband on tunelab's scheduler (see :class:`tunelab.keras.Hyperband`):
    ``hyperband_iterations`` iterations of all brackets, or ``epoch_budget`` epochs."""

    scheduler_name = "hyperband"

    def __init__(
        self,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int | None = 1,
        seed: int | None = None,
        hyperparameters: Any = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        *,
        max_trials: int | None = None,
        epoch_budget: int | None = None,
        searcher: str | Mapping[str, Any] = "random",
        scheduler_options: Mapping[str, Any] | None = None,
    ) -> None:
        scheduler = make_scheduler(
            {
                "name": self.scheduler_name,
                "max_epochs": max_epochs,
                "eta": factor,
                **(scheduler_options or {}),
            }
        )
        spec = scheduler.spec()
        if epoch_budget is None and hyperband_iterations is not None:
            if (
                isinstance(hyperband_iterations, bool)
                or not isinstance(hyperband_iterations, int)
                or hyperband_iterations < 1
            ):
                raise ConfigError(
                    f"hyperband_iterations must be an integer >= 1, got {hyperband_iterations!r}"
                )
            iteration = scheduler.plan(_no_budget()).total_epochs or 0
            epoch_budget = hyperband_iterations * iteration
        if epoch_budget is None and max_trials is None:
            raise ConfigError(
                f"{type(self).__name__}: hyperband_iterations=None runs until stopped; tunelab "
                "needs a bound: give epoch_budget= (total epochs) or max_trials="
            )
        self.max_epochs = max_epochs
        self.factor = factor
        self.hyperband_iterations = hyperband_iterations
        super().__init__(
            objective,
            searcher={"name": searcher} if isinstance(searcher, str) else dict(searcher),
            scheduler={"name": spec["name"], **spec["options"]},
            max_trials=max_trials,
            epoch_budget=epoch_budget,
            seed=seed,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )


class BOHBOracle(HyperbandOracle):
    """BOHB (tunelab's own): Hyperband's brackets with model-proposed configurations."""

    scheduler_name = "bohb"


def _no_budget() -> Any:
    from tunelab.budget import Budget

    return Budget()


__all__ = [
    "BOHBOracle",
    "BayesianOptimizationOracle",
    "GridSearchOracle",
    "HyperbandOracle",
    "PopulateSpaceSearcher",
    "RandomSearchOracle",
    "SearchOracle",
]
