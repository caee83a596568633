"""A Keras-Tuner-compatible front end: move a Keras Tuner script by changing its import.

    import tunelab.keras as kt      # instead of: import keras_tuner as kt

    def build_model(hp):
        model = keras.Sequential([...hp.Int("units", 32, 512, step=32)...])
        model.compile(...)
        return model

    tuner = kt.Hyperband(build_model, objective="val_accuracy", max_epochs=9, factor=3,
                         directory="runs", project_name="mnist")
    tuner.search(x, y, validation_data=(x_val, y_val), batch_size=64)
    best_model = tuner.get_best_models(1)[0]
    best_hp = tuner.get_best_hyperparameters(1)[0].values
    tuner.results_summary()

``kt.Tuner(oracle=kt.oracles.RandomSearchOracle(...), hypermodel=...)`` builds the same
tuners from an oracle; a ``Tuner`` subclass that overrides ``run_trial`` tunes any code
(no hypermodel needed). ``kt.errors.FailedTrialError`` fails a trial; ``FatalError``
and its kinds stop the search. ``kt.engine`` has Keras Tuner's ``engine`` modules.
``kt.SklearnTuner(oracle=..., hypermodel=..., scoring=..., cv=...)`` cross-validates
scikit-learn estimators.

Each tuner is a tunelab study (``tuner.study``) stored in
``directory/project_name/tunelab.db``: ``tunelab show`` reads it, a new tuner with
``overwrite=False`` continues it, and Hyperband promotions resume trials from their
checkpoints. Keras 3 is imported when a tuner is created, not by this import; without
a configured backend and without TensorFlow, the torch backend is used.
"""

from tunelab.keras import engine, errors, oracles
from tunelab.keras.hypermodel import HyperModel
from tunelab.keras.hyperparameters import HyperParameters
from tunelab.keras.objective import Objective
from tunelab.keras.oracle import Oracle, TunerTrial
from tunelab.keras.sklearn_tuner import SklearnTuner
from tunelab.keras.tuner import Tuner
from tunelab.keras.tuners import (
    BOHB,
    BayesianOptimization,
    GridSearch,
    Hyperband,
    RandomSearch,
    Sobol,
)

__all__ = [
    "BOHB",
    "BayesianOptimization",
    "GridSearch",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "Objective",
    "Oracle",
    "RandomSearch",
    "SklearnTuner",
    "Sobol",
    "Tuner",
    "TunerTrial",
    "engine",
    "errors",
    "oracles",
]
