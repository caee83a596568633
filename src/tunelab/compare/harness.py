"""Run a comparison: every available strategy, every repeat, the same budget, one storage.

Runs go repeat by repeat (repeat 0 of every strategy, then repeat 1, ...), so an
interrupted comparison holds balanced partial results and a noisy machine slows every
strategy alike. A run that has its result stored is skipped; an unfinished one is
continued (its study resumes where it stopped); a missing one is started. A run that
fails (an error out of the study, too many failed trials in a row, no trial completed
nor reported) is recorded as failed with its error, and the comparison goes on. An error
that is not the strategy's fault (:class:`~tunelab.errors.EnvironmentFault`: data that
cannot be read, storage unavailable) stops the comparison instead; rerunning continues it.
At the end it prints the budget each strategy used, and says the budgets were equal only
when each used at least 95% of it (:meth:`ComparisonResults.budget_statement`).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from tunelab.compare.components import Availability, check_strategy, resolve_task
from tunelab.compare.config import ComparisonBudget, ComparisonConfig, ReportSettings, Strategy
from tunelab.compare.results import (
    MANIFEST_KEY,
    RESULT_KEY,
    RUN_KEY,
    SESSIONS_KEY,
    ComparisonResults,
    load_comparison,
)
from tunelab.compare.trace import Session
from tunelab.errors import ConfigError, EnvironmentFault, TunelabError
from tunelab.storage import Storage, StudyRecord, make_storage
from tunelab.study import Study, create_study
from tunelab.tasks.base import Task
from tunelab.trial import TrialStatus


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class ComparisonRunner:
    """Runs one comparison in one storage; see the module docstring."""

    def __init__(
        self,
        config: ComparisonConfig,
        storage: str | Path | Storage | None = None,
        *,
        quiet: bool = False,
        console: Console | None = None,
    ) -> None:
        self.config = config
        self.storage = make_storage(storage if storage is not None else config.storage)
        self.quiet = quiet
        self.console = console or Console(highlight=False, soft_wrap=True)

    def _say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, markup=False)

    # -- what exists -------------------------------------------------------------------
    def _existing(self) -> dict[str, StudyRecord]:
        prefix = self.config.name + "/"
        out = {}
        for summary in self.storage.list_studies():
            if summary.name.startswith(prefix):
                record = self.storage.get_study(summary.name)
                if RUN_KEY in record.user_attrs:
                    out[summary.name] = record
        return out

    def _identity(self, strategy: Strategy, repeat: int, task: Task) -> dict[str, Any]:
        return {
            "comparison": self.config.name,
            "strategy": strategy.name,
            "repeat": repeat,
            "seed": self.config.run_seed(repeat),
            "definition": strategy.definition(),
            "budget": self.config.budget.to_dict(),
            "task": self.config.task_name,
            "task_options": _task_options(task, self.config),
            "metric": task.metric,
            "mode": task.mode,
        }

    def _check_unchanged(
        self, existing: Mapping[str, StudyRecord], identities: Mapping[str, dict[str, Any]]
    ) -> None:
        """Refuse to mix runs made under another definition into this comparison."""
        for name, record in existing.items():
            if name not in identities:
                continue
            stored = record.user_attrs[RUN_KEY]
            wanted = identities[name]
            changed = [k for k in wanted if stored.get(k) != wanted[k]]
            if changed:
                key = changed[0]
                raise ConfigError(
                    f"run {name!r} in {self.storage.url} was made with {key} = "
                    f"{stored.get(key)!r}, but the configuration now says {wanted[key]!r}; "
                    "use another comparison name (or storage) for a changed comparison"
                )

    def _manifest(self, availability: Mapping[str, Availability], task: Task) -> dict[str, Any]:
        cfg = self.config
        return {
            "name": cfg.name,
            "task": cfg.task_name,
            "task_options": _task_options(task, cfg),
            "budget": cfg.budget.to_dict(),
            "repeats": cfg.repeats,
            "seed": cfg.seed,
            "final_evaluation": cfg.final_evaluation,
            "max_consecutive_failures": cfg.max_consecutive_failures,
            "strategies": [
                {
                    "name": s.name,
                    "definition": s.definition(),
                    "available": availability[s.name].available,
                    "reason": availability[s.name].reason,
                }
                for s in cfg.strategies
            ],
            "report": cfg.report.to_dict(),
            "written_at": time.time(),
        }

    # -- running -----------------------------------------------------------------------
    def run(self) -> ComparisonResults:
        cfg = self.config
        availability = {s.name: check_strategy(s) for s in cfg.strategies}
        available = [s for s in cfg.strategies if availability[s.name].available]
        if not available:
            reasons = "; ".join(f"{n}: {a.reason}" for n, a in availability.items())
            raise ConfigError(f"none of the strategies can run in this tunelab ({reasons})")
        task = resolve_task(cfg.task, cfg.task_options, cfg.base_dir)
        manifest = self._manifest(availability, task)
        identities = {
            cfg.study_name(s.name, r): self._identity(s, r, task)
            for r in range(cfg.repeats)
            for s in available
        }
        existing = self._existing()
        self._check_unchanged(existing, identities)
        for record in existing.values():
            self.storage.set_study_user_attr(record.study_id, MANIFEST_KEY, manifest)

        done = sum(1 for n in identities if n in existing and RESULT_KEY in existing[n].user_attrs)
        self._say(
            f"tunelab: comparison {cfg.name!r} in {self.storage.url}: task {cfg.task_name}, "
            f"{cfg.budget.describe()}, {cfg.repeats} repeats; "
            f"{len(identities) - done} of {len(identities)} runs to do"
        )
        for s in cfg.strategies:
            if not availability[s.name].available:
                self._say(f"  {s.name}: unavailable ({availability[s.name].reason})")
        if done < len(identities):
            self._warm_up(task)
        index = 0
        for repeat in range(cfg.repeats):
            for strategy in available:
                index += 1
                name = cfg.study_name(strategy.name, repeat)
                found = existing.get(name)
                if found is not None and RESULT_KEY in found.user_attrs:
                    continue
                self._say(f"[{index}/{len(identities)}] {name} ...")
                result = self._run_one(strategy, repeat, task, identities[name], manifest)
                self._say(f"[{index}/{len(identities)}] {name}: {self._describe(result)}")
        results = load_comparison(cfg.name, self.storage)
        self._say_budget_use(results)
        return results

    def _say_budget_use(self, results: ComparisonResults) -> None:
        """Print the budget each strategy used, and whether the budgets were equal."""
        for use in results.budget_use():
            self._say(f"  {use.strategy}: used {use.describe()}")
        if results.budget_use():
            self._say(results.budget_statement())

    def _warm_up(self, task: Task) -> None:
        """Train one epoch of one trial, untimed and unrecorded, before the first run.

        One-time costs (loading the data set, first-call overheads of the framework, a
        metric's cached classifier) would otherwise land on the clock of whichever
        strategy happens to run first.
        """
        self._say("warming up the task (one epoch, not timed, not stored) ...")
        study = create_study(
            metric=task.metric, mode=task.mode, storage=":memory:", seed=0, space=task.space()
        )
        study.optimize(task, max_epochs=1, quiet=True)

    def _describe(self, result: Mapping[str, Any]) -> str:
        if result["status"] != "finished":
            return f"failed: {result['error']}"
        final = result.get("final_evaluation") or {}
        tests = ", ".join(f"{k} {_fmt(v)}" for k, v in (final.get("test_metrics") or {}).items())
        return (
            f"best {_fmt(result['validation_value'])} (trial {result['best_trial']})"
            + (f"; retrained {final['epochs']} epochs on train+val: {tests}" if final else "")
            + f"; {result['epochs']} epochs, {result['seconds']:.1f} s"
        )

    def _run_one(
        self,
        strategy: Strategy,
        repeat: int,
        task: Task,
        identity: dict[str, Any],
        manifest: dict[str, Any],
    ) -> dict[str, Any]:
        cfg = self.config
        study = create_study(
            cfg.study_name(strategy.name, repeat),
            metric=task.metric,
            mode=task.mode,
            searcher=strategy.searcher,
            scheduler=strategy.scheduler,
            storage=self.storage,
            seed=cfg.run_seed(repeat),
            space=task.space(),
            load_if_exists=True,
            user_attrs={RUN_KEY: identity, MANIFEST_KEY: manifest},
        )
        record = self.storage.get_study(study.name)
        sessions = list(record.user_attrs.get(SESSIONS_KEY, []))
        sessions.append(Session(time.time(), record.elapsed_seconds).to_dict())
        study.set_user_attr(SESSIONS_KEY, sessions)
        result = self._optimize(study, task)
        study.set_user_attr(RESULT_KEY, result)
        return result

    def _optimize(self, study: Study, task: Task) -> dict[str, Any]:
        from tunelab.executors import make_executor

        cfg = self.config
        budget = cfg.budget.as_study_budget()
        result: dict[str, Any] = {"status": "failed", "error": None, "traceback": None}
        try:
            study.optimize(
                task,
                max_trials=budget.max_trials,
                max_epochs=budget.max_epochs,
                max_seconds=budget.max_seconds,
                executor=make_executor(cfg.executor),
                max_consecutive_failures=cfg.max_consecutive_failures,
                quiet=True,
            )
            self._evaluate(study, task, result)
        except EnvironmentFault:
            # Unreadable data, unavailable storage, a worker that cannot start: not the
            # strategy's fault. Stop the comparison; rerunning after the fix continues.
            raise
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
            result["traceback"] = traceback.format_exc()
        used = study.budget_used()
        result.update(epochs=used.epochs, seconds=used.seconds, finished_at=time.time())
        return result

    def _evaluate(self, study: Study, task: Task, result: dict[str, Any]) -> None:
        """Record the best trial and, when asked, its retrained test score."""
        try:
            # The best completed trial; when a time or epoch limit ended every trial
            # early, the best value a pruned trial reported stands.
            best = study.best_trial
        except TunelabError:
            trials = study.trials
            failed = [t for t in trials if t.status is TrialStatus.FAILED and t.error]
            last = f"; the last error: {failed[-1].error}" if failed else ""
            raise TunelabError(
                f"no trial completed ({len(trials)} trials, {len(failed)} failed{last})"
            ) from None
        result.update(best_trial=best.number, validation_value=best.value)
        if self.config.final_evaluation:
            from tunelab.evaluation import evaluate_best

            started = time.monotonic()
            final = evaluate_best(study, task)
            result["final_evaluation"] = {
                "epochs": final.epochs,
                "test_metrics": final.test_metrics,
                "seconds": time.monotonic() - started,
            }
        result["status"] = "finished"


def _task_options(task: Task, config: ComparisonConfig) -> dict[str, Any]:
    """The task's options with its defaults filled in (what the runs really used), so
    spelling out a default in the config later does not look like a changed task."""
    return task.options() or config.effective_task_options


def run_comparison(
    config: ComparisonConfig,
    storage: str | Path | Storage | None = None,
    *,
    quiet: bool = False,
) -> ComparisonResults:
    """Run (or continue) ``config``; returns the comparison as stored."""
    return ComparisonRunner(config, storage, quiet=quiet).run()


def compare(
    task: str | Task,
    strategies: Sequence[str | Mapping[str, Any] | Strategy],
    *,
    budget: Mapping[str, float] | ComparisonBudget,
    repeats: int = 5,
    name: str | None = None,
    storage: str | Path | Storage | None = None,
    seed: int = 0,
    task_options: Mapping[str, Any] | None = None,
    final_evaluation: bool = True,
    max_consecutive_failures: int = 5,
    executor: str | dict[str, Any] = "inline",
    report: Mapping[str, Any] | ReportSettings | None = None,
    quiet: bool = False,
) -> ComparisonResults:
    """Compare tuning strategies on ``task`` at one budget, over ``repeats`` seeded runs.

    ``strategies``: searcher names (``"random"``), mappings
    (``{"name": "hb", "searcher": "random", "scheduler": {"name": "hyperband"}}``) or
    :class:`Strategy` objects. ``budget``: exactly one of ``{"epochs": N}`` (total per
    run), ``{"trials": N}`` (each at the task's epochs) or ``{"seconds": S}``. Each
    (strategy, repeat) is one study in ``storage``; calling again continues an
    interrupted comparison and skips finished runs. Returns what
    :func:`tunelab.compare.load_comparison` reads; pass it to
    :func:`tunelab.report.write_report`.

    >>> import tunelab as tl
    >>> results = tl.compare(  # doctest: +SKIP
    ...     "digits_mlp", ["random", "sobol"], budget={"epochs": 300}, repeats=5,
    ...     task_options={"epochs": 27}, storage="sqlite:///compare.db")
    """
    config = ComparisonConfig(
        name=name or (task if isinstance(task, str) and ":" not in task else "comparison"),
        task=task,
        strategies=tuple(Strategy.parse(s) for s in strategies),
        budget=ComparisonBudget.parse(budget),
        repeats=repeats,
        seed=seed,
        task_options=dict(task_options or {}),
        final_evaluation=final_evaluation,
        max_consecutive_failures=max_consecutive_failures,
        executor=executor,
        report=ReportSettings.parse(report),
    )
    return run_comparison(config, storage, quiet=quiet)
