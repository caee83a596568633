"""Keras Tuner's RandomSearch and GridSearch stop when a finite space is used up: each
configuration is tried once, and a branch not taken is one configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

import tunelab.keras as kt

X = np.random.default_rng(0).random((8, 4)).astype("float32")
Y = (X[:, 0] > 0.5).astype("int32")


def compiled(model: keras.Sequential) -> keras.Sequential:
    model.add(keras.layers.Dense(2, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_two_booleans(hp: Any) -> keras.Sequential:
    model = keras.Sequential([keras.Input((4,))])
    model.add(keras.layers.Dense(4 if hp.Boolean("wide") else 2, activation="relu"))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.1))
    return compiled(model)


def build_with_a_branch(hp: Any) -> keras.Sequential:
    model = keras.Sequential([keras.Input((4,))])
    if hp.Boolean("hidden"):
        model.add(keras.layers.Dense(hp.Int("units", 2, 12, step=2), activation="relu"))
    return compiled(model)


def searched(tuner: Any) -> list[tuple[tuple[str, Any], ...]]:
    tuner.search(X, Y, validation_data=(X, Y), epochs=1, batch_size=4, verbose=0)
    trials = tuner.oracle.get_best_trials(100)
    return [tuple(sorted(t.hyperparameters.values.items())) for t in trials]


def test_random_search_over_two_booleans_stops_after_the_four_configurations(tmp_path: Path):
    tuner = kt.RandomSearch(
        build_two_booleans, objective="val_accuracy", max_trials=15, seed=1, directory=tmp_path
    )
    configs = searched(tuner)
    assert len(configs) == 4 == len(set(configs))


def test_grid_search_over_a_conditional_branch_tries_each_configuration_once(tmp_path: Path):
    tuner = kt.GridSearch(
        build_with_a_branch, objective="val_accuracy", max_trials=30, directory=tmp_path
    )
    configs = searched(tuner)
    assert len(configs) == 7 == len(set(configs))  # hidden=False, and 6 unit counts
    assert (("hidden", False),) in configs
