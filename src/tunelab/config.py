"""The YAML file ``tunelab run`` reads: what to tune, how, with which budget, stored where.

study: digits-sobol               # name in the storage (resumed if it exists)
storage: sqlite:///tunelab.db     # default: tunelab.db in the working directory
task: digits_mlp                  # a built-in task, or:
# objective: my_module:objective  # an importable function (module or file.py path)
task_options: {epochs: 20}
metric: val_accuracy              # default: the task's
mode: max
searcher: sobol                   # or {name: grid, points: 5}
scheduler: fifo
seed: 0
budget: {max_trials: 20}          # and/or max_epochs, max_seconds
executor: inline                  # or processes / ray, or {name: processes, threads_per_trial: 1}
n_workers: 2                      # for processes / ray
max_retries: 0                    # rerun failed trials from their last checkpoint
space:                            # optional declared parameters
  x: {type: float, min: -5, max: 10}
final_evaluation: true            # retrain the best on train+val, score on test
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab.budget import Budget
from tunelab.errors import ConfigError

_KEYS = {
    "study",
    "storage",
    "task",
    "task_options",
    "objective",
    "metric",
    "mode",
    "searcher",
    "scheduler",
    "seed",
    "budget",
    "space",
    "final_evaluation",
    "executor",
    "n_workers",
    "max_retries",
}


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration."""

    study: str
    budget: Budget
    storage: str | None = None
    task: str | None = None
    task_options: dict[str, Any] = field(default_factory=dict)
    objective: str | None = None
    metric: str | None = None
    mode: str | None = None
    searcher: str | dict[str, Any] = "random"
    scheduler: str | dict[str, Any] | None = None
    seed: int | None = None
    space: dict[str, Any] | None = None
    final_evaluation: bool = False
    executor: str | dict[str, Any] = "inline"
    n_workers: int | None = None
    max_retries: int = 0
    base_dir: Path = Path()


def read_yaml_settings(path: Path) -> Mapping[str, Any]:
    """The mapping a YAML settings file holds; errors name the file."""
    import yaml

    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return check_keys(data, None, str(path))


def check_keys(data: Any, known: set[str] | None, where: str) -> Mapping[str, Any]:
    """``data`` as a mapping whose keys are all ``known`` (any keys when None)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    unknown = set(data) - known if known is not None else set()
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known or ())}"
        )
    return data


def load_run_config(path: str | Path) -> RunConfig:
    """Read and check a run configuration; errors name the file and the bad key."""
    path = Path(path)
    data = check_keys(read_yaml_settings(path), _KEYS, str(path))
    if ("task" in data) == ("objective" in data):
        raise ConfigError(f"{path}: give exactly one of 'task' or 'objective'")
    budget_raw = data.get("budget") or {}
    if not isinstance(budget_raw, Mapping):
        raise ConfigError(f"{path}: budget must be a mapping like {{max_trials: 20}}")
    unknown_budget = set(budget_raw) - {"max_trials", "max_epochs", "max_seconds"}
    if unknown_budget:
        raise ConfigError(f"{path}: unknown budget key(s) {sorted(unknown_budget)}")
    try:
        budget = Budget(**budget_raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: budget: {exc}") from None
    task_options = data.get("task_options") or {}
    if not isinstance(task_options, Mapping):
        raise ConfigError(f"{path}: task_options must be a mapping")
    mode = data.get("mode")
    if mode is not None and mode not in ("min", "max"):
        raise ConfigError(f"{path}: mode must be 'min' or 'max', got {mode!r}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"{path}: seed must be an integer, got {seed!r}")
    study = data.get("study") or path.stem
    return RunConfig(
        study=str(study),
        budget=budget,
        storage=data.get("storage"),
        task=data.get("task"),
        task_options=dict(task_options),
        objective=data.get("objective"),
        metric=data.get("metric"),
        mode=mode,
        searcher=data.get("searcher", "random"),
        scheduler=data.get("scheduler"),
        seed=seed,
        space=data.get("space"),
        final_evaluation=bool(data.get("final_evaluation", False)),
        executor=_executor_spec(path, data.get("executor", "inline")),
        n_workers=_positive_int(path, "n_workers", data.get("n_workers")),
        max_retries=_positive_int(path, "max_retries", data.get("max_retries"), zero=True) or 0,
        base_dir=path.resolve().parent,
    )


def _executor_spec(path: Path, raw: object) -> str | dict[str, Any]:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping) and "name" in raw:
        return dict(raw)
    raise ConfigError(f"{path}: executor must be a name or {{name: ..., options...}}, got {raw!r}")


def _positive_int(path: Path, key: str, raw: object, *, zero: bool = False) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < (0 if zero else 1):
        bound = "a non-negative" if zero else "a positive"
        raise ConfigError(f"{path}: {key} must be {bound} integer, got {raw!r}")
    return raw


def _import_file(file: Path) -> Any:
    """Import a .py file as the module its name says, with its folder on sys.path, so
    worker processes (which start with this sys.path) can import it by name too."""
    folder, name = str(file.parent), file.stem
    existing = sys.modules.get(name)
    if existing is not None:
        if Path(getattr(existing, "__file__", "") or "").resolve() == file:
            return existing
        # Another module already has that name: load this one under a private name
        # (it then works inline, not in worker processes).
        spec = importlib.util.spec_from_file_location(f"tunelab_objective_{name}", file)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot import {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {file}: {exc}") from None


def import_objective(reference: str, base_dir: Path = Path()) -> Callable[..., Any]:
    """Import ``module:function`` or ``path/to/file.py:function`` (relative to ``base_dir``)."""
    if ":" not in reference:
        raise ConfigError(
            f"objective {reference!r} must look like 'module:function' or 'file.py:function'"
        )
    target, _, attr = reference.rpartition(":")
    if target.endswith(".py"):
        file = Path(target)
        if not file.is_absolute():
            file = base_dir / file
        if not file.is_file():
            raise ConfigError(f"objective file {file} does not exist")
        module = _import_file(file.resolve())
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"cannot import objective module {target!r}: {exc}") from None
    objective = getattr(module, attr, None)
    if not callable(objective):
        raise ConfigError(f"{target!r} has no callable {attr!r}")
    return objective
