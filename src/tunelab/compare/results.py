"""A comparison as stored: read back from storage alone, never by running anything.

Each run is a study named ``COMPARISON/STRATEGY/REPEAT`` whose study attributes say
what it is (``RUN_KEY``), what the comparison was when it last ran (``MANIFEST_KEY``),
when its ``optimize`` sessions started (``SESSIONS_KEY``) and, once it has ended, its
result (``RESULT_KEY``: the best trial, its retrained test score, or the error).
Everything else (traces, epochs, trials, wall time) is read from its trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunelab.compare.config import ComparisonBudget
from tunelab.compare.trace import AnytimeTrace, Session, anytime_trace
from tunelab.errors import ConfigError, StudyNotFoundError
from tunelab.storage import Storage, StudyRecord, make_storage
from tunelab.trial import TrialRecord, TrialStatus

RUN_KEY = "tunelab.compare.run"
MANIFEST_KEY = "tunelab.compare.manifest"
SESSIONS_KEY = "tunelab.compare.sessions"
RESULT_KEY = "tunelab.compare.result"

FULL_BUDGET = 0.95
"""A strategy whose finished runs used less than this share of the budget did not run
at the comparison's budget: the report says so instead of calling the budgets equal."""

RunStatus = Literal["finished", "failed", "incomplete"]
StrategyStatus = Literal["ok", "partial", "failed", "unavailable", "not run"]


@dataclass(frozen=True)
class RunResult:
    """One (strategy, repeat) run."""

    strategy: str
    repeat: int
    seed: int
    study_name: str
    status: RunStatus
    trace: AnytimeTrace
    epochs: int
    wall_seconds: float
    trials_run: int
    stopped_early: int
    failed_trials: int
    error: str | None = None
    traceback: str | None = None
    best_trial: TrialRecord | None = None
    validation_value: float | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    final_epochs: int | None = None
    final_seconds: float | None = None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.best_trial.params) if self.best_trial is not None else {}

    def budget_used(self, budget: Mapping[str, float]) -> float:
        """What this run used of the comparison's budget, in the budget's unit (epochs,
        trials counted toward the budget, or wall seconds)."""
        ((kind, _),) = budget.items()
        if kind == "epochs":
            return float(self.epochs)
        if kind == "trials":
            return float(self.trials_run)
        return float(self.wall_seconds)

    def test_value(self, metric: str | None) -> float | None:
        if metric is None:
            return None
        value = self.test_metrics.get(metric)
        return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class BudgetUse:
    """How much of the budget a strategy's finished runs used: the median amount and
    the lowest share of any run (a run that stopped short lowers it)."""

    strategy: str
    kind: str
    amount: float
    median_used: float
    lowest_fraction: float

    @property
    def fraction(self) -> float:
        return self.median_used / self.amount if self.amount > 0 else 1.0

    @property
    def full(self) -> bool:
        """Whether every finished run used at least :data:`FULL_BUDGET` of the budget."""
        return self.lowest_fraction >= FULL_BUDGET

    def describe(self) -> str:
        """``214/300 epochs (71%)``, with the lowest run's share when runs differ."""
        text = f"{self.median_used:g}/{self.amount:g} {self.kind} ({self.fraction:.0%})"
        if round(self.lowest_fraction, 2) < round(self.fraction, 2):
            text += f", lowest run {self.lowest_fraction:.0%}"
        return text


@dataclass(frozen=True)
class StrategyResult:
    """A strategy's runs, and whether it could run at all."""

    name: str
    definition: dict[str, Any]
    available: bool
    reason: str | None
    runs: tuple[RunResult, ...]
    repeats: int

    @property
    def finished(self) -> list[RunResult]:
        return [r for r in self.runs if r.status == "finished"]

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.runs if r.status == "failed"]

    @property
    def status(self) -> StrategyStatus:
        if not self.available and not self.runs:
            return "unavailable"
        if self.finished:
            return "ok" if len(self.finished) == self.repeats else "partial"
        if self.failed:
            return "failed"
        return "not run"

    @property
    def first_error(self) -> str | None:
        for run in self.failed:
            return run.error
        return None


@dataclass(frozen=True)
class ComparisonResults:
    """Everything a report needs, read from the storage."""

    name: str
    storage_url: str
    manifest: dict[str, Any]
    metric: str
    mode: Literal["min", "max"]
    strategies: tuple[StrategyResult, ...]

    @property
    def repeats(self) -> int:
        return int(self.manifest["repeats"])

    @property
    def budget(self) -> dict[str, float]:
        return dict(self.manifest["budget"])

    def budget_use(self) -> list[BudgetUse]:
        """Budget used by each strategy with finished runs, in strategy order."""
        ((kind, amount),) = self.budget.items()
        out = []
        for s in self.strategies:
            used = sorted(r.budget_used(self.budget) for r in s.finished)
            if not used:
                continue
            middle = len(used) // 2
            median = used[middle] if len(used) % 2 else (used[middle - 1] + used[middle]) / 2
            lowest = used[0] / amount if amount > 0 else 1.0
            out.append(BudgetUse(s.name, kind, float(amount), median, lowest))
        return out

    def under_budget(self) -> list[str]:
        """Strategies a finished run of which used under :data:`FULL_BUDGET` of the budget."""
        return [u.strategy for u in self.budget_use() if not u.full]

    def budget_statement(self) -> str:
        """One sentence on the budget: the same for every strategy only when each used at
        least :data:`FULL_BUDGET` of it; otherwise which strategies used less."""
        ((kind, amount),) = self.budget.items()
        budget = ComparisonBudget(kind, amount).describe()  # type: ignore[arg-type]
        under = [u for u in self.budget_use() if not u.full]
        if not under:
            return (
                f"Budget: {budget}, the same for every strategy (each used at least "
                f"{FULL_BUDGET:.0%} of it)."
            )
        listed = "; ".join(f"{u.strategy} used {u.describe()}" for u in under)
        return (
            f"Budget: {budget}, but the budgets were NOT equal: {listed} "
            f"(under {FULL_BUDGET:.0%} of the budget)."
        )

    @property
    def report_settings(self) -> dict[str, Any]:
        return dict(self.manifest.get("report") or {})

    @property
    def runs(self) -> list[RunResult]:
        return [r for s in self.strategies for r in s.runs]

    def strategy(self, name: str) -> StrategyResult:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def test_metric(self) -> str | None:
        """The test score the report uses: set in the config, else the study metric with
        ``val_`` replaced by ``test_``, else ``test_`` + metric, else the first one."""
        chosen = self.report_settings.get("test_metric")
        if chosen:
            return str(chosen)
        keys: list[str] = []
        for run in self.runs:
            keys.extend(k for k in run.test_metrics if k not in keys)
        if not keys:
            return None
        for candidate in (
            "test_" + self.metric.removeprefix("val_").removeprefix("validation_"),
            "test_" + self.metric,
            self.metric,
        ):
            if candidate in keys:
                return candidate
        return keys[0]


def _run_result(record: StudyRecord, trials: Sequence[TrialRecord]) -> RunResult:
    run = record.user_attrs[RUN_KEY]
    result = record.user_attrs.get(RESULT_KEY)
    sessions = [Session.parse(s) for s in record.user_attrs.get(SESSIONS_KEY, [])]
    trace = anytime_trace(trials, record.metric, record.mode, sessions)
    budget = run.get("budget") or {}
    trials_run = sum(t.counts_toward_budget or t.status is TrialStatus.PAUSED for t in trials)
    status: RunStatus = "incomplete"
    best = None
    if result is not None:
        status = "finished" if result.get("status") == "finished" else "failed"
        number = result.get("best_trial")
        best = next((t for t in trials if t.number == number), None)
    final = (result or {}).get("final_evaluation") or {}
    return RunResult(
        strategy=str(run["strategy"]),
        repeat=int(run["repeat"]),
        seed=int(run["seed"]),
        study_name=record.name,
        status=status,
        trace=trace,
        epochs=sum(t.steps_trained for t in trials),
        wall_seconds=record.elapsed_seconds,
        trials_run=trials_run,
        stopped_early=_stopped_early(trials, trace, budget, record.elapsed_seconds),
        failed_trials=sum(
            t.status is TrialStatus.FAILED and t.counts_toward_budget for t in trials
        ),
        error=(result or {}).get("error"),
        traceback=(result or {}).get("traceback"),
        best_trial=best,
        validation_value=(result or {}).get("validation_value"),
        test_metrics={str(k): float(v) for k, v in (final.get("test_metrics") or {}).items()},
        final_epochs=final.get("epochs"),
        final_seconds=final.get("seconds"),
    )


def _stopped_early(
    trials: Sequence[TrialRecord],
    trace: AnytimeTrace,
    budget: Mapping[str, float],
    elapsed: float,
) -> int:
    """Trials a scheduler stopped or left paused. A trial cut because the run's epoch or
    time budget ran out is not counted: the budget stopped it, not the strategy."""
    exhausted_at = math.inf
    if "epochs" in budget and trace.total_epochs >= budget["epochs"]:
        exhausted_at = trace.seconds[int(budget["epochs"]) - 1]
    elif "seconds" in budget and elapsed >= budget["seconds"] and len(trace):
        exhausted_at = min(trace.seconds[-1], budget["seconds"])
    last_clock: dict[int, float] = {}
    for number, clock in zip(trace.trials, trace.seconds, strict=True):
        last_clock[int(number)] = float(clock)
    count = 0
    for t in trials:
        stopped = t.status is TrialStatus.PRUNED and last_clock.get(t.number, -1.0) < exhausted_at
        if stopped or t.status is TrialStatus.PAUSED:
            count += 1
    return count


def _strategy_names(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(manifest.get("strategies") or [])


def comparison_names(storage: str | Path | Storage | None = None) -> list[str]:
    """The comparisons whose runs are in ``storage``, oldest first."""
    store = make_storage(storage)
    names: list[str] = []
    for summary in store.list_studies():
        if summary.name.count("/") < 2:
            continue
        attrs = store.get_study(summary.name).user_attrs
        if RUN_KEY in attrs:
            name = str(attrs[RUN_KEY]["comparison"])
            if name not in names:
                names.append(name)
    return names


def load_comparison(
    name: str | None = None, storage: str | Path | Storage | None = None
) -> ComparisonResults:
    """Read a comparison from ``storage`` (the only one there when ``name`` is None).

    Reads only: a finished comparison is reported without running anything, and an
    unfinished one is read as far as it got.
    """
    store = make_storage(storage)
    if name is None:
        names = comparison_names(store)
        if not names:
            raise StudyNotFoundError(f"no comparison in {store.url}; run `tunelab compare` first")
        if len(names) > 1:
            raise ConfigError(
                f"{store.url} holds several comparisons ({', '.join(names)}); name one"
            )
        name = names[0]
    records: list[StudyRecord] = []
    for summary in store.list_studies():
        if summary.name.startswith(name + "/"):
            record = store.get_study(summary.name)
            if record.user_attrs.get(RUN_KEY, {}).get("comparison") == name:
                records.append(record)
    if not records:
        raise StudyNotFoundError(
            f"no comparison named {name!r} in {store.url}; run `tunelab compare` first"
        )
    manifest = max(
        (r.user_attrs[MANIFEST_KEY] for r in records if MANIFEST_KEY in r.user_attrs),
        key=lambda m: float(m.get("written_at", 0.0)),
    )
    by_key = {
        (str(r.user_attrs[RUN_KEY]["strategy"]), int(r.user_attrs[RUN_KEY]["repeat"])): r
        for r in records
    }
    repeats = int(manifest["repeats"])
    strategies = []
    for entry in _strategy_names(manifest):
        runs = []
        for repeat in range(repeats):
            found = by_key.get((entry["name"], repeat))
            if found is not None:
                runs.append(_run_result(found, store.get_trials(found.study_id)))
        strategies.append(
            StrategyResult(
                name=str(entry["name"]),
                definition=dict(entry.get("definition") or {}),
                available=bool(entry.get("available", True)),
                reason=entry.get("reason"),
                runs=tuple(runs),
                repeats=repeats,
            )
        )
    first = records[0]
    return ComparisonResults(
        name=name,
        storage_url=store.url,
        manifest=dict(manifest),
        metric=first.metric,
        mode="max" if first.mode == "max" else "min",
        strategies=tuple(strategies),
    )
