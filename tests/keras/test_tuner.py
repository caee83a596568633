"""What every tuner shares: storage under directory/project_name, resume and
overwrite, the arguments it honours and the ones it refuses, ``tunelab show``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import keras
import pytest

from tests.keras.conftest import Mnist
from tests.keras.models import EpochLog, build_model, kt
from tunelab.errors import ConfigError
from tunelab.space import Fixed
from tunelab.trial import TrialStatus


def search(tuner: Any, mnist: Mnist, **extra: Any) -> None:
    tuner.search(
        mnist.x_train,
        mnist.y_train,
        validation_data=(mnist.x_val, mnist.y_val),
        batch_size=32,
        verbose=0,
        **{"epochs": 1, **extra},
    )


def random_search(tmp_path: Path, **options: Any) -> Any:
    settings = {
        "objective": "val_accuracy",
        "max_trials": 2,
        "seed": 4,
        "directory": tmp_path,
        "project_name": "project",
        **options,
    }
    return kt.RandomSearch(build_model, **settings)


def test_resume_with_overwrite_false_continues_and_overwrite_true_starts_over(
    tmp_path: Path, mnist: Mnist
) -> None:
    EpochLog.reset()
    first = random_search(tmp_path)
    search(first, mnist, callbacks=[EpochLog()])
    finished = first.study.trials
    assert len(finished) == 2 and EpochLog.fits == 2

    again = random_search(tmp_path, max_trials=3)
    assert again.remaining_trials == 1
    search(again, mnist, callbacks=[EpochLog()])
    trials = again.study.trials
    assert trials[:2] == finished  # untouched, not rerun
    assert len(trials) == 3 and EpochLog.fits == 3  # one new trial trained
    assert trials[2].params not in [t.params for t in finished]  # the searcher went on
    search(again, mnist, callbacks=[EpochLog()])  # nothing left to do
    assert EpochLog.fits == 3

    old_files = again.study.artifacts.directory
    assert (old_files / "trial-0" / "keras" / "best.weights.h5").is_file()
    fresh = random_search(tmp_path, overwrite=True)
    assert fresh.study.trials == [] and not old_files.exists()
    search(fresh, mnist, callbacks=[EpochLog()])
    assert len(fresh.study.trials) == 2 and EpochLog.fits == 5

    # `tunelab show` reads the project's storage.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tunelab.cli",
            "show",
            "project",
            "--storage",
            str(tmp_path / "project" / "tunelab.db"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "study 'project': val_accuracy (max), random search" in out
    assert f"best trial: #{fresh.oracle.get_best_trials()[0].trial_id}" in out


def test_a_project_is_continued_only_with_the_same_tuner_and_settings(
    tmp_path: Path, mnist: Mnist
) -> None:
    random_search(tmp_path)
    with pytest.raises(ConfigError, match=r"seed: 4 -> 5.*overwrite=True"):
        random_search(tmp_path, seed=5)
    with pytest.raises(ConfigError, match="tuner: 'RandomSearch' -> 'Sobol'"):
        kt.Sobol(build_model, "val_accuracy", seed=4, directory=tmp_path, project_name="project")

    def wider(hp: Any) -> keras.Model:
        hp.Int("units", 16, 128, step=16)
        return build_model(hp)

    with pytest.raises(ConfigError, match="the model now defines Int"):
        kt.RandomSearch(wider, "val_accuracy", seed=4, directory=tmp_path, project_name="project")
    random_search(tmp_path, seed=5, overwrite=True)  # starting over is allowed


def test_hyperband_interrupted_then_resumed_trains_exactly_its_plan(
    tmp_path: Path, mnist: Mnist
) -> None:
    EpochLog.reset()

    class StopTheThirdFit(keras.callbacks.Callback):
        fits = 0

        def on_train_begin(self, logs: Any = None) -> None:
            type(self).fits += 1
            if type(self).fits == 3:
                raise KeyboardInterrupt

    def hyperband() -> Any:
        return kt.Hyperband(
            build_model, "val_accuracy", max_epochs=3, factor=3, seed=6, directory=tmp_path
        )

    with pytest.raises(KeyboardInterrupt):
        search(hyperband(), mnist, callbacks=[EpochLog(), StopTheThirdFit()])
    paused = [t for t in hyperband().study.trials if t.status is TrialStatus.PAUSED]
    assert len(paused) == 2 and len(EpochLog.entries) == 2

    resumed = hyperband()
    search(resumed, mnist, callbacks=[EpochLog()])
    trials = resumed.study.trials
    assert sum(t.steps_trained for t in trials) == 11 == len(EpochLog.entries)
    assert [t.status for t in trials].count(TrialStatus.COMPLETED) == 3
    interrupted = [t for t in trials if t.status is TrialStatus.FAILED]
    assert len(interrupted) == 1 and interrupted[0].steps_trained == 0


def test_hyperparameters_override_fix_or_refuse_the_models_entries(
    tmp_path: Path, mnist: Mnist
) -> None:
    hp = kt.HyperParameters()
    hp.Fixed("learning_rate", 0.01)
    hp.Choice("activation", ["tanh"])
    tuner = random_search(tmp_path, max_trials=1, hyperparameters=hp, tune_new_entries=False)
    space = tuner.study.space
    assert space["learning_rate"] == Fixed("learning_rate", 0.01)
    assert space["units"] == Fixed("units", 16)  # not tuned: its default
    assert space["dropout"] == Fixed("dropout", False)
    search(tuner, mnist)
    (trial,) = tuner.study.trials
    assert trial.params == {
        "units": 16,
        "activation": "tanh",
        "dropout": False,
        "learning_rate": 0.01,
    }
    with pytest.raises(ConfigError, match="'units', which is not in the tuner's hyperparameters"):
        random_search(tmp_path, project_name="strict", hyperparameters=hp, allow_new_entries=False)


def test_compile_overrides_and_max_model_size(tmp_path: Path, mnist: Mnist) -> None:
    def uncompiled(hp: Any) -> keras.Model:
        units = hp.Int("units", 8, 512, step=504)
        return keras.Sequential(
            [keras.Input((784,)), keras.layers.Dense(units, "relu"), keras.layers.Dense(10)]
        )

    tuner = kt.GridSearch(
        uncompiled,
        "val_accuracy",
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        max_model_size=10_000,
        max_consecutive_failed_trials=None,
        directory=tmp_path,
        project_name="compile",
    )
    search(tuner, mnist)
    small, large = tuner.study.trials
    assert small.status is TrialStatus.COMPLETED and "val_accuracy" in small.metrics
    assert large.status is TrialStatus.FAILED and "oversized model" in (large.error or "")
    assert isinstance(tuner.get_best_models()[0].optimizer, keras.optimizers.SGD)


def test_bad_arguments_are_refused_with_the_reason(tmp_path: Path, mnist: Mnist) -> None:
    common: dict[str, Any] = {"directory": tmp_path, "project_name": "bad"}
    with pytest.raises(ConfigError, match=r"unrecognised arguments \['max_trail'\]"):
        kt.RandomSearch(build_model, "val_accuracy", max_trail=3, **common)
    with pytest.raises(ConfigError, match="cannot tell whether to minimise or maximise"):
        kt.RandomSearch(build_model, "learning_rate", **common)
    with pytest.raises(ConfigError, match="alpha and beta"):
        kt.BayesianOptimization(build_model, "val_accuracy", beta=5.0, **common)
    with pytest.raises(ConfigError, match="distribution_strategy"):
        kt.RandomSearch(build_model, "val_accuracy", distribution_strategy=object(), **common)
    with pytest.raises(ConfigError, match="executions_per_trial > 1 works only without"):
        kt.Hyperband(build_model, "val_accuracy", max_epochs=3, executions_per_trial=2, **common)
    with pytest.raises(ConfigError, match="hyperband_iterations=None runs until stopped"):
        kt.Hyperband(build_model, "val_accuracy", max_epochs=3, hyperband_iterations=None, **common)
    with pytest.raises(ConfigError, match="eta must be an integer >= 2"):
        kt.Hyperband(build_model, "val_accuracy", max_epochs=3, factor=1, **common)
    with pytest.raises(ConfigError, match="hypermodel is required"):
        kt.RandomSearch(None, "val_accuracy", **common)
    with pytest.raises(ConfigError, match=r"must return a keras\.Model"):
        kt.RandomSearch(lambda hp: "not a model", "val_accuracy", **common)
    with pytest.warns(UserWarning, match="tuner_id= is accepted for compatibility and ignored"):
        tuner = kt.RandomSearch(build_model, tuner_id="chief", **common)
    with pytest.raises(ConfigError, match="no objective was given"):
        search(tuner, mnist)
    with pytest.raises(ConfigError, match="must be deep-copyable"):
        search(random_search(tmp_path), mnist, callbacks=[_NotCopyable()])


class _NotCopyable(keras.callbacks.Callback):
    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError("holds a lock")
