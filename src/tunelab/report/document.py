"""Assemble a comparison report: its sections as blocks, its tables and plots as files.

Everything is read from the stored results; nothing is run. Sections: setup,
conclusion, summary table, anytime curves, final-score box plots, pairwise statistics
and mean ranks, best configuration of each strategy, GAN pictures (when the trials
hold them), failures and unavailable strategies, and every run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.compare.config import ComparisonBudget
from tunelab.compare.results import ComparisonResults, RunResult, StrategyResult
from tunelab.report import plots
from tunelab.report.analysis import (
    SCORE_KINDS,
    Analysis,
    ScoreAnalysis,
    run_score,
    strategy_summaries,
)
from tunelab.report.blocks import (
    Block,
    Document,
    Figure,
    FigureRow,
    Heading,
    Paragraph,
    Preformatted,
    Table,
)
from tunelab.report.conclusion import conclusion
from tunelab.report.gan import gan_view
from tunelab.report.stats import Summary

if TYPE_CHECKING:
    import pandas as pd

FIGURES = "figures"
TABLES = "tables"


@dataclass
class Files:
    """What a report writes besides its HTML and Markdown, by relative path."""

    binary: dict[str, bytes] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}"


def _summary(s: Summary) -> str:
    if not s.n:
        return "-"
    if s.q1 == s.q3 == s.median:
        return _num(s.median)
    return f"{_num(s.median)} [{_num(s.q1)}, {_num(s.q3)}]"


def _component(spec: Any, default: str = "-") -> str:
    if spec is None:
        return default
    if isinstance(spec, str):
        return spec
    options = {k: v for k, v in spec.items() if k not in ("name", "options", "class")}
    options.update(spec.get("options") or {})
    args = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{spec.get('name')}({args})" if args else str(spec.get("name"))


class ReportBuilder:
    """Builds the document and its files from the results and their analysis."""

    def __init__(self, analysis: Analysis, *, base_dir: Path | None = None) -> None:
        self.analysis = analysis
        self.results: ComparisonResults = analysis.results
        self.base_dir = base_dir
        self.files = Files()
        self.blocks: list[Block] = []

    # -- helpers -------------------------------------------------------------------------
    def _plot(self, plot: plots.Plot | None) -> Figure | None:
        if plot is None:
            return None
        png, csv = f"{FIGURES}/{plot.stem}.png", f"{FIGURES}/{plot.stem}.csv"
        self.files.binary[png] = plot.png
        self.files.frames[csv] = plot.data
        return Figure(png, plot.png, plot.caption, csv)

    def _add_plot(self, plot: plots.Plot | None) -> None:
        figure = self._plot(plot)
        if figure is not None:
            self.blocks.append(figure)

    def _table_file(self, name: str, frame: pd.DataFrame) -> str:
        path = f"{TABLES}/{name}.csv"
        self.files.frames[path] = frame
        return path

    # -- sections ------------------------------------------------------------------------
    def build(self) -> Document:
        self._setup()
        self.blocks.append(Heading("Conclusion"))
        self.blocks.append(Paragraph(conclusion(self.analysis), css_class="conclusion"))
        self._summary_table()
        self._anytime()
        self._boxes()
        self._statistics()
        self._best_configurations()
        self._gan()
        self._problems()
        self._runs()
        return Document(f"Comparison {self.results.name!r}", self.blocks)

    def _setup(self) -> None:
        r, m = self.results, self.results.manifest
        ((kind, amount),) = r.budget.items()
        budget = ComparisonBudget(kind, amount).describe()  # type: ignore[arg-type]
        options = ", ".join(f"{k}={v}" for k, v in (m.get("task_options") or {}).items())
        from tunelab import __version__

        final = (
            "each run's best configuration retrained on train+validation for its best epoch "
            "count and scored once on the test data"
            if m.get("final_evaluation", True)
            else "no test evaluation (final_evaluation is off)"
        )
        self.blocks.append(
            Paragraph(
                f"Task {m.get('task')}"
                + (f" ({options})" if options else "")
                + f", tuned for {r.metric} ({'maximised' if r.mode == 'max' else 'minimised'}). "
                f"Budget: {budget}, the same for every strategy. {r.repeats} repeats per "
                f"strategy; repeat r runs with seed {m.get('seed', 0)} + r. Final evaluation: "
                f"{final}. Storage: {r.storage_url}. Report made "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')} by tunelab {__version__} from the stored "
                "runs only."
            )
        )

    def _summary_table(self) -> None:
        a = self.analysis
        val, test = a.scores.get("validation"), a.scores.get("test")
        primary = a.primary_scores if a.scores else None
        order = self._strategy_order()
        columns = [
            "strategy",
            "searcher",
            "scheduler",
            "status",
            "runs ok/failed",
            "best validation",
            "test score",
            "epochs",
            "wall s",
            "trials",
            "stopped early",
            "mean rank",
            "P(best)",
        ]
        rows, records = [], []
        for s in order:
            use = strategy_summaries(s)
            definition = s.definition
            status = {
                "unavailable": "unavailable (see below)",
                "failed": "failed in every run (see below)",
                "partial": f"{len(s.finished)} of {s.repeats} runs finished",
                "not run": "not run yet",
            }.get(s.status, s.status)
            rank = primary.ranks.get(s.name) if primary else None
            p_best = primary.p_best.get(s.name) if primary else None
            vs = val.summaries.get(s.name) if val else None
            ts = test.summaries.get(s.name) if test else None
            rows.append(
                [
                    s.name,
                    _component(definition.get("searcher")),
                    _component(definition.get("scheduler"), "fifo"),
                    status,
                    f"{len(s.finished)}/{len(s.failed)}",
                    _summary(vs) if vs else "-",
                    _summary(ts) if ts else "-",
                    _summary(use["epochs"]),
                    _summary(use["seconds"]),
                    _summary(use["trials"]),
                    _summary(use["stopped_early"]),
                    _num(rank),
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
            }
            for label, summary in (
                ("validation", vs),
                ("test", ts),
                *((k, v) for k, v in use.items()),
            ):
                for stat in ("median", "q1", "q3"):
                    record[f"{label}_{stat}"] = getattr(summary, stat) if summary else None
            records.append(record)
        import pandas as pd

        caption = (
            "Median [first quartile, third quartile] over finished runs. Best validation: the "
            "study's best trial; test score: "
            + (a.test_metric or "none")
            + " of that configuration retrained on train+validation. Epochs and wall seconds "
            "are what each run used (the study clock, searcher time included). Stopped early: "
            "trials a scheduler stopped or left paused (a trial cut by the end of the budget is "
            "not counted). Mean rank and P(best, bootstrap) are for the "
            + (primary.label if primary else "primary score")
            + "."
        )
        self.blocks.append(Heading("Summary"))
        self.blocks.append(
            Table(
                columns,
                rows,
                caption=caption,
                csv=self._table_file("summary", pd.DataFrame(records)),
                numeric_from=4,
            )
        )

    def _strategy_order(self) -> list[StrategyResult]:
        if not self.analysis.scores:
            return list(self.results.strategies)
        ranked = self.analysis.primary_scores.order(self.results.mode)
        rest = [s for s in self.results.strategies if s.name not in ranked]
        return [self.results.strategy(n) for n in ranked] + rest

    def _anytime(self) -> None:
        self.blocks.append(Heading("Best validation score so far"))
        epochs = plots.anytime_plot(self.results, "epochs")
        if epochs is None:
            self.blocks.append(Paragraph("No finished run has reported anything yet."))
            return
        self._add_plot(epochs)
        self._add_plot(plots.anytime_plot(self.results, "seconds"))
        import pandas as pd

        rows = []
        for run in self.results.runs:
            t = run.trace
            for i in range(len(t)):
                rows.append(
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
        path = self._table_file("traces", pd.DataFrame(rows))
        self.blocks.append(
            Paragraph(
                f"Every report of every run, with its cumulative epoch count, clock time and "
                f"best-so-far value, is in {path}."
            )
        )

    def _boxes(self) -> None:
        self.blocks.append(Heading("Final scores across repeats"))
        for kind in SCORE_KINDS:
            self._add_plot(plots.box_plot(self.analysis, kind))
        if "test" not in self.analysis.scores:
            self.blocks.append(Paragraph("No run has a test score (final evaluation is off)."))

    def _statistics(self) -> None:
        a = self.analysis
        self.blocks.append(Heading("Pairwise statistics"))
        if not a.scores or all(len(s.values) < 2 for s in a.scores.values()):
            self.blocks.append(Paragraph("Fewer than two strategies finished runs: no tests."))
            return
        self.blocks.append(
            Paragraph(
                "Two-sided Mann-Whitney U tests between every pair of strategies (runs are "
                "independent samples), p-values adjusted with Holm's step-down correction over "
                f"all pairs of the same score, alpha = {a.alpha:g}. A12 (Vargha-Delaney) is the "
                "probability that a run of A scores better than a run of B (ties count half): "
                "0.5 is no difference; |A12 - 0.5| below 0.06 is negligible, below 0.14 small, "
                "below 0.21 medium, above that large."
            )
        )
        kinds = [a.primary] + [k for k in a.scores if k != a.primary]
        for kind in kinds:
            score = a.scores[kind]
            if len(score.values) < 2:
                continue
            self._pairwise_table(score)
            ranks = ", ".join(
                f"{n} {score.ranks[n]:.2f}"
                for n in sorted(score.ranks, key=score.ranks.__getitem__)
            )
            self.blocks.append(
                Paragraph(
                    f"Mean rank on {score.label} (1 = best; ranked within each of the "
                    f"{score.ranked_repeats} repeats every strategy has ended, a failed run "
                    f"last): {ranks}."
                )
            )

    def _pairwise_table(self, score: ScoreAnalysis) -> None:
        import pandas as pd

        rows, records = [], []
        for t in score.pairwise:
            better = t.better or "tie"
            rows.append(
                [
                    t.a,
                    t.b,
                    _num(t.median_a),
                    _num(t.median_b),
                    f"{t.u:g}",
                    f"{t.p_value:.4f}",
                    f"{t.p_holm:.4f}",
                    f"{t.a12:.2f}",
                    t.magnitude,
                    better,
                    "yes" if t.significant(self.analysis.alpha) else "no",
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
        self.blocks.append(Heading(f"{score.title}: {score.label}", level=3))
        self.blocks.append(
            Table(
                [
                    "A",
                    "B",
                    "median A",
                    "median B",
                    "U",
                    "p",
                    "Holm p",
                    "A12",
                    "effect",
                    "better",
                    "significant",
                ],
                rows,
                csv=self._table_file(f"pairwise_{score.kind}", pd.DataFrame(records)),
                numeric_from=2,
            )
        )

    def _best_run(self, strategy: StrategyResult) -> RunResult | None:
        runs = [r for r in strategy.finished if r.validation_value is not None]
        if not runs:
            return None
        sign = -1.0 if self.results.mode == "max" else 1.0
        return min(runs, key=lambda r: (sign * float(r.validation_value or 0.0), r.repeat))

    def _best_configurations(self) -> None:
        import pandas as pd

        best = {s.name: self._best_run(s) for s in self._strategy_order()}
        chosen = {name: run for name, run in best.items() if run is not None}
        self.blocks.append(Heading("Best configuration of each strategy"))
        if not chosen:
            self.blocks.append(Paragraph("No strategy has a finished run."))
            return
        names: list[str] = []
        for run in chosen.values():
            names.extend(p for p in run.params if p not in names)
        test_metric = self.analysis.test_metric
        header_rows = [
            (
                "run (repeat, trial)",
                lambda r: f"{r.repeat}, #{r.best_trial.number if r.best_trial else '-'}",
            ),
            (f"validation {self.results.metric}", lambda r: _num(r.validation_value)),
            (test_metric or "test", lambda r: _num(r.test_value(test_metric))),
            ("retrained epochs", lambda r: _num(r.final_epochs)),
        ]
        rows = [[label, *(get(run) for run in chosen.values())] for label, get in header_rows]
        for p in names:
            rows.append([p, *(_value(run.params.get(p)) for run in chosen.values())])
        records = []
        for name, run in chosen.items():
            record: dict[str, Any] = {
                "strategy": name,
                "repeat": run.repeat,
                "trial": run.best_trial.number if run.best_trial else None,
                "validation": run.validation_value,
                "test": run.test_value(test_metric),
                "retrained_epochs": run.final_epochs,
            }
            record.update({f"param_{p}": run.params.get(p) for p in names})
            records.append(record)
        self.blocks.append(
            Paragraph(
                "For each strategy, its best trial over all repeats, chosen on validation "
                "(the test score plays no part in the choice); '-' marks a parameter the "
                "configuration does not use."
            )
        )
        self.blocks.append(
            Table(
                ["", *chosen],
                rows,
                csv=self._table_file("best_configurations", pd.DataFrame(records)),
            )
        )

    def _gan(self) -> None:
        sections: list[Block] = []
        for strategy in self._strategy_order():
            run = self._best_run(strategy)
            if run is None or run.best_trial is None:
                continue
            view = gan_view(run.best_trial, self.base_dir)
            if view.empty:
                continue
            sections.append(
                Heading(f"{strategy.name}: repeat {run.repeat}, trial #{run.best_trial.number}", 3)
            )
            for plot in (
                plots.gan_loss_plot(strategy.name, view),
                plots.confusion_plot(strategy.name, view),
            ):
                figure = self._plot(plot)
                if figure is not None:
                    sections.append(figure)
            if view.grids:
                row = []
                for epoch, png in view.grids:
                    path = f"{FIGURES}/gan_{strategy.name}_epoch{epoch}.png"
                    self.files.binary[path] = png
                    row.append(Figure(path, png, f"epoch {epoch}"))
                sections.append(Paragraph("Generated images at the epochs the task saved:"))
                sections.append(FigureRow(row))
            for problem in view.problems:
                sections.append(Paragraph(f"Could not show: {problem}"))
        if sections:
            self.blocks.append(Heading("Generated images and GAN training (best trials)"))
            self.blocks.extend(sections)

    def _problems(self) -> None:
        unavailable = [s for s in self.results.strategies if s.status == "unavailable"]
        failed_runs = [r for r in self.results.runs if r.status == "failed"]
        if not unavailable and not failed_runs:
            return
        self.blocks.append(Heading("Unavailable strategies and failed runs"))
        for s in unavailable:
            self.blocks.append(
                Paragraph(
                    f"{s.name} ({_component(s.definition.get('searcher'))} + "
                    f"{_component(s.definition.get('scheduler'), 'fifo')}) is unavailable: "
                    f"{s.reason}. It was not run and nothing stands in for it."
                )
            )
        fully_failed = {s.name for s in self.results.strategies if s.status == "failed"}
        for name in sorted(fully_failed):
            self.blocks.append(Paragraph(f"{name} failed in every repeat."))
        if failed_runs:
            self.blocks.append(
                Table(
                    ["strategy", "repeat", "error"],
                    [[r.strategy, str(r.repeat), r.error or "-"] for r in failed_runs],
                    numeric_from=99,
                )
            )
            first = failed_runs[0]
            traceback = first.traceback
            if traceback:
                self.blocks.append(
                    Paragraph(f"Traceback of {first.strategy}, repeat {first.repeat}:")
                )
                self.blocks.append(Preformatted(traceback))

    def _runs(self) -> None:
        import pandas as pd

        test_metric = self.analysis.test_metric
        rows, records = [], []
        for run in self.results.runs:
            val = run_score(run, "validation", test_metric)
            test = run_score(run, "test", test_metric)
            rows.append(
                [
                    run.strategy,
                    str(run.repeat),
                    str(run.seed),
                    run.status,
                    _num(val),
                    _num(test),
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
                        f"test_{k}" if not k.startswith("test") else k: v
                        for k, v in run.test_metrics.items()
                    },
                }
            )
        self.blocks.append(Heading("Every run"))
        self.blocks.append(
            Table(
                [
                    "strategy",
                    "repeat",
                    "seed",
                    "status",
                    "best validation",
                    "test",
                    "epochs",
                    "wall s",
                    "trials",
                    "stopped early",
                    "failed trials",
                ],
                rows,
                csv=self._table_file("runs", pd.DataFrame(records)),
                numeric_from=4,
            )
        )


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def build_report(analysis: Analysis, *, base_dir: Path | None = None) -> tuple[Document, Files]:
    """The report's document and the files (PNGs, CSVs) it refers to."""
    builder = ReportBuilder(analysis, base_dir=base_dir)
    return builder.build(), builder.files


def storage_folder(url: str) -> Path | None:
    """The folder of a SQLite storage file (GAN image paths are relative to it)."""
    if url.startswith("sqlite:///") and url not in ("sqlite:///:memory:",):
        return Path(url[len("sqlite:///") :]).parent
    return None
