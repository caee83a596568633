"""Leak-free train/validation/test splits for the built-in tasks.

Splits are made by row index, stratified by label and seeded, so a seed always gives
the same parts and no row ever lands in two of them; rows with byte-identical content
are kept together, so no sample can appear in two parts even when a dataset repeats
itself. The test part is held back behind a seal (:class:`~tunelab.tasks.sealed.
SealedTestSet`): tuning reads train and validation only, and only the final evaluation,
after tuning, opens the test part. :meth:`DatasetSplits.train_val` is the data the
final retraining uses.

Two ways in: :func:`make_splits` holds a test part back from one labelled set (the 8x8
digits), :func:`make_train_val_splits` uses a dataset's official test part as is and
splits its training part (MNIST, Fashion-MNIST).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tunelab.errors import ConfigError
from tunelab.tasks.sealed import SealedTestSet, row_hashes

_PARTS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class DatasetSplits:
    """The three parts of a dataset; the test part is sealed. Arrays are read-only."""

    name: str
    x_train: NDArray[Any] = field(repr=False)
    y_train: NDArray[Any] = field(repr=False)
    x_val: NDArray[Any] = field(repr=False)
    y_val: NDArray[Any] = field(repr=False)
    test: SealedTestSet = field(repr=False)

    def __post_init__(self) -> None:
        for part in ("train", "val"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if len(x) != len(y):
                raise ValueError(
                    f"dataset {self.name!r}: x_{part} has {len(x)} rows but y_{part} has {len(y)}"
                )
            x.setflags(write=False)
            y.setflags(write=False)

    @property
    def x_test(self) -> NDArray[Any]:
        """Test inputs: raises SealedTestDataError unless inside ``test.unsealed()``."""
        return self.test.x

    @property
    def y_test(self) -> NDArray[Any]:
        """Test labels: raises SealedTestDataError unless inside ``test.unsealed()``."""
        return self.test.y

    @property
    def sizes(self) -> dict[str, int]:
        """Number of rows in each part."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.test)}

    @property
    def n_classes(self) -> int:
        """Number of classes, from the labels of train and validation."""
        return int(max(self.y_train.max(), self.y_val.max())) + 1

    def train_val(self) -> tuple[NDArray[Any], NDArray[Any]]:
        """Train and validation concatenated: the data the final retraining uses."""
        x = np.concatenate([self.x_train, self.x_val])
        y = np.concatenate([self.y_train, self.y_val])
        return x, y

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        return f"DatasetSplits(name={self.name!r}, {sizes})"


def _duplicate_groups(x: NDArray[Any] | None) -> NDArray[np.int64] | None:
    """A group id per row (rows with identical bytes share one), or None if all differ."""
    if x is None or len(x) == 0:
        return None
    _, first, inverse = np.unique(np.asarray(row_hashes(x)), return_index=True, return_inverse=True)
    if len(first) == len(x):
        return None
    return np.asarray(inverse, dtype=np.int64).ravel()


def stratified_split(
    y: NDArray[Any], test_fraction: float, seed: int, *, x: NDArray[Any] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Split row indices of ``y`` into (rest, held-out) with class proportions kept.

    ``test_fraction`` of the rows go to the second array. Both arrays are sorted, and
    the same ``seed`` always gives the same split. With ``x`` given, rows whose
    content is byte-identical go to the same side (stratified by the group's first
    label), so the two sides share no sample; without duplicates the split is the
    same as without ``x``.
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    labels = np.asarray(y)
    groups = _duplicate_groups(x)
    if groups is None:
        idx = np.arange(len(labels), dtype=np.int64)
        try:
            idx_a, idx_b = train_test_split(
                idx, test_size=test_fraction, stratify=labels, random_state=seed, shuffle=True
            )
        except ValueError as exc:
            raise ConfigError(f"cannot split {len(labels)} rows stratified: {exc}") from None
        return np.sort(idx_a), np.sort(idx_b)
    n_groups = int(groups.max()) + 1
    first_row = np.full(n_groups, len(labels), dtype=np.int64)
    np.minimum.at(first_row, groups, np.arange(len(labels), dtype=np.int64))
    group_ids = np.arange(n_groups, dtype=np.int64)
    try:
        _, g_b = train_test_split(
            group_ids,
            test_size=test_fraction,
            stratify=labels[first_row],
            random_state=seed,
            shuffle=True,
        )
    except ValueError as exc:
        raise ConfigError(f"cannot split {n_groups} distinct samples stratified: {exc}") from None
    in_b = np.zeros(n_groups, dtype=bool)
    in_b[g_b] = True
    rows = np.arange(len(labels), dtype=np.int64)
    return rows[~in_b[groups]], rows[in_b[groups]]


def stratified_subset(y: NDArray[Any], size: int, seed: int) -> NDArray[np.int64]:
    """Sorted indices of a stratified, seeded subset of ``size`` rows (all rows if larger)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"train_size must be a positive integer, got {size!r}")
    if size >= len(y):
        return np.arange(len(y), dtype=np.int64)
    _, keep = stratified_split(y, size / len(y), seed)
    return keep


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
    rest, test = stratified_split(y, test_fraction, seed, x=x)
    train_pos, val_pos = stratified_split(
        y[rest], val_fraction / (1.0 - test_fraction), seed, x=x[rest]
    )
    train, val = rest[train_pos], rest[val_pos]
    return DatasetSplits(
        name=name,
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        test=SealedTestSet(x[test], y[test], name=name),
    )


def make_train_val_splits(
    x_train: NDArray[Any],
    y_train: NDArray[Any],
    x_test: NDArray[Any],
    y_test: NDArray[Any],
    *,
    val_fraction: float,
    seed: int,
    name: str,
    train_size: int | None = None,
) -> DatasetSplits:
    """Keep a dataset's official test part (sealed); split its training part.

    ``train_size`` first takes a stratified, seeded subset of that many rows of the
    training part (all of it when None); ``val_fraction`` of those rows become the
    validation part.
    """
    if len(x_train) != len(y_train):
        raise ValueError(f"dataset {name!r}: x has {len(x_train)} rows but y has {len(y_train)}")
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
    pool = np.arange(len(y_train), dtype=np.int64)
    if train_size is not None:
        pool = stratified_subset(y_train, train_size, seed)
    train_pos, val_pos = stratified_split(y_train[pool], val_fraction, seed, x=x_train[pool])
    train, val = pool[train_pos], pool[val_pos]
    return DatasetSplits(
        name=name,
        x_train=x_train[train],
        y_train=y_train[train],
        x_val=x_train[val],
        y_val=y_train[val],
        test=SealedTestSet(np.array(x_test), np.array(y_test), name=name),
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


def find_overlaps(splits: DatasetSplits) -> dict[str, int]:
    """Count samples whose exact content appears in two parts (a leak check).

    For each pair ``"a/b"`` (train/val, train/test, val/test) the count is the number
    of rows of ``b`` whose features are byte-identical to some row of ``a``. The
    splits made here keep duplicates together, so the parts they make never overlap;
    an official test part may still repeat training samples, which this reports. It
    reads the sealed test part through digests only.
    """
    hashes = {
        "train": row_hashes(splits.x_train),
        "val": row_hashes(splits.x_val),
        "test": splits.test.row_hashes(),
    }
    out: dict[str, int] = {}
    for i, a in enumerate(_PARTS):
        seen = set(hashes[a])
        for b in _PARTS[i + 1 :]:
            out[f"{a}/{b}"] = sum(h in seen for h in hashes[b])
    return out
