"""The generator and discriminator architectures of the ``mnist_gan`` task.

Three sizes of one experiment, chosen with the task's ``architecture`` option; every
one takes the same hyperparameters (latent size, generator activation, batch norm,
discriminator dropout), maps latent vectors to 28x28 images in [-1, 1] through tanh and
judges images with one logit:

- ``mlp`` (the default, made for CPUs): generator dense ``latent -> 256 -> 512 -> 784``,
  discriminator dense ``784 -> 512 -> 256 -> 1``. Measured on 2 CPU cores it reaches
  digits in minutes where the convolutional ones are still blurred (see README, GAN).
- ``small_dcgan``: the DCGAN shape with CPU-sized layers: dense ``latent -> 7x7x64``,
  transposed convolutions 4x4 stride 2 to 32 channels (14x14) and to 1 (28x28);
  discriminator convolutions 4x4 stride 2 to 32 and 64 channels, dense to 1.
- ``dcgan``: the TensorFlow DCGAN tutorial's network, for GPUs: dense
  ``latent -> 7x7x256``, transposed convolutions 5x5 to 128 (7x7), 64 (14x14) and 1
  (28x28); discriminator convolutions 5x5 stride 2 to 64 and 128, dense to 1.

``batch_norm`` adds batch normalisation after every hidden layer of the generator and,
in the convolutional discriminators, after their second convolution (as in the DCGAN
paper); the MLP discriminator has none. The generator's batch norms learn a shift but no
scale (Keras's ``BatchNormalization(scale=False)``, which its documentation advises when
a linear layer follows): for relu and leaky relu a scale is redundant (they commute with
positive scaling, and the next layer scales anyway), while a sigmoid or softmax
generator can now only shift its inputs out of their near-linear range, not widen
them, which keeps it bad for longer (with a learned scale a sigmoid generator caught up
after 15-20 epochs; docs/benchmarks.md, GAN). ``softmax`` as the activation normalises
over the channels (units) of each position, ``sigmoid`` squashes every unit: both are
the bad choices of the search space, kept so that a search has something to avoid.
"""

from __future__ import annotations

import torch
from torch import nn

from tunelab.errors import ConfigError

G_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "softmax")
ARCHITECTURES = ("mlp", "small_dcgan", "dcgan")


def shift_only_batch_norm(channels: int, dims: int) -> nn.Module:
    """Batch normalisation with a learned shift and its scale fixed at 1 (not trained)."""
    layer = nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    layer.weight.requires_grad_(False)
    return layer


class UniformDropout(nn.Dropout):
    """:class:`torch.nn.Dropout` whose mask compares uniform draws with ``p`` (same
    distribution: each unit kept with probability 1 - p, scaled by 1 / (1 - p)).

    On a CPU torch's dropout draws its Bernoulli mask about twice as slowly as uniform
    numbers: a tenth of the MLP GAN's step went into it (profiled 2026-12-01)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p >= 1:
            return torch.zeros_like(x)
        mask = torch.rand(x.shape, device=x.device, dtype=x.dtype).ge_(self.p)
        return x * mask.mul_(1.0 / (1.0 - self.p))


def activation(name: str) -> nn.Module:
    """The generator's hidden activation called ``name`` (one of :data:`G_ACTIVATIONS`)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "softmax":
        return nn.Softmax(dim=1)
    raise ConfigError(f"unknown generator activation {name!r}; one of {G_ACTIVATIONS}")


class Network(nn.Module):
    """A sequential network whose forward pass is ``self.net``."""

    net: nn.Sequential

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out


class Generator(Network):
    """Latent vectors ``(n, latent_size)`` -> images ``(n, 1, 28, 28)`` in [-1, 1]."""

    def __init__(
        self, latent_size: int, activation_name: str, batch_norm: bool, architecture: str = "dcgan"
    ) -> None:
        super().__init__()
        self.latent_size = latent_size
        self.architecture = architecture
        act = activation_name

        def norm(channels: int, dims: int = 2) -> list[nn.Module]:
            if not batch_norm:
                return []
            return [shift_only_batch_norm(channels, dims)]

        bias = not batch_norm
        if architecture == "mlp":
            layers: list[nn.Module] = [
                nn.Linear(latent_size, 256, bias=bias),
                *norm(256, 1),
                activation(act),
                nn.Linear(256, 512, bias=bias),
                *norm(512, 1),
                activation(act),
                nn.Linear(512, 28 * 28),
                nn.Tanh(),
                nn.Unflatten(1, (1, 28, 28)),
            ]
        elif architecture == "small_dcgan":
            layers = [
                nn.Linear(latent_size, 7 * 7 * 64, bias=bias),
                nn.Unflatten(1, (64, 7, 7)),
                *norm(64),
                activation(act),
                nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1, bias=bias),
                *norm(32),
                activation(act),
                nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
                nn.Tanh(),
            ]
        elif architecture == "dcgan":
            layers = [
                nn.Linear(latent_size, 7 * 7 * 256, bias=bias),
                nn.Unflatten(1, (256, 7, 7)),
                *norm(256),
                activation(act),
                nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=bias),
                *norm(128),
                activation(act),
                nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=bias),
                *norm(64),
                activation(act),
                nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1),
                nn.Tanh(),
            ]
        else:
            raise ConfigError(f"unknown GAN architecture {architecture!r}; one of {ARCHITECTURES}")
        self.net = nn.Sequential(*layers)


class Discriminator(Network):
    """Images ``(n, 1, 28, 28)`` -> one logit each ``(n, 1)`` (positive: judged real)."""

    def __init__(self, dropout: float, batch_norm: bool, architecture: str = "dcgan") -> None:
        super().__init__()
        self.architecture = architecture
        bias = not batch_norm
        if architecture == "mlp":
            layers: list[nn.Module] = [
                nn.Flatten(),
                nn.Linear(28 * 28, 512),
                nn.LeakyReLU(0.2),
                UniformDropout(dropout),
                nn.Linear(512, 256),
                nn.LeakyReLU(0.2),
                UniformDropout(dropout),
                nn.Linear(256, 1),
            ]
        elif architecture in ("small_dcgan", "dcgan"):
            small = architecture == "small_dcgan"
            first, second = (32, 64) if small else (64, 128)
            kernel, padding = (4, 1) if small else (5, 2)
            layers = [
                nn.Conv2d(1, first, kernel, stride=2, padding=padding),
                nn.LeakyReLU(0.2),
                UniformDropout(dropout),
                nn.Conv2d(first, second, kernel, stride=2, padding=padding, bias=bias),
                *([nn.BatchNorm2d(second)] if batch_norm else []),
                nn.LeakyReLU(0.2),
                UniformDropout(dropout),
                nn.Flatten(),
                nn.Linear(second * 7 * 7, 1),
            ]
        else:
            raise ConfigError(f"unknown GAN architecture {architecture!r}; one of {ARCHITECTURES}")
        self.net = nn.Sequential(*layers)
