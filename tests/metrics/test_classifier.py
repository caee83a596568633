"""The MNIST scoring classifier: accurate, cached once, and the same when reloaded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tunelab.metrics.classifier import (
    N_FEATURES,
    MnistCNN,
    classifier_path,
    images_to_input,
    mnist_classifier,
)
from tunelab.tasks.datasets import MNIST, load_idx_dataset


def test_at_least_99_percent_on_the_mnist_test_images(
    mnist_classifier: Any, data_dir: Path
) -> None:
    data = load_idx_dataset(MNIST, data_dir)
    probs, features = mnist_classifier.scores(data.x_test)
    accuracy = float((probs.argmax(axis=1) == data.y_test).mean())
    print(
        f"classifier: test accuracy {accuracy:.4f}, "
        f"trained in {mnist_classifier.train_seconds:.1f}s"
    )
    assert accuracy >= 0.99
    assert accuracy == mnist_classifier.test_accuracy
    assert probs.shape == (10000, 10) and np.allclose(probs.sum(axis=1), 1.0)
    assert features.shape == (10000, N_FEATURES) and (features >= 0).all()


def test_cached_on_disk_and_reloaded_without_training(
    mnist_classifier: Any, data_dir: Path, classifier_dir: Path
) -> None:
    path = classifier_path(classifier_dir)
    assert mnist_classifier.path == path and path.is_file()
    start = time.perf_counter()
    again = mnist_classifier_reloaded(data_dir, classifier_dir)
    assert time.perf_counter() - start < 5, "loaded, not trained"
    assert again.test_accuracy == mnist_classifier.test_accuracy
    assert again.train_seconds == mnist_classifier.train_seconds
    images = load_idx_dataset(MNIST, data_dir).x_test[:300]
    for a, b in zip(again.scores(images), mnist_classifier.scores(images), strict=True):
        assert np.allclose(a, b, atol=1e-6)


def mnist_classifier_reloaded(data_dir: Path, classifier_dir: Path) -> Any:
    return mnist_classifier(data_dir, classifier_dir, device="cpu")


def test_uint8_and_scaled_float_inputs_score_the_same(
    mnist_classifier: Any, data_dir: Path
) -> None:
    images = load_idx_dataset(MNIST, data_dir).x_test[:50]
    scaled = images_to_input(images)
    assert scaled.shape == (50, 1, 28, 28)
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    from_uint8 = mnist_classifier.scores(images)
    from_tensor = mnist_classifier.scores(torch.from_numpy(scaled))
    for a, b in zip(from_uint8, from_tensor, strict=True):
        assert np.allclose(a, b)


def test_network_shapes() -> None:
    model = MnistCNN().eval()
    x = torch.zeros(3, 1, 28, 28)
    assert model(x).shape == (3, 10)
    assert model.features(x).shape == (3, N_FEATURES)


def test_training_says_so_once_and_loading_prints_nothing(
    tmp_path: Path, data_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A real first use (about ten seconds of training): one line naming the cache file,
    then nothing when the cached model is loaded; ``quiet`` prints nothing at all.

    One torch thread: two threads that wait for each other at every layer take ten times
    longer on a machine loaded by four busy processes (measured: over 370 s)."""
    path = classifier_path(tmp_path)
    threads = torch.get_num_threads()
    trained = mnist_classifier(data_dir, cache_dir=tmp_path, device="cpu", num_threads=1)
    out, err = capfd.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert "training the MNIST scoring classifier for the GAN metrics" in err
    assert str(path) in err and path.is_file()

    assert torch.get_num_threads() == threads  # training restored the caller's count
    loaded = mnist_classifier(data_dir, cache_dir=tmp_path, device="cpu")
    assert loaded.test_accuracy == trained.test_accuracy
    assert capfd.readouterr() == ("", "")

    quiet_dir = tmp_path / "quiet"
    mnist_classifier(data_dir, cache_dir=quiet_dir, device="cpu", quiet=True, num_threads=1)
    assert classifier_path(quiet_dir).is_file()
    assert capfd.readouterr() == ("", "")
