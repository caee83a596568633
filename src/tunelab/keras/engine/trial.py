"""``keras_tuner.engine.trial``: ``Trial`` is a finished or stored trial as a tuner shows
it (``tuner.oracle.get_best_trials()``)."""

from tunelab.keras.oracle import TunerTrial as Trial

__all__ = ["Trial"]
