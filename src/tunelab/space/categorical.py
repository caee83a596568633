"""Parameters with a listed set of values: :class:`Choice`, :class:`Boolean` and
:class:`Fixed`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from tunelab.errors import SpaceError
from tunelab.space.params import Param, Value, _is_number, _value_in


@dataclass(frozen=True)
class Choice(Param):
    """One of a list of values (numbers, strings or booleans, not mixed kinds)."""

    values: tuple[Value, ...] = ()
    ordered: bool | None = None
    default_value: Value | None = None

    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        super().__post_init__()
        label = f"hp.{type(self).__name__}({self.name!r})"
        if isinstance(self.values, str | bytes) or not isinstance(self.values, Iterable):
            raise SpaceError(f"{label}: values must be a list, got {self.values!r}")
        values = tuple(self.values)
        object.__setattr__(self, "values", values)
        if not values:
            raise SpaceError(f"{label}: values must not be empty")
        kinds = {_value_kind(v) for v in values}
        if None in kinds:
            bad = next(v for v in values if _value_kind(v) is None)
            raise SpaceError(f"{label}: values must be numbers, strings or booleans, got {bad!r}")
        if len(kinds) > 1:
            raise SpaceError(
                f"{label}: values must all be of one kind, got {sorted(map(str, kinds))}"
            )
        seen: list[Value] = []
        for v in values:
            if _value_in(v, seen):
                raise SpaceError(f"{label}: duplicate value {v!r}")
            seen.append(v)
        if self.ordered is None:
            object.__setattr__(self, "ordered", kinds == {"number"})
        elif self.ordered and kinds != {"number"}:
            raise SpaceError(f"{label}: ordered=True needs numeric values")
        if self.default_value is not None and not self.contains(self.default_value):
            raise SpaceError(
                f"{label}: default {self.default_value!r} is not one of {list(values)}"
            )

    @property
    def is_categorical(self) -> bool:
        return True

    @property
    def cardinality(self) -> int:
        return len(self.values)

    @property
    def default(self) -> Value:
        return self.default_value if self.default_value is not None else self.values[0]

    def index(self, value: Value) -> int:
        for i, v in enumerate(self.values):
            if _value_in(value, (v,)):
                return i
        raise SpaceError(f"parameter {self.name!r}: {value!r} is not one of {list(self.values)}")

    def contains(self, value: object) -> bool:
        return _value_kind(value) is not None and _value_in(value, self.values)  # type: ignore[arg-type]

    def from_unit(self, u: float) -> Value:
        k = len(self.values)
        return self.values[min(int(min(max(float(u), 0.0), 1.0) * k), k - 1)]

    def to_unit(self, value: Value) -> float:
        return (self.index(value) + 0.5) / len(self.values)

    def grid(self, points: int | None = None) -> list[Value]:
        return list(self.values)

    def _definition(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "values": list(self.values)}
        if self.ordered and self.kind == "choice":
            out["ordered"] = True
        return out


def _value_kind(v: object) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if _is_number(v):
        return "number"
    if isinstance(v, str):
        return "str"
    return None


@dataclass(frozen=True)
class Boolean(Choice):
    """True or False."""

    values: tuple[Value, ...] = (False, True)

    kind: ClassVar[str] = "boolean"

    def __post_init__(self) -> None:
        if tuple(self.values) != (False, True):
            raise SpaceError(f"hp.Boolean({self.name!r}): values are always (False, True)")
        if self.default_value is not None and not isinstance(self.default_value, bool):
            raise SpaceError(f"hp.Boolean({self.name!r}): default must be True or False")
        super().__post_init__()

    @property
    def default(self) -> bool:
        return bool(self.default_value) if self.default_value is not None else False

    def _definition(self) -> dict[str, Any]:
        return {"type": self.kind}


@dataclass(frozen=True)
class Fixed(Param):
    """A constant recorded with the trial (so it shows in tables and reports)."""

    value: Value = 0

    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        super().__post_init__()
        if _value_kind(self.value) is None:
            raise SpaceError(
                f"hp.Fixed({self.name!r}): value must be a number, string or boolean, "
                f"got {self.value!r}"
            )

    @property
    def default(self) -> Value:
        return self.value

    @property
    def cardinality(self) -> int:
        return 1

    def contains(self, value: object) -> bool:
        return _value_kind(value) is not None and _value_in(value, (self.value,))  # type: ignore[arg-type]

    def from_unit(self, u: float) -> Value:
        return self.value

    def to_unit(self, value: Value) -> float:
        return 0.5

    def grid(self, points: int | None = None) -> list[Value]:
        return [self.value]

    def _definition(self) -> dict[str, Any]:
        return {"type": self.kind, "value": self.value}
