"""What every search-space parameter shares: the value types, conditions and the
:class:`Param` contract (its map to and from the unit interval)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

from tunelab.errors import SpaceError

Value: TypeAlias = int | float | str | bool
Config: TypeAlias = dict[str, Value]
Sampling: TypeAlias = Literal["linear", "log", "reverse_log"]

_REL_TOL = 1e-9


@dataclass(frozen=True)
class Condition:
    """A parameter is active only while ``parent`` takes one of ``values``."""

    parent: str
    values: tuple[Value, ...]

    def holds(self, config: Mapping[str, Value]) -> bool:
        return self.parent in config and _value_in(config[self.parent], self.values)


def _value_in(value: Value, values: Sequence[Value]) -> bool:
    # True == 1 in Python; a boolean parent must not match the integer 1. Plain loops:
    # conditions are checked for every parameter of every trial a searcher reads.
    kind = type(value)
    for v in values:
        if type(v) is kind and v == value:
            return True
    if kind is bool or not isinstance(value, int | float):
        return False
    return any(type(v) is not bool and isinstance(v, int | float) and v == value for v in values)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


@dataclass(frozen=True)
class Param(ABC):
    """One hyperparameter. Subclasses define the value set and its unit-interval map.

    Contract: ``from_unit(u)`` returns a value the parameter ``contains`` for every
    ``u`` in [0, 1]; ``from_unit(to_unit(v)) == v`` for every contained ``v``.
    """

    name: str
    conditions: tuple[Condition, ...] = field(default=(), kw_only=True)

    kind: ClassVar[str]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpaceError(f"parameter name must be a non-empty string, got {self.name!r}")

    # -- the unit-interval transform -------------------------------------------------
    @abstractmethod
    def to_unit(self, value: Value) -> float:
        """Map a contained value to [0, 1]."""

    @abstractmethod
    def from_unit(self, u: float) -> Value:
        """Map u in [0, 1] to a contained value."""

    @abstractmethod
    def contains(self, value: object) -> bool:
        """Whether ``value`` is one of this parameter's values."""

    @property
    @abstractmethod
    def default(self) -> Value:
        """The value used when nothing else chose one."""

    # -- discrete structure -----------------------------------------------------------
    @property
    def is_categorical(self) -> bool:
        """Values without an order that a searcher should treat as distinct classes."""
        return False

    @property
    def cardinality(self) -> int | None:
        """Number of distinct values, or None for a continuous parameter."""
        return None

    def grid(self, points: int | None = None) -> list[Value]:
        """All values of a discrete parameter; ``points`` evenly spaced ones otherwise."""
        k = self.cardinality
        if k is None:
            if points is None:
                raise SpaceError(
                    f"parameter {self.name!r} is a continuous float: give it a step, or a "
                    f"number of grid points (GridSearcher(points={{{self.name!r}: 5}}))"
                )
            if points < 1:
                raise SpaceError(f"parameter {self.name!r}: grid points must be >= 1")
            if points == 1:
                return [self.from_unit(0.0)]
            return [self.from_unit(i / (points - 1)) for i in range(points)]
        return [self.from_unit((i + 0.5) / k) for i in range(k)]

    # -- identity and serialisation ---------------------------------------------------
    def with_conditions(self, conditions: tuple[Condition, ...]) -> Param:
        clone = _replace(self, conditions=conditions)
        return clone

    @abstractmethod
    def _definition(self) -> dict[str, Any]:
        """The fields that define the value set (type included, default excluded)."""

    def to_dict(self) -> dict[str, Any]:
        out = self._definition()
        if self.kind != "fixed":
            out["default"] = self.default
        if self.conditions:
            out["condition"] = {c.parent: list(c.values) for c in self.conditions}
        return out

    def same_definition(self, other: Param) -> bool:
        return self._definition() == other._definition() and self.conditions == other.conditions

    def describe(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._definition().items() if k != "type")
        cond = ""
        if self.conditions:
            cond = " if " + " and ".join(f"{c.parent} in {list(c.values)}" for c in self.conditions)
        return f"{type(self).__name__}({self.name!r}, {fields}){cond}"


def _replace(param: Param, **changes: Any) -> Param:
    import dataclasses

    return dataclasses.replace(param, **changes)
