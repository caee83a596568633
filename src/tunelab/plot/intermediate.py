"""Intermediate values: every trial's learning curve, stopped and paused trials marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunelab.plot import data
from tunelab.plot._figure import STATE_COLORS, empty, new_figure, value_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tunelab.study import Study

_END_MARKERS = {"pruned": "x", "paused": "s"}


def plot_intermediate(study: Study, max_points: int | None = None) -> Figure:
    """The study metric at every step of every trial: one polyline per trial in a
    LineCollection per state (gid ``"curves:<state>"``), in trial order; the last point
    of each pruned (x) and paused (square) trial is marked (gid ``"ends:<state>"``).
    ``max_points`` downsamples long curves (see :func:`tunelab.plot.data.intermediate`)."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    curves = data.intermediate(study, max_points=max_points)
    figure, (ax,) = new_figure()
    if not curves:
        empty(ax, f"no trial reported {study.metric} yet")
        return figure
    handles = []
    for state in sorted({c.state for c in curves}):
        group = [c for c in curves if c.state == state]
        color = STATE_COLORS.get(state, "0.5")
        lines = LineCollection(
            [list(zip(c.steps, c.values, strict=True)) for c in group],
            colors=color,
            linewidths=1.0,
            alpha=0.6,
            gid=f"curves:{state}",
        )
        ax.add_collection(lines)
        handles.append(Line2D([], [], color=color, label=f"{state} ({len(group)})"))
        if state in _END_MARKERS:
            ax.scatter(
                [c.steps[-1] for c in group],
                [c.values[-1] for c in group],
                marker=_END_MARKERS[state],
                color=color,
                s=24,
                zorder=3,
                gid=f"ends:{state}",
            )
    ax.autoscale_view()
    ax.set_xlabel("step (epoch)")
    ax.set_ylabel(value_label(study.metric, study.mode))
    ax.set_title(f"Learning curves of {study.name}")
    ax.legend(handles=handles, fontsize="small")
    return figure
