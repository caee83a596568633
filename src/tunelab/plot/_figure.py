"""What every plot of :mod:`tunelab.plot` shares: a new Figure and the state colours.

Figures are made with matplotlib's object API on an Agg canvas, as the report's are
(:mod:`tunelab.report.plots`): nothing touches pyplot's global state or the caller's
backend, and Jupyter still shows a returned Figure. matplotlib is imported only here,
when a plot is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100

STATE_COLORS = {
    "completed": "tab:blue",
    "pruned": "tab:orange",
    "paused": "tab:purple",
    "running": "tab:green",
    "waiting": "tab:gray",
    "failed": "tab:red",
}
"""One colour per trial state, the same in every plot."""

STATE_MARKERS = {"completed": "o", "pruned": "x", "paused": "s", "running": ">"}


def agg_figure(size: tuple[float, float], *, drawer: str, dpi: int = DPI) -> Figure:
    """An empty Figure on its own Agg canvas; without matplotlib, a ConfigError saying
    "<drawer> with matplotlib, which is not installed" and how to install it."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            f"{drawer} with matplotlib, which is not installed: pip install 'tunelab[plot]'"
        ) from None
    figure = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def new_figure(
    n_axes: int = 1, *, size: tuple[float, float] = (7.0, 4.2), ncols: int | None = None
) -> tuple[Figure, list[Axes]]:
    """A Figure on an Agg canvas with ``n_axes`` axes in a grid (``ncols`` per row)."""
    figure = agg_figure(size, drawer="tunelab.plot draws")
    cols = ncols or n_axes
    rows = -(-n_axes // cols)
    grid = figure.subplots(rows, cols, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[n_axes:]:
        ax.set_visible(False)
    return figure, axes[:n_axes]


def colormap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name]


def mappable(cmap: Any, norm: Any) -> Any:
    """What a colorbar needs for a colormap and a normalisation."""
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=cmap)


def value_label(metric: str, mode: str) -> str:
    return f"{metric} ({'higher' if mode == 'max' else 'lower'} is better)"


def empty(ax: Axes, text: str) -> None:
    """Say on ``ax`` why there is nothing to draw."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
