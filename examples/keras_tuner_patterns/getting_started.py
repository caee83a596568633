"""Keras Tuner's getting-started pattern, with ``import tunelab.keras as kt``.

    python examples/keras_tuner_patterns/getting_started.py            # all three tuners
    python examples/keras_tuner_patterns/getting_started.py --tuner bayes
    python examples/keras_tuner_patterns/getting_started.py --small    # a quick check

A ``build_model(hp)`` function defines the space with ``hp.Int``, ``hp.Choice``,
``hp.Float`` and ``hp.Boolean``, and a conditional layer (the dropout rate exists only
when dropout is on). ``RandomSearch``, ``BayesianOptimization`` and ``Hyperband`` each
search it on MNIST; then ``get_best_models`` and ``results_summary``. ``--small`` (or
``TUNELAB_EXAMPLE_SMALL=1``) uses 300 images, 2 trials and 1-2 epochs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

import tunelab.keras as kt  # was: import keras_tuner as kt
from tunelab.tasks.datasets import load_image_splits


def build_model(hp: kt.HyperParameters) -> keras.Model:
    model = keras.Sequential([keras.Input((784,))])
    for i in range(hp.Int("num_layers", 1, 2)):
        model.add(
            keras.layers.Dense(
                hp.Int(f"units_{i}", min_value=32, max_value=128, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(hp.Float("dropout_rate", 0.1, 0.4, step=0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def make_tuner(name: str, small: bool, directory: str) -> kt.Tuner:
    common: dict[str, Any] = {
        "objective": "val_accuracy",
        "seed": 0,
        "directory": directory,
        "project_name": f"getting-started-{name}",
        "overwrite": True,
    }
    trials = 2 if small else 10
    if name == "random":
        return kt.RandomSearch(build_model, max_trials=trials, **common)
    if name == "bayes":
        return kt.BayesianOptimization(build_model, max_trials=trials, **common)
    return kt.Hyperband(build_model, max_epochs=2 if small else 9, factor=3, **common)


def load_mnist(train_size: int) -> tuple[np.ndarray, ...]:
    """Flattened MNIST images in [0, 1]: training and validation images and labels."""
    splits = load_image_splits("mnist", train_size=train_size, seed=0)
    flat = [x.reshape(len(x), -1).astype("float32") / 255.0 for x in (splits.x_train, splits.x_val)]
    return flat[0], splits.y_train, flat[1], splits.y_val


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tuner", choices=["random", "bayes", "hyperband", "all"], default="all")
    parser.add_argument("--small", action="store_true", help="a quick run (few images, trials)")
    parser.add_argument("--directory", default=None, help="where the studies go (default: temp)")
    args = parser.parse_args()
    small = args.small or os.environ.get("TUNELAB_EXAMPLE_SMALL") == "1"

    x_train, y_train, x_val, y_val = load_mnist(300 if small else 5000)
    names = ["random", "bayes", "hyperband"] if args.tuner == "all" else [args.tuner]
    with tempfile.TemporaryDirectory(prefix="tunelab-getting-started-") as scratch:
        for name in names:
            search_one(name, small, args.directory or scratch, (x_train, y_train, x_val, y_val))


def search_one(name: str, small: bool, directory: str, data: tuple[np.ndarray, ...]) -> None:
    """Search with one tuner, then evaluate its best model and summarise its trials."""
    x_train, y_train, x_val, y_val = data
    tuner = make_tuner(name, small, directory)
    tuner.search_space_summary()
    tuner.search(
        x_train,
        y_train,
        epochs=1 if small else 5,
        validation_data=(x_val, y_val),
        batch_size=32,
        verbose=0,
    )
    best_model = tuner.get_best_models(num_models=1)[0]
    _, accuracy = best_model.evaluate(x_val, y_val, verbose=0)
    print(f"{name}: best hyperparameters {tuner.get_best_hyperparameters(1)[0].values}")
    print(f"best val_accuracy ({name}): {accuracy:.4f}")
    tuner.results_summary(num_trials=2)


if __name__ == "__main__":
    main()
