"""What a Keras tuner optimises: Keras Tuner's ``Objective`` and its direction rules.

``objective`` may be a metric name (``"val_accuracy"``: the direction is inferred from
the name), an :class:`Objective` (or any object with ``name`` and ``direction``, such as
a ``keras_tuner.Objective``), a list of them (their sum, with the maximised ones
subtracted, is minimised, as in Keras Tuner), or None: then ``HyperModel.fit`` must
return the value to minimise itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.errors import ConfigError

DEFAULT_OBJECTIVE = "default_objective"
"""Keras Tuner's name for the value ``HyperModel.fit`` returns when no objective is given."""

MULTI_OBJECTIVE = "multi_objective"
"""Keras Tuner's name for the combined value of a list of objectives."""

# Words that name a quantity to minimise or to maximise, checked in this order on the
# metric name without its "val_" / "weighted_" prefixes.
_MIN_WORDS = (
    "loss",
    "error",
    "crossentropy",
    "hinge",
    "divergence",
    "poisson",
    "logcosh",
    "huber",
    "false_positives",
    "false_negatives",
)
_MIN_NAMES = {"ce", "mse", "mae", "mape", "msle", "rmse", "kld", "kl_divergence", "ctc"}
_MAX_WORDS = (
    "acc",
    "auc",
    "precision",
    "recall",
    "true_positives",
    "true_negatives",
    "f1",
    "fbeta",
    "iou",
    "r2",
    "sensitivity",
    "specificity",
    "cosine_similarity",
)


def infer_direction(name: str) -> str | None:
    """ "min" or "max" for a Keras metric name, None when the name says neither.

    ``val_loss``, ``mse``, ``mean_absolute_error`` -> min; ``val_accuracy``, ``acc``,
    ``auc``, ``precision``, ``recall`` -> max (Keras Tuner's rules, except that
    ``top_k_categorical_accuracy`` and ``cosine_similarity`` are maximised here).
    """
    base = name.lower()
    for prefix in ("val_", "weighted_"):
        if base.startswith(prefix):
            base = base[len(prefix) :]
    words = set(re.split(r"[_\W]+", base))
    if base in _MIN_NAMES or words & _MIN_NAMES or any(w in base for w in _MIN_WORDS):
        return "min"
    if any(w in base for w in _MAX_WORDS):
        return "max"
    return None


class Objective:
    """A metric to optimise and its direction, ``"min"`` or ``"max"`` (Keras Tuner's
    ``keras_tuner.Objective``)."""

    def __init__(self, name: str, direction: str) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"Objective: name must be a non-empty string, got {name!r}")
        if direction not in ("min", "max"):
            raise ConfigError(
                f"Objective({name!r}): direction must be 'min' or 'max', got {direction!r}"
            )
        self.name = name
        self.direction = direction

    def has_value(self, logs: Mapping[str, Any]) -> bool:
        """Whether ``logs`` (an epoch's metrics) hold this objective."""
        return self.name in logs

    def get_value(self, logs: Mapping[str, Any]) -> float:
        return float(logs[self.name])

    def better_than(self, a: float, b: float) -> bool:
        return (a > b) if self.direction == "max" else (a < b)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Objective)
            and self.name == other.name
            and self.direction == other.direction
        )

    def __hash__(self) -> int:
        return hash((self.name, self.direction))

    def __str__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'

    __repr__ = __str__


class MultiObjective(Objective):
    """Several objectives as one value to minimise: the sum of those to minimise minus
    the sum of those to maximise (Keras Tuner's rule)."""

    def __init__(self, objectives: Sequence[Objective]) -> None:
        super().__init__(MULTI_OBJECTIVE, "min")
        self.objectives = list(objectives)

    def has_value(self, logs: Mapping[str, Any]) -> bool:
        return self.name in logs or all(o.name in logs for o in self.objectives)

    def get_value(self, logs: Mapping[str, Any]) -> float:
        if self.name in logs:
            return float(logs[self.name])
        total = 0.0
        for o in self.objectives:
            value = float(logs[o.name])
            total += value if o.direction == "min" else -value
        return total

    def __str__(self) -> str:
        return "Multi" + super().__str__() + f": [{', '.join(map(str, self.objectives))}]"

    __repr__ = __str__


def make_objective(objective: Any) -> Objective:
    """An :class:`Objective` from what a tuner was given (see the module docstring)."""
    if objective is None:
        return Objective(DEFAULT_OBJECTIVE, "min")
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        direction = infer_direction(objective)
        if direction is None:
            raise ConfigError(
                f"cannot tell whether to minimise or maximise the metric {objective!r}; "
                f'give the direction: Objective("{objective}", direction="min") or "max"'
            )
        return Objective(objective, direction)
    if isinstance(objective, list | tuple):
        if not objective:
            raise ConfigError("objective: an empty list names no metric")
        parts = [make_objective(o) for o in objective]
        return parts[0] if len(parts) == 1 else MultiObjective(parts)
    name, direction = getattr(objective, "name", None), getattr(objective, "direction", None)
    if isinstance(name, str) and isinstance(direction, str):  # keras_tuner.Objective and alikes
        return Objective(name, direction)
    raise ConfigError(
        f"objective must be a metric name, an Objective(name, direction) or a list of them, "
        f"got {objective!r}"
    )


def is_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
