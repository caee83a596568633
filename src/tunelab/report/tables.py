"""The report's tables: the text a reader sees and the numbers behind it (a DataFrame
written as CSV), built from the analysis alone."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab.compare.results import ComparisonResults, RunResult, StrategyResult
from tunelab.report.analysis import Analysis, ScoreAnalysis, run_score, strategy_summaries
from tunelab.report.stats import Summary

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TableData:
    """Rows as text for the page, and the same numbers unformatted for the CSV."""

    columns: list[str]
    rows: list[list[str]]
    frame: pd.DataFrame
    numeric_from: int = 1


def fmt_num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}"


def fmt_value(value: Any) -> str:
    """A hyperparameter value: numbers to 4 significant digits, None as '-'."""
    if isinstance(value, float):
        return fmt_num(value)
    return "-" if value is None else str(value)


def fmt_summary(s: Summary | None) -> str:
    """``median [q1, q3]``, or the median alone when the quartiles equal it."""
    if s is None or not s.n:
        return "-"
    if s.q1 == s.q3 == s.median:
        return fmt_num(s.median)
    return f"{fmt_num(s.median)} [{fmt_num(s.q1)}, {fmt_num(s.q3)}]"


def fmt_component(spec: Any, default: str = "-") -> str:
    """A searcher or scheduler spec as ``name(option=value, ...)``."""
    if spec is None:
        return default
    if isinstance(spec, str):
        return spec
    options = {k: v for k, v in spec.items() if k not in ("name", "options", "class")}
    options.update(spec.get("options") or {})
    args = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{spec.get('name')}({args})" if args else str(spec.get("name"))


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(records)


def strategy_order(analysis: Analysis) -> list[StrategyResult]:
    """Ranked strategies first (best primary median first), then the rest as configured."""
    results = analysis.results
    if not analysis.scores:
        return list(results.strategies)
    ranked = analysis.primary_scores.order(results.mode)
    rest = [s for s in results.strategies if s.name not in ranked]
    return [results.strategy(n) for n in ranked] + rest


def best_run(strategy: StrategyResult, mode: str) -> RunResult | None:
    """The finished run with the best validation value (the lowest repeat on ties)."""
    runs = [r for r in strategy.finished if r.validation_value is not None]
    if not runs:
        return None
    sign = -1.0 if mode == "max" else 1.0
    return min(runs, key=lambda r: (sign * float(r.validation_value or 0.0), r.repeat))


_STATUS = {
    "unavailable": "unavailable (see below)",
    "failed": "failed in every run (see below)",
    "not run": "not run yet",
}


def summary_table(analysis: Analysis) -> TableData:
    """One row per strategy: scores, budget used, mean rank and P(best)."""
    val, test = analysis.scores.get("validation"), analysis.scores.get("test")
    primary = analysis.primary_scores if analysis.scores else None
    rows, records = [], []
    budget_use = {u.strategy: u for u in analysis.results.budget_use()}
    for s in strategy_order(analysis):
        use = strategy_summaries(s)
        spent = budget_use.get(s.name)
        status = _STATUS.get(s.status, s.status)
        if s.status == "partial":
            status = f"{len(s.finished)} of {s.repeats} runs finished"
        rank = primary.ranks.get(s.name) if primary else None
        p_best = primary.p_best.get(s.name) if primary else None
        vs = val.summaries.get(s.name) if val else None
        ts = test.summaries.get(s.name) if test else None
        rows.append(
            [
                s.name,
                fmt_component(s.definition.get("searcher")),
                fmt_component(s.definition.get("scheduler"), "fifo"),
                status,
                f"{len(s.finished)}/{len(s.failed)}",
                fmt_summary(vs),
                fmt_summary(ts),
                spent.describe() if spent else "-",
                *(fmt_summary(use[k]) for k in ("epochs", "seconds", "trials", "stopped_early")),
                fmt_num(rank),
                f"{p_best:.0%}" if p_best is not None else "-",
            ]
        )
        record: dict[str, Any] = {
            "strategy": s.name,
            "status": s.status,
            "reason": s.reason or s.first_error,
            "runs_finished": len(s.finished),
            "runs_failed": len(s.failed),
            "mean_rank": rank,
            "p_best": p_best,
            "budget_used": spent.median_used if spent else None,
            "budget_fraction": spent.fraction if spent else None,
            "budget_lowest_fraction": spent.lowest_fraction if spent else None,
        }
        summaries: Mapping[str, Summary | None] = {"validation": vs, "test": ts, **use}
        for label, summary in summaries.items():
            for stat in ("median", "q1", "q3"):
                record[f"{label}_{stat}"] = getattr(summary, stat) if summary else None
        records.append(record)
    columns = [
        "strategy",
        "searcher",
        "scheduler",
        "status",
        "runs ok/failed",
        "best validation",
        "test score",
        "budget used",
        "epochs",
        "wall s",
        "trials",
        "stopped early",
        "mean rank",
        "P(best)",
    ]
    return TableData(columns, rows, _frame(records), numeric_from=4)


def pairwise_table(score: ScoreAnalysis, alpha: float) -> TableData:
    """Every pair's medians, U, raw and Holm-adjusted p, A12 and its magnitude."""
    rows, records = [], []
    for t in score.pairwise:
        rows.append(
            [
                t.a,
                t.b,
                fmt_num(t.median_a),
                fmt_num(t.median_b),
                f"{t.u:g}",
                f"{t.p_value:.4f}",
                f"{t.p_holm:.4f}",
                f"{t.a12:.2f}",
                t.magnitude,
                t.better or "tie",
                "yes" if t.significant(alpha) else "no",
            ]
        )
        records.append(
            {
                "a": t.a,
                "b": t.b,
                "n_a": t.n_a,
                "n_b": t.n_b,
                "median_a": t.median_a,
                "median_b": t.median_b,
                "u": t.u,
                "p_value": t.p_value,
                "p_holm": t.p_holm,
                "a12": t.a12,
                "magnitude": t.magnitude,
                "better": t.better,
            }
        )
    columns = ["A", "B", "median A", "median B", "U", "p", "Holm p", "A12", "effect"]
    return TableData([*columns, "better", "significant"], rows, _frame(records), numeric_from=2)


def best_configurations_table(analysis: Analysis) -> TableData | None:
    """Each strategy's best trial (chosen on validation): scores, then hyperparameters."""
    results, test_metric = analysis.results, analysis.test_metric
    chosen = {
        s.name: run
        for s in strategy_order(analysis)
        if (run := best_run(s, results.mode)) is not None
    }
    if not chosen:
        return None
    names: list[str] = []
    for run in chosen.values():
        names.extend(p for p in run.params if p not in names)

    def trial_number(run: RunResult) -> int | None:
        return run.best_trial.number if run.best_trial else None

    header_rows = [
        ("run (repeat, trial)", lambda r: f"{r.repeat}, #{trial_number(r)}"),
        (f"validation {results.metric}", lambda r: fmt_num(r.validation_value)),
        (test_metric or "test", lambda r: fmt_num(r.test_value(test_metric))),
        ("retrained epochs", lambda r: fmt_num(r.final_epochs)),
    ]
    rows = [[label, *(get(run) for run in chosen.values())] for label, get in header_rows]
    rows.extend([p, *(fmt_value(run.params.get(p)) for run in chosen.values())] for p in names)
    records = [
        {
            "strategy": name,
            "repeat": run.repeat,
            "trial": trial_number(run),
            "validation": run.validation_value,
            "test": run.test_value(test_metric),
            "retrained_epochs": run.final_epochs,
            **{f"param_{p}": run.params.get(p) for p in names},
        }
        for name, run in chosen.items()
    ]
    return TableData(["", *chosen], rows, _frame(records))


def runs_table(analysis: Analysis) -> TableData:
    """Every run: status, scores, budget used, trials."""
    test_metric = analysis.test_metric
    rows, records = [], []
    for run in analysis.results.runs:
        val = run_score(run, "validation", test_metric)
        test = run_score(run, "test", test_metric)
        rows.append(
            [
                run.strategy,
                str(run.repeat),
                str(run.seed),
                run.status,
                fmt_num(val),
                fmt_num(test),
                str(run.epochs),
                f"{run.wall_seconds:.1f}",
                str(run.trials_run),
                str(run.stopped_early),
                str(run.failed_trials),
            ]
        )
        records.append(
            {
                "strategy": run.strategy,
                "repeat": run.repeat,
                "seed": run.seed,
                "study": run.study_name,
                "status": run.status,
                "validation": val,
                "test": test,
                "epochs": run.epochs,
                "wall_seconds": run.wall_seconds,
                "trials_run": run.trials_run,
                "stopped_early": run.stopped_early,
                "failed_trials": run.failed_trials,
                "final_epochs": run.final_epochs,
                "final_seconds": run.final_seconds,
                "error": run.error,
                **{
                    k if k.startswith("test") else f"test_{k}": v
                    for k, v in run.test_metrics.items()
                },
            }
        )
    columns = ["strategy", "repeat", "seed", "status", "best validation", "test", "epochs"]
    columns += ["wall s", "trials", "stopped early", "failed trials"]
    return TableData(columns, rows, _frame(records), numeric_from=4)


def traces_frame(results: ComparisonResults) -> pd.DataFrame:
    """Every report of every run: cumulative epochs, clock, value and best so far."""
    records = []
    for run in results.runs:
        t = run.trace
        for i in range(len(t)):
            records.append(
                {
                    "strategy": run.strategy,
                    "repeat": run.repeat,
                    "run_status": run.status,
                    "epochs": int(t.epochs[i]),
                    "seconds": float(t.seconds[i]),
                    "trial": int(t.trials[i]),
                    "step": int(t.steps[i]),
                    "value": float(t.values[i]),
                    "best_so_far": float(t.best[i]),
                }
            )
    return _frame(records)


def execution_time_table(analysis: Analysis) -> TableData:
    """Per strategy with a finished run: wall seconds and epochs per run (median [q1,
    q3], from :func:`strategy_summaries`, as in the summary) and in total."""
    rows, records = [], []
    for s in strategy_order(analysis):
        runs = s.finished
        if not runs:
            continue
        use = strategy_summaries(s)
        seconds = sum(r.wall_seconds for r in runs)
        epochs = sum(r.epochs for r in runs)
        per_epoch = seconds / epochs if epochs else None
        rows.append(
            [
                s.name,
                str(len(runs)),
                fmt_summary(use["seconds"]),
                f"{seconds:.1f}",
                fmt_summary(use["epochs"]),
                str(epochs),
                fmt_num(per_epoch),
            ]
        )
        records.append(
            {
                "strategy": s.name,
                "runs": len(runs),
                **{f"wall_seconds_{k}": getattr(use["seconds"], k) for k in ("median", "q1", "q3")},
                "wall_seconds_total": seconds,
                **{f"epochs_{k}": getattr(use["epochs"], k) for k in ("median", "q1", "q3")},
                "epochs_total": epochs,
                "seconds_per_epoch": per_epoch,
            }
        )
    columns = ["strategy", "finished runs", "wall s per run", "wall s, all runs"]
    columns += ["epochs per run", "epochs, all runs", "s per epoch"]
    return TableData(columns, rows, _frame(records))


def gan_scores_table(
    analysis: Analysis,
    best_is: Mapping[str, Mapping[int, float]],
    best_fid: Mapping[str, Mapping[int, float]],
    floor: float | None,
) -> TableData:
    """Per strategy: each run's best Inception Score and best FID (median [q1, q3] over
    the runs), FID beside its real-vs-real floor."""
    floor_text = fmt_num(floor) if floor is not None else "unknown"
    rows, records = [], []
    for s in strategy_order(analysis):
        scores = list((best_is.get(s.name) or {}).values())
        fids = list((best_fid.get(s.name) or {}).values())
        if not scores and not fids:
            continue
        is_summary, fid_summary = Summary.of(scores), Summary.of(fids)
        rows.append(
            [
                s.name,
                str(max(len(scores), len(fids))),
                fmt_summary(is_summary),
                fmt_summary(fid_summary),
                floor_text,
            ]
        )
        record: dict[str, Any] = {"strategy": s.name, "runs": max(len(scores), len(fids))}
        for label, summary in (("best_is", is_summary), ("best_fid", fid_summary)):
            for stat in ("median", "q1", "q3"):
                record[f"{label}_{stat}"] = getattr(summary, stat)
        record["fid_floor"] = floor
        records.append(record)
    columns = ["strategy", "runs", "best IS per run", "best FID per run"]
    return TableData([*columns, "real-vs-real FID floor"], rows, _frame(records))
