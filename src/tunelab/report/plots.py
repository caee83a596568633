"""The report's pictures, each with the table of numbers it was drawn from.

Drawn with matplotlib's object API on an Agg canvas: nothing touches pyplot's global
state or the caller's backend, and matplotlib is imported only when a report is made.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tunelab.compare.results import ComparisonResults
from tunelab.errors import ConfigError
from tunelab.report.analysis import Analysis, ScoreKind

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tunelab.report.gan import GanView

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


def _figure(size: tuple[float, float] = _SIZE) -> tuple[Figure, Axes]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            "tunelab report draws its plots with matplotlib, which is not installed: "
            "pip install 'tunelab[plot]'"
        ) from None
    figure = Figure(figsize=size, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


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
        "interquartile range (the value axis shows the range from a tenth of the way on)."
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
        patch.set_facecolor(colors[name])
        patch.set_alpha(0.35)
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


def gan_loss_plot(strategy: str, view: GanView) -> Plot | None:
    """Generator and discriminator loss (and IS/FID when reported) per epoch."""
    import pandas as pd

    if not view.curves:
        return None
    figure, ax = _figure()
    rows: list[dict[str, Any]] = []
    losses = {k: v for k, v in view.curves.items() if k.endswith("loss")}
    others = {k: v for k, v in view.curves.items() if k not in losses}
    for name, points in losses.items():
        ax.plot([s for s, _ in points], [v for _, v in points], marker=".", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if others:
        twin = ax.twinx()
        for name, points in others.items():
            twin.plot(
                [s for s, _ in points],
                [v for _, v in points],
                linestyle="--",
                marker=".",
                label=name,
            )
        twin.set_ylabel(", ".join(others))
        twin.legend(loc="upper right")
    if losses:
        ax.legend(loc="upper left")
    ax.set_title(f"{strategy}: best trial's losses per epoch")
    ax.grid(alpha=0.3)
    for name, points in view.curves.items():
        rows.extend({"metric": name, "epoch": s, "value": v} for s, v in points)
    return Plot(
        f"gan_{strategy}_losses",
        _png(figure),
        pd.DataFrame(rows),
        f"{strategy}: generator and discriminator loss per epoch of its best trial.",
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
