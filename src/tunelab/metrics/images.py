"""PNG files for looking at a GAN: a grid of generated images, and its loss curves.

Drawn with matplotlib's Agg canvas directly (no pyplot), so it works without a display
and never changes the caller's matplotlib backend. matplotlib is the ``plot`` extra:
``pip install "tunelab[plot]"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunelab.errors import ConfigError


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError('saving images needs matplotlib: pip install "tunelab[plot]"') from None
    return matplotlib


def image_grid(images: NDArray[Any], ncols: int = 8, pad: int = 2) -> NDArray[np.float64]:
    """Tile images in [-1, 1] (n, 1, h, w) or (n, h, w) into one array in [0, 1]."""
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim == 4:
        arr = arr[:, 0]
    if arr.ndim != 3 or len(arr) == 0:
        raise ValueError(f"images must be (n, h, w) or (n, 1, h, w), got shape {arr.shape}")
    n, h, w = arr.shape
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad))
    for i, image in enumerate(np.clip((arr + 1.0) / 2.0, 0.0, 1.0)):
        r, c = divmod(i, ncols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = image
    return grid


def save_image_grid(images: NDArray[Any], path: str | Path, ncols: int = 8) -> Path:
    """Save images in [-1, 1] as one grayscale PNG grid (white is +1)."""
    _matplotlib()
    from matplotlib.image import imsave

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, image_grid(images, ncols), cmap="gray", vmin=0.0, vmax=1.0)
    return path


def save_loss_curves(
    curves: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    epochs: Sequence[int] | None = None,
    title: str = "",
) -> Path:
    """Plot each named per-epoch series (e.g. g_loss, d_loss) against the epoch; save a PNG."""
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for name, values in curves.items():
        xs = list(epochs) if epochs is not None else list(range(1, len(values) + 1))
        axes.plot(xs[: len(values)], list(values), marker="o", markersize=3, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    if title:
        axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    return path
