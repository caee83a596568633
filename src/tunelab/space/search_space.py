"""The :class:`Space`: an ordered set of parameters, some conditional on others."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tunelab.errors import SpaceError
from tunelab.space.definitions import param_from_dict
from tunelab.space.params import Config, Param, Value


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
        if existing is param:
            return param
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
        known: dict[str, bool] = {}  # each parent's activity checked once, not per child

        def on(name: str) -> bool:
            found = known.get(name)
            if found is None:
                conditions = self._params[name].conditions
                found = known[name] = all(c.holds(config) and on(c.parent) for c in conditions)
            return found

        params = self._params
        return {n: v for n, v in config.items() if n in params and on(n)}

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
