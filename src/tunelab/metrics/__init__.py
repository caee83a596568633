"""Metrics for judging trained models beyond their loss.

- :mod:`tunelab.metrics.gan`: Inception Score, FID (Fréchet distance of feature
  statistics) and the discriminator's confusion on real vs generated images; numpy
  and scipy only.
- :mod:`tunelab.metrics.classifier`: the MNIST CNN that scores generated digits
  (trained once, cached); needs torch.
- :mod:`tunelab.metrics.images`: PNG image grids and loss curves; needs matplotlib.
"""

from __future__ import annotations

from tunelab.metrics.gan import (
    DiscriminatorConfusion,
    discriminator_confusion,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score,
)

__all__ = [
    "DiscriminatorConfusion",
    "discriminator_confusion",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
]
