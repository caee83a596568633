"""Inception Score, FID and discriminator confusion: the formulas, then real MNIST."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tunelab.metrics.gan import (
    DiscriminatorConfusion,
    discriminator_confusion,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score,
)


# -- Inception Score ----------------------------------------------------------------------
def test_confident_and_balanced_predictions_score_the_number_of_classes() -> None:
    probs = np.eye(10)[np.arange(1000) % 10]
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_one_class_or_no_confidence_scores_one() -> None:
    assert inception_score(np.eye(10)[np.zeros(100, dtype=int)])[0] == pytest.approx(1.0)
    assert inception_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)


def test_inception_score_by_hand() -> None:
    # Two samples, two classes: p(y|x) = (0.9, 0.1) and (0.1, 0.9); p(y) = (0.5, 0.5).
    probs = np.array([[0.9, 0.1], [0.1, 0.9]])
    kl = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)
    assert inception_score(probs, splits=1)[0] == pytest.approx(np.exp(kl))


def test_splits_give_a_spread() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), size=1000)
    mean, std = inception_score(probs, splits=10)
    parts = [inception_score(p, splits=1)[0] for p in np.array_split(probs, 10)]
    assert mean == pytest.approx(np.mean(parts))
    assert std == pytest.approx(np.std(parts)) and std > 0


def test_inception_score_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        inception_score(np.zeros((0, 10)))
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.full((5, 10), 0.1), splits=6)


# -- Fréchet distance ---------------------------------------------------------------------
def test_identical_statistics_are_at_distance_zero() -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, 8))
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-6)


def test_distance_of_gaussians_with_diagonal_covariances() -> None:
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected)


def test_singular_covariances_still_give_a_number() -> None:
    rng = np.random.default_rng(2)
    few = rng.normal(size=(5, 20))  # fewer samples than dimensions: singular covariance
    value = fid_from_features(few, few + 1.0)
    assert np.isfinite(value) and value == pytest.approx(20.0, rel=1e-3)


def test_feature_statistics_shapes_and_errors() -> None:
    mu, sigma = feature_statistics(np.arange(12.0).reshape(4, 3))
    assert mu.shape == (3,) and sigma.shape == (3, 3)
    with pytest.raises(ValueError, match="n >= 2"):
        feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="different dimensions"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# -- discriminator confusion -----------------------------------------------------------------
def test_confusion_counts_and_rates() -> None:
    confusion = discriminator_confusion([0.9, 0.8, 0.2, 0.6], [0.1, 0.7, 0.3])
    assert confusion == DiscriminatorConfusion(((3, 1), (1, 2)))
    assert confusion.accuracy == pytest.approx(5 / 7)
    assert confusion.real_accuracy == pytest.approx(3 / 4)
    assert confusion.fake_accuracy == pytest.approx(2 / 3)
    assert confusion.as_metrics("d_") == {
        "d_accuracy": pytest.approx(5 / 7),
        "d_real_accuracy": 0.75,
        "d_fake_accuracy": pytest.approx(2 / 3),
        "d_real_as_real": 3.0,
        "d_real_as_fake": 1.0,
        "d_fake_as_real": 1.0,
        "d_fake_as_fake": 2.0,
    }


# -- on real MNIST, with the trained classifier --------------------------------------------
@pytest.fixture(scope="module")
def real_scores(mnist_classifier: Any, data_dir: Path) -> dict[str, np.ndarray]:
    from tunelab.tasks.datasets import MNIST, load_idx_dataset

    data = load_idx_dataset(MNIST, data_dir)
    test_probs, test_features = mnist_classifier.scores(data.x_test)
    _, train_features = mnist_classifier.scores(data.x_train[:5000])
    return {"probs": test_probs, "test": test_features, "train": train_features}


def test_real_mnist_test_images_score_at_least_9_5(real_scores: dict[str, np.ndarray]) -> None:
    mean, std = inception_score(real_scores["probs"], splits=10)
    print(f"IS of the 10000 MNIST test images: {mean:.3f} +- {std:.3f}")
    assert mean >= 9.5
    assert std < 0.5


def test_an_untrained_generator_scores_far_worse(
    mnist_classifier: Any, real_scores: dict[str, np.ndarray]
) -> None:
    import torch

    from tunelab.tasks.gan import Generator

    torch.manual_seed(0)
    untrained = Generator(100, "leaky_relu", batch_norm=True).eval()
    with torch.inference_mode():
        fake = untrained(torch.randn(2000, 100))
    probs, features = mnist_classifier.scores(fake)
    real_is = inception_score(real_scores["probs"])[0]
    fake_is = inception_score(probs)[0]
    real_fid = fid_from_features(real_scores["test"], real_scores["train"])
    fake_fid = fid_from_features(real_scores["test"], features)
    print(f"IS real {real_is:.2f} vs untrained {fake_is:.2f}; FID {real_fid:.2f} vs {fake_fid:.1f}")
    assert fake_is < real_is / 2
    assert fake_fid > 20 * max(real_fid, 1.0)
