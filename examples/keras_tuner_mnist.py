"""A Keras Tuner script moved to tunelab by changing one import.

    python examples/keras_tuner_mnist.py                     # Hyperband, as written below
    python examples/keras_tuner_mnist.py --tuner bayes       # BayesianOptimization instead

Everything below the imports is the code of a typical Keras Tuner tutorial (an MLP on
MNIST, Hyperband with max_epochs and factor, get_best_models, results_summary); only
``import keras_tuner as kt`` became ``import tunelab.keras as kt``. What tunelab adds:
the trials are a study in ``keras-tuner-runs/mnist/tunelab.db`` (``tunelab show mnist
--storage keras-tuner-runs/mnist/tunelab.db`` lists them), rerunning the script
continues that study, and Hyperband's promoted trials resume from their checkpoints
instead of retraining.

Keras 3 runs on the torch backend (``pip install "tunelab[keras]"``). MNIST is read with
tunelab's loader (``--data-dir``, else ``TUNELAB_DATA_DIR``, else downloaded to the user
cache) because ``keras.datasets`` needs the network; ``--train-size`` images of the
training file are used, 20% of them held out for validation.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras

import tunelab.keras as kt  # was: import keras_tuner as kt
from tunelab.tasks.datasets import load_image_splits


def build_model(hp: kt.HyperParameters) -> keras.Model:
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten()])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(
            keras.layers.Dense(
                units=hp.Int(f"units_{i}", min_value=32, max_value=256, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=hp.Float("rate", 0.1, 0.5, step=0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tuner", default="hyperband", choices=["hyperband", "bayes", "random"])
    parser.add_argument("--train-size", type=int, default=5000, help="MNIST images used")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--directory", default="keras-tuner-runs")
    parser.add_argument("--overwrite", action="store_true", help="start the project over")
    args = parser.parse_args()

    splits = load_image_splits("mnist", args.data_dir, train_size=args.train_size, seed=0)
    x_train, y_train = splits.x_train / 255.0, splits.y_train
    x_val, y_val = splits.x_val / 255.0, splits.y_val

    common = {
        "objective": "val_accuracy",
        "seed": 0,
        "directory": args.directory,
        "project_name": f"mnist-{args.tuner}",
        "overwrite": args.overwrite,
    }
    if args.tuner == "hyperband":
        tuner = kt.Hyperband(build_model, max_epochs=9, factor=3, **common)
    elif args.tuner == "bayes":
        tuner = kt.BayesianOptimization(build_model, max_trials=12, **common)
    else:
        tuner = kt.RandomSearch(build_model, max_trials=12, **common)

    tuner.search_space_summary()
    stop_early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)
    tuner.search(
        x_train,
        y_train,
        epochs=5,
        validation_data=(x_val, y_val),
        batch_size=64,
        callbacks=[stop_early],
        verbose=0,
    )

    best_hp = tuner.get_best_hyperparameters(1)[0]
    print("best hyperparameters:", best_hp.values)
    best_model = tuner.get_best_models(num_models=1)[0]
    loss, accuracy = best_model.evaluate(x_val, y_val, verbose=0)
    print(f"best model: validation accuracy {accuracy:.4f}, loss {loss:.4f}")
    tuner.results_summary(3)


if __name__ == "__main__":
    main()
