"""Fixtures of the Keras front end's tests: Keras 3 on the torch backend, a small real
MNIST subset, one torch thread.

One thread because these matrices are tiny: on a loaded 2-core machine two threads
make a Keras step about 50 times slower (measured: 180 ms against 3 ms).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")


@dataclass(frozen=True)
class Mnist:
    """Flattened MNIST images in [0, 1] and their labels: a training and a validation part."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@pytest.fixture(scope="session")
def mnist(data_dir: Path) -> Mnist:
    """300 MNIST training images (stratified), 240 to train on and 60 to validate."""
    from tunelab.tasks.datasets import load_image_splits

    splits = load_image_splits("mnist", data_dir, train_size=300, seed=0)

    def flat(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1).astype("float32") / 255.0

    return Mnist(flat(splits.x_train), splits.y_train, flat(splits.x_val), splits.y_val)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
