"""Fixtures shared by the task tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def gan_options(data_dir: Path, classifier_dir: Path, mnist_classifier: Any) -> dict[str, Any]:
    """A small GAN: 160 training images, an epoch one pass over them, 200 samples per
    evaluation."""
    return {
        "data_dir": str(data_dir),
        "classifier_dir": str(classifier_dir),
        "train_size": 200,
        "steps_per_epoch": None,
        "eval_samples": 200,
        "batch_size": 64,
        "device": "cpu",
    }
