"""Objectives for executor tests: module-level so that worker processes can import them."""

from __future__ import annotations

import os
import time

import tunelab as tl


def quadratic(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", -5.0, 10.0)
    kind = trial.hp.Choice("kind", ["a", "b"])
    for epoch in range(1, 4):
        trial.report(epoch, loss=(x - 2) ** 2 + 1 / epoch)
    trial.set_user_attr("pid", os.getpid())
    return (x - 2) ** 2 + (kind == "b")


def environment(trial: tl.Trial) -> float:
    """Reports the worker's resource pinning as user attributes."""
    trial.hp.Float("x", 0.0, 1.0)
    import torch

    trial.set_user_attr("omp", os.environ.get("OMP_NUM_THREADS"))
    trial.set_user_attr("cuda", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("torch_threads", torch.get_num_threads())
    trial.set_user_attr("pid", os.getpid())
    return 0.0


def dies_on_trial_one(trial: tl.Trial) -> float:
    """Trial 1 kills its own process mid-trial, after a report; the others finish."""
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.report(1, loss=x)
    if trial.number == 1:
        os._exit(3)
    if trial.number == 2:
        os.kill(os.getpid(), 9)
    return x


def sleepy(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    time.sleep(0.3)
    trial.report(1, loss=x)
    return x


def redefines(trial: tl.Trial) -> float:
    if trial.number == 0:
        return float(trial.hp.Int("units", 32, 512, step=32))
    return float(trial.hp.Int("units", 16, 256, step=16))


def always_dies(trial: tl.Trial) -> float:
    """Kills its worker process on every trial."""
    trial.hp.Float("x", 0.0, 1.0)
    os._exit(1)
