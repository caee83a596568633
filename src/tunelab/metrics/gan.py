"""Measures of a generator: Inception Score, Fréchet distance, discriminator confusion.

They work on plain arrays (class probabilities, feature vectors, discriminator
outputs), so any classifier can stand in for Inception-v3: tunelab uses an MNIST CNN
(:mod:`tunelab.metrics.classifier`) trained once and cached, as is usual for MNIST GANs.

- Inception Score (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))``, computed
  on ``splits`` equal parts of the samples; reported as mean and standard deviation.
  A perfect generator of the 10 MNIST classes scores close to 10; one class only, 1.
- Fréchet Inception Distance (Heusel et al. 2017): the Fréchet distance between two
  Gaussians fitted to feature vectors (here the classifier's penultimate layer) of
  real and generated images. Lower is better; 0 for identical statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


def inception_score(probs: ArrayLike, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of the Inception Score of class probabilities ``probs`` (n, classes)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"probs must be a non-empty (n, classes) array, got shape {p.shape}")
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be between 1 and the number of samples, got {splits}")
    eps = 1e-12
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + eps) - np.log(marginal + eps))).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def feature_statistics(features: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and covariance of feature vectors (n, d), the inputs of :func:`frechet_distance`."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be an (n >= 2, d) array, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``, the Fréchet distance of two Gaussians.

    A tiny multiple of the identity is added to both covariances when their product's
    square root is singular (few samples), as the reference FID code does.
    """
    import warnings

    from scipy import linalg

    m1, m2 = np.atleast_1d(np.asarray(mu1, float)), np.atleast_1d(np.asarray(mu2, float))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, float)), np.atleast_2d(np.asarray(sigma2, float))
    if m1.shape != m2.shape or s1.shape != s2.shape:
        raise ValueError("the two sets of statistics have different dimensions")
    diff = m1 - m2
    with warnings.catch_warnings():
        # Dead ReLU features make covariances singular; the root is still usable.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(s1)) * 1e-6
            covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    distance = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    return max(distance, 0.0)


def fid_from_features(real: ArrayLike, generated: ArrayLike) -> float:
    """FID between two sets of feature vectors."""
    return frechet_distance(*feature_statistics(real), *feature_statistics(generated))


@dataclass(frozen=True)
class DiscriminatorConfusion:
    """How a discriminator sorts real and generated images at a 0.5 threshold.

    ``matrix[i][j]``: images of truth ``i`` predicted ``j``, with index 0 = real and
    1 = generated.
    """

    matrix: tuple[tuple[int, int], tuple[int, int]]

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.matrix)

    @property
    def accuracy(self) -> float:
        """Share of all images sorted correctly."""
        return (self.matrix[0][0] + self.matrix[1][1]) / max(self.total, 1)

    @property
    def real_accuracy(self) -> float:
        """Share of real images called real."""
        return self.matrix[0][0] / max(sum(self.matrix[0]), 1)

    @property
    def fake_accuracy(self) -> float:
        """Share of generated images called generated."""
        return self.matrix[1][1] / max(sum(self.matrix[1]), 1)

    def as_metrics(self, prefix: str = "d_") -> dict[str, float]:
        """Flat metrics for a report: accuracies and the four cells."""
        (rr, rf), (fr, ff) = self.matrix
        return {
            f"{prefix}accuracy": self.accuracy,
            f"{prefix}real_accuracy": self.real_accuracy,
            f"{prefix}fake_accuracy": self.fake_accuracy,
            f"{prefix}real_as_real": float(rr),
            f"{prefix}real_as_fake": float(rf),
            f"{prefix}fake_as_real": float(fr),
            f"{prefix}fake_as_fake": float(ff),
        }


def discriminator_confusion(
    real_scores: ArrayLike, fake_scores: ArrayLike, threshold: float = 0.5
) -> DiscriminatorConfusion:
    """Confusion of a discriminator from its probabilities that images are real."""
    real = np.asarray(real_scores, dtype=np.float64).ravel()
    fake = np.asarray(fake_scores, dtype=np.float64).ravel()
    real_as_real = int((real >= threshold).sum())
    fake_as_real = int((fake >= threshold).sum())
    return DiscriminatorConfusion(
        ((real_as_real, len(real) - real_as_real), (fake_as_real, len(fake) - fake_as_real))
    )
