"""Keras Tuner's ``Oracle`` (the base of custom oracles) and its view of a study's
trials: ``tuner.oracle.get_best_trials()`` and co.

The trials live in the tunelab study; these classes only present them the way Keras
Tuner scripts read them (``trial.trial_id``, ``trial.hyperparameters.values``,
``trial.score``, ``trial.summary()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab.keras.hyperparameters import EntryPolicy, HyperParameters
from tunelab.keras.objective import Objective
from tunelab.trial import TrialRecord, TrialStatus

if TYPE_CHECKING:
    from tunelab.study import Study


@dataclass(frozen=True)
class TunerTrial:
    """One trial as Keras Tuner shows it; ``record`` is tunelab's stored trial."""

    record: TrialRecord
    hyperparameters: HyperParameters
    objective: Objective

    @property
    def trial_id(self) -> str:
        return str(self.record.number)

    @property
    def score(self) -> float | None:
        return self.record.value

    @property
    def status(self) -> str:
        """ "COMPLETED", "PRUNED" (stopped early by the scheduler), "FAILED", ..."""
        return self.record.status.value.upper()

    @property
    def metrics(self) -> dict[str, float]:
        """The metrics of the trial's result (its best epoch's logs, for a History)."""
        return dict(self.record.metrics)

    @property
    def best_step(self) -> int | None:
        """The epoch (counted from 1) at which the objective was best, if it was logged."""
        best: tuple[float, int] | None = None
        for r in self.record.reports:
            if self.objective.name not in r.metrics:
                continue
            value = r.metrics[self.objective.name]
            if best is None or self.objective.better_than(value, best[0]):
                best = (value, r.step)
        return None if best is None else best[1]

    @property
    def epochs(self) -> int:
        """Epochs this trial trained (reports received)."""
        return self.record.steps_trained

    @property
    def message(self) -> str | None:
        return self.record.error

    def summary(self) -> None:
        """Print the trial as Keras Tuner's ``Trial.summary()`` does."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        values = self.hyperparameters.values
        if values:
            for name, value in values.items():
                print(f"{name}:", value)
        else:
            print("default configuration")
        if self.record.status is not TrialStatus.COMPLETED:
            print(f"Status: {self.record.status.value} after {self.epochs} epochs")
        if self.score is not None:
            print(f"Score: {self.score}")
        if self.message is not None:
            print(self.message)


class Oracle:
    """Keras Tuner's ``Oracle``: what a tuner searches with, and once a tuner holds it,
    ``tuner.oracle``, the view of its trials (best first on request).

    The oracles of :mod:`tunelab.keras.oracles` each name a tunelab searcher. A
    subclass that overrides ``populate_space(trial_id)`` chooses the configurations
    itself, as Keras Tuner documents: it returns ``{"status": "RUNNING", "values":
    {name: value}}`` (parameters it leaves out take their defaults) or ``{"status":
    "STOPPED"}`` to end the search. ``update_trial(trial_id, metrics, step)`` is called
    once per trial with the trial's final metrics (Keras Tuner calls it as the trial
    reports; tunelab's schedulers do that job). ``self.get_space()``, ``self.trials``
    and ``self.get_best_trials()`` read the study while it runs. The study records
    the ``random`` searcher as a placeholder and the oracle's class name in its tuner
    settings; a resumed tuner needs the same oracle class again.
    """

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = None,
        hyperparameters: Any = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        seed: int | None = None,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
    ) -> None:
        self.objective_spec = objective
        self.searcher: dict[str, Any] = {"name": "random"}
        self.scheduler: dict[str, Any] | None = None
        self.max_trials = max_trials
        self.epoch_budget: int | None = None
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.allow_new_entries = allow_new_entries
        self.tune_new_entries = tune_new_entries
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.bound_to_study = False

    @property
    def populates_space(self) -> bool:
        """Whether this oracle's class chooses configurations (overrides populate_space)."""
        return type(self).populate_space is not Oracle.populate_space

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """The next configuration: override it (see the class docstring)."""
        raise NotImplementedError(
            f"{type(self).__name__}.populate_space: a custom oracle must override it"
        )

    def update_trial(self, trial_id: str, metrics: Mapping[str, float], step: int = 0) -> str:
        """Called once per trial with its final metrics; returns the trial's status."""
        return "RUNNING"

    def settings(self) -> dict[str, Any]:
        """What the study records about this search (a continued project must match)."""
        settings: dict[str, Any] = {"searcher": self.searcher, "scheduler": self.scheduler}
        if self.populates_space:
            settings["oracle"] = type(self).__qualname__
        return settings

    def attach(self, study: Study, objective: Objective, policy: EntryPolicy) -> None:
        """Show the trials of ``study`` (a tuner calls it once its study is open; the tuner
        also makes a custom oracle the study's searcher)."""
        self.study = study
        self.objective = objective
        self.policy = policy

    def _view(self, record: TrialRecord) -> TunerTrial:
        hp = HyperParameters.with_values(self.study.space, record.params, self.policy)
        return TunerTrial(record, hp, self.objective)

    @property
    def trials(self) -> dict[str, TunerTrial]:
        """Every trial by id (its number as text), in the order they were created."""
        return {str(t.number): self._view(t) for t in self.study.trials}

    def get_trial(self, trial_id: str | int) -> TunerTrial:
        number = int(trial_id)
        for t in self.study.trials:
            if t.number == number:
                return self._view(t)
        raise KeyError(f"no trial {trial_id!r} in study {self.study.name!r}")

    def get_best_trials(self, num_trials: int = 1) -> list[TunerTrial]:
        """The best ``num_trials`` trials: completed ones by score, then (when there are
        too few) the ones a scheduler stopped early, by the score they reached."""
        records = self.study.trials
        ranked: list[TrialRecord] = []
        for status in (TrialStatus.COMPLETED, TrialStatus.PRUNED):
            group = [t for t in records if t.status is status and t.value is not None]
            sign = -1.0 if self.objective.direction == "max" else 1.0
            group.sort(key=lambda t: (sign * float(t.value or 0.0), t.number))
            ranked.extend(group)
        return [self._view(t) for t in ranked[: max(0, int(num_trials))]]

    def get_space(self) -> HyperParameters:
        """The search space, every parameter at its default (in ``values`` too, as Keras
        Tuner gives them)."""
        hp = HyperParameters.from_space(self.study.space)
        for param in self.study.space:
            hp.get(param.name)  # reading a parameter puts its default in ``values``
        return hp

    def remaining_trials(self) -> int | None:
        """Trials left under ``max_trials`` (None without one)."""
        if self.max_trials is None:
            return None
        return max(0, self.max_trials - self.study.budget_used().trials)
