"""The model-building code of a typical Keras Tuner script, shared by the tests.

It is written exactly as for Keras Tuner; only the import of the tuner module differs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

import tunelab.keras as kt


def build_model(hp: Any) -> keras.Model:
    """An MLP for flattened MNIST using every kind of hyperparameter."""
    model = keras.Sequential([keras.Input((784,))])
    model.add(
        keras.layers.Dense(
            hp.Int("units", min_value=16, max_value=64, step=16),
            activation=hp.Choice("activation", ["relu", "tanh"]),
        )
    )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=hp.Float("rate", 0.1, 0.5, step=0.2)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("learning_rate", min_value=1e-3, max_value=3e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class EpochLog(keras.callbacks.Callback):
    """Records every epoch any model trains: (model id, epoch index, optimizer step at
    its start). A class attribute, so the copies a tuner makes of it share the log."""

    entries: ClassVar[list[tuple[int, int, int]]] = []
    fits: ClassVar[int] = 0

    def on_train_begin(self, logs: Any = None) -> None:
        type(self).fits += 1

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        iterations = int(self.model.optimizer.iterations.numpy())
        type(self).entries.append((id(self.model), epoch, iterations))

    @classmethod
    def reset(cls) -> None:
        cls.entries = []
        cls.fits = 0


__all__ = ["EpochLog", "build_model", "kt"]
