"""Keras Tuner's view of a study's trials: ``tuner.oracle.get_best_trials()`` and co.

The trials live in the tunelab study; these classes only present them the way Keras
Tuner scripts read them (``trial.trial_id``, ``trial.hyperparameters.values``,
``trial.score``, ``trial.summary()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    """Keras Tuner's ``tuner.oracle``: the tuner's trials, best first on request."""

    def __init__(
        self,
        study: Study,
        objective: Objective,
        policy: EntryPolicy,
        max_trials: int | None,
    ) -> None:
        self.max_trials = max_trials
        self.attach(study, objective, policy)

    def attach(self, study: Study, objective: Objective, policy: EntryPolicy) -> None:
        """Show the trials of ``study`` (a tuner calls it once its study is open)."""
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
        """The search space, every parameter at its default."""
        return HyperParameters.from_space(self.study.space)

    def remaining_trials(self) -> int | None:
        """Trials left under ``max_trials`` (None without one)."""
        if self.max_trials is None:
            return None
        return max(0, self.max_trials - self.study.budget_used().trials)
