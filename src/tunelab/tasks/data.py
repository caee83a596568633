"""Datasets and leak-free train/validation/test splits for the built-in tasks.

Splits are made by row index, stratified by label and seeded, so a seed always gives
the same parts and no row ever lands in two of them. The test part is held back first;
tuning reads train and validation only, and :meth:`DatasetSplits.train_val` is what the
final retraining uses before the single test evaluation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunelab.errors import ConfigError

_PARTS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class DatasetSplits:
    """The three parts of a dataset. Arrays are made read-only so no task can edit them."""

    name: str
    x_train: NDArray[Any] = field(repr=False)
    y_train: NDArray[Any] = field(repr=False)
    x_val: NDArray[Any] = field(repr=False)
    y_val: NDArray[Any] = field(repr=False)
    x_test: NDArray[Any] = field(repr=False)
    y_test: NDArray[Any] = field(repr=False)

    def __post_init__(self) -> None:
        for part in _PARTS:
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if len(x) != len(y):
                raise ValueError(
                    f"dataset {self.name!r}: x_{part} has {len(x)} rows but y_{part} has {len(y)}"
                )
            x.setflags(write=False)
            y.setflags(write=False)

    @property
    def sizes(self) -> dict[str, int]:
        """Number of rows in each part."""
        return {part: len(getattr(self, f"y_{part}")) for part in _PARTS}

    def train_val(self) -> tuple[NDArray[Any], NDArray[Any]]:
        """Train and validation concatenated: the data the final retraining uses."""
        x = np.concatenate([self.x_train, self.x_val])
        y = np.concatenate([self.y_train, self.y_val])
        return x, y

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        return f"DatasetSplits(name={self.name!r}, {sizes})"


def stratified_split(
    y: NDArray[Any], test_fraction: float, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Split row indices of ``y`` into (rest, held-out) with class proportions kept.

    ``test_fraction`` of the rows go to the second array. Both arrays are sorted, and
    the same ``seed`` always gives the same split.
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    labels = np.asarray(y)
    idx = np.arange(len(labels), dtype=np.int64)
    idx_a, idx_b = train_test_split(
        idx, test_size=test_fraction, stratify=labels, random_state=seed, shuffle=True
    )
    return np.sort(idx_a), np.sort(idx_b)


def make_splits(
    x: NDArray[Any],
    y: NDArray[Any],
    *,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    name: str,
) -> DatasetSplits:
    """Split ``(x, y)`` into stratified train/validation/test parts.

    Both fractions are of the whole dataset (0.2 and 0.2 give 60/20/20). The test part
    is drawn first, so changing ``val_fraction`` never moves a row into or out of test.
    """
    if len(x) != len(y):
        raise ValueError(f"dataset {name!r}: x has {len(x)} rows but y has {len(y)}")
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if test_fraction + val_fraction >= 1.0:
        raise ConfigError(
            f"test_fraction + val_fraction must be < 1 to leave training data, "
            f"got {test_fraction} + {val_fraction}"
        )
    rest, test = stratified_split(y, test_fraction, seed)
    train_pos, val_pos = stratified_split(y[rest], val_fraction / (1.0 - test_fraction), seed)
    train, val = rest[train_pos], rest[val_pos]
    return DatasetSplits(
        name=name,
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        x_test=x[test],
        y_test=y[test],
    )


def load_digits_splits(
    seed: int = 0, test_fraction: float = 0.2, val_fraction: float = 0.2
) -> DatasetSplits:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), pixels scaled to [0, 1].

    Ships with scikit-learn, so it needs no download. ``x`` is float32 of shape (n, 64),
    ``y`` int64.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (np.asarray(data.data, dtype=np.float32) / 16.0).astype(np.float32)
    y = np.asarray(data.target, dtype=np.int64)
    return make_splits(
        x, y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed, name="digits"
    )


def _row_hashes(x: NDArray[Any]) -> list[str]:
    rows = np.ascontiguousarray(x).reshape(len(x), -1)
    return [hashlib.sha1(row.tobytes()).hexdigest() for row in rows]


def find_overlaps(splits: DatasetSplits) -> dict[str, int]:
    """Count samples whose exact content appears in two parts (a leak check).

    For each pair ``"a/b"`` (train/val, train/test, val/test) the count is the number
    of rows of ``b`` whose features are byte-identical to some row of ``a``. Splitting
    by index cannot create such rows, but a dataset with repeated samples can contain
    them, so this reports rather than asserts.
    """
    hashes = {part: _row_hashes(getattr(splits, f"x_{part}")) for part in _PARTS}
    out: dict[str, int] = {}
    for i, a in enumerate(_PARTS):
        seen = set(hashes[a])
        for b in _PARTS[i + 1 :]:
            out[f"{a}/{b}"] = sum(h in seen for h in hashes[b])
    return out
