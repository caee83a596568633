"""Keras model state: the checkpoint a paused trial resumes from, and the best weights.

A checkpoint (what ``trial.report(..., checkpoint=...)`` stores) is plain picklable
data: the epoch, the model's weights (``get_weights``), the optimizer's variables
(``save_own_variables``: moments and the iteration count, so a learning-rate schedule
goes on where it was) and the build config of a model that builds lazily. Restoring
it into a freshly built model continues training as if it had never stopped.

The best weights of every trial (at its best epoch by the objective) are saved in Keras
format, ``<study artifacts>/trial-N/keras/best.weights.h5``, beside the build config;
``get_best_models`` rebuilds the model from the trial's hyperparameters and loads them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from tunelab.errors import StorageError

STATE_FORMAT = "tunelab.keras/1"
WEIGHTS_FILE = "best.weights.h5"
BUILD_CONFIG_FILE = "build_config.json"


def capture_state(model: Any, epoch: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``model``'s training state after ``epoch`` epochs, as picklable data."""
    optimizer: dict[str, Any] = {}
    opt = getattr(model, "optimizer", None)
    if opt is not None and getattr(opt, "built", False):
        opt.save_own_variables(optimizer)
    return {
        "format": STATE_FORMAT,
        "epoch": int(epoch),
        "weights": model.get_weights(),
        "optimizer": optimizer,
        "build_config": _build_config(model),
        **(extra or {}),
    }


def restore_state(model: Any, state: dict[str, Any]) -> bool:
    """Load ``state`` (from :func:`capture_state`) into a freshly built ``model``.
    Returns whether the optimizer state was restored too (it is not when the model is
    compiled only inside a custom ``fit``)."""
    if state.get("format") != STATE_FORMAT:
        raise StorageError(
            f"the trial's checkpoint is not a tunelab.keras model state "
            f"(format {state.get('format')!r})"
        )
    config = state.get("build_config")
    if not model.built and config:
        model.build_from_config(config)
    model.set_weights(state["weights"])
    opt = getattr(model, "optimizer", None)
    if not state["optimizer"] or opt is None:
        return not state["optimizer"]
    if not opt.built:
        opt.build(model.trainable_variables)
    opt.load_own_variables(state["optimizer"])
    return True


def _build_config(model: Any) -> dict[str, Any] | None:
    try:
        config = model.get_build_config()
    except Exception:  # a model that cannot say how it was built is rebuilt by build()
        return None
    return dict(config) if config else None


def model_folder(artifact_dir: str | Path, trial_number: int) -> Path:
    """Where trial ``trial_number``'s Keras files live in the study's artifact store."""
    return Path(artifact_dir) / f"trial-{trial_number}" / "keras"


def save_weights(model: Any, folder: Path) -> Path:
    """Save ``model``'s weights (and its build config) in ``folder``, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / WEIGHTS_FILE
    tmp = folder / f"tmp-{os.getpid()}-{WEIGHTS_FILE}"
    try:
        model.save_weights(str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    config = _build_config(model)
    if config is not None:
        (folder / BUILD_CONFIG_FILE).write_text(json.dumps(config, default=_jsonable))
    return target


def load_weights(model: Any, folder: Path, trial_number: int) -> Any:
    """Load trial ``trial_number``'s best weights from ``folder`` into ``model``."""
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise StorageError(
            f"trial {trial_number} saved no model weights ({weights} is missing): it trained "
            "no epoch the tuner saw, or its files were removed"
        )
    config_file = folder / BUILD_CONFIG_FILE
    if not model.built and config_file.is_file():
        model.build_from_config(json.loads(config_file.read_text()))
    opt = getattr(model, "optimizer", None)
    if opt is not None and not opt.built:
        opt.build(model.trainable_variables)  # so that its saved state loads too
    model.load_weights(str(weights))
    return model


def count_params(model: Any) -> int:
    """Trainable scalars of a built model (0 when it is not built yet)."""
    if not getattr(model, "built", False):
        return 0
    return int(sum(math.prod(int(d) for d in w.shape) for w in model.trainable_weights))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return str(value)
