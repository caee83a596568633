"""Search-space parameters and the space that holds them.

Every parameter maps its values to and from the unit interval (``to_unit`` /
``from_unit``) with log (and, for floats, reverse-log) sampling and steps respected, so
grid, random, Sobol, GP and TPE searchers all share one transform. Discrete parameters
give every value an equal share of the unit interval, which makes rounding unbiased.

Bad definitions raise :class:`~tunelab.errors.SpaceError` at definition time with a
message naming the parameter.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
    # True == 1 in Python; a boolean parent must not match the integer 1.
    return any(type(value) is type(v) and value == v for v in values) or (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and any(
            not isinstance(v, bool) and isinstance(v, int | float) and v == value for v in values
        )
    )


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


@dataclass(frozen=True)
class _Numeric(Param, ABC):
    """Shared logic of Int and Float: range, linear/log sampling and optional step.

    With ``sampling="linear"`` a step is the distance between values; with
    ``sampling="log"`` it is the factor between them (Keras Tuner's meaning).
    ``sampling="reverse_log"`` (unstepped Float only) is log sampling mirrored about the
    range's midpoint, so values are denser near ``max_value`` (Keras Tuner's meaning).
    """

    min_value: float = 0
    max_value: float = 1
    step: float | None = None
    sampling: Sampling = "linear"
    default_value: Value | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        label = f"hp.{type(self).__name__}({self.name!r})"
        lo, hi = self.min_value, self.max_value
        if not _is_number(lo) or not _is_number(hi):
            raise SpaceError(
                f"{label}: min_value and max_value must be numbers, got {lo!r}, {hi!r}"
            )
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise SpaceError(f"{label}: min_value and max_value must be finite, got {lo}, {hi}")
        if lo > hi:
            raise SpaceError(f"{label}: min_value {lo} is greater than max_value {hi}")
        if self.sampling not in ("linear", "log", "reverse_log"):
            raise SpaceError(
                f"{label}: sampling must be 'linear', 'log' or 'reverse_log', got {self.sampling!r}"
            )
        if self.sampling != "linear" and lo <= 0:
            raise SpaceError(f"{label}: {self.sampling} sampling needs min_value > 0, got {lo}")
        if self.sampling == "reverse_log" and (self.kind != "float" or self.step is not None):
            raise SpaceError(f"{label}: reverse_log sampling is for unstepped Floats only")
        if self.step is not None:
            self._check_step(label)
        if self.default_value is not None and not self.contains(self.default_value):
            raise SpaceError(f"{label}: default {self.default_value!r} is not one of its values")

    def _check_step(self, label: str) -> None:
        step, lo, hi = self.step, self.min_value, self.max_value
        if not _is_number(step) or not math.isfinite(step):  # type: ignore[arg-type]
            raise SpaceError(f"{label}: step must be a number, got {step!r}")
        assert step is not None
        if self.sampling == "linear":
            if step <= 0:
                raise SpaceError(f"{label}: step must be positive, got {step}")
            if hi > lo and step > hi - lo:
                raise SpaceError(
                    f"{label}: step {step} does not fit the range [{lo}, {hi}] (wider than it)"
                )
            n = (hi - lo) / step
            if abs(n - round(n)) > _REL_TOL * max(1.0, abs(n)):
                raise SpaceError(
                    f"{label}: step {step} does not fit the range [{lo}, {hi}]: "
                    f"{hi} - {lo} is not a multiple of {step}"
                )
        else:
            if step <= 1:
                raise SpaceError(
                    f"{label}: with log sampling, step is the factor between values and must be "
                    f"> 1, got {step}"
                )
            n = math.log(hi / lo) / math.log(step)
            if abs(n - round(n)) > 1e-6:
                raise SpaceError(
                    f"{label}: step {step} does not fit the range [{lo}, {hi}]: "
                    f"{hi} / {lo} is not a power of {step}"
                )

    # -- discrete levels --------------------------------------------------------------
    @property
    def _n_levels(self) -> int | None:
        """Number of values when they are an explicit grid (stepped), else None."""
        if self.step is None:
            return None
        if self.sampling == "linear":
            return round((self.max_value - self.min_value) / self.step) + 1
        return round(math.log(self.max_value / self.min_value) / math.log(self.step)) + 1

    def _level_value(self, i: int) -> float:
        assert self.step is not None
        if self.sampling == "linear":
            return self.min_value + i * self.step
        return self.min_value * self.step**i

    def _level_index(self, value: float) -> float:
        assert self.step is not None
        if self.sampling == "linear":
            return (value - self.min_value) / self.step
        return math.log(value / self.min_value) / math.log(self.step)

    @property
    def cardinality(self) -> int | None:
        return self._n_levels

    def _definition(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "min": self.min_value, "max": self.max_value}
        if self.step is not None:
            out["step"] = self.step
        if self.sampling != "linear":
            out["sampling"] = self.sampling
        return out


@dataclass(frozen=True)
class Int(_Numeric):
    """An integer in [min_value, max_value], optionally on a step grid or log-sampled."""

    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        label = f"hp.Int({self.name!r})"
        for attr in ("min_value", "max_value"):
            v = getattr(self, attr)
            if not _is_number(v) or float(v) != int(v):
                raise SpaceError(f"{label}: {attr} must be an integer, got {v!r}")
            object.__setattr__(self, attr, int(v))
        if self.step is not None:
            if not _is_number(self.step) or float(self.step) != int(self.step):
                raise SpaceError(f"{label}: step must be an integer, got {self.step!r}")
            object.__setattr__(self, "step", int(self.step))
        super().__post_init__()

    @property
    def cardinality(self) -> int:
        k = self._n_levels
        return k if k is not None else int(self.max_value - self.min_value) + 1

    @property
    def default(self) -> int:
        return int(self.default_value) if self.default_value is not None else int(self.min_value)

    def contains(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if not math.isfinite(value) or float(value) != int(value):
            return False
        v = int(value)
        if not self.min_value <= v <= self.max_value:
            return False
        if self.step is None:
            return True
        idx = self._level_index(v)
        return abs(idx - round(idx)) < 1e-6

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = int(self.min_value), int(self.max_value)
        k = self._n_levels
        if k is not None:
            return round(self._level_value(min(int(u * k), k - 1)))
        if self.sampling == "log" and hi > lo:
            a, b = math.log(lo - 0.5) if lo > 0.5 else math.log(0.5), math.log(hi + 0.5)
            v = round(math.exp(a + u * (b - a)))
            return min(max(int(v), lo), hi)
        return min(lo + int(u * (hi - lo + 1)), hi)

    def to_unit(self, value: Value) -> float:
        v = int(value)
        lo, hi = int(self.min_value), int(self.max_value)
        k = self._n_levels
        if k is not None:
            return (round(self._level_index(v)) + 0.5) / k
        if self.sampling == "log" and hi > lo:
            a, b = math.log(lo - 0.5) if lo > 0.5 else math.log(0.5), math.log(hi + 0.5)
            centre = 0.5 * (math.log(max(v - 0.5, 0.5)) + math.log(v + 0.5))
            return min(max((centre - a) / (b - a), 0.0), 1.0)
        return (v - lo + 0.5) / (hi - lo + 1)


@dataclass(frozen=True)
class Float(_Numeric):
    """A real number in [min_value, max_value], linear or log, optionally stepped."""

    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        for attr in ("min_value", "max_value"):
            v = getattr(self, attr)
            if _is_number(v):
                object.__setattr__(self, attr, float(v))
        super().__post_init__()

    @property
    def default(self) -> float:
        return float(self.default_value) if self.default_value is not None else self.min_value

    def contains(self, value: object) -> bool:
        if not _is_number(value) or not math.isfinite(value):  # type: ignore[arg-type]
            return False
        v = float(value)  # type: ignore[arg-type]
        tol = _REL_TOL * max(1.0, abs(self.min_value), abs(self.max_value))
        if not self.min_value - tol <= v <= self.max_value + tol:
            return False
        if self.step is None:
            return True
        idx = self._level_index(v)
        return abs(idx - round(idx)) < 1e-6

    def _clean(self, v: float) -> float:
        # lo + i*step accumulates binary noise (0.1*3 = 0.30000000000000004)
        return min(max(float(f"{v:.12g}"), self.min_value), self.max_value)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self.min_value, self.max_value
        k = self._n_levels
        if k is not None:
            return self._clean(self._level_value(min(int(u * k), k - 1)))
        if self.sampling == "log":
            return min(max(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))), lo), hi)
        if self.sampling == "reverse_log":
            # the log map run from the top: lo + hi - lo * (hi/lo)**(1-u)
            return min(max(lo + hi - math.exp(math.log(lo) + (1 - u) * math.log(hi / lo)), lo), hi)
        return lo + u * (hi - lo)

    def to_unit(self, value: Value) -> float:
        v = float(value)
        lo, hi = self.min_value, self.max_value
        k = self._n_levels
        if k is not None:
            return (round(self._level_index(v)) + 0.5) / k
        if hi == lo:
            return 0.5
        if self.sampling == "log":
            return min(max((math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)), 0.0), 1.0)
        if self.sampling == "reverse_log":
            mirrored = max(lo + hi - v, lo)
            return min(max(1 - math.log(mirrored / lo) / math.log(hi / lo), 0.0), 1.0)
        return min(max((v - lo) / (hi - lo), 0.0), 1.0)


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


class Space:
    """An ordered set of parameters, some of them conditional on others.

    A parameter is active in a configuration when all its conditions hold and each
    parent is itself active. Parameters are added in definition order; a name can be
    added again only with the same definition.
    """

    def __init__(self, params: Iterable[Param] = ()) -> None:
        self._params: dict[str, Param] = {}
        for p in params:
            self.add(p)

    # -- building ---------------------------------------------------------------------
    def add(self, param: Param) -> Param:
        """Add ``param``; return the stored parameter. Redefinitions must match exactly."""
        existing = self._params.get(param.name)
        if existing is not None:
            if not existing.same_definition(param):
                raise SpaceError(
                    f"parameter {param.name!r} is already defined as {existing.describe()}; "
                    f"it cannot be redefined as {param.describe()}"
                )
            return existing
        for cond in param.conditions:
            parent = self._params.get(cond.parent)
            if parent is None:
                raise SpaceError(
                    f"parameter {param.name!r} is conditional on {cond.parent!r}, "
                    "which is not defined (define the parent first)"
                )
            for v in cond.values:
                if not parent.contains(v):
                    raise SpaceError(
                        f"parameter {param.name!r}: condition value {v!r} is not a value of "
                        f"its parent {cond.parent!r}"
                    )
        self._params[param.name] = param
        return param

    # -- mapping protocol ------------------------------------------------------------
    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def get(self, name: str) -> Param | None:
        return self._params.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __iter__(self) -> Iterator[Param]:
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)

    @property
    def names(self) -> list[str]:
        return list(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable: spaces grow

    def __repr__(self) -> str:
        return "Space([" + ", ".join(p.describe() for p in self) + "])"

    def copy(self) -> Space:
        return Space(self._params.values())

    # -- activity and validation -----------------------------------------------------
    def is_active(self, name: str, config: Mapping[str, Value]) -> bool:
        param = self._params[name]
        return all(c.holds(config) and self.is_active(c.parent, config) for c in param.conditions)

    def active(self, config: Mapping[str, Value]) -> Config:
        """The sub-configuration of parameters active in ``config``."""
        return {n: v for n, v in config.items() if n in self._params and self.is_active(n, config)}

    def validate(self, config: Mapping[str, Value]) -> None:
        """Raise SpaceError unless every active parameter has a valid value."""
        for p in self:
            if not self.is_active(p.name, config):
                continue
            if p.name not in config:
                raise SpaceError(f"configuration has no value for active parameter {p.name!r}")
            if not p.contains(config[p.name]):
                raise SpaceError(
                    f"parameter {p.name!r}: {config[p.name]!r} is not a value of {p.describe()}"
                )

    def from_unit(self, point: Mapping[str, float]) -> Config:
        """Decode unit coordinates into an active configuration (in definition order)."""
        config: Config = {}
        for p in self:
            if p.name in point and all(c.holds(config) for c in p.conditions):
                config[p.name] = p.from_unit(point[p.name])
        return config

    def defaults(self) -> Config:
        config: Config = {}
        for p in self:
            if all(c.holds(config) for c in p.conditions):
                config[p.name] = p.default
        return config

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {p.name: p.to_dict() for p in self}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Space:
        """Build a space from ``{name: definition}`` (the YAML ``space:`` section).

        A definition is a dict with ``type`` (int, float, choice, boolean, fixed) and
        its fields; a bare list means a choice and a bare scalar a fixed value.
        """
        if not isinstance(spec, Mapping):
            raise SpaceError(f"a space must be a mapping of name -> definition, got {spec!r}")
        params = [param_from_dict(str(name), definition) for name, definition in spec.items()]
        space = cls()
        # Parents first, whatever order the mapping has (YAML dumpers sort keys).
        while params:
            ready = [p for p in params if all(c.parent in space for c in p.conditions)]
            if not ready:
                space.add(params[0])  # raises, naming the missing parent
            for p in ready:
                space.add(p)
            params = [p for p in params if p.name not in space]
        return space

    @classmethod
    def from_yaml(cls, source: str | Path) -> Space:
        """Load a space from a YAML file or YAML text (a top-level ``space:`` key is allowed)."""
        import yaml

        text = (
            Path(source).read_text()
            if isinstance(source, Path) or ("\n" not in str(source) and Path(str(source)).is_file())
            else str(source)
        )
        data = yaml.safe_load(text)
        if isinstance(data, Mapping) and "space" in data:
            data = data["space"]
        return cls.from_dict(data)


_TYPE_ALIASES = {
    "int": "int",
    "integer": "int",
    "float": "float",
    "real": "float",
    "choice": "choice",
    "categorical": "choice",
    "boolean": "boolean",
    "bool": "boolean",
    "fixed": "fixed",
    "constant": "fixed",
}


def _number(name: str, key: str, raw: object) -> float | int:
    # YAML 1.1 reads 1e-4 (no dot) as a string; accept it as a number here.
    if _is_number(raw):
        return raw  # type: ignore[return-value]
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    raise SpaceError(f"parameter {name!r}: {key} must be a number, got {raw!r}")


def _conditions_from(name: str, raw: object) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    items: list[tuple[str, object]] = []
    if isinstance(raw, Mapping):
        if set(raw) == {"parent", "values"}:
            items = [(str(raw["parent"]), raw["values"])]
        else:
            items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            items.extend((c.parent, list(c.values)) for c in _conditions_from(name, item))
    else:
        raise SpaceError(f"parameter {name!r}: condition must be {{parent: [values]}}, got {raw!r}")
    out = []
    for parent, values in items:
        vals = values if isinstance(values, list | tuple) else [values]
        out.append(Condition(parent, tuple(vals)))  # type: ignore[arg-type]
    return tuple(out)


def param_from_dict(name: str, definition: object) -> Param:
    """Build one parameter from its declarative form (see :meth:`Space.from_dict`)."""
    if isinstance(definition, list | tuple):
        return Choice(name, tuple(definition))
    if not isinstance(definition, Mapping):
        if _value_kind(definition) is not None:
            return Fixed(name, definition)  # type: ignore[arg-type]
        raise SpaceError(f"parameter {name!r}: cannot read definition {definition!r}")
    d = dict(definition)
    raw_type = str(d.pop("type", "")).lower()
    if raw_type not in _TYPE_ALIASES:
        if "values" in d:
            raw_type = "choice"
        elif "value" in d:
            raw_type = "fixed"
        else:
            raise SpaceError(
                f"parameter {name!r}: unknown type {raw_type!r}; use one of "
                "int, float, choice, boolean, fixed"
            )
    kind = _TYPE_ALIASES[raw_type]
    conditions = _conditions_from(name, d.pop("condition", d.pop("conditions", None)))
    default = d.pop("default", None)
    param: Param
    if kind in ("int", "float"):
        lo = d.pop("min", d.pop("min_value", d.pop("low", None)))
        hi = d.pop("max", d.pop("max_value", d.pop("high", None)))
        if lo is None or hi is None:
            raise SpaceError(f"parameter {name!r}: {kind} needs min and max")
        step = d.pop("step", None)
        sampling = str(d.pop("sampling", "log" if d.pop("log", False) else "linear")).lower()
        cls_: type[_Numeric] = Int if kind == "int" else Float
        param = cls_(
            name,
            min_value=_number(name, "min", lo),
            max_value=_number(name, "max", hi),
            step=None if step is None else _number(name, "step", step),
            sampling=sampling,  # type: ignore[arg-type]
            default_value=None if default is None else _number(name, "default", default),
        )
    elif kind == "choice":
        if "values" not in d:
            raise SpaceError(f"parameter {name!r}: choice needs values")
        param = Choice(
            name, tuple(d.pop("values")), ordered=d.pop("ordered", None), default_value=default
        )
    elif kind == "boolean":
        param = Boolean(name, default_value=default)
    else:
        if "value" not in d:
            raise SpaceError(f"parameter {name!r}: fixed needs value")
        param = Fixed(name, d.pop("value"))
    if d:
        raise SpaceError(f"parameter {name!r}: unknown field(s) {sorted(d)} for type {kind}")
    return param.with_conditions(conditions) if conditions else param


def param_from_spec(name: str, spec: Mapping[str, Any]) -> Param:
    """Inverse of :meth:`Param.to_dict` (the form stored with a study)."""
    return param_from_dict(name, spec)
