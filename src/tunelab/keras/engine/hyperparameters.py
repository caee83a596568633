"""``keras_tuner.engine.hyperparameters``."""

from tunelab.keras.hyperparameters import HyperParameters

__all__ = ["HyperParameters"]
