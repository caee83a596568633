"""Importing Keras 3 when a tuner first needs it (``import tunelab.keras`` does not)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from tunelab.errors import ConfigError


def import_keras() -> Any:
    """The ``keras`` module (Keras 3).

    When no backend is chosen (no ``KERAS_BACKEND``, no ``keras.json``), TensorFlow is
    not installed and PyTorch is, the torch backend is selected instead of failing on
    Keras' default, TensorFlow.
    """
    if "keras" not in sys.modules and not os.environ.get("KERAS_BACKEND"):
        home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
        if (
            not (home / "keras.json").is_file()
            and importlib.util.find_spec("tensorflow") is None
            and importlib.util.find_spec("torch") is not None
        ):
            os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras
    except ImportError as exc:
        raise ConfigError(
            f"tunelab.keras needs Keras 3 ({exc}); install it with pip install 'tunelab[keras]'"
        ) from None
    major = int(str(keras.__version__).split(".")[0])
    if major < 3:
        raise ConfigError(f"tunelab.keras needs Keras 3, found keras {keras.__version__}")
    return keras
