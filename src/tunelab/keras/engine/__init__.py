"""Keras Tuner's ``keras_tuner.engine`` modules, for scripts that import from them
(``from keras_tuner.engine import hyperparameters``): each re-exports the classes."""

from tunelab.keras.engine import hypermodel, hyperparameters, oracle, trial, tuner

__all__ = ["hypermodel", "hyperparameters", "oracle", "trial", "tuner"]
