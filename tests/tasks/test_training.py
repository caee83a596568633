"""Helpers of the PyTorch tasks: option checks, seeds, devices, checkpoint detection."""

from __future__ import annotations

import pytest
import torch

from tunelab.errors import ConfigError
from tunelab.tasks.training import (
    check_device,
    check_int_option,
    derive_seed,
    isolated_torch,
    resolve_device,
    to_cpu,
)


def test_check_int_option() -> None:
    check_int_option("t", "epochs", 3, 1)
    check_int_option("t", "train_size", None, 20, optional=True)
    for bad in (0, True, 2.0, "3", None):
        with pytest.raises(ConfigError, match=r"t: epochs must be an integer >= 1"):
            check_int_option("t", "epochs", bad, 1)


def test_devices() -> None:
    check_device("t", "cpu")
    with pytest.raises(ConfigError, match="t: device 'gpu0' is not valid"):
        check_device("t", "gpu0")
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected


def test_derive_seed_is_stable_and_mixes_keys() -> None:
    assert derive_seed(0, 1, 2) == derive_seed(0, 1, 2)
    assert len({derive_seed(0, 0, n) for n in range(100)}) == 100
    assert 0 <= derive_seed(5) < 2**32


def test_isolated_torch_restores_rng_and_threads() -> None:
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    with isolated_torch(7, torch.device("cpu"), 1) as generator:
        assert torch.get_num_threads() == 1
        first = torch.rand(3)
        order = torch.randperm(5, generator=generator)
    with isolated_torch(7, torch.device("cpu"), None) as generator:
        assert torch.equal(torch.rand(3), first)
        assert torch.equal(torch.randperm(5, generator=generator), order)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads


def test_to_cpu_copies_nested_tensors() -> None:
    weight = torch.ones(2, requires_grad=True)
    state = {"model": {"w": weight}, "steps": [torch.zeros(1)], "epoch": 3}
    copy = to_cpu(state)
    assert copy["epoch"] == 3 and isinstance(copy["steps"], list)
    assert not copy["model"]["w"].requires_grad
    weight.data.fill_(5.0)
    assert copy["model"]["w"].tolist() == [1.0, 1.0], "a copy, not a view"
