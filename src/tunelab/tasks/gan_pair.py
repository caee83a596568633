"""The two networks of a GAN trained together (:class:`GanPair`): optimizers, noisy
labels, the generator's moving average, one epoch of steps and the checkpointed state."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from tunelab.errors import ConfigError
from tunelab.tasks.gan_networks import Discriminator, Generator
from tunelab.tasks.training import to_cpu

if TYPE_CHECKING:
    from numpy.typing import NDArray


class GanPair:
    """Generator, discriminator, their optimizers and the generator's moving average:
    one training step, one state.

    With ``ema_decay`` > 0 a copy of the generator follows an exponential moving average
    of its weights (batch-norm statistics copied as they are) after every step, and
    images are generated with that copy: it is what a GAN's samples are judged by in
    current practice, because the raw generator oscillates around the equilibrium. The
    decay warms up as ``min(ema_decay, (1 + t) / (10 + t))`` after ``t`` steps, so the
    average does not drag the random initial weights along for thousands of steps.
    """

    def __init__(
        self,
        g: Generator,
        d: Discriminator,
        *,
        g_lr: float,
        d_lr: float,
        beta1: float = 0.5,
        ema_decay: float = 0.0,
    ) -> None:
        self.g = g
        self.d = d
        self.ema_decay = ema_decay
        self.steps = 0
        self.g_ema = copy.deepcopy(g).requires_grad_(False) if ema_decay > 0 else g
        # Fused Adam: on 2 CPU cores the unfused update of the MLP pair took about a
        # fifth of a training step (profiled 2026-12-01), fused it takes under a twentieth.
        fused = True if next(g.parameters()).device.type in ("cpu", "cuda") else None
        self.g_optimizer = torch.optim.Adam(
            g.parameters(), lr=g_lr, betas=(beta1, 0.999), fused=fused
        )
        self.d_optimizer = torch.optim.Adam(
            d.parameters(), lr=d_lr, betas=(beta1, 0.999), fused=fused
        )
        self.loss = nn.BCEWithLogitsLoss()
        self._d_trainable = [p for p in d.parameters() if p.requires_grad]
        # Without batch norm the discriminator judges real and generated images in one
        # batch of 2b (same loss, one pass instead of two: a quarter of a step saved on
        # the MLP pair together with the frozen discriminator below, measured
        # 2026-12-01); with batch norm they stay separate batches, as in the DCGAN paper,
        # so that neither batch's statistics leak into the other's.
        self.joint_batches = not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules()
        )

    @property
    def device(self) -> torch.device:
        return next(self.g.parameters()).device

    def _targets(
        self, real: bool, n: int, noise: float, flip: float, generator: torch.Generator
    ) -> torch.Tensor:
        jitter = torch.rand(n, 1, generator=generator) * noise
        targets = 1.0 - jitter if real else jitter
        if flip > 0:
            flipped = torch.rand(n, 1, generator=generator) < flip
            targets = torch.where(flipped, 1.0 - targets, targets)
        return targets.to(self.device)

    def _batches(
        self, n: int, steps: int | None, batch_size: int, generator: torch.Generator
    ) -> list[torch.Tensor]:
        """Index batches of one epoch: ``steps`` batches of ``batch_size`` drawn from
        reshuffled passes over the ``n`` images, or one pass when ``steps`` is None."""
        if steps is None:
            order = torch.randperm(n, generator=generator)
            return list(order.split(batch_size))
        passes = -(-steps * batch_size // n)
        order = torch.cat([torch.randperm(n, generator=generator) for _ in range(passes)])
        return list(order[: steps * batch_size].split(batch_size))

    def discriminator_loss(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        real_targets: torch.Tensor,
        fake_targets: torch.Tensor,
    ) -> torch.Tensor:
        """Mean binary cross-entropy on the real images plus that on the generated ones
        (equal batch sizes), in one discriminator pass when :attr:`joint_batches`."""
        if self.joint_batches and len(real) == len(fake):
            logits = self.d(torch.cat([real, fake]))
            return 2.0 * self.loss(logits, torch.cat([real_targets, fake_targets]))
        return self.loss(self.d(real), real_targets) + self.loss(self.d(fake), fake_targets)

    @torch.no_grad()
    def _update_average(self) -> None:
        self.steps += 1
        if self.g_ema is self.g:
            return
        decay = min(self.ema_decay, self.steps / (self.steps + 9))
        # One multi-tensor call instead of a lerp per tensor (the per-call overhead is
        # most of the cost for layers this small).
        torch._foreach_lerp_(list(self.g_ema.parameters()), list(self.g.parameters()), 1.0 - decay)
        for kept, live in zip(self.g_ema.buffers(), self.g.buffers(), strict=True):
            kept.copy_(live)

    def train_epoch(
        self,
        images: torch.Tensor,
        *,
        steps: int | None,
        batch_size: int,
        generator: torch.Generator,
        label_noise: float,
        label_flip: float,
    ) -> dict[str, float]:
        """One epoch (``steps`` batches, or one pass over ``images`` when None): per batch
        a discriminator step on real and generated images with noisy targets, then a
        generator step; returns the mean losses."""
        self.g.train()
        self.d.train()
        batches = self._batches(len(images), steps, batch_size, generator)
        # Summed on the device and read once: a float() per step would stall a GPU.
        g_total = torch.zeros((), device=self.device)
        d_total = torch.zeros((), device=self.device)
        seen = 0
        for index in batches:
            real = images[index.to(self.device)]
            b = len(real)
            z = torch.randn(b, self.g.latent_size, generator=generator).to(self.device)
            fake = self.g(z)
            real_targets = self._targets(True, b, label_noise, label_flip, generator)
            fake_targets = self._targets(False, b, label_noise, label_flip, generator)
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss = self.discriminator_loss(real, fake.detach(), real_targets, fake_targets)
            d_loss.backward()
            self.d_optimizer.step()
            self.g_optimizer.zero_grad(set_to_none=True)
            # The generator's step needs gradients through the discriminator, not of its
            # weights: frozen, autograd skips their products (a tenth of a step).
            for parameter in self._d_trainable:
                parameter.requires_grad_(False)
            g_loss = self.loss(self.d(fake), torch.ones(b, 1, device=self.device))
            g_loss.backward()
            for parameter in self._d_trainable:
                parameter.requires_grad_(True)
            self.g_optimizer.step()
            self._update_average()
            g_total += g_loss.detach() * b
            d_total += d_loss.detach() * b
            seen += b
        return {"g_loss": float(g_total) / seen, "d_loss": float(d_total) / seen}

    def generate(self, noise: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Images in [-1, 1] (n, 1, 28, 28), on the CPU, from the (averaged) generator
        in eval mode."""
        self.g_ema.eval()
        with torch.inference_mode():
            out = [
                self.g_ema(noise[i : i + batch_size].to(self.device)).cpu()
                for i in range(0, len(noise), batch_size)
            ]
        return torch.cat(out)

    def discriminate(self, images: torch.Tensor, batch_size: int = 500) -> NDArray[np.float64]:
        """The discriminator's probability that each image is real (eval mode)."""
        self.d.eval()
        with torch.inference_mode():
            out = [
                torch.sigmoid(self.d(images[i : i + batch_size].to(self.device))).cpu()
                for i in range(0, len(images), batch_size)
            ]
        return torch.cat(out).double().numpy().ravel()

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": to_cpu(self.g.state_dict()),
            "generator_average": to_cpu(self.g_ema.state_dict()),
            "steps": self.steps,
            "discriminator": to_cpu(self.d.state_dict()),
            "g_optimizer": to_cpu(self.g_optimizer.state_dict()),
            "d_optimizer": to_cpu(self.d_optimizer.state_dict()),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore networks, the average and optimizer states (a PBT clone copies all of
        them); learning rates stay this trial's."""
        g_lr = self.g_optimizer.param_groups[0]["lr"]
        d_lr = self.d_optimizer.param_groups[0]["lr"]
        try:
            self.g.load_state_dict(state["generator"])
            self.d.load_state_dict(state["discriminator"])
            if self.g_ema is not self.g:
                self.g_ema.load_state_dict(state.get("generator_average", state["generator"]))
        except RuntimeError as exc:
            raise ConfigError(
                f"mnist_gan: the checkpoint does not fit this configuration: {exc}"
            ) from None
        self.steps = int(state.get("steps", 0))
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        for group in self.g_optimizer.param_groups:
            group["lr"] = g_lr
        for group in self.d_optimizer.param_groups:
            group["lr"] = d_lr
