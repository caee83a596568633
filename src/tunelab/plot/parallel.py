"""Parallel coordinates: every trial as a line through its parameters and its value.

Each parameter has a vertical axis from 0 (bottom) to 1 (top): a numeric one spans its
range in the space, on a log scale when it is sampled so; a categorical or boolean one
spreads its choices evenly. A conditional parameter that was inactive in a trial is
drawn at :data:`INACTIVE_Y`, below the axis, labelled "inactive".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tunelab.errors import ConfigError
from tunelab.plot import data
from tunelab.plot._figure import colormap, empty, mappable, new_figure, value_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tunelab.space import Value
    from tunelab.study import Study

INACTIVE_Y = -0.15
"""Where an inactive conditional parameter is drawn on its axis."""


def position(column: data.Column, value: Value | None) -> float:
    """Where ``value`` sits on ``column``'s axis, in [0, 1] (INACTIVE_Y for None)."""
    if value is None:
        return INACTIVE_Y
    if column.choices is not None:
        k = len(column.choices)
        index = next(
            (i for i, c in enumerate(column.choices) if type(c) is type(value) and c == value),
            next((i for i, c in enumerate(column.choices) if c == value), 0),
        )
        return 0.5 if k == 1 else index / (k - 1)
    low, high, x = float(column.low or 0.0), float(column.high or 0.0), float(value)
    if column.log:
        low, high, x = math.log(low), math.log(high), math.log(x)
    return 0.5 if high <= low else (x - low) / (high - low)


def _ticks(column: data.Column) -> list[tuple[float, str]]:
    if column.choices is not None:
        return [(position(column, c), str(c)) for c in column.choices]
    low, high = float(column.low or 0.0), float(column.high or 0.0)
    if column.log and low > 0:
        decades = [
            10.0**k for k in range(math.ceil(math.log10(low)), math.floor(math.log10(high)) + 1)
        ]
        values = decades if len(decades) >= 2 else [low, high]
    else:
        values = [low + (high - low) * i / 4 for i in range(5)]
    return [(position(column, v), f"{v:.3g}") for v in values]


def plot_parallel(study: Study, params: list[str] | None = None) -> Figure:
    """Parallel coordinates of the trials with a value (completed and pruned), one line
    each, in trial order, coloured by value (the best brightest), pruned ones dashed:
    one LineCollection per state (gid ``"trials:<state>"``), then the value axis last.
    ``params`` picks and orders the parameters (default: all but fixed ones)."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    table = data.parallel(study)
    by_name = {c.name: c for c in table.columns}
    unknown = [p for p in params or [] if p not in by_name]
    if unknown:
        raise ConfigError(
            f"study {study.name!r} has no parameter {unknown[0]!r} "
            f"(it has {', '.join(by_name) or 'none'})"
        )
    columns = [by_name[p] for p in params] if params else table.columns
    rows = [r for r in table.rows if r.value is not None]
    figure, (ax,) = new_figure(size=(max(6.0, 1.4 * (len(columns) + 1)), 4.8))
    if not rows or not columns:
        empty(ax, "no trial has a value yet" if columns else "the study has no parameters")
        return figure
    values = [float(r.value) for r in rows]  # type: ignore[arg-type]
    low, high = min(values), max(values)
    norm = Normalize(low, high if high > low else low + 1.0)
    cmap = colormap("viridis" if table.mode == "max" else "viridis_r")
    n = len(columns)
    for state in sorted({r.state for r in rows}):
        group = [r for r in rows if r.state == state]
        segments = [
            [(j, position(c, r.params[c.name])) for j, c in enumerate(columns)]
            + [(n, norm(float(r.value)))]  # type: ignore[arg-type]
            for r in group
        ]
        ax.add_collection(
            LineCollection(
                segments,
                colors=[cmap(norm(float(r.value))) for r in group],  # type: ignore[arg-type]
                linewidths=1.0,
                linestyles="solid" if state == "completed" else "dashed",
                alpha=0.7,
                gid=f"trials:{state}",
            )
        )
    for j, c in enumerate(columns):
        _axis(ax, j, _ticks(c) + ([(INACTIVE_Y, "inactive")] if c.conditional else []))
    _axis(ax, n, [(float(norm(v)), f"{v:.3g}") for v in (low, (low + high) / 2, high)])
    ax.set_xticks(
        range(n + 1),
        [c.name + (" (log)" if c.log else "") for c in columns] + [table.metric],
        rotation=20,
    )
    ax.set_yticks([])
    ax.set_xlim(-0.3, n + 0.3)
    ax.set_ylim(INACTIVE_Y - 0.1, 1.05)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    figure.colorbar(mappable(cmap, norm), ax=ax, label=value_label(table.metric, table.mode))
    ax.set_title(f"Parallel coordinates of {study.name}")
    return figure


def _axis(ax: Axes, x: float, ticks: list[tuple[float, str]]) -> None:
    ax.axvline(x, color="0.3", linewidth=0.8, zorder=0)
    for y, label in ticks:
        ax.text(x - 0.04, y, label, ha="right", va="center", fontsize="x-small", color="0.2")
