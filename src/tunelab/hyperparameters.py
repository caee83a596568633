"""The define-by-run ``hp`` object with Keras Tuner's names.

An objective calls ``trial.hp.Int("units", 32, 512, step=32)`` and gets a value back.
The first call defines the parameter (and checks it against earlier definitions of
the same name); where the value comes from is the job of a *resolver*: the trial's
(its searcher's proposal) or, for a free-standing ``HyperParameters()``, the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tunelab.errors import SpaceError
from tunelab.space import (
    Boolean,
    Choice,
    Condition,
    Config,
    Fixed,
    Float,
    Int,
    Param,
    Sampling,
    Space,
    Value,
)

Resolver = Callable[[Param, Config], "Value | None"]
"""Given a parameter (with its conditions) and the values resolved so far, return its
value, or None when it is inactive."""


class HyperParameters:
    """What an objective uses to define parameters and read their values.

    Parameters defined inside :meth:`conditional_scope` are active only while the
    parent takes one of the given values; an inactive parameter's value is ``None``.
    """

    def __init__(self, resolver: Resolver | None = None, space: Space | None = None) -> None:
        self.space = space if space is not None else Space()
        self._resolver = resolver
        self._values: Config = {}
        self._scopes: list[Condition] = []

    # -- definitions (Keras Tuner's signatures) --------------------------------------
    def Int(  # noqa: N802 - Keras Tuner's name
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: Sampling = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> int:
        param = _built(Int, name, min_value, max_value, step, sampling, default)
        return self._define(param, parent_name, parent_values)  # type: ignore[return-value]

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
    ) -> float:
        param = _built(Float, name, min_value, max_value, step, sampling, default)
        return self._define(param, parent_name, parent_values)  # type: ignore[return-value]

    def Choice(  # noqa: N802
        self,
        name: str,
        values: Sequence[Value],
        ordered: bool | None = None,
        default: Value | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        param = _built(Choice, name, tuple(values), ordered, default)
        return self._define(param, parent_name, parent_values)

    def Boolean(  # noqa: N802
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> bool:
        param = _built(Boolean, name, (False, True), None, default)
        return self._define(param, parent_name, parent_values)  # type: ignore[return-value]

    def Fixed(  # noqa: N802
        self,
        name: str,
        value: Value,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        return self._define(_built(Fixed, name, value), parent_name, parent_values)

    @contextmanager
    def conditional_scope(
        self, parent_name: str, parent_values: Value | Iterable[Value]
    ) -> Iterator[None]:
        """Parameters defined inside are active only while the parent takes one of the values."""
        if parent_name not in self.space:
            raise SpaceError(
                f"conditional_scope: parent {parent_name!r} is not defined yet; define it first"
            )
        self._scopes.append(Condition(parent_name, _as_values(parent_values)))
        try:
            yield
        finally:
            self._scopes.pop()

    # -- reading ----------------------------------------------------------------------
    def get(self, name: str) -> Any:
        """The value of an already defined parameter (None when inactive)."""
        if name in self._values:
            return self._values[name]
        if name in self.space:
            return self._define(
                self.space[name], None, None, conditions=self.space[name].conditions
            )
        raise KeyError(f"hyperparameter {name!r} is not defined")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.space

    @property
    def values(self) -> Config:
        """The active parameters' values resolved so far (Keras Tuner's ``hp.values``)."""
        return dict(self._values)

    def is_active(self, name: str) -> bool:
        return name in self._values

    # -- internals --------------------------------------------------------------------
    def _define(
        self,
        param: Param,
        parent_name: str | None,
        parent_values: Sequence[Value] | None,
        conditions: tuple[Condition, ...] | None = None,
    ) -> Value | None:
        if conditions is None:
            conds = list(self._scopes)
            if parent_name is not None:
                if parent_values is None:
                    raise SpaceError(f"parameter {param.name!r}: parent_name needs parent_values")
                conds.append(Condition(parent_name, _as_values(parent_values)))
            conditions = tuple(conds)
        if conditions:
            param = _conditioned(param, conditions)
        param = self.space.add(param)
        if param.name in self._values:
            return self._values[param.name]
        if not all(c.holds(self._values) for c in param.conditions):
            return None
        value = self._resolver(param, dict(self._values)) if self._resolver else param.default
        if value is None:
            return None
        if not param.contains(value):
            raise SpaceError(
                f"parameter {param.name!r}: resolved value {value!r} is not a value of "
                f"{param.describe()}"
            )
        self._values[param.name] = value
        return value


_BUILT: dict[tuple[Any, ...], Param] = {}
_BUILT_LIMIT = 4096


def _built(kind: type[Param], *args: Any) -> Param:
    """``kind(*args)``, built once per distinct definition.

    An objective defines the same parameters on every trial, and building one validates
    its range; parameters are immutable, so one instance serves every trial. The key
    carries each argument's type, and the types inside a tuple argument (a Choice's
    values): 1, 1.0 and True are equal keys otherwise.
    """
    types = tuple(map(type, args))
    key: tuple[Any, ...] = (kind, args, types)
    if tuple in types:
        key = (key, tuple(tuple(map(type, a)) for a in args if type(a) is tuple))
    try:
        return _BUILT[key]
    except TypeError:  # an unhashable argument: build it, the definition will say what is wrong
        return kind(*args)
    except KeyError:
        pass
    param = kind(*args)
    if len(_BUILT) >= _BUILT_LIMIT:
        _BUILT.clear()
    _BUILT[key] = param
    return param


_CONDITIONED: dict[tuple[Any, ...], tuple[Param, Param]] = {}


def _conditioned(param: Param, conditions: tuple[Condition, ...]) -> Param:
    """``param.with_conditions(conditions)``, built once per parameter and conditions (a
    conditional parameter is defined on every trial too; the same instance also lets
    ``Space.add`` skip comparing definitions). ``param`` is one of :func:`_built`'s, so
    its identity is its definition; the key carries the condition values' types."""
    key = (id(param), conditions, tuple(tuple(map(type, c.values)) for c in conditions))
    found = _CONDITIONED.get(key)
    if found is not None and found[0] is param:
        return found[1]
    conditioned = param.with_conditions(conditions)
    if len(_CONDITIONED) >= _BUILT_LIMIT:
        _CONDITIONED.clear()
    # The base is kept in the entry, so its id cannot be reused while the entry lives.
    _CONDITIONED[key] = (param, conditioned)
    return conditioned


def _as_values(values: Value | Iterable[Value]) -> tuple[Value, ...]:
    """One value or any iterable of values (a list, a tuple, a range) as a tuple."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        return (values,)  # type: ignore[return-value]
    return tuple(values)
