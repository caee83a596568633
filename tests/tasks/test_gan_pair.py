"""One GAN training step: the discriminator's joint batch of real and generated images,
and the generator's step that leaves the discriminator's gradients alone."""

from __future__ import annotations

import copy

import pytest
import torch

from tunelab.tasks.gan_networks import Discriminator, Generator
from tunelab.tasks.gan_pair import GanPair


def make_pair(architecture: str, batch_norm: bool, dropout: float = 0.0) -> GanPair:
    torch.manual_seed(0)
    return GanPair(
        Generator(16, "relu", batch_norm, architecture),
        Discriminator(dropout, batch_norm, architecture),
        g_lr=2e-4,
        d_lr=2e-4,
    )


@pytest.mark.parametrize(
    ("architecture", "batch_norm", "joint"),
    [("mlp", True, True), ("mlp", False, True), ("small_dcgan", True, False)],
)
def test_real_and_fake_share_a_batch_only_without_discriminator_batch_norm(
    architecture: str, batch_norm: bool, joint: bool
) -> None:
    assert make_pair(architecture, batch_norm).joint_batches is joint


def test_the_joint_batch_gives_the_separate_batches_loss_and_gradients() -> None:
    pair = make_pair("mlp", True)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    fake = torch.rand(8, 1, 28, 28) * 2 - 1
    real_targets, fake_targets = torch.full((8, 1), 0.95), torch.full((8, 1), 0.05)
    losses, grads = [], []
    for joint in (True, False):
        pair.joint_batches = joint
        pair.d.zero_grad(set_to_none=True)
        loss = pair.discriminator_loss(real, fake, real_targets, fake_targets)
        loss.backward()
        losses.append(loss.detach())
        grads.append([p.grad.clone() for p in pair.d.parameters() if p.grad is not None])
    assert torch.allclose(losses[0], losses[1])
    assert len(grads[0]) == len(grads[1]) == 6
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*grads, strict=True))


def test_the_generator_step_leaves_the_discriminators_gradients_alone() -> None:
    """After one step the discriminator holds the gradients of its own loss only, and
    every one of its weights is trainable again."""
    pair = make_pair("mlp", True)
    before = copy.deepcopy(pair)
    images = torch.rand(40, 1, 28, 28) * 2 - 1
    pair.train_epoch(
        images,
        steps=1,
        batch_size=8,
        generator=torch.Generator().manual_seed(3),
        label_noise=0.1,
        label_flip=0.0,
    )

    # The same step by hand, up to the discriminator's backward pass.
    generator = torch.Generator().manual_seed(3)
    (index,) = before._batches(len(images), 1, 8, generator)
    z = torch.randn(8, 16, generator=generator)
    before.g.train()
    fake = before.g(z)
    real_targets = before._targets(True, 8, 0.1, 0.0, generator)
    fake_targets = before._targets(False, 8, 0.1, 0.0, generator)
    before.discriminator_loss(images[index], fake.detach(), real_targets, fake_targets).backward()

    stepped = list(pair.d.parameters())
    expected = list(before.d.parameters())
    assert all(p.requires_grad for p in stepped)
    assert all(
        p.grad is not None and q.grad is not None and torch.allclose(p.grad, q.grad, atol=1e-6)
        for p, q in zip(stepped, expected, strict=True)
    )
