"""What a comparison is: a task, strategies, repeats and one budget for every run.

The YAML form ``tunelab compare`` reads (``tl.compare`` takes the same fields)::

    name: digits                      # default: the file's stem; studies are NAME/STRATEGY/REPEAT
    storage: sqlite:///tunelab.db     # default: tunelab.db in the working directory
    task: digits_mlp                  # a built-in task, or module:Class / file.py:Class (a Task)
    task_options: {epochs: 27, seed: 0}
    repeats: 10
    seed: 0                           # repeat r of every strategy runs with seed + r
    budget: {epochs: 300}             # exactly one: epochs (total per run), trials (each
                                      # trained for the task's epochs), or seconds
    final_evaluation: true            # retrain each run's best on train+val, score on test
    max_consecutive_failures: 5       # a run stops (failed) after this many failed trials in a row
    executor: inline                  # or {name: processes, n_workers: 2}; runs stay sequential
    strategies:
      - random                        # shorthand: that searcher with the fifo scheduler
      - {name: sobol, searcher: sobol}
      - name: hyperband
        searcher: random
        scheduler: {name: hyperband, max_epochs: 27, eta: 3}
    report:                           # read by `tunelab report`
      output: reports/digits          # default: reports/NAME
      primary: test                   # the score the conclusion ranks by: test or validation
      test_metric: test_accuracy      # default: the task metric with val_ -> test_
      alpha: 0.05                     # significance level of the Holm-corrected tests
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunelab.budget import Budget
from tunelab.config import check_keys, read_yaml_settings
from tunelab.errors import ConfigError
from tunelab.tasks.base import Task

BudgetKind = Literal["epochs", "trials", "seconds"]
BUDGET_KINDS: tuple[BudgetKind, ...] = ("epochs", "trials", "seconds")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")
_TOP_KEYS = {
    "name",
    "storage",
    "task",
    "task_options",
    "repeats",
    "seed",
    "budget",
    "final_evaluation",
    "max_consecutive_failures",
    "executor",
    "strategies",
    "report",
}
_STRATEGY_KEYS = {"name", "searcher", "scheduler"}
_REPORT_KEYS = {"output", "primary", "test_metric", "alpha"}


@dataclass(frozen=True)
class ComparisonBudget:
    """One budget for every run: total epochs, trials (at the task's epochs) or seconds."""

    kind: BudgetKind
    amount: float

    def __post_init__(self) -> None:
        if self.kind not in BUDGET_KINDS:
            raise ConfigError(f"budget kind must be one of {BUDGET_KINDS}, got {self.kind!r}")
        self.as_study_budget()  # validates the amount with the study's own rules

    @classmethod
    def parse(cls, raw: Any) -> ComparisonBudget:
        if isinstance(raw, ComparisonBudget):
            return raw
        if not isinstance(raw, Mapping) or len(raw) != 1:
            raise ConfigError(
                "budget must name exactly one of epochs, trials or seconds, "
                f"like {{epochs: 300}}; got {raw!r}"
            )
        ((kind, amount),) = raw.items()
        if kind not in BUDGET_KINDS:
            raise ConfigError(f"unknown budget {kind!r}; use one of {', '.join(BUDGET_KINDS)}")
        return cls(kind, amount)

    def as_study_budget(self) -> Budget:
        try:
            if self.kind == "epochs":
                return Budget(max_epochs=self.amount)  # type: ignore[arg-type]
            if self.kind == "trials":
                return Budget(max_trials=self.amount)  # type: ignore[arg-type]
            return Budget(max_seconds=self.amount)
        except ConfigError as exc:
            raise ConfigError(f"budget: {exc}") from None

    def to_dict(self) -> dict[str, float]:
        return {self.kind: self.amount}

    def describe(self) -> str:
        amount = f"{self.amount:g}"
        if self.kind == "trials":
            return f"{amount} trials per run (each at the task's epochs)"
        return f"{amount} {self.kind} per run"


def _component_name(spec: Any, kind: str, strategy: str) -> str:
    if isinstance(spec, str) and spec.strip():
        return spec.strip()
    if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        return str(spec["name"])
    raise ConfigError(
        f"strategy {strategy!r}: {kind} must be a name or a mapping with a 'name', got {spec!r}"
    )


@dataclass(frozen=True)
class Strategy:
    """A named searcher + scheduler pair (each a name or ``{name: ..., options...}``)."""

    name: str
    searcher: str | dict[str, Any] = "random"
    scheduler: str | dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(
                f"strategy name {self.name!r} must start with a letter or digit and hold only "
                "letters, digits, '_', '.', '+' and '-'"
            )
        _component_name(self.searcher, "searcher", self.name)
        if self.scheduler is not None:
            _component_name(self.scheduler, "scheduler", self.name)
        if isinstance(self.searcher, Mapping):
            options = {**(self.searcher.get("options") or {}), **self.searcher}
            if options.get("seed") is not None:
                raise ConfigError(
                    f"strategy {self.name!r}: do not set a searcher seed; repeat r of every "
                    "strategy runs with the comparison's seed + r"
                )

    @property
    def searcher_name(self) -> str:
        return _component_name(self.searcher, "searcher", self.name)

    @property
    def scheduler_name(self) -> str:
        if self.scheduler is None:
            return "fifo"
        return _component_name(self.scheduler, "scheduler", self.name)

    def definition(self) -> dict[str, Any]:
        """The plain-data form stored with every run (and compared on resume)."""
        return {"name": self.name, "searcher": self.searcher, "scheduler": self.scheduler}

    @classmethod
    def parse(cls, raw: Any) -> Strategy:
        if isinstance(raw, Strategy):
            return raw
        if isinstance(raw, str):
            return cls(name=raw.strip(), searcher=raw.strip())
        if not isinstance(raw, Mapping):
            raise ConfigError(f"a strategy is a searcher name or a mapping, got {raw!r}")
        check_keys(raw, _STRATEGY_KEYS, f"strategy {raw.get('name', dict(raw))!r}")
        searcher = raw.get("searcher", "random")
        scheduler = raw.get("scheduler")
        name = raw.get("name")
        if name is None:
            name = _component_name(searcher, "searcher", "?")
            if scheduler is not None and _component_name(scheduler, "scheduler", name) != "fifo":
                name += "+" + _component_name(scheduler, "scheduler", name)
        return cls(
            name=str(name),
            searcher=dict(searcher) if isinstance(searcher, Mapping) else searcher,
            scheduler=dict(scheduler) if isinstance(scheduler, Mapping) else scheduler,
        )


@dataclass(frozen=True)
class ReportSettings:
    """How ``tunelab report`` reads the numbers (no effect on the runs themselves)."""

    output: str | None = None
    primary: Literal["test", "validation"] | None = None
    test_metric: str | None = None
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.primary not in (None, "test", "validation"):
            raise ConfigError(f"report.primary must be test or validation, got {self.primary!r}")
        if (
            isinstance(self.alpha, bool)
            or not isinstance(self.alpha, int | float)
            or not 0 < self.alpha < 1
        ):
            raise ConfigError(f"report.alpha must be a number in (0, 1), got {self.alpha!r}")

    @classmethod
    def parse(cls, raw: Any) -> ReportSettings:
        if raw is None:
            return cls()
        if isinstance(raw, ReportSettings):
            return raw
        return cls(**dict(check_keys(raw, _REPORT_KEYS, "report")))

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "primary": self.primary,
            "test_metric": self.test_metric,
            "alpha": self.alpha,
        }


@dataclass(frozen=True)
class ComparisonConfig:
    """A validated comparison. Build it with :meth:`from_dict` or :func:`load_compare_config`."""

    name: str
    task: str | Task
    strategies: tuple[Strategy, ...]
    budget: ComparisonBudget
    repeats: int = 5
    seed: int = 0
    task_options: dict[str, Any] = field(default_factory=dict)
    storage: str | None = None
    final_evaluation: bool = True
    max_consecutive_failures: int = 5
    executor: str | dict[str, Any] = "inline"
    report: ReportSettings = field(default_factory=ReportSettings)
    base_dir: Path = Path()
    """Where a ``file.py:Class`` task path is looked up (the YAML file's folder)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(
                f"comparison name {self.name!r} must start with a letter or digit and hold only "
                "letters, digits, '_', '.', '+' and '-'"
            )
        if not isinstance(self.task, str | Task) or (isinstance(self.task, str) and not self.task):
            raise ConfigError(f"task must be a task name or a Task, got {self.task!r}")
        if isinstance(self.task, Task) and self.task_options:
            raise ConfigError("task_options apply to a task given by name, not to a Task instance")
        for key, value, low in (
            ("repeats", self.repeats, 1),
            ("seed", self.seed, 0),
            ("max_consecutive_failures", self.max_consecutive_failures, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")
        if not self.strategies:
            raise ConfigError("a comparison needs at least one strategy")
        names = [s.name for s in self.strategies]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"strategy names must be unique; repeated: {', '.join(duplicates)}")

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        default_name: str | None = None,
        where: str = "comparison",
        base_dir: Path = Path(),
    ) -> ComparisonConfig:
        """Check a mapping in the YAML form; errors say ``where`` and name the bad key."""
        check_keys(data, _TOP_KEYS, where)
        for required in ("task", "strategies", "budget"):
            if required not in data:
                raise ConfigError(f"{where}: '{required}' is required")
        raw_strategies = data["strategies"]
        if not isinstance(raw_strategies, Sequence) or isinstance(raw_strategies, str):
            raise ConfigError(f"{where}: strategies must be a list")
        task_options = data.get("task_options") or {}
        if not isinstance(task_options, Mapping):
            raise ConfigError(f"{where}: task_options must be a mapping")
        executor = data.get("executor", "inline")
        try:
            return cls(
                name=str(data.get("name") or default_name or "comparison"),
                task=data["task"],
                strategies=tuple(Strategy.parse(s) for s in raw_strategies),
                budget=ComparisonBudget.parse(data["budget"]),
                repeats=data.get("repeats", 5),
                seed=data.get("seed", 0),
                task_options=dict(task_options),
                storage=data.get("storage"),
                final_evaluation=bool(data.get("final_evaluation", True)),
                max_consecutive_failures=data.get("max_consecutive_failures", 5),
                executor=dict(executor) if isinstance(executor, Mapping) else executor,
                report=ReportSettings.parse(data.get("report")),
                base_dir=base_dir,
            )
        except (ConfigError, TypeError) as exc:
            raise ConfigError(f"{where}: {exc}") from None

    # -- naming ------------------------------------------------------------------------
    def run_seed(self, repeat: int) -> int:
        """Repeat r of every strategy uses the same seed, so repeats are matched by seed."""
        return self.seed + repeat

    def study_name(self, strategy: str, repeat: int) -> str:
        return study_name(self.name, strategy, repeat)

    @property
    def task_name(self) -> str:
        if isinstance(self.task, Task):
            cls = type(self.task)
            return getattr(self.task, "name", None) or f"{cls.__module__}:{cls.__qualname__}"
        return self.task

    @property
    def effective_task_options(self) -> dict[str, Any]:
        return self.task.options() if isinstance(self.task, Task) else dict(self.task_options)


def study_name(comparison: str, strategy: str, repeat: int) -> str:
    """The study of one run: ``COMPARISON/STRATEGY/REPEAT``."""
    return f"{comparison}/{strategy}/{repeat}"


def load_compare_config(path: str | Path) -> ComparisonConfig:
    """Read and check a comparison YAML file; errors name the file and the bad key."""
    path = Path(path)
    data = read_yaml_settings(path)
    return ComparisonConfig.from_dict(
        data, default_name=path.stem, where=str(path), base_dir=path.resolve().parent
    )
