"""``keras_tuner.engine.hypermodel``."""

from tunelab.keras.hypermodel import HyperModel

__all__ = ["HyperModel"]
