"""IDX .gz files written by the tests, in the exact format of (Fashion-)MNIST.

Each class draws a different bright stripe on a noisy 28x28 background, so a small
classifier can learn the classes, and the files have the real names and layout.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from tunelab.tasks.datasets import IdxDataset, IdxFile
from tunelab.tasks.idx import write_idx


def fake_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row = 3 + 2 * int(label)
        images[i, row : row + 2, 4:24] = 230
    return images, labels


def write_fake_dataset(
    folder: Path, dataset: IdxDataset, *, n_train: int = 600, n_test: int = 200
) -> dict[str, str]:
    """Write ``dataset``'s four files into ``folder``; return their SHA-256 by name."""
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = fake_images(n_train, seed=1)
    x_test, y_test = fake_images(n_test, seed=2)
    arrays = (x_train, y_train, x_test, y_test)
    digests = {}
    for item, array in zip(dataset.files, arrays, strict=True):
        path = write_idx(folder / item.name, array)
        digests[item.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def with_checksums(dataset: IdxDataset, digests: dict[str, str], **changes: object) -> IdxDataset:
    """``dataset`` accepting files with ``digests`` (and other fields changed)."""
    fields = {
        key: IdxFile(item.name, (digests[item.name],))
        for key, item in zip(
            ("train_images", "train_labels", "test_images", "test_labels"),
            dataset.files,
            strict=True,
        )
    }
    return dataclasses.replace(dataset, **fields, **changes)
