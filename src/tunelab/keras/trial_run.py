"""A tuner whose ``run_trial`` is overridden (Keras Tuner's "tune anything" pattern).

``search`` then calls ``tuner.run_trial(trial, *search_args, **search_kwargs)`` once
per trial; ``trial.hyperparameters`` defines and reads the parameters, and what
``run_trial`` returns is the result, by Keras Tuner's rules: a number (the objective,
minimised when no objective was given), a dict of metrics holding the objective, a
keras History (its best epoch by the objective), or a list of those (one per
execution, averaged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.errors import ConfigError
from tunelab.keras.hyperparameters import EntryPolicy, HyperParameters
from tunelab.keras.objective import Objective
from tunelab.keras.run import _is_number, numeric_logs
from tunelab.trial import Trial


@dataclass(frozen=True)
class RunningTrial:
    """The trial ``run_trial`` receives: ``hyperparameters``, ``trial_id``, and the
    tunelab trial underneath (``tunelab_trial``: ``report``, ``budget``...)."""

    tunelab_trial: Trial
    hyperparameters: HyperParameters

    @property
    def trial_id(self) -> str:
        return str(self.tunelab_trial.number)

    @property
    def status(self) -> str:
        return "RUNNING"


@dataclass
class RunTrialObjective:
    """The tunelab objective of a search whose trials run ``tuner.run_trial``."""

    tuner: Any
    objective: Objective
    policy: EntryPolicy
    fit_args: tuple[Any, ...]
    fit_kwargs: dict[str, Any]

    def __call__(self, trial: Trial) -> float | dict[str, float]:
        running = RunningTrial(trial, HyperParameters.bound(trial.hp, self.policy))
        result = self.tuner.run_trial(running, *self.fit_args, **self.fit_kwargs)
        return run_trial_result(result, self.objective)


def run_trial_result(result: Any, objective: Objective) -> float | dict[str, float]:
    """The trial's result for tunelab from what ``run_trial`` returned."""
    if isinstance(result, list | tuple):
        if not result:
            raise ConfigError("run_trial() returned an empty list")
        parts = [_as_metrics(r, objective) for r in result]
        keys = set().union(*parts)
        return {
            k: math.fsum(p[k] for p in parts if k in p) / sum(k in p for p in parts) for k in keys
        }
    if _is_number(result):
        return float(result)
    return _as_metrics(result, objective)


def _as_metrics(result: Any, objective: Objective) -> dict[str, float]:
    if _is_number(result):
        return {objective.name: float(result)}
    if isinstance(result, Mapping):
        metrics = numeric_logs(result)
    elif isinstance(getattr(result, "history", None), Mapping):
        metrics = _best_epoch(result.history, objective)
    else:
        raise ConfigError(
            "run_trial() must return a number, a dict of metrics, a keras History or a list "
            f"of them, got {type(result).__name__}"
        )
    if not objective.has_value(metrics):
        raise ConfigError(
            f"run_trial() returned no value for the objective {objective.name!r} "
            f"(metrics: {sorted(metrics)})"
        )
    metrics[objective.name] = objective.get_value(metrics)
    return metrics


def _best_epoch(history: Mapping[str, Any], objective: Objective) -> dict[str, float]:
    """The logs of the History's epoch with the best objective (the last epoch's logs
    when no epoch holds it, so that the caller reports the missing objective)."""
    epochs = max((len(v) for v in history.values()), default=0)
    logs = [
        numeric_logs({k: v[i] for k, v in history.items() if i < len(v)}) for i in range(epochs)
    ]
    best: dict[str, float] | None = None
    for metrics in logs:
        if not objective.has_value(metrics):
            continue
        value = objective.get_value(metrics)
        if best is None or objective.better_than(value, objective.get_value(best)):
            best = metrics
    return best if best is not None else (logs[-1] if logs else {})
