"""Keras Tuner's ``HyperParameters`` over tunelab's define-by-run ``hp``.

The names and signatures are Keras Tuner's (``hp.Int``, ``hp.Float``, ``hp.Choice``,
``hp.Boolean``, ``hp.Fixed``, ``hp.conditional_scope``, ``hp.values``, ``hp.get``).
Inside a trial the object forwards every definition to the trial's own ``hp``, so the
values come from the study's searcher and are stored with the trial; first it applies
the tuner's :class:`EntryPolicy`: a parameter given in the tuner's ``hyperparameters=``
replaces the definition the model asks for, and parameters not given there are fixed
at their defaults (``tune_new_entries=False``) or refused (``allow_new_entries=False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from tunelab.errors import ConfigError
from tunelab.hyperparameters import HyperParameters as TrialHyperParameters
from tunelab.space import Boolean, Choice, Config, Fixed, Float, Int, Param, Sampling, Space, Value


@dataclass(frozen=True)
class EntryPolicy:
    """How a tuner treats the parameters a model defines (Keras Tuner's
    ``hyperparameters``, ``tune_new_entries`` and ``allow_new_entries``)."""

    given: Space = field(default_factory=Space)
    tune_new_entries: bool = True
    allow_new_entries: bool = True

    def apply(self, param: Param) -> Param:
        """The definition to use when the model asks for ``param``."""
        if param.name in self.given:
            return self.given[param.name].with_conditions(())
        if not self.allow_new_entries:
            raise ConfigError(
                f"the model defines hyperparameter {param.name!r}, which is not in the "
                f"tuner's hyperparameters= (allow_new_entries=False); known: "
                f"{self.given.names}"
            )
        if not self.tune_new_entries:
            return Fixed(param.name, param.default)
        return param


class HyperParameters:
    """Keras Tuner's ``HyperParameters``. ``HyperParameters()`` stands alone (every
    parameter takes its default) and can be given to a tuner as ``hyperparameters=`` to
    override or fix parameters; tuners hand ``build_model`` one bound to the trial."""

    def __init__(self) -> None:
        self._hp = TrialHyperParameters()
        self._policy: EntryPolicy | None = None
        self._defined: set[str] = set()

    @classmethod
    def bound(cls, hp: TrialHyperParameters, policy: EntryPolicy | None = None) -> HyperParameters:
        """One that defines its parameters in ``hp`` (a trial's), under ``policy``."""
        out = cls()
        out._hp, out._policy = hp, policy
        return out

    @classmethod
    def with_values(
        cls, space: Space, values: Mapping[str, Value], policy: EntryPolicy | None = None
    ) -> HyperParameters:
        """One whose ``values`` are ``values`` already (a finished trial's): building a
        model with it again gives that trial's model."""

        def resolve(param: Param, _config: Config) -> Value:
            value = values.get(param.name)
            return value if value is not None and param.contains(value) else param.default

        hp = TrialHyperParameters(resolver=resolve, space=space.copy())
        for name in space.names:
            if name in values:
                hp.get(name)
        return cls.bound(hp, policy)

    @classmethod
    def from_space(cls, space: Space) -> HyperParameters:
        """One that knows ``space`` and takes every parameter's default."""
        return cls.bound(TrialHyperParameters(space=space.copy()))

    # -- definitions (Keras Tuner's signatures) -------------------------------------------
    def Int(  # noqa: N802 - Keras Tuner's names
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: Sampling = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        param = Int(name, min_value, max_value, step, sampling, default)
        return self._define(param, parent_name, parent_values)

    def Float(  # noqa: N802
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: Sampling = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        param = Float(name, min_value, max_value, step, sampling, default)
        return self._define(param, parent_name, parent_values)

    def Choice(  # noqa: N802
        self,
        name: str,
        values: Sequence[Value],
        ordered: bool | None = None,
        default: Value | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        param = Choice(name, tuple(values), ordered, default)
        return self._define(param, parent_name, parent_values)

    def Boolean(  # noqa: N802
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        return self._define(Boolean(name, default_value=default), parent_name, parent_values)

    def Fixed(  # noqa: N802
        self,
        name: str,
        value: Value,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        return self._define(Fixed(name, value), parent_name, parent_values)

    def conditional_scope(
        self, parent_name: str, parent_values: Value | Iterable[Value]
    ) -> AbstractContextManager[None]:
        """Parameters defined inside are active only while the parent takes one of the values."""
        return self._hp.conditional_scope(parent_name, parent_values)

    def _define(
        self, param: Param, parent_name: str | None, parent_values: Sequence[Value] | None
    ) -> Any:
        if param.name in self._defined:
            # Keras Tuner's rule: the first definition of a name wins; later ones with
            # the same name read its value, whatever range they give.
            return self._hp.get(param.name)
        if self._policy is not None:
            param = self._policy.apply(param)
        value = define(self._hp, param, parent_name, parent_values)
        self._defined.add(param.name)
        return value

    # -- reading ----------------------------------------------------------------------------
    @property
    def values(self) -> Config:
        """The active parameters' values (a copy)."""
        return self._hp.values

    def get(self, name: str) -> Any:
        """The value of a defined parameter (None when inactive); KeyError if undefined."""
        return self._hp.get(name)

    def __getitem__(self, name: str) -> Any:
        return self._hp.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._hp

    def is_active(self, name: str) -> bool:
        return self._hp.is_active(name)

    @property
    def space(self) -> list[Param]:
        """Every parameter defined so far, in definition order (tunelab's Param objects)."""
        return list(self._hp.space)

    @property
    def tunelab_space(self) -> Space:
        """The same as a tunelab :class:`~tunelab.space.Space`."""
        return self._hp.space

    def __iter__(self) -> Iterator[Param]:
        return iter(self._hp.space)

    def __repr__(self) -> str:
        return f"HyperParameters(values={self.values!r})"


def define(
    hp: TrialHyperParameters,
    param: Param,
    parent_name: str | None = None,
    parent_values: Sequence[Value] | None = None,
) -> Any:
    """Define ``param`` in ``hp`` through its public methods; its value back."""
    cond: dict[str, Any] = {"parent_name": parent_name, "parent_values": parent_values}
    if isinstance(param, Boolean):
        return hp.Boolean(param.name, default=param.default, **cond)
    if isinstance(param, Choice):
        return hp.Choice(param.name, list(param.values), param.ordered, param.default_value, **cond)
    if isinstance(param, Fixed):
        return hp.Fixed(param.name, param.value, **cond)
    if isinstance(param, Int):
        return hp.Int(
            param.name,
            int(param.min_value),
            int(param.max_value),
            None if param.step is None else int(param.step),
            param.sampling,
            None if param.default_value is None else int(param.default_value),
            **cond,
        )
    if isinstance(param, Float):
        return hp.Float(
            param.name,
            param.min_value,
            param.max_value,
            param.step,
            param.sampling,
            None if param.default_value is None else float(param.default_value),
            **cond,
        )
    raise ConfigError(f"cannot define parameter {param.describe()} (unknown kind)")
