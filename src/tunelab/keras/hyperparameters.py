"""Keras Tuner's ``HyperParameters`` over tunelab's define-by-run ``hp``.

The names and signatures are Keras Tuner's (``hp.Int``, ``hp.Float``, ``hp.Choice``,
``hp.Boolean``, ``hp.Fixed``, ``hp.conditional_scope``, ``hp.values``, ``hp.get``).
Inside a trial the object forwards every definition to the trial's own ``hp``, so the
values come from the study's searcher and are stored with the trial; first it applies
the tuner's :class:`EntryPolicy`: a parameter given in the tuner's ``hyperparameters=``
replaces the definition the model asks for, and parameters not given there are fixed
at their defaults (``tune_new_entries=False``) or refused (``allow_new_entries=False``).

Where tunelab's core space is stricter than Keras Tuner, this front end translates
definitions to Keras Tuner's rules (see :class:`HyperParameters`) and leaves the core
rules to tunelab's own API.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from tunelab.errors import ConfigError
from tunelab.hyperparameters import HyperParameters as TrialHyperParameters
from tunelab.space import (
    Boolean,
    Choice,
    Condition,
    Config,
    Fixed,
    Float,
    Int,
    Param,
    Space,
    Value,
)


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


_ALIAS_MARK = "?"
"""Separates a name from the conditions of a second conditional definition of it
(``units?model=b``): Keras Tuner keeps one entry per (name, conditions), tunelab's space
one per name, so the front end stores later branches under these names."""

_warned: set[tuple[str, str]] = set()


def _warn_once(name: str, topic: str, message: str) -> None:
    if (name, topic) not in _warned:
        _warned.add((name, topic))
        warnings.warn(message, UserWarning, stacklevel=4)


def user_name(core_name: str) -> str:
    """The name a model gave a parameter stored under ``core_name``."""
    return core_name.partition(_ALIAS_MARK)[0]


def _alias(name: str, conditions: tuple[Condition, ...]) -> str:
    text = "&".join(f"{c.parent}={','.join(str(v) for v in c.values)}" for c in conditions)
    return f"{name}{_ALIAS_MARK}{text}"


def _as_values(values: Value | Iterable[Value]) -> tuple[Value, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        return (values,)  # type: ignore[return-value]
    return tuple(values)


def _numeric(
    cls: type[Int] | type[Float],
    name: str,
    min_value: float,
    max_value: float,
    step: float | None,
    sampling: str | None,
    default: float | None,
) -> Param:
    """A core Int/Float with Keras Tuner's rules: ``sampling=None`` is linear,
    ``reverse_log`` on an unstepped Float is denser near ``max_value`` (the core's
    reverse_log); on an Int or a stepped Float it is sampled linearly over the same
    values, and a step that does not reach ``max_value`` exactly ends the range at
    the last value ``min_value + k*step`` (log: ``min_value * step**k``) below it."""
    mode = "linear" if sampling is None else str(sampling).lower()
    if mode == "reverse_log" and (cls is Int or step is not None):
        _warn_once(
            name,
            "reverse_log",
            f"hp.{cls.__name__}({name!r}): sampling='reverse_log' on an Int or a stepped "
            "Float is sampled linearly over the same values by tunelab (only the density "
            "differs)",
        )
        mode = "linear"
    hi = max_value
    if step is not None and _is_number(step) and _is_number(min_value) and _is_number(max_value):
        hi = _last_value(min_value, max_value, step, mode)
        if hi != max_value:
            _warn_once(
                name,
                "step",
                f"hp.{cls.__name__}({name!r}): step {step} does not reach max_value "
                f"{max_value} from {min_value}; the values end at {hi} (Keras Tuner's rule)",
            )
    if cls is Int:
        return Int(name, min_value, hi, step, mode, default)  # type: ignore[arg-type]
    return Float(name, min_value, hi, step, mode, default)  # type: ignore[arg-type]


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _last_value(lo: float, hi: float, step: float, mode: str) -> float:
    """The largest ``lo + k*step`` (log: ``lo * step**k``) that is at most ``hi``; ``hi``
    itself when it is one (within rounding), so a dividing step changes nothing."""
    if hi <= lo:
        return hi
    if mode == "linear" and step > 0:
        n = (hi - lo) / step
        if abs(n - round(n)) <= 1e-9 * max(1.0, n):
            return hi
        last = lo + math.floor(n) * step
    elif mode == "log" and step > 1 and lo > 0:
        n = math.log(hi / lo) / math.log(step)
        if abs(n - round(n)) <= 1e-6:
            return hi
        last = lo * step ** math.floor(n)
    else:
        return hi  # the core reports the bad step
    if isinstance(lo, int) and isinstance(step, int):
        return int(last)
    return float(f"{last:.12g}")  # lo + k*step carries binary noise (0.1*3)


class _Values(MutableMapping[str, Any]):
    """``hp.values``: the active values by the names the model gave, read and written
    live (``hp.values["u"] = 96`` makes ``hp.get("u")`` 96, as in Keras Tuner)."""

    def __init__(self, owner: HyperParameters) -> None:
        self._owner = owner

    def _core(self) -> dict[str, Value]:
        # The trial hp's own dict: writing to it is what makes the view live.
        return self._owner._hp._values

    def _key(self, name: str) -> str | None:
        core = self._core()
        if name in core:
            return name
        return next((k for k in core if user_name(k) == name), None)

    def __getitem__(self, name: str) -> Any:
        key = self._key(name)
        if key is None:
            raise KeyError(name)
        return self._core()[key]

    def __setitem__(self, name: str, value: Any) -> None:
        self._core()[self._key(name) or name] = value

    def __delitem__(self, name: str) -> None:
        key = self._key(name)
        if key is None:
            raise KeyError(name)
        del self._core()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(user_name(k) for k in list(self._core())))

    def __len__(self) -> int:
        return len(dict.fromkeys(user_name(k) for k in self._core()))

    def __repr__(self) -> str:
        return repr(dict(self))


class HyperParameters:
    """Keras Tuner's ``HyperParameters``. ``HyperParameters()`` stands alone (every
    parameter takes its default) and can be given to a tuner as ``hyperparameters=`` to
    override or fix parameters; tuners hand ``build_model`` one bound to the trial.

    Keras Tuner's rules where tunelab's core is stricter: a step that does not divide
    the range ends it at the last step below ``max_value``; ``sampling=None`` is linear;
    ``"reverse_log"`` is denser near ``max_value`` on an unstepped Float and linear on an
    Int or a stepped Float (a one-time warning wherever a rule changes something); one
    name defined in several conditional scopes is one parameter per scope, read by that
    name in whichever scope is active.
    """

    def __init__(self) -> None:
        self._hp = TrialHyperParameters()
        self._policy: EntryPolicy | None = None
        self._names: list[str] = []
        self._conditions: list[Condition] = []

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
        sampling: str | None = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        param = _numeric(Int, self._full(name), min_value, max_value, step, sampling, default)
        return self._define(param, parent_name, parent_values)

    def Float(  # noqa: N802
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str | None = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        param = _numeric(Float, self._full(name), min_value, max_value, step, sampling, default)
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
        param = Choice(self._full(name), tuple(values), ordered, default)
        return self._define(param, parent_name, parent_values)

    def Boolean(  # noqa: N802
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        param = Boolean(self._full(name), default_value=default)
        return self._define(param, parent_name, parent_values)

    def Fixed(  # noqa: N802
        self,
        name: str,
        value: Value,
        parent_name: str | None = None,
        parent_values: Sequence[Value] | None = None,
    ) -> Any:
        return self._define(Fixed(self._full(name), value), parent_name, parent_values)

    @contextmanager
    def conditional_scope(
        self, parent_name: str, parent_values: Value | Iterable[Value]
    ) -> Iterator[None]:
        """Parameters defined inside are active only while the parent takes one of the values."""
        parent = self._parent(parent_name)
        with self._hp.conditional_scope(parent, parent_values):
            self._conditions.append(Condition(parent, _as_values(parent_values)))
            try:
                yield
            finally:
                self._conditions.pop()

    @contextmanager
    def name_scope(self, name: str) -> Iterator[None]:
        """Parameters defined inside are named ``name/...`` (nested scopes join with "/")."""
        self._names.append(name)
        try:
            yield
        finally:
            self._names.pop()

    def _full(self, name: str) -> str:
        return "/".join([*self._names, name])

    def _parent(self, name: str) -> str:
        full = self._full(name)
        return full if full in self else name

    def _define(
        self, param: Param, parent_name: str | None, parent_values: Sequence[Value] | None
    ) -> Any:
        conditions = list(self._conditions)
        if parent_name is not None:
            parent_name = self._parent(parent_name)
            if parent_values is not None:
                conditions.append(Condition(parent_name, _as_values(parent_values)))
        core_name = self._core_name(param.name, tuple(conditions))
        if core_name in self._hp.space:
            # Keras Tuner's rule: the first definition of a name (in these conditions)
            # wins; later ones read its value, whatever range they give.
            return self._hp.get(core_name)
        if self._policy is not None:
            param = self._policy.apply(param)
        if core_name != param.name:
            param = replace(param, name=core_name)
        return define(self._hp, param, parent_name, parent_values)

    def _core_name(self, name: str, conditions: tuple[Condition, ...]) -> str:
        """Where the definition of ``name`` under ``conditions`` is stored: the name
        itself, unless it is already stored under other conditions."""
        for param in self._hp.space:
            if user_name(param.name) == name and param.conditions == conditions:
                return param.name
        return name if name not in self._hp.space else _alias(name, conditions)

    # -- reading ----------------------------------------------------------------------------
    @property
    def values(self) -> MutableMapping[str, Any]:
        """The active parameters' values by name; assigning to it changes them."""
        return _Values(self)

    def get(self, name: str) -> Any:
        """The value of a parameter (None when inactive); KeyError if undefined."""
        for candidate in dict.fromkeys([self._full(name), name]):
            if candidate in self.values:
                return self.values[candidate]
        for candidate in dict.fromkeys([self._full(name), name]):
            stored = [p.name for p in self._hp.space if user_name(p.name) == candidate]
            for core_name in stored:
                value = self._hp.get(core_name)
                if value is not None:
                    return value
            if stored:
                return None
        raise KeyError(f"hyperparameter {name!r} is not defined")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._hp or any(user_name(p.name) == name for p in self._hp.space)

    def is_active(self, name: str) -> bool:
        return name in self.values

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

    # -- copying and merging ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The space (tunelab's declarative form) and the values; see :meth:`from_config`."""
        return {"space": self._hp.space.to_dict(), "values": dict(self._hp.values)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HyperParameters:
        """The object :meth:`get_config` describes (values included)."""
        out = cls()
        out._hp = TrialHyperParameters(space=Space.from_dict(config.get("space", {})))
        out._hp._values.update(config.get("values", {}))
        return out

    def copy(self) -> HyperParameters:
        """An independent copy (space and values)."""
        return type(self).from_config(self.get_config())

    def merge(self, other: HyperParameters | Iterable[Param], overwrite: bool = True) -> None:
        """Add ``other``'s parameters (a HyperParameters or a list of Params) to this
        one; with ``overwrite``, its values replace these for names both define."""
        params = list(other.space) if isinstance(other, HyperParameters) else list(other)
        values = other._hp.values if isinstance(other, HyperParameters) else {}
        for param in params:
            if param.name in self._hp.space and not overwrite:
                continue
            if param.name not in self._hp.space:
                self._hp.space.add(param)
            if param.name in values and (overwrite or param.name not in self._hp.values):
                self._hp._values[param.name] = values[param.name]
            elif param.name not in self._hp.values:
                self._hp.get(param.name)

    def __repr__(self) -> str:
        return f"HyperParameters(values={dict(self.values)!r})"


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
