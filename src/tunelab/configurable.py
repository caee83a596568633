"""Constructor-configured components (searchers, schedulers): scikit-learn's rule.

Configuration is given to the constructor and kept in attributes of the same names,
so ``get_params()`` reads it back and a study can store ``spec()`` and rebuild the
component later. State that changes while searching lives elsewhere (``state_dict``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

from tunelab.errors import ConfigError


class Configurable:
    """Mixin giving ``get_params``, ``spec`` and a readable ``repr``."""

    name: ClassVar[str]

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, read back from same-named attributes."""
        out: dict[str, Any] = {}
        for cls in type(self).__mro__:
            if cls is object or "__init__" not in vars(cls):
                continue
            for p in inspect.signature(cls.__init__).parameters.values():  # type: ignore[misc]
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    out.setdefault(p.name, getattr(self, p.name))
        return out

    def spec(self) -> dict[str, Any]:
        """What a study stores to rebuild this component: registry name and options."""
        cls = type(self)
        return {
            "name": self.name,
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "options": self.get_params(),
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def load_registered(registry: Mapping[str, str], name: str, kind: str) -> type[Any]:
    """Import the class registered under ``name`` ("module:Class"), or raise ConfigError."""
    key = name.strip().lower()
    if key not in registry:
        raise ConfigError(f"unknown {kind} {name!r}; available: {', '.join(sorted(registry))}")
    module_name, class_name = registry[key].split(":")
    cls: type[Any] = getattr(importlib.import_module(module_name), class_name)
    return cls


def build_from_spec(
    spec: str | Mapping[str, Any],
    registry: Mapping[str, str],
    kind: str,
    defaults: Mapping[str, Any] | None = None,
) -> Any:
    """Build a component from a name or ``{"name": ..., "options": {...}}`` (options may
    also sit beside the name). ``defaults`` fill options the spec leaves unset or None."""
    class_path = None
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping):
        if "name" not in spec:
            raise ConfigError(f"a {kind} spec needs a 'name', got {dict(spec)!r}")
        name = str(spec["name"])
        options = dict(spec.get("options") or {})
        options.update({k: v for k, v in spec.items() if k not in ("name", "class", "options")})
        class_path = spec.get("class")
    else:
        raise ConfigError(f"{kind} must be a name, an instance or a mapping, got {spec!r}")
    if name.strip().lower() not in registry and isinstance(spec, Mapping) and class_path:
        # A user's own component, stored with its import path.
        module_name, _, qualname = str(class_path).partition(":")
        try:
            cls: type[Any] = importlib.import_module(module_name)  # type: ignore[assignment]
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot import {kind} {class_path!r}: {exc}") from None
    else:
        cls = load_registered(registry, name, kind)
    for key, value in (defaults or {}).items():
        if options.get(key) is None:
            options[key] = value
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"{kind} {name!r}: bad options {sorted(options)}: {exc}") from None
