"""Optimisation history: every trial's value and the best so far, by trial and by time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunelab.plot import data
from tunelab.plot._figure import STATE_COLORS, STATE_MARKERS, empty, new_figure, value_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tunelab.study import Study


def plot_history(study: Study) -> Figure:
    """Two panels: each trial's value against its number (left) and against the time it
    ended (right, seconds since the first trial started), with the best value so far of
    the completed trials as a stepped line (gid ``"best"``). Pruned trials' values are
    drawn with their own marker; they do not count towards the best."""
    table = data.history(study)
    figure, (by_number, by_time) = new_figure(2, size=(11.0, 4.2))
    valued = [p for p in table.points if p.value is not None]
    if not valued:
        for ax in (by_number, by_time):
            empty(ax, "no trial has a value yet")
        return figure
    for state in sorted({p.state for p in valued}):
        points = [p for p in valued if p.state == state]
        style = {
            "color": STATE_COLORS.get(state, "0.5"),
            "marker": STATE_MARKERS.get(state, "o"),
            "s": 14,
            "label": state,
            "gid": f"values:{state}",
        }
        by_number.scatter([p.number for p in points], [p.value for p in points], **style)  # type: ignore[arg-type]
        timed = [p for p in points if p.elapsed is not None]
        by_time.scatter([p.elapsed for p in timed], [p.value for p in timed], **style)  # type: ignore[arg-type]
    best = [(p.number, p.best_so_far) for p in table.points if p.best_so_far is not None]
    if best:
        by_number.plot(
            [n for n, _ in best],
            [b for _, b in best],
            drawstyle="steps-post",
            color="black",
            label="best so far",
            gid="best",
        )
    if table.best_by_time:
        end = max(p.elapsed or 0.0 for p in table.points)
        xs = [t for t, _ in table.best_by_time] + [end]
        ys = [b for _, b in table.best_by_time] + [table.best_by_time[-1][1]]
        by_time.plot(xs, ys, drawstyle="steps-post", color="black", label="best so far", gid="best")
    _labels(by_number, "trial", table.metric, table.mode)
    _labels(by_time, "seconds since the first trial started", table.metric, table.mode)
    by_number.legend(fontsize="small")
    figure.suptitle(f"Optimisation history of {study.name}")
    return figure


def _labels(ax: Axes, xlabel: str, metric: str, mode: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(value_label(metric, mode))
