"""Image grids and loss curves are real PNG files with the expected content."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tunelab.errors import ConfigError
from tunelab.metrics.images import image_grid, save_image_grid, save_loss_curves


def test_grid_places_images_row_by_row() -> None:
    images = np.stack([np.full((1, 4, 4), v) for v in (-1.0, 0.0, 1.0)])
    grid = image_grid(images, ncols=2, pad=1)
    assert grid.shape == (1 + 2 * 5, 1 + 2 * 5)
    assert grid[1, 1] == 0.0 and grid[1, 6] == 0.5 and grid[6, 1] == 1.0
    assert grid[0, 0] == 1.0, "padding is white"
    assert grid[6, 6] == 1.0, "the empty cell stays white"
    with pytest.raises(ValueError, match="shape"):
        image_grid(np.zeros((2, 3)))


def test_saved_grid_reads_back(tmp_path: Path) -> None:
    from matplotlib.image import imread

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(64, 1, 28, 28))
    path = save_image_grid(images, tmp_path / "sub" / "grid.png")
    pixels = imread(path)
    assert pixels.shape[:2] == image_grid(images).shape
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gray = pixels[..., 0]
    # a 256-level colormap, then 8-bit PNG: within two grey levels
    assert np.allclose(gray, image_grid(images), atol=2 / 255)


def test_loss_curves_png(tmp_path: Path) -> None:
    path = save_loss_curves(
        {"g_loss": [2.0, 1.5, 1.2], "d_loss": [1.0, 1.1, 1.3]},
        tmp_path / "losses.png",
        epochs=[4, 5, 6],
        title="trial 3",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000


def test_missing_matplotlib_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError, match=r"tunelab\[plot\]"):
        save_image_grid(np.zeros((1, 28, 28)), tmp_path / "g.png")
