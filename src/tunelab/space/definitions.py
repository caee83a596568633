"""Parameters from their declarative form: the YAML ``space:`` section and what a study
stores (:meth:`Param.to_dict`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.errors import SpaceError
from tunelab.space.categorical import Boolean, Choice, Fixed, _value_kind
from tunelab.space.numeric import Float, Int, _Numeric
from tunelab.space.params import Condition, Param, _is_number

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
