"""Assemble a comparison report: its sections as blocks, its tables and plots as files.

Everything is read from the stored results; nothing is run. Sections: setup,
conclusion, summary table, anytime curves, final-score box plots, pairwise statistics
and mean ranks, best configuration of each strategy, the GAN section (when the trials
are a GAN's; see :mod:`tunelab.report.gan`), failures and unavailable strategies, and
every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tunelab.compare.results import ComparisonResults, RunResult, StrategyResult
from tunelab.report import plots
from tunelab.report.analysis import SCORE_KINDS, Analysis
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
from tunelab.report.gan import (
    FID,
    INCEPTION_SCORE,
    LEARNING_RATES,
    GanRuns,
    GanView,
    accuracy_sentence,
    best_reported,
    fid_floor,
    fid_text,
    floor_sentence,
    gan_runs,
    gan_view,
    is_gan_trial,
    is_pbt,
    learning_rate_schedule,
)
from tunelab.report.tables import (
    TableData,
    best_configurations_table,
    best_run,
    execution_time_table,
    fmt_component,
    gan_scores_table,
    pairwise_table,
    runs_table,
    strategy_order,
    summary_table,
    traces_frame,
)
from tunelab.version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from tunelab.trial import TrialRecord

FIGURES = "figures"
TABLES = "tables"
GAN_HEADING = "GAN: scores, generated images and the discriminator"


@dataclass
class Files:
    """What a report writes besides its HTML and Markdown, by relative path."""

    binary: dict[str, bytes] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


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

    def _add_table(self, name: str, data: TableData, caption: str | None = None) -> None:
        csv = self._table_file(name, data.frame)
        self.blocks.append(Table(data.columns, data.rows, caption, csv, data.numeric_from))

    # -- sections ------------------------------------------------------------------------
    def build(self) -> Document:
        self._setup()
        self.blocks.append(Heading("Conclusion"))
        self.blocks.append(Paragraph(conclusion(self.analysis), css_class="conclusion"))
        self._summary()
        self._anytime()
        self._boxes()
        self._statistics()
        self._best_configurations()
        self._gan()
        self._problems()
        self.blocks.append(Heading("Every run"))
        self._add_table("runs", runs_table(self.analysis))
        return Document(f"Comparison {self.results.name!r}", self.blocks)

    def _setup(self) -> None:
        r, m = self.results, self.results.manifest
        options = ", ".join(f"{k}={v}" for k, v in (m.get("task_options") or {}).items())
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
                f"{r.budget_statement()} {r.repeats} repeats per "
                f"strategy; repeat r runs with seed {m.get('seed', 0)} + r. Final evaluation: "
                f"{final}. Storage: {r.storage_url}. Report made "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')} by tunelab {__version__} from the stored "
                "runs only."
            )
        )

    def _summary(self) -> None:
        a = self.analysis
        primary = a.primary_scores if a.scores else None
        caption = (
            "Median [first quartile, third quartile] over finished runs. Best validation: the "
            "study's best trial; test score: "
            + (a.test_metric or "none")
            + " of that configuration retrained on train+validation. Budget used: the "
            "median amount of the budget the runs used, and its share (the lowest run's share "
            "when it is lower). Epochs and wall seconds are what each run used (the study "
            "clock, searcher time included). Stopped early: "
            "trials a scheduler stopped or left paused (a trial cut by the end of the budget is "
            "not counted). Mean rank and P(best, bootstrap) are for the "
            + (primary.label if primary else "primary score")
            + "."
        )
        self.blocks.append(Heading("Summary"))
        self._add_table("summary", summary_table(a), caption)

    def _anytime(self) -> None:
        self.blocks.append(Heading("Best validation score so far"))
        epochs = plots.anytime_plot(self.results, "epochs")
        if epochs is None:
            self.blocks.append(Paragraph("No finished run has reported anything yet."))
            return
        self._add_plot(epochs)
        self._add_plot(plots.anytime_plot(self.results, "seconds"))
        path = self._table_file("traces", traces_frame(self.results))
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
            self.blocks.append(Heading(f"{score.title}: {score.label}", level=3))
            self._add_table(f"pairwise_{score.kind}", pairwise_table(score, a.alpha))
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

    def _best_configurations(self) -> None:
        self.blocks.append(Heading("Best configuration of each strategy"))
        table = best_configurations_table(self.analysis)
        if table is None:
            self.blocks.append(Paragraph("No strategy has a finished run."))
            return
        self.blocks.append(
            Paragraph(
                "For each strategy, its best trial over all repeats, chosen on validation "
                "(the test score plays no part in the choice); '-' marks a parameter the "
                "configuration does not use."
            )
        )
        self._add_table("best_configurations", table)

    def _gan(self) -> None:
        """The GAN section (see :mod:`tunelab.report.gan`), when the best trials are a
        GAN's (they report g_loss/d_loss) or hold GAN pictures."""
        chosen: list[tuple[StrategyResult, RunResult, TrialRecord]] = []
        for strategy in strategy_order(self.analysis):
            run = best_run(strategy, self.results.mode)
            if run is not None and run.best_trial is not None:
                chosen.append((strategy, run, run.best_trial))
        gan = any(
            is_gan_trial(t)
            for s in self.results.strategies
            for r in s.finished
            if (t := r.best_trial) is not None
        )
        runs = gan_runs(self.results) if gan else GanRuns({})
        views = {
            strategy.name: gan_view(
                best, self.base_dir, runs.trials.get((run.strategy, run.repeat))
            )
            for strategy, run, best in chosen
        }
        if not gan and all(v.empty for v in views.values()):
            return
        floor = fid_floor(runs.every_trial)
        has_fid = any(FID in r.metrics for t in runs.every_trial for r in t.reports)
        self.blocks.append(Heading(GAN_HEADING))
        if has_fid:
            self.blocks.append(Paragraph(floor_sentence(floor)))
        for problem in runs.problems:
            self.blocks.append(Paragraph(f"Could not read: {problem}"))
        if gan:
            self._gan_scores(runs, floor)
            self.blocks.append(Heading("Execution time", level=3))
            self._add_table(
                "gan_execution_time",
                execution_time_table(self.analysis),
                "Wall seconds (the study clock) and epochs trained per finished run, median "
                "[first quartile, third quartile], and summed over a strategy's runs.",
            )
        for strategy, run, best in chosen:
            view = views[strategy.name]
            if view.empty and not runs.of(strategy.name):
                continue
            self._gan_strategy(strategy, run, best, view, runs, floor)

    def _gan_scores(self, runs: GanRuns, floor: float | None) -> None:
        best_is: dict[str, dict[int, float]] = {}
        best_fid: dict[str, dict[int, float]] = {}
        for strategy in self.results.strategies:
            for repeat, trials in runs.of(strategy.name).items():
                for metric, mode, into in (
                    (INCEPTION_SCORE, "max", best_is),
                    (FID, "min", best_fid),
                ):
                    value = best_reported(trials, metric, mode)
                    if value is not None:
                        into.setdefault(strategy.name, {})[repeat] = value
        if not best_is and not best_fid:
            return
        self.blocks.append(Heading("Best Inception Score and FID of each run", level=3))
        self._add_plot(plots.gan_best_box(self.results, best_is, INCEPTION_SCORE, "max"))
        self._add_plot(plots.gan_best_box(self.results, best_fid, FID, "min", floor))
        self._add_table(
            "gan_scores",
            gan_scores_table(self.analysis, best_is, best_fid, floor),
            "Each finished run's best Inception Score (higher is better) and best FID (lower "
            "is better) over all its trials and epochs: median [first quartile, third "
            "quartile] over the runs; FID beside its real-vs-real floor ("
            + (f"{floor:.1f}" if floor is not None else "unknown")
            + ").",
        )

    def _gan_strategy(
        self,
        strategy: StrategyResult,
        run: RunResult,
        best: TrialRecord,
        view: GanView,
        runs: GanRuns,
        floor: float | None,
    ) -> None:
        name = strategy.name
        label = f"repeat {run.repeat}, trial #{best.number}"
        self.blocks.append(Heading(f"{name}: best trial ({label})", 3))
        last = view.last
        if INCEPTION_SCORE in last or FID in last:
            parts = []
            if INCEPTION_SCORE in last:
                std = last.get(INCEPTION_SCORE + "_std")
                parts.append(
                    f"Inception Score {last[INCEPTION_SCORE]:.3g}"
                    + (f" ± {std:.2g}" if std is not None else "")
                )
            if FID in last:
                parts.append(f"FID {fid_text(last[FID], floor)}")
            self.blocks.append(
                Paragraph(
                    f"The best trial of {name} ({label}, chosen on validation "
                    f"{self.results.metric}) at its last epoch ({view.last_step}): "
                    + ", ".join(parts)
                    + "."
                )
            )
        trials = runs.of(name)
        self._add_plot(plots.gan_is_plot(name, trials, (run.repeat, best.number)))
        if view.grids:
            row = []
            for epoch, png in view.grids:
                path = f"{FIGURES}/gan_{name}_epoch{epoch}.png"
                self.files.binary[path] = png
                row.append(Figure(path, png, f"epoch {epoch}"))
            which = "its first, a middle and its last" if len(row) == 3 else "the"
            self.blocks.append(
                Paragraph(f"Generated images of the best trial after {which} saved epochs:")
            )
            self.blocks.append(FigureRow(row))
        self._add_plot(plots.gan_loss_plot(name, view, floor))
        self._add_plot(plots.confusion_plot(name, view))
        accuracy = accuracy_sentence(view)
        if accuracy:
            self.blocks.append(Paragraph(accuracy))
        if is_pbt(strategy.definition, runs.of(name).get(run.repeat, ())):
            self._gan_schedule(name, run, best, runs, label)
        for problem in view.problems:
            self.blocks.append(Paragraph(f"Could not show: {problem}"))

    def _gan_schedule(
        self, name: str, run: RunResult, best: TrialRecord, runs: GanRuns, label: str
    ) -> None:
        trials = runs.trials.get((run.strategy, run.repeat)) or [best]
        table = learning_rate_schedule(trials, best.number)
        if table is None:
            self.blocks.append(
                Paragraph(
                    f"{name} is PBT, but its trials have no learning-rate parameter "
                    f"({' or '.join(LEARNING_RATES)}; the mnist_gan task option "
                    "tune_learning_rates adds them): no learning-rate schedule to show."
                )
            )
            return
        self._add_plot(plots.lr_schedule_plot(name, table, label))

    def _problems(self) -> None:
        unavailable = [s for s in self.results.strategies if s.status == "unavailable"]
        failed_runs = [r for r in self.results.runs if r.status == "failed"]
        if not unavailable and not failed_runs:
            return
        self.blocks.append(Heading("Unavailable strategies and failed runs"))
        for s in unavailable:
            self.blocks.append(
                Paragraph(
                    f"{s.name} ({fmt_component(s.definition.get('searcher'))} + "
                    f"{fmt_component(s.definition.get('scheduler'), 'fifo')}) is unavailable: "
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


def build_report(analysis: Analysis, *, base_dir: Path | None = None) -> tuple[Document, Files]:
    """The report's document and the files (PNGs, CSVs) it refers to."""
    builder = ReportBuilder(analysis, base_dir=base_dir)
    return builder.build(), builder.files


def storage_folder(url: str) -> Path | None:
    """The folder of a SQLite storage file (GAN image paths are relative to it)."""
    if url.startswith("sqlite:///") and url not in ("sqlite:///:memory:",):
        return Path(url[len("sqlite:///") :]).parent
    return None
