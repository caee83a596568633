"""The report's pictures, each with the table of numbers it was drawn from.

Drawn with matplotlib's object API on an Agg canvas: nothing touches pyplot's global
state or the caller's backend, and matplotlib is imported only when a report is made.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tunelab.compare.results import ComparisonResults
from tunelab.plot._figure import agg_figure
from tunelab.report.analysis import Analysis, ScoreKind

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tunelab.report.gan import GanView
    from tunelab.trial import TrialRecord

_SIZE = (7.0, 4.2)
_DPI = 100
_SECONDS_POINTS = 300


@dataclass(frozen=True)
class Plot:
    """A PNG and the data behind it (written as ``STEM.png`` and ``STEM.csv``)."""

    stem: str
    png: bytes
    data: pd.DataFrame
    caption: str


def _canvas(size: tuple[float, float]) -> Figure:
    return agg_figure(size, drawer="tunelab report draws its plots", dpi=_DPI)


def _figure(size: tuple[float, float] = _SIZE) -> tuple[Figure, Axes]:
    figure = _canvas(size)
    return figure, figure.subplots()


def _integer_x(*axes: Axes) -> None:
    """Whole-number ticks on an epoch axis."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def strategy_colors(names: Sequence[str]) -> dict[str, Any]:
    """One colour per strategy, the same in every picture of a report."""
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return {name: palette(i % 10) for i, name in enumerate(names)}


def _better(results: ComparisonResults) -> str:
    return "higher is better" if results.mode == "max" else "lower is better"


def anytime_plot(results: ComparisonResults, axis: Literal["epochs", "seconds"]) -> Plot | None:
    """Best validation value so far against cumulative epochs or the study clock: the
    median over a strategy's finished runs, with the interquartile band."""
    import pandas as pd

    strategies = [s for s in results.strategies if s.finished]
    if not strategies:
        return None
    traces = {s.name: [r.trace for r in s.finished if len(r.trace)] for s in strategies}
    if axis == "epochs":
        top = max((t.total_epochs for ts in traces.values() for t in ts), default=0)
        grid = np.arange(1, top + 1, dtype=float)
    else:
        top_s = max((float(t.seconds[-1]) for ts in traces.values() for t in ts), default=0.0)
        grid = np.linspace(0.0, top_s, _SECONDS_POINTS)
    if not len(grid):
        return None
    colors = strategy_colors([s.name for s in results.strategies])
    figure, ax = _figure()
    frames = []
    bands: list[np.ndarray[Any, Any]] = []
    for name, runs in traces.items():
        if not runs:
            continue
        matrix = np.vstack([t.best_at(grid, axis) for t in runs])
        # A run's value stays at its final best after it ended, but the strategy's curve
        # stops where its longest run stopped: no line is drawn over budget it did not use.
        end = max(t.total_epochs if axis == "epochs" else float(t.seconds[-1]) for t in runs)
        matrix[:, grid > end] = np.nan
        count = np.sum(~np.isnan(matrix), axis=0)
        defined = count > 0
        q1 = np.full(len(grid), np.nan)
        median = np.full(len(grid), np.nan)
        q3 = np.full(len(grid), np.nan)
        if defined.any():
            q1[defined], median[defined], q3[defined] = np.nanpercentile(
                matrix[:, defined], [25, 50, 75], axis=0
            )
        bands.extend([q1, q3])
        ax.plot(grid, median, drawstyle="steps-post", color=colors[name], label=name)
        ax.fill_between(grid, q1, q3, step="post", color=colors[name], alpha=0.2, linewidth=0)
        frames.append(
            pd.DataFrame(
                {
                    "strategy": name,
                    axis: grid,
                    "median": median,
                    "q1": q1,
                    "q3": q3,
                    "runs": count,
                }
            )
        )
    _zoom(ax, np.vstack(bands), results.mode)
    xlabel = "epochs trained (cumulative)" if axis == "epochs" else "study clock (seconds)"
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"best {results.metric} so far ({_better(results)})")
    ax.set_title(f"Best validation {results.metric} so far: median and interquartile band")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if results.mode == "max" else "upper right")
    caption = (
        f"Best validation {results.metric} seen so far against the "
        + ("epochs trained so far" if axis == "epochs" else "study clock")
        + "; the line is the median over a strategy's finished runs, the band the "
        "interquartile range; a strategy's line ends where its longest run ended (the value "
        "axis shows the range from a tenth of the way on)."
    )
    return Plot(f"best_vs_{axis}", _png(figure), pd.concat(frames, ignore_index=True), caption)


def _zoom(ax: Axes, bands: np.ndarray[Any, Any], mode: str) -> None:
    """Limit the value axis to what the bands span from a tenth of the way on, so the
    first poor trials do not squash the part of the curves where strategies differ."""
    start = bands.shape[1] // 10
    later = bands[:, start:]
    if not np.isfinite(later).any():
        return
    low, high = float(np.nanmin(later)), float(np.nanmax(bands))
    if mode == "min":
        low, high = float(np.nanmin(bands)), float(np.nanmax(later))
    pad = 0.05 * (high - low) or 0.01 * (abs(high) or 1.0)
    ax.set_ylim(low - pad, high + pad)


def _strategy_boxes(
    ax: Axes, data: Sequence[Sequence[float]], names: Sequence[str], colors: dict[str, Any]
) -> list[int]:
    """One translucent box per strategy, in its colour, at positions 1..n (returned)."""
    positions = list(range(1, len(names) + 1))
    boxes = ax.boxplot(
        data,
        positions=positions,
        widths=0.5,
        patch_artist=True,
        showfliers=False,
        medianprops={"color": "black"},
    )
    for patch, name in zip(boxes["boxes"], names, strict=True):
        patch.set_facecolor(colors.get(name, "grey"))
        patch.set_alpha(0.35)
    return positions


def box_plot(analysis: Analysis, kind: ScoreKind) -> Plot | None:
    """The final score of every finished run, a box per strategy, the runs as dots."""
    import pandas as pd

    score = analysis.scores.get(kind)
    if score is None:
        return None
    results = analysis.results
    names = list(score.values)
    colors = strategy_colors([s.name for s in results.strategies])
    figure, ax = _figure((max(4.0, 1.3 * len(names) + 2.0), 4.2))
    data = [score.values[n] for n in names]
    positions = _strategy_boxes(ax, data, names, colors)
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for position, name in zip(positions, names, strict=True):
        pairs = [(r, v) for r, v in sorted(score.by_repeat[name].items()) if v is not None]
        repeats = [r for r, _ in pairs]
        values = [v for _, v in pairs]
        jitter = rng.uniform(-0.12, 0.12, size=len(values))
        ax.scatter(position + jitter, values, color=colors[name], s=18, zorder=3)
        rows.extend(
            {"strategy": name, "repeat": r, kind: v} for r, v in zip(repeats, values, strict=True)
        )
    ax.set_xticks(positions)
    ax.set_xticklabels(names)
    ax.set_ylabel(f"{score.metric} ({_better(results)})")
    title = "Best validation score" if kind == "validation" else "Test score after retraining"
    ax.set_title(f"{title}, every finished run")
    ax.grid(axis="y", alpha=0.3)
    caption = f"{score.title}: the {score.label} of each finished run (dots), by strategy."
    return Plot(f"{kind}_box", _png(figure), pd.DataFrame(rows), caption)


def _floor_line(ax: Axes, floor: float) -> None:
    """FID's real-vs-real floor as a labelled dashed line."""
    ax.axhline(floor, color="firebrick", linestyle="--", linewidth=1.2)
    ax.annotate(
        f"real-vs-real floor {floor:.1f}",
        (0.01, floor),
        xycoords=("axes fraction", "data"),
        xytext=(0, 3),
        textcoords="offset points",
        color="firebrick",
        fontsize="small",
    )


def gan_loss_plot(strategy: str, view: GanView, fid_floor: float | None = None) -> Plot | None:
    """The best trial per epoch: generator and discriminator loss in one panel, and, when
    reported, its Inception Score and its FID (with the real-vs-real floor drawn and
    labelled) in a panel each."""
    import pandas as pd

    if not view.curves:
        return None
    losses = {k: v for k, v in view.curves.items() if k.endswith("loss")}
    others = {k: v for k, v in view.curves.items() if k not in losses}
    figure = _canvas((4.0 + 3.4 * (len(others) + 1), 4.0))
    axes = figure.subplots(1, len(others) + 1, squeeze=False)[0]
    ax = axes[0]
    for name, points in losses.items():
        ax.plot([s for s, _ in points], [v for _, v in points], marker=".", label=name)
    ax.set_ylabel("mean training loss over the epoch")
    ax.set_title("losses")
    if losses:
        ax.legend(loc="best", fontsize="small")
    titles = {
        "inception_score": "Inception Score (higher is better)",
        "fid": "FID (lower is better)",
    }
    for panel, (name, points) in zip(axes[1:], others.items(), strict=True):
        panel.plot([s for s, _ in points], [v for _, v in points], marker=".", color="black")
        panel.set_title(titles.get(name, name))
        if name == "fid" and fid_floor is not None:
            _floor_line(panel, fid_floor)
    for a in axes:
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
    _integer_x(*axes)
    figure.suptitle(f"{strategy}: best trial per epoch")
    rows: list[dict[str, Any]] = []
    for name, points in view.curves.items():
        rows.extend({"metric": name, "epoch": s, "value": v} for s, v in points)
    floor = ""
    if "fid" in others:
        floor = (
            f" FID's real-vs-real floor ({fid_floor:.1f}) is the dashed line."
            if fid_floor is not None
            else " FID's real-vs-real floor: unknown."
        )
    return Plot(
        f"gan_{strategy}_losses",
        _png(figure),
        pd.DataFrame(rows),
        f"{strategy}: generator and discriminator loss per epoch of its best trial"
        + (
            f", and its {' and '.join(titles.get(k, k).split(' (')[0] for k in others)}"
            if others
            else ""
        )
        + " (a PBT clone's epochs before its cloning are those of the members it copied)."
        + floor,
    )


def confusion_plot(strategy: str, view: GanView) -> Plot | None:
    """The discriminator's confusion matrix on real and generated images."""
    import pandas as pd

    if view.confusion is None:
        return None
    labels, matrix = view.confusion
    values = np.asarray(matrix, dtype=float)
    figure, ax = _figure((4.2, 3.6))
    ax.imshow(values, cmap="Blues")
    top = values.max() if values.size else 0.0
    for (i, j), v in np.ndenumerate(values):
        text = f"{v:.3g}" if not math.isnan(v) else "-"
        ax.text(j, i, text, ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("discriminator says")
    ax.set_ylabel("image is")
    ax.set_title(f"{strategy}: discriminator confusion")
    rows = [
        {"image_is": labels[i], "discriminator_says": labels[j], "value": float(v)}
        for (i, j), v in np.ndenumerate(values)
    ]
    return Plot(
        f"gan_{strategy}_confusion",
        _png(figure),
        pd.DataFrame(rows),
        f"{strategy}: confusion matrix of the discriminator on real and generated images "
        "(best trial).",
    )


def gan_best_box(
    results: ComparisonResults,
    scores: Mapping[str, Mapping[int, float]],
    metric: str,
    mode: str,
    floor: float | None = None,
) -> Plot | None:
    """Each run's best ``metric`` (over all its trials and epochs), a box per strategy
    with the runs as dots; ``floor`` (FID's real-vs-real floor) as a labelled line."""
    import pandas as pd

    names = [n for n in scores if scores[n]]
    if not names:
        return None
    colors = strategy_colors([s.name for s in results.strategies])
    figure, ax = _figure((max(4.5, 1.3 * len(names) + 2.5), 4.2))
    positions = _strategy_boxes(ax, [list(scores[n].values()) for n in names], names, colors)
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for position, name in zip(positions, names, strict=True):
        repeats, values = zip(*sorted(scores[name].items()), strict=True)
        jitter = rng.uniform(-0.12, 0.12, size=len(values))
        ax.scatter(position + jitter, values, color=colors.get(name, "grey"), s=18, zorder=3)
        rows.extend(
            {"strategy": name, "repeat": r, f"best_{metric}": v}
            for r, v in zip(repeats, values, strict=True)
        )
    if floor is not None:
        _floor_line(ax, floor)
        rows.append({"strategy": "(real-vs-real floor)", "repeat": None, f"best_{metric}": floor})
    ax.set_xticks(positions)
    ax.set_xticklabels(names)
    better = "higher is better" if mode == "max" else "lower is better"
    label = {"inception_score": "Inception Score", "fid": "FID"}.get(metric, metric)
    ax.set_ylabel(f"best {label} of the run ({better})")
    ax.set_title(f"Best {label} of each run, over all its trials and epochs")
    ax.grid(axis="y", alpha=0.3)
    caption = (
        f"The best {label} ({better}) any trial of a run reported at any epoch, one dot "
        "per finished run (repeat), by strategy."
    )
    if metric == "fid":
        caption += (
            f" Dashed: the real-vs-real floor ({floor:.1f}), the FID of as many real "
            "validation images as an evaluation generates against the other validation "
            "images; no generator is expected below it."
            if floor is not None
            else " The real-vs-real floor is unknown (no trial stores fid_floor)."
        )
    # Nullable integers: the floor's row has no repeat, and a plain column of ints and
    # None would be written as floats ("0.0").
    data = pd.DataFrame(rows).astype({"repeat": "Int64"})
    return Plot(f"gan_best_{metric}_box", _png(figure), data, caption)


def gan_is_plot(
    strategy: str,
    trials: Mapping[int, Sequence[TrialRecord]],
    best: tuple[int, int] | None = None,
) -> Plot | None:
    """Left: the Inception Score of every trial at every epoch (a thin line per trial,
    coloured by repeat; ``best`` = (repeat, trial) drawn thick). Right: each run's best
    IS so far against the epochs it has trained."""
    import pandas as pd
    from matplotlib import colormaps

    from tunelab.report.gan import INCEPTION_SCORE, is_trace

    rows: list[dict[str, Any]] = []
    for repeat, run in trials.items():
        for t in run:
            rows.extend(
                {
                    "panel": "trial",
                    "repeat": repeat,
                    "trial": t.number,
                    "epoch": s,
                    INCEPTION_SCORE: v,
                }
                for s, v in t.metric_history(INCEPTION_SCORE)
            )
    if not rows:
        return None
    figure = _canvas((10.0, 4.2))
    left, right = figure.subplots(1, 2)
    palette = colormaps["tab10"]
    for index, (repeat, run) in enumerate(trials.items()):
        color = palette(index % 10)
        for t in run:
            points = t.metric_history(INCEPTION_SCORE)
            if not points:
                continue
            thick = best == (repeat, t.number)
            left.plot(
                [s for s, _ in points],
                [v for _, v in points],
                color="black" if thick else color,
                linewidth=2.0 if thick else 0.8,
                alpha=1.0 if thick else 0.6,
                marker="." if len(points) < 3 else None,
                zorder=3 if thick else 2,
            )
        trace = is_trace(run)
        if len(trace):
            right.plot(
                trace.epochs,
                trace.best,
                drawstyle="steps-post",
                color=color,
                label=f"repeat {repeat}",
            )
            rows.extend(
                {
                    "panel": "best_so_far",
                    "repeat": repeat,
                    "trial": int(n),
                    "epoch": int(s),
                    "cumulative_epochs": int(e),
                    INCEPTION_SCORE: float(v),
                    "best_so_far": float(b),
                }
                for e, n, s, v, b in zip(
                    trace.epochs, trace.trials, trace.steps, trace.values, trace.best, strict=True
                )
            )
    left.set_xlabel("epoch of the trial")
    left.set_ylabel("Inception Score (higher is better)")
    left.set_title("IS of every trial at every epoch" + (" (thick: best trial)" if best else ""))
    left.grid(alpha=0.3)
    right.set_xlabel("epochs trained by the run (cumulative)")
    right.set_ylabel("best Inception Score so far")
    right.set_title("Best IS so far, one line per repeat")
    right.grid(alpha=0.3)
    right.legend(loc="lower right", fontsize="small")
    _integer_x(left, right)
    figure.suptitle(f"{strategy}: Inception Score")
    caption = (
        f"{strategy}: left, the Inception Score of every trial at every epoch it trained "
        "(thin lines, one colour per repeat; a PBT clone starts at the epoch it was cloned "
        "at); right, each run's best IS so far against the epochs it has trained."
    )
    return Plot(f"gan_{strategy}_inception_score", _png(figure), pd.DataFrame(rows), caption)


def lr_schedule_plot(strategy: str, table: pd.DataFrame, label: str) -> Plot | None:
    """A PBT member's learning rates per epoch (``table``: index ``step``, one column per
    rate and ``trained_by``), a stair per rate, dots where it was cloned."""
    rates = [c for c in table.columns if c != "trained_by"]
    if table.empty or not rates:
        return None
    figure, ax = _figure()
    steps = [int(s) for s in table.index]
    edges = [steps[0] - 1, *steps]
    changes = table.index[table["trained_by"].ne(table["trained_by"].shift())][1:]
    for rate in rates:
        values = table[rate].astype(float).to_numpy()
        artist = ax.stairs(values, edges, label=rate, linewidth=1.8, baseline=None)
        color = artist.get_edgecolor()
        ax.plot([s - 1 for s in changes], table.loc[changes, rate], "o", color=color)
    ax.set_yscale("log")
    ax.set_xlabel("epoch (each step covers the epoch it trained)")
    _integer_x(ax)
    ax.set_ylabel("learning rate (log)")
    ax.set_title(f"{strategy}: best member's learning-rate schedule")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best", fontsize="small")
    data = table.reset_index()
    return Plot(
        f"gan_{strategy}_lr_schedule",
        _png(figure),
        data,
        f"{strategy}: the learning rates the best member ({label}) trained with at each "
        "epoch, followed back through the members it was cloned from (dots: a clone took "
        "over with explored values).",
    )
