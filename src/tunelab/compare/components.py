"""What a comparison needs to exist before it runs: its task and its strategies.

A strategy whose searcher or scheduler is not registered in this tunelab (or cannot be
imported, a missing optional dependency say) is *unavailable*: it is reported with the
reason and never replaced by something else. Options a registered component rejects
are a configuration error, raised before any run starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab.compare.config import Strategy
from tunelab.errors import ConfigError
from tunelab.tasks.base import Task


@dataclass(frozen=True)
class Availability:
    """Whether a strategy can run here, and why not."""

    available: bool
    reason: str | None = None


def _registered(spec: Any, registry: Mapping[str, str]) -> bool:
    if isinstance(spec, Mapping) and spec.get("class"):
        return True  # a user's own component, imported from its path
    name = spec if isinstance(spec, str) else spec.get("name", "")
    return str(name).strip().lower() in registry


def check_strategy(strategy: Strategy) -> Availability:
    """Build the strategy's searcher and scheduler once to see that they exist here."""
    from tunelab.schedulers import SCHEDULERS, make_scheduler
    from tunelab.searchers import SEARCHERS, make_searcher

    checks: list[tuple[str, str, Any, Mapping[str, str], Any]] = [
        ("searcher", strategy.searcher_name, strategy.searcher, SEARCHERS, make_searcher),
        ("scheduler", strategy.scheduler_name, strategy.scheduler, SCHEDULERS, make_scheduler),
    ]
    for kind, name, spec, registry, make in checks:
        if spec is not None and not _registered(spec, registry):
            return Availability(
                False,
                f"{kind} {name!r} is not in this tunelab (registered {kind}s: "
                f"{', '.join(sorted(registry))})",
            )
        try:
            make(spec)
        except ImportError as exc:
            return Availability(False, f"{kind} {name!r} cannot be imported here: {exc}")
        except ConfigError as exc:
            raise ConfigError(f"strategy {strategy.name!r}: {exc}") from None
    return Availability(True)


def resolve_task(task: str | Task, options: Mapping[str, Any], base_dir: Path = Path()) -> Task:
    """The task to compare on: a Task instance, a built-in name, or a Task subclass given
    as ``module:Class`` or ``file.py:Class`` (relative to ``base_dir``) built with
    ``options``."""
    if isinstance(task, Task):
        return task
    from tunelab.tasks import TASKS, make_task

    if task in TASKS or ":" not in task:
        return make_task(task, **options)
    from tunelab.config import import_objective

    cls = import_objective(task, base_dir)
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ConfigError(f"task {task!r} is not a tunelab Task subclass")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"task {task!r}: bad options {sorted(options)}: {exc}") from None
