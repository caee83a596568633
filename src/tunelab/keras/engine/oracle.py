"""``keras_tuner.engine.oracle``: ``Oracle`` is the view of a tuner's trials
(``tuner.oracle``); the oracles a tuner searches with are in ``tunelab.keras.oracles``."""

from tunelab.keras.objective import Objective
from tunelab.keras.oracle import Oracle

__all__ = ["Objective", "Oracle"]
