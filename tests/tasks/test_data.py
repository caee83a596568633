"""Leak-free splits: disjoint by row, stratified, reproducible; the overlap check works."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tunelab.errors import ConfigError
from tunelab.tasks.data import (
    DatasetSplits,
    find_overlaps,
    load_digits_splits,
    make_splits,
    make_train_val_splits,
    stratified_split,
    stratified_subset,
)
from tunelab.tasks.sealed import SealedTestSet

PARTS = ("train", "val", "test")


@pytest.fixture(scope="module")
def digits_y() -> np.ndarray:
    return np.asarray(load_digits().target, dtype=np.int64)


def index_splits(y: np.ndarray, seed: int) -> DatasetSplits:
    """Splits whose single feature is the row index, so each part names its rows."""
    rows = np.arange(len(y)).reshape(-1, 1)
    return make_splits(rows, y, test_fraction=0.2, val_fraction=0.2, seed=seed, name="rows")


def test_stratified_split_partitions_the_indices(digits_y: np.ndarray) -> None:
    a, b = stratified_split(digits_y, 0.25, seed=3)
    assert len(np.intersect1d(a, b)) == 0
    assert np.array_equal(np.sort(np.concatenate([a, b])), np.arange(len(digits_y)))
    assert len(b) == int(np.ceil(0.25 * len(digits_y)))


def part_rows(splits: DatasetSplits, part: str) -> np.ndarray:
    """The rows of a part; test rows read through the seal, as only a test may."""
    if part == "test":
        with splits.test.unsealed("test") as (x, _):
            return x
    return getattr(splits, f"x_{part}")


def part_labels(splits: DatasetSplits, part: str) -> np.ndarray:
    if part == "test":
        with splits.test.unsealed("test") as (_, y):
            return y
    return getattr(splits, f"y_{part}")


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_parts_are_disjoint_by_row_and_cover_the_data(digits_y: np.ndarray, seed: int) -> None:
    splits = index_splits(digits_y, seed)
    rows = {part: set(part_rows(splits, part).ravel().tolist()) for part in PARTS}
    assert rows["train"].isdisjoint(rows["val"])
    assert rows["train"].isdisjoint(rows["test"])
    assert rows["val"].isdisjoint(rows["test"])
    assert rows["train"] | rows["val"] | rows["test"] == set(range(len(digits_y)))
    for part in PARTS:
        x, y = part_rows(splits, part), part_labels(splits, part)
        assert np.array_equal(digits_y[x.ravel()], y), "labels travel with their rows"


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_digits_parts_are_the_rows_the_index_split_names(digits_y: np.ndarray, seed: int) -> None:
    pixels = (load_digits().data / 16.0).astype(np.float32)
    by_index = index_splits(digits_y, seed)
    splits = load_digits_splits(seed=seed)
    for part in PARTS:
        rows = part_rows(by_index, part).ravel()
        assert np.array_equal(part_rows(splits, part), pixels[rows])
        assert np.array_equal(part_labels(splits, part), digits_y[rows])


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_every_part_keeps_the_class_proportions(digits_y: np.ndarray, seed: int) -> None:
    splits = load_digits_splits(seed=seed)
    total = np.bincount(digits_y)
    for part in PARTS:
        y = part_labels(splits, part)
        expected = total * len(y) / len(digits_y)
        counts = np.bincount(y, minlength=len(total))
        assert np.all(np.abs(counts - expected) <= 1.0), (part, counts, expected)


def test_sizes_follow_the_fractions_of_the_whole() -> None:
    splits = load_digits_splits(seed=0, test_fraction=0.2, val_fraction=0.2)
    assert sum(splits.sizes.values()) == 1797
    assert splits.sizes["test"] == 360
    assert splits.sizes["val"] == 360
    assert "train=1077" in repr(splits)


def test_same_seed_same_splits_other_seed_other_splits() -> None:
    a, b, c = load_digits_splits(seed=5), load_digits_splits(seed=5), load_digits_splits(seed=6)
    for part in PARTS:
        assert np.array_equal(part_rows(a, part), part_rows(b, part))
        assert np.array_equal(part_labels(a, part), part_labels(b, part))
    assert not np.array_equal(part_rows(a, "test"), part_rows(c, "test"))
    assert not np.array_equal(a.x_train, c.x_train)


def test_digits_values_and_types() -> None:
    splits = load_digits_splits()
    assert splits.name == "digits"
    assert splits.x_train.dtype == np.float32 and splits.x_train.shape[1] == 64
    assert splits.y_train.dtype == np.int64
    assert splits.x_train.min() == 0.0
    assert splits.x_train.max() == 1.0


def test_train_val_concatenates_train_then_validation() -> None:
    splits = load_digits_splits()
    x, y = splits.train_val()
    n_train = splits.sizes["train"]
    assert len(x) == len(y) == n_train + splits.sizes["val"]
    assert np.array_equal(x[:n_train], splits.x_train)
    assert np.array_equal(y[n_train:], splits.y_val)


def test_parts_are_read_only() -> None:
    splits = load_digits_splits()
    with pytest.raises(ValueError):
        splits.x_train[0, 0] = 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        splits.x_train = splits.x_val
    with splits.test.unsealed("test") as (x_test, _), pytest.raises(ValueError):
        x_test[0, 0] = 0.5


def test_find_overlaps_reports_every_pair() -> None:
    """Each pair gets its own count: the rows of the second part found in the first."""

    def rows(*values: int) -> np.ndarray:
        return np.array(values, dtype=np.float32).reshape(-1, 1)

    def labels(n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    splits = DatasetSplits(
        "pairs",
        x_train=rows(0, 1, 2, 3, 4),
        y_train=labels(5),
        x_val=rows(0, 1, 5, 6),  # 2 rows of train
        y_val=labels(4),
        test=SealedTestSet(rows(2, 5, 6, 6, 7), labels(5)),  # 1 row of train, 3 of val
    )
    assert find_overlaps(splits) == {"train/val": 2, "train/test": 1, "val/test": 3}


def test_find_overlaps_reads_test_without_opening_the_seal() -> None:
    splits = load_digits_splits()
    assert find_overlaps(splits) == {"train/val": 0, "train/test": 0, "val/test": 0}
    assert splits.test.is_sealed
    assert splits.test.openings == []


def test_find_overlaps_detects_a_planted_duplicate() -> None:
    splits = load_digits_splits()
    before = find_overlaps(splits)
    x_test, y_test = (a.copy() for a in (part_rows(splits, "test"), part_labels(splits, "test")))
    original_test_row = x_test[7].copy()
    x_test[0] = splits.x_train[10]
    x_val = splits.x_val.copy()
    x_val[3] = original_test_row
    leaky = dataclasses.replace(
        splits, test=SealedTestSet(x_test, y_test, name="leaky"), x_val=x_val
    )
    after = find_overlaps(leaky)
    assert after["train/test"] == before["train/test"] + 1
    assert after["val/test"] == before["val/test"] + 1
    assert after["train/val"] == before["train/val"]


def test_bad_fractions_raise_config_error(digits_y: np.ndarray) -> None:
    x = np.zeros((len(digits_y), 2))
    with pytest.raises(ConfigError, match="test_fraction"):
        make_splits(x, digits_y, test_fraction=0.0, val_fraction=0.2, seed=0, name="d")
    with pytest.raises(ConfigError, match="val_fraction"):
        make_splits(x, digits_y, test_fraction=0.5, val_fraction=0.5, seed=0, name="d")
    with pytest.raises(ValueError, match="rows"):
        make_splits(x[:-1], digits_y, test_fraction=0.2, val_fraction=0.2, seed=0, name="d")


def test_duplicates_never_straddle_a_split() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(300, 5)).astype(np.uint8)
    y_base = np.arange(300) % 3
    # Every sample appears three times, as in a dataset with repeated entries.
    x = np.concatenate([base, base, base])
    y = np.concatenate([y_base, y_base, y_base])
    splits = make_splits(x, y, test_fraction=0.2, val_fraction=0.2, seed=4, name="dups")
    assert find_overlaps(splits) == {"train/val": 0, "train/test": 0, "val/test": 0}
    assert sum(splits.sizes.values()) == 900
    for part in PARTS:  # still stratified: a third of each part in each class
        counts = np.bincount(part_labels(splits, part), minlength=3)
        assert np.all(np.abs(counts - counts.mean()) <= 3), (part, counts)
    again = make_splits(x, y, test_fraction=0.2, val_fraction=0.2, seed=4, name="dups")
    assert np.array_equal(again.x_train, splits.x_train)


def test_stratified_subset_keeps_proportions_and_is_seeded(digits_y: np.ndarray) -> None:
    keep = stratified_subset(digits_y, 500, seed=1)
    assert len(keep) == 500 and np.all(np.diff(keep) > 0)
    counts = np.bincount(digits_y[keep], minlength=10)
    expected = np.bincount(digits_y) * 500 / len(digits_y)
    assert np.all(np.abs(counts - expected) <= 1)
    assert np.array_equal(keep, stratified_subset(digits_y, 500, seed=1))
    assert not np.array_equal(keep, stratified_subset(digits_y, 500, seed=2))
    assert len(stratified_subset(digits_y, 10_000, seed=1)) == len(digits_y)
    with pytest.raises(ConfigError, match="train_size"):
        stratified_subset(digits_y, 0, seed=1)


def test_train_val_splits_keep_the_official_test_part_sealed(digits_y: np.ndarray) -> None:
    rows = np.arange(len(digits_y)).reshape(-1, 1)
    x_test, y_test = rows[:100] + 10_000, digits_y[:100]
    splits = make_train_val_splits(
        rows, digits_y, x_test, y_test, val_fraction=0.25, seed=3, name="rows", train_size=800
    )
    assert splits.sizes == {"train": 600, "val": 200, "test": 100}
    assert set(splits.x_train.ravel()).isdisjoint(splits.x_val.ravel())
    assert splits.test.is_sealed
    with splits.test.unsealed("check") as (x, y):
        assert np.array_equal(x, x_test) and np.array_equal(y, y_test)
    val_counts = np.bincount(splits.y_val, minlength=10)
    assert val_counts.min() >= 19 and val_counts.max() <= 21
