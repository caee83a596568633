"""A custom oracle as Keras Tuner documents it: ``class MyOracle(kt.Oracle)`` choosing
configurations in ``populate_space`` and hearing results in ``update_trial``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.keras.conftest import Mnist
from tests.keras.models import build_model, kt
from tunelab.errors import ConfigError
from tunelab.trial import TrialStatus


class ListOracle(kt.Oracle):
    """Hands out the configurations of a list in order, then stops the search."""

    def __init__(self, configs: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.configs = configs
        self.asked: list[str] = []
        self.updates: list[tuple[str, dict[str, float]]] = []

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        self.asked.append(trial_id)
        if len(self.asked) > len(self.configs):
            return {"status": "STOPPED"}
        return {"status": "RUNNING", "values": self.configs[len(self.asked) - 1]}

    def update_trial(self, trial_id: str, metrics: Any, step: int = 0) -> str:
        self.updates.append((trial_id, dict(metrics)))
        return super().update_trial(trial_id, metrics, step)


def test_a_custom_oracle_chooses_each_keras_trial_and_stopped_ends_the_search(
    tmp_path: Path, mnist: Mnist
) -> None:
    configs = [
        {"units": 16, "activation": "tanh", "learning_rate": 0.01},
        {"units": 48, "activation": "relu", "dropout": True, "rate": 0.3},
    ]
    oracle = ListOracle(configs, objective="val_accuracy", max_trials=10)
    tuner = kt.Tuner(oracle=oracle, hypermodel=build_model, directory=tmp_path, project_name="p")
    tuner.search(
        mnist.x_train,
        mnist.y_train,
        epochs=1,
        validation_data=(mnist.x_val, mnist.y_val),
        verbose=0,
    )
    trials = tuner.study.trials
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 2  # STOPPED, not 10
    used = [tuner.oracle.get_trial(t.number).hyperparameters.values for t in trials]
    for given, values in zip(configs, used, strict=True):
        assert {k: values[k] for k in given} == given
    assert used[0]["dropout"] is False  # left out: the default
    assert [trial_id for trial_id, _ in oracle.updates] == [str(t.number) for t in trials]
    assert oracle.asked[:2] == [str(t.number) for t in trials]
    assert oracle.updates[1][1]["val_accuracy"] == trials[1].value
    assert len(tuner.get_best_models(1)) == 1


def test_a_custom_oracle_drives_a_run_trial_tuner_and_sees_the_study(tmp_path: Path) -> None:
    class Halving(kt.Oracle):
        """Tries x = 1, 1/2, 1/4... reading the best score so far from the study."""

        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if len(self.trials) >= 4:
                return {"status": "STOPPED"}
            return {"status": "RUNNING", "values": {"x": 0.5 ** len(self.trials)}}

    class Quadratic(kt.Tuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            x = trial.hyperparameters.Float("x", 0.0, 1.0)
            return float(x**2)

    tuner = Quadratic(oracle=Halving(max_trials=10), directory=tmp_path, project_name="q")
    tuner.search()
    assert [t.params["x"] for t in tuner.study.trials] == [1.0, 0.5, 0.25, 0.125]
    assert tuner.get_best_hyperparameters(1)[0].values == {"x": 0.125}


def test_an_oracle_without_populate_space_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="populate_space"):
        kt.Tuner(oracle=kt.Oracle(objective="val_accuracy"), hypermodel=build_model)


def test_populate_space_must_answer_running_or_stopped(tmp_path: Path) -> None:
    class Idle(kt.Oracle):
        def populate_space(self, trial_id: str) -> dict[str, Any]:
            return {"status": "IDLE"}

    class Constant(kt.Tuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            return 1.0

    tuner = Constant(oracle=Idle(max_trials=2), directory=tmp_path, project_name="i")
    with pytest.raises(ConfigError, match="RUNNING"):
        tuner.search()
