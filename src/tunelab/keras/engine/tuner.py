"""``keras_tuner.engine.tuner``."""

from tunelab.keras.tuner import Tuner

__all__ = ["Tuner"]
