"""Keras Tuner's ``HyperModel``: what builds (and optionally trains) a model from ``hp``.

A tuner takes either a function ``build_model(hp) -> keras.Model`` or a HyperModel
subclass. A subclass may override ``fit(hp, model, *args, **kwargs)`` to train its own
way; what it returns is the trial's result: a Keras ``History`` (the objective is read
from the epochs' logs), a number (the objective itself) or a dict holding the objective.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunelab.errors import ConfigError


class HyperModel:
    """Subclass it and define ``build(hp)``; override ``fit`` to train your own way."""

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name = name
        self.tunable = tunable

    def build(self, hp: Any) -> Any:
        """Build and compile a model with the hyperparameters ``hp``."""
        raise NotImplementedError(f"{type(self).__name__}.build(hp) is not defined")

    def declare_hyperparameters(self, hp: Any) -> None:
        """Define parameters up front (called once before the first build)."""

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Train ``model``; the tuner passes ``search``'s arguments here, with its own
        ``callbacks``, ``epochs`` and ``initial_epoch``. Pass them on to ``model.fit``."""
        return model.fit(*args, **kwargs)


class FunctionHyperModel(HyperModel):
    """A ``build_model(hp)`` function as a HyperModel."""

    def __init__(self, build: Callable[[Any], Any]) -> None:
        super().__init__(name=getattr(build, "__name__", None))
        self._build = build

    def build(self, hp: Any) -> Any:
        return self._build(hp)


def as_hypermodel(hypermodel: Any) -> Any:
    """A HyperModel (or an object with its methods, a ``keras_tuner.HyperModel`` too)
    from what a tuner was given."""
    if hypermodel is None:
        raise ConfigError(
            "hypermodel is required: a function build_model(hp) returning a compiled "
            "keras.Model, or a HyperModel subclass"
        )
    if callable(getattr(hypermodel, "build", None)) and not isinstance(hypermodel, type):
        return hypermodel
    if isinstance(hypermodel, type):
        raise ConfigError(
            f"hypermodel: got the class {hypermodel.__name__}; pass an instance "
            f"({hypermodel.__name__}()) or a build_model function"
        )
    if callable(hypermodel):
        return FunctionHyperModel(hypermodel)
    raise ConfigError(
        f"hypermodel must be a function build_model(hp) or a HyperModel, got {hypermodel!r}"
    )


def fits_its_own_way(hypermodel: Any) -> bool:
    """Whether ``hypermodel`` overrides ``fit`` (so it may return its own objective)."""
    fit = getattr(type(hypermodel), "fit", None)
    return fit is not None and fit is not HyperModel.fit and fit.__qualname__ != "HyperModel.fit"
