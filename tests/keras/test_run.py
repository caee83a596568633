"""One trial of a Keras tuner: the epoch feed, custom objectives returned by
``HyperModel.fit``, pruned trials, several executions per trial, results that hold no
objective."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import keras
import pytest

from tests.keras.conftest import Mnist
from tests.keras.models import EpochLog, build_model, kt
from tunelab.errors import ConfigError
from tunelab.keras.objective import Objective
from tunelab.keras.run import BestTracker, EpochFeed, final_result, returned_metrics
from tunelab.trial import TrialStatus


class Recorder:
    def __init__(self) -> None:
        self.reports: list[tuple[int, dict[str, float]]] = []

    def __call__(self, step: int, metrics: dict[str, float], model: Any) -> None:
        self.reports.append((step, metrics))


def test_the_last_epoch_of_a_fit_is_reported_with_what_fit_returned() -> None:
    sink = Recorder()
    feed = EpochFeed(3, sink)
    feed.on_epoch(1, {"loss": 1.0, "note": "text"}, None)
    feed.on_epoch(2, {"loss": 0.5}, None)
    feed.on_epoch(3, {"loss": 0.25}, None)
    assert [s for s, _ in sink.reports] == [1, 2]  # epoch 3 waits for fit's result
    feed.close({"score": -0.9}, None)
    assert sink.reports == [
        (1, {"loss": 1.0}),
        (2, {"loss": 0.5}),
        (3, {"loss": 0.25, "score": -0.9}),
    ]


def test_epochs_past_the_expected_last_one_are_reported_in_order() -> None:
    sink = Recorder()
    feed = EpochFeed(1, sink)
    feed.on_epoch(1, {"loss": 1.0}, None)
    feed.on_epoch(2, {"loss": 0.5}, None)  # a custom fit that trains longer
    feed.close({"score": 2.0}, None)
    assert sink.reports == [(1, {"loss": 1.0}), (2, {"loss": 0.5, "score": 2.0})]


def test_a_fit_that_hides_its_epochs_still_reports_its_result_once() -> None:
    sink = Recorder()
    feed = EpochFeed(4, sink)
    with pytest.warns(UserWarning, match="did not pass the tuner's callbacks"):
        feed.close({"score": 0.3}, None)
    assert sink.reports == [(4, {"score": 0.3})]


class FakeHistory:
    history: ClassVar[dict[str, list[float]]] = {}


def test_results_follow_keras_tuners_rules() -> None:
    objective = Objective("val_accuracy", "max")
    best = BestTracker(objective)
    best.update(1, {"val_accuracy": 0.5, "loss": 1.0}, None)
    best.update(2, {"val_accuracy": 0.7, "loss": 0.8}, None)
    best.update(3, {"val_accuracy": 0.6, "loss": 0.7}, None)
    assert final_result(FakeHistory(), best, objective) == {"val_accuracy": 0.7, "loss": 0.8}
    assert final_result(0.25, best, objective) == 0.25
    assert final_result({"val_accuracy": 0.9, "extra": 1}, best, objective) == {
        "val_accuracy": 0.9,
        "extra": 1.0,
    }
    assert returned_metrics(0.25, objective) == {"val_accuracy": 0.25}
    assert returned_metrics(FakeHistory(), objective) == {}
    with pytest.raises(ConfigError, match="returned None"):
        final_result(None, best, objective)
    with pytest.raises(ConfigError, match="without the objective 'val_accuracy'"):
        final_result({"accuracy": 0.9}, best, objective)
    with pytest.raises(ConfigError, match="must return a keras History"):
        final_result("0.9", best, objective)
    with pytest.raises(ConfigError, match="pass validation_data= or validation_split="):
        final_result(FakeHistory(), BestTracker(objective), objective)


class NegatedAccuracy(kt.HyperModel):
    """A HyperModel whose fit returns its own objective: minus the validation accuracy,
    computed after training (no epoch log holds it)."""

    def __init__(self, as_dict: bool = False) -> None:
        super().__init__()
        self.as_dict = as_dict

    def build(self, hp: Any) -> keras.Model:
        return build_model(hp)

    def fit(
        self, hp: Any, model: keras.Model, x: Any, y: Any, validation_data: Any, **kwargs: Any
    ) -> Any:
        model.fit(x, y, **kwargs)
        _, accuracy = model.evaluate(*validation_data, verbose=0)
        return {"neg_accuracy": -accuracy} if self.as_dict else -accuracy


def test_a_hypermodel_whose_fit_returns_a_negated_score_is_minimised(
    tmp_path: Path, mnist: Mnist
) -> None:
    tuner = kt.RandomSearch(
        NegatedAccuracy(), max_trials=3, seed=3, directory=tmp_path, project_name="neg"
    )
    assert tuner.study.metric == "default_objective" and tuner.study.mode == "min"
    tuner.search(
        mnist.x_train,
        mnist.y_train,
        epochs=2,
        validation_data=(mnist.x_val, mnist.y_val),
        batch_size=32,
        verbose=0,
    )
    trials = tuner.study.trials
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 3
    scores = {t.number: t.value for t in trials}
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == min(scores.values())  # the highest accuracy wins
    # Every trial's value is minus the accuracy of the model saved for it.
    for trial in tuner.oracle.get_best_trials(3):
        _, accuracy = tuner.load_model(trial).evaluate(mnist.x_val, mnist.y_val, verbose=0)
        assert trial.score == pytest.approx(-accuracy, abs=1e-6)
    assert tuner.get_best_hyperparameters()[0].values == trials[int(best.trial_id)].params


def test_hyperband_ranks_a_rung_by_the_value_fit_returned(tmp_path: Path, mnist: Mnist) -> None:
    tuner = kt.Hyperband(
        NegatedAccuracy(as_dict=True),
        objective=kt.Objective("neg_accuracy", "min"),
        max_epochs=3,
        factor=3,
        seed=5,
        directory=tmp_path,
        project_name="hb-neg",
    )
    tuner.search(
        mnist.x_train,
        mnist.y_train,
        validation_data=(mnist.x_val, mnist.y_val),
        batch_size=32,
        verbose=0,
    )
    first_bracket = tuner.study.trials[:3]
    at_one = {t.number: t.reports[0].metrics["neg_accuracy"] for t in first_bracket}
    (promoted,) = [t for t in first_bracket if t.budget == 3]
    assert at_one[promoted.number] == min(at_one.values())
    # Only the end of each fit call knows the objective: epochs 1 and 3, not 2.
    assert ["neg_accuracy" in r.metrics for r in promoted.reports] == [True, False, True]
    assert promoted.value == promoted.reports[-1].metrics["neg_accuracy"]


def test_a_pruned_trial_stops_training(tmp_path: Path, mnist: Mnist) -> None:
    """The median rule stops a trial whose learning rate is too small to learn."""
    EpochLog.reset()

    def two_rates(hp: Any) -> keras.Model:
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, "softmax")])
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-2, 1e-9])),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    tuner = kt.GridSearch(
        two_rates,
        objective="val_accuracy",
        scheduler={"name": "median", "max_epochs": 3, "min_trials": 1},
        directory=tmp_path,
        project_name="pruned",
    )
    tuner.search(
        mnist.x_train,
        mnist.y_train,
        validation_data=(mnist.x_val, mnist.y_val),
        batch_size=32,
        callbacks=[EpochLog()],
        verbose=0,
    )
    learns, stuck = tuner.study.trials
    assert learns.params["learning_rate"] == 1e-2 and learns.status is TrialStatus.COMPLETED
    assert learns.steps_trained == 3
    assert stuck.status is TrialStatus.PRUNED and stuck.steps_trained == 1
    # Training stopped inside model.fit: the second model trained one epoch only.
    assert [epoch for _, epoch, _ in EpochLog.entries] == [0, 1, 2, 0]
    # A pruned trial keeps its best value and its model.
    assert stuck.value == stuck.reports[0].metrics["val_accuracy"]
    assert tuner.oracle.get_best_trials(2)[1].status == "PRUNED"


def test_executions_per_trial_average_their_epochs_and_results(
    tmp_path: Path, mnist: Mnist
) -> None:
    logs: list[dict[str, float]] = []

    class KeepLogs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, epoch_logs: Any = None) -> None:
            logs.append(dict(epoch_logs or {}))

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=1,
        executions_per_trial=2,
        seed=0,
        directory=tmp_path,
        project_name="twice",
    )
    tuner.search(
        mnist.x_train,
        mnist.y_train,
        epochs=1,
        validation_data=(mnist.x_val, mnist.y_val),
        batch_size=32,
        callbacks=[KeepLogs()],
        verbose=0,
    )
    (trial,) = tuner.study.trials
    assert len(logs) == 2  # two models trained from scratch, one epoch each
    mean = (logs[0]["val_accuracy"] + logs[1]["val_accuracy"]) / 2
    assert trial.reports[0].metrics["val_accuracy"] == pytest.approx(mean)
    assert trial.value == pytest.approx(mean)
    # The better of the two models is the one kept.
    _, accuracy = tuner.get_best_models()[0].evaluate(mnist.x_val, mnist.y_val, verbose=0)
    assert accuracy == pytest.approx(max(x["val_accuracy"] for x in logs), abs=1e-6)


def test_an_objective_missing_from_the_logs_fails_the_trial_saying_why(
    tmp_path: Path, mnist: Mnist
) -> None:
    tuner = kt.RandomSearch(
        build_model, "val_accuracy", max_trials=1, directory=tmp_path, project_name="noval"
    )
    tuner.search(mnist.x_train, mnist.y_train, epochs=1, verbose=0)
    (trial,) = tuner.study.trials
    assert trial.status is TrialStatus.FAILED
    assert "'val_accuracy' is in no epoch's logs" in (trial.error or "")
    assert "validation_data" in (trial.error or "")
