"""Slice and contour plots: the value against one parameter, and over two."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigError
from tunelab.plot import data
from tunelab.plot._figure import colormap, empty, new_figure, value_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tunelab.space import Value
    from tunelab.study import Study


def _x(column: data.Column, values: list[Value]) -> list[float]:
    """Numbers to draw ``values`` at: a categorical's index among its choices."""
    if column.choices is None:
        return [float(v) for v in values]
    index = {repr(c): i for i, c in enumerate(column.choices)}
    return [float(index.get(repr(v), -1)) for v in values]


def _scale(ax: Axes, column: data.Column, axis: str) -> None:
    """A log axis for a log parameter, the choices as ticks for a categorical one."""
    label = column.name + (" (inactive trials left out)" if column.conditional else "")
    if axis == "x":
        ax.set_xlabel(label)
    else:
        ax.set_ylabel(label)
    if column.choices is not None:
        ticks = range(len(column.choices))
        names = [str(c) for c in column.choices]
        if axis == "x":
            ax.set_xticks(ticks, names)
            ax.set_xlim(-0.5, len(names) - 0.5)
        else:
            ax.set_yticks(ticks, names)
            ax.set_ylim(-0.5, len(names) - 0.5)
    elif column.log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def plot_slice(study: Study, params: list[str] | None = None) -> Figure:
    """The value against each parameter (``params``, default all but fixed ones), one
    panel each, over the trials with a value where the parameter was active: one
    scatter per panel (gid ``"slice:<name>"``), coloured by trial number, pruned trials
    hollow. Log parameters get a log axis, categorical ones their choices as ticks."""
    table = data.slices(study)
    by_name = {s.column.name: s for s in table}
    for p in params or []:
        if p not in by_name:
            raise ConfigError(
                f"study {study.name!r} has no parameter {p!r} "
                f"(it has {', '.join(by_name) or 'none'})"
            )
    chosen = [by_name[p] for p in params] if params else table
    n = max(1, len(chosen))
    cols = min(n, 3)
    figure, axes = new_figure(n, ncols=cols, size=(4.0 * cols, 3.4 * math.ceil(n / cols)))
    if not chosen:
        empty(axes[0], "the study has no parameters")
        return figure
    top = max((max(s.numbers) for s in chosen if s.numbers), default=1)
    cmap = colormap("viridis")
    for ax, s in zip(axes, chosen, strict=False):
        if not s.numbers:
            empty(ax, f"no trial with a value has {s.column.name}")
            ax.set_xlabel(s.column.name)
            continue
        colors = [cmap(n / max(top, 1)) for n in s.numbers]
        faces = [c if st == "completed" else "none" for c, st in zip(colors, s.states, strict=True)]
        ax.scatter(
            _x(s.column, s.x),
            s.y,
            s=18,
            facecolors=faces,
            edgecolors=colors,
            linewidths=1.0,
            gid=f"slice:{s.column.name}",
        )
        _scale(ax, s.column, "x")
        ax.set_ylabel(value_label(study.metric, study.mode))
    figure.suptitle(f"Slices of {study.name} (colour: trial number; hollow: pruned)")
    return figure


def plot_contour(study: Study, x: str | None = None, y: str | None = None) -> Figure:
    """The value over parameters ``x`` and ``y`` (default: the first two numeric ones,
    else the first two): a filled
    contour of the trials' values (when both are numeric and at least 3 trials span an
    area) under a scatter of the trials (gid ``"contour:points"``) where both were active."""
    columns = data.parallel(study).columns
    # Numeric parameters first: a contour needs two of them.
    names = [c.name for c in columns if c.choices is None] + [
        c.name for c in columns if c.choices is not None
    ]
    if x is None or y is None:
        if len(names) < 2:
            raise ConfigError(f"study {study.name!r} has fewer than 2 parameters to contour")
        if x is None:
            x = next(n for n in names if n != y)
        if y is None:
            y = next(n for n in names if n != x)
    table = data.contour(study, x, y)
    figure, (ax,) = new_figure(size=(6.0, 4.8))
    if not table.points:
        empty(ax, f"no trial with a value has both {x} and {y}")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        return figure
    xs = _x(table.x, [p[0] for p in table.points])
    ys = _x(table.y, [p[1] for p in table.points])
    zs = [p[2] for p in table.points]
    cmap = colormap("viridis" if table.mode == "max" else "viridis_r")
    mappable: Any = None
    if table.x.choices is None and table.y.choices is None:
        mappable = _filled(ax, table, xs, ys, zs, cmap)
    points = ax.scatter(
        xs, ys, c=zs, cmap=cmap, s=22, edgecolors="black", linewidths=0.5, gid="contour:points"
    )
    _scale(ax, table.x, "x")
    _scale(ax, table.y, "y")
    figure.colorbar(mappable or points, ax=ax, label=value_label(table.metric, table.mode))
    ax.set_title(f"{table.metric} over {x} and {y}")
    return figure


def _filled(
    ax: Axes, table: data.Contour, xs: list[float], ys: list[float], zs: list[float], cmap: Any
) -> Any:
    """A filled contour over the triangulated trials, in the axes' (log) coordinates;
    None when the points do not span an area."""
    import numpy as np
    from matplotlib.tri import Triangulation

    tx = np.log10(xs) if table.x.log else np.asarray(xs)
    ty = np.log10(ys) if table.y.log else np.asarray(ys)
    unique = {(a, b) for a, b in zip(tx.tolist(), ty.tolist(), strict=True)}
    if len(unique) < 3:
        return None
    try:
        triangles = Triangulation(tx, ty)
    except (ValueError, RuntimeError):  # collinear points
        return None
    # Draw in the transformed plane, then map the vertices back onto the log axes.
    grid = Triangulation(
        10**tx if table.x.log else tx, 10**ty if table.y.log else ty, triangles.triangles
    )
    return ax.tricontourf(grid, zs, levels=12, cmap=cmap, alpha=0.6)
