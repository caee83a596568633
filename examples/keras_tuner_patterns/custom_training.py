"""Keras Tuner's custom-training patterns, with ``import tunelab.keras as kt``.

    python examples/keras_tuner_patterns/custom_training.py
    python examples/keras_tuner_patterns/custom_training.py --small    # a quick check

1. ``HyperModel.fit`` overridden with a hand-written training loop: the batch size and
   whether to shuffle are tuned there, next to the model's own hyperparameters in
   ``build``; the loop reports each epoch's validation loss to the tuner's callbacks and
   returns the best one, which the tuner minimises.
2. A ``Tuner`` subclass overriding ``run_trial``: it tunes the batch size and hands the
   trial on to ``super().run_trial`` (the usual build-and-fit) with it.

``--small`` (or ``TUNELAB_EXAMPLE_SMALL=1``) uses 300 MNIST images, 2 trials, 1 epoch.
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


def small_mlp(hp: kt.HyperParameters) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(hp.Int("units", 32, 128, step=32), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class HandTrainedMLP(kt.HyperModel):
    """The model from ``build``; its training loop, and the loop's hyperparameters, in ``fit``."""

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        return small_mlp(hp)

    def fit(
        self,
        hp: kt.HyperParameters,
        model: keras.Model,
        x: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray],
        epochs: int = 1,
        callbacks: list[keras.callbacks.Callback] | None = None,
        **kwargs: Any,
    ) -> float:
        batch_size = hp.Choice("batch_size", [16, 32, 64])
        shuffle = hp.Boolean("shuffle", default=True)
        rng = np.random.default_rng(0)
        # The tuner's callbacks see each epoch's logs: that is how it records (and can
        # stop) a hand-trained model.
        hooks = keras.callbacks.CallbackList(callbacks, model=model)
        best_val_loss = float("inf")
        for epoch in range(epochs):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            for start in range(0, len(x), batch_size):
                batch = order[start : start + batch_size]
                model.train_on_batch(x[batch], y[batch])
            logs = model.evaluate(*validation_data, verbose=0, return_dict=True)
            hooks.on_epoch_end(epoch, {"val_loss": logs["loss"]})
            best_val_loss = min(best_val_loss, float(logs["loss"]))
        return best_val_loss


class BatchSizeTuner(kt.RandomSearch):
    """The default trial, with a batch size chosen per trial."""

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["batch_size"] = trial.hyperparameters.Choice("batch_size", [16, 32, 64])
        return super().run_trial(trial, *args, **kwargs)


def load_mnist(train_size: int) -> tuple[np.ndarray, ...]:
    """Flattened MNIST images in [0, 1]: training and validation images and labels."""
    splits = load_image_splits("mnist", train_size=train_size, seed=0)
    flat = [x.reshape(len(x), -1).astype("float32") / 255.0 for x in (splits.x_train, splits.x_val)]
    return flat[0], splits.y_train, flat[1], splits.y_val


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run (few images, trials)")
    parser.add_argument("--directory", default=None, help="where the studies go (default: temp)")
    args = parser.parse_args()
    small = args.small or os.environ.get("TUNELAB_EXAMPLE_SMALL") == "1"
    trials, epochs = (2, 1) if small else (10, 5)
    x_train, y_train, x_val, y_val = load_mnist(300 if small else 5000)

    with tempfile.TemporaryDirectory(prefix="tunelab-custom-training-") as scratch:
        directory = args.directory or scratch
        loop_tuner = kt.RandomSearch(
            HandTrainedMLP(),
            objective="val_loss",
            max_trials=trials,
            seed=0,
            directory=directory,
            project_name="custom-fit",
            overwrite=True,
        )
        loop_tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs)
        best = loop_tuner.oracle.get_best_trials(1)[0]
        print(f"HyperModel.fit: best hyperparameters {best.hyperparameters.values}")
        print(f"best val_loss (HyperModel.fit): {best.score:.4f}")

        batch_tuner = BatchSizeTuner(
            small_mlp,
            objective="val_accuracy",
            max_trials=trials,
            seed=0,
            directory=directory,
            project_name="run-trial",
            overwrite=True,
        )
        batch_tuner.search(
            x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, verbose=0
        )
        best = batch_tuner.oracle.get_best_trials(1)[0]
        print(f"run_trial: best hyperparameters {best.hyperparameters.values}")
        print(f"best val_accuracy (run_trial): {best.score:.4f}")


if __name__ == "__main__":
    main()
