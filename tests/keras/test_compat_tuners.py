"""Keras Tuner patterns beyond the tutorial path (issue 17, points 1, 4 and 8): an
overridden ``run_trial``, a model built lazily by ``build`` and trained by a custom
``fit``, ``kt.Tuner`` with ``kt.oracles``, ``kt.errors`` and ``kt.engine``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import pytest

from tests.keras.conftest import Mnist
from tests.keras.models import build_model, kt
from tunelab.errors import ConfigError
from tunelab.trial import TrialStatus


def statuses(tuner: Any) -> list[TrialStatus]:
    return [t.status for t in tuner.study.trials]


def test_point_1_an_overridden_run_trial_is_what_runs_and_its_result_counts(
    tmp_path: Path, mnist: Mnist
) -> None:
    calls: list[float] = []

    class Quadratic(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            x = trial.hyperparameters.Float("x", -1, 1)
            calls.append(x)
            return x**2

    # No hypermodel: run_trial is the whole trial; a number is minimised.
    tuner = Quadratic(max_trials=5, seed=0, directory=tmp_path, project_name="quadratic")
    tuner.search()
    assert len(calls) == 5 and statuses(tuner) == [TrialStatus.COMPLETED] * 5
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == pytest.approx(min(x**2 for x in calls))
    assert tuner.get_best_hyperparameters()[0].values["x"] ** 2 == pytest.approx(best.score)

    # A dict of metrics holding the objective.
    class Metrics(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            x = trial.hyperparameters.Float("x", -1, 1)
            return {"score": 1 - x**2, "other": 0.0}

    metrics = Metrics(
        objective=kt.Objective("score", "max"),
        max_trials=3,
        directory=tmp_path,
        project_name="metrics",
    )
    metrics.search()
    assert metrics.oracle.get_best_trials(1)[0].score == max(t.value for t in metrics.study.trials)

    # With a hypermodel, the override still runs; it gets search()'s arguments and
    # returns the History of the model it trained (scored at its best epoch).
    histories: list[Any] = []

    class OwnTraining(kt.RandomSearch):
        def run_trial(self, trial: Any, x: Any, y: Any, **kwargs: Any) -> Any:
            model = self.hypermodel.build(trial.hyperparameters)
            history = model.fit(x, y, epochs=2, verbose=0, **kwargs)
            histories.append(history)
            return history

    own = OwnTraining(
        build_model,
        objective="val_accuracy",
        max_trials=2,
        seed=1,
        directory=tmp_path,
        project_name="own",
    )
    own.search(mnist.x_train, mnist.y_train, validation_data=(mnist.x_val, mnist.y_val))
    assert len(histories) == 2
    scores = sorted(t.value for t in own.study.trials)
    assert scores == sorted(max(h.history["val_accuracy"]) for h in histories)

    # An override may tune search()'s own arguments and run the default trial.
    class TunedBatch(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs["batch_size"] = trial.hyperparameters.Choice("batch_size", [16, 32])
            return super().run_trial(trial, *args, **kwargs)

    batch = TunedBatch(
        build_model, objective="val_accuracy", max_trials=1, directory=tmp_path, project_name="b"
    )
    batch.search(mnist.x_train, mnist.y_train, epochs=1, validation_data=(mnist.x_val, mnist.y_val))
    assert statuses(batch) == [TrialStatus.COMPLETED]
    assert "batch_size" in batch.get_best_hyperparameters()[0].values
    assert len(batch.get_best_models(1)) == 1


class LazyModel(kt.HyperModel):
    """``build`` returns a Sequential without an Input (unbuilt); ``fit`` returns a number."""

    def build(self, hp: Any) -> keras.Model:
        return keras.Sequential([keras.layers.Dense(hp.Int("units", 4, 8, step=4))])

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> float:
        return float(hp.get("units"))


def test_point_4_an_unbuilt_model_with_fit_returning_a_number_completes_its_trials(
    tmp_path: Path,
) -> None:
    tuner = kt.RandomSearch(LazyModel(), max_trials=2, seed=0, directory=tmp_path)
    tuner.search()
    assert statuses(tuner) == [TrialStatus.COMPLETED] * 2
    assert tuner.get_best_hyperparameters()[0].values["units"] == min(
        t.value for t in tuner.study.trials
    )
    with pytest.raises(ConfigError, match="unbuilt model"):
        tuner.get_best_models(1)


def test_point_8_tuner_with_each_oracle_runs_the_same_search_as_its_tuner_class(
    tmp_path: Path, mnist: Mnist
) -> None:
    oracle = kt.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=2, seed=3)
    tuner = kt.Tuner(oracle=oracle, hypermodel=build_model, directory=tmp_path, project_name="r")
    tuner.search(
        mnist.x_train,
        mnist.y_train,
        epochs=1,
        validation_data=(mnist.x_val, mnist.y_val),
        verbose=0,
    )
    assert tuner.oracle is oracle and statuses(tuner) == [TrialStatus.COMPLETED] * 2
    assert oracle.get_best_trials(1)[0].score == max(t.value for t in tuner.study.trials)
    assert len(tuner.get_best_models(1)) == 1

    hyperband = kt.Tuner(
        oracle=kt.oracles.HyperbandOracle(objective="val_accuracy", max_epochs=2, factor=2),
        hypermodel=build_model,
        directory=tmp_path,
        project_name="hb",
    )
    hyperband.search(
        mnist.x_train, mnist.y_train, validation_data=(mnist.x_val, mnist.y_val), verbose=0
    )
    assert hyperband.study.budget_used().epochs == hyperband.epoch_budget

    class Quadratic(kt.Tuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            return (trial.hyperparameters.Float("x", -1, 1) - 0.5) ** 2

    for name, searcher_oracle in {
        "grid": kt.oracles.GridSearchOracle(max_trials=4),
        "bayes": kt.oracles.BayesianOptimizationOracle(max_trials=4, num_initial_points=2),
    }.items():
        quadratic = Quadratic(oracle=searcher_oracle, directory=tmp_path, project_name=name)
        quadratic.search()
        assert statuses(quadratic) == [TrialStatus.COMPLETED] * 4
        assert quadratic.study.searcher.name == name

    with pytest.raises(ConfigError, match="oracle= must be one of"):
        kt.Tuner(oracle=None, hypermodel=build_model, directory=tmp_path)
    with pytest.raises(ConfigError, match="already serves"):
        kt.Tuner(oracle=oracle, hypermodel=build_model, directory=tmp_path, project_name="x")


def test_point_8_failed_trial_errors_fail_the_trial_and_fatal_errors_stop_the_search(
    tmp_path: Path,
) -> None:
    class Flaky(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            x = trial.hyperparameters.Float("x", -1, 1)
            if trial.trial_id == "0":
                raise kt.errors.FailedTrialError("bad luck")
            return x**2

    flaky = Flaky(max_trials=3, seed=0, directory=tmp_path, project_name="flaky")
    flaky.search()
    assert statuses(flaky) == [TrialStatus.FAILED, TrialStatus.COMPLETED, TrialStatus.COMPLETED]
    assert "bad luck" in (flaky.study.trials[0].error or "")

    class Broken(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            trial.hyperparameters.Float("x", -1, 1)
            raise kt.errors.FatalValueError("cannot go on")

    broken = Broken(max_trials=3, seed=0, directory=tmp_path, project_name="broken")
    with pytest.raises(kt.errors.FatalValueError, match="cannot go on") as raised:
        broken.search()
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, kt.errors.FatalError)
    # The search stopped at the first trial, recorded as failed with the error.
    assert statuses(broken) == [TrialStatus.FAILED]
    assert "FatalValueError: cannot go on" in (broken.study.trials[0].error or "")


def test_point_8_engine_modules_re_export_the_classes() -> None:
    from tunelab.keras.engine import hypermodel, hyperparameters, oracle, trial, tuner

    assert hyperparameters.HyperParameters is kt.HyperParameters
    assert hypermodel.HyperModel is kt.HyperModel
    assert tuner.Tuner is kt.Tuner
    assert oracle.Oracle is kt.Oracle and oracle.Objective is kt.Objective
    assert trial.Trial is kt.TunerTrial
    assert issubclass(kt.oracles.HyperbandOracle, kt.Oracle)
