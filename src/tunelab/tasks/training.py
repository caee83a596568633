"""Helpers shared by the PyTorch tasks: seeding, devices, option checks, checkpoints.

Checkpoints follow the trial API of CONVENTIONS.md: ``trial.load_checkpoint()`` gives
the state to start from and ``trial.report(..., checkpoint=fn)`` offers one. Both are
feature-detected, so the tasks also run with a Trial that has neither.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from tunelab.errors import ConfigError

if TYPE_CHECKING:
    pass


def to_cpu(obj: Any) -> Any:
    """A copy of a (nested) state dict with every tensor detached, cloned and on the CPU,
    so a checkpoint pickles the same from any device and never changes after saving."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, Mapping):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def derive_seed(*keys: int) -> int:
    """A well-mixed 32-bit seed from non-negative integer keys."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def check_int_option(task: str, key: str, value: Any, low: int, *, optional: bool = False) -> None:
    """Raise ConfigError unless ``value`` is an int >= ``low`` (or None when optional)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{task}: {key} must be an integer >= {low}, got {value!r}")


def check_interval_option(task: str, key: str, value: Any) -> tuple[float, float]:
    """Option ``key`` of ``task`` as ``(low, high)``: two numbers with 0 < low < high < 1."""
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not 0 < value[0] < value[1] < 1
    ):
        raise ConfigError(
            f"{task}: {key} must be [low, high] with 0 < low < high < 1, got {value!r}"
        )
    return float(value[0]), float(value[1])


def check_device(task: str, device: str | None) -> None:
    if device is not None:
        try:
            torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError(f"{task}: device {device!r} is not valid: {exc}") from None


def resolve_device(device: str | None) -> torch.device:
    """The given device, else CUDA when available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def isolated_torch(
    seed: int, device: torch.device, num_threads: int | None
) -> Iterator[torch.Generator]:
    """Seed torch for one training run without disturbing the caller's RNG or threads.

    Weight init and dropout use torch's global RNG, so it is forked and seeded here;
    the yielded CPU generator drives batch order. The thread count, when set, is
    restored afterwards.
    """
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    previous_threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            if num_threads is not None:
                torch.set_num_threads(previous_threads)
