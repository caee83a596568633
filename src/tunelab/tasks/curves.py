"""Synthetic learning curves: cheap, deterministic stand-ins for training, for tests.

Each configuration has an asymptote (how good it gets) and a rate (how fast it gets
there); the validation "accuracy" after a training progress ``p`` is
``0.1 + (asymptote - 0.1) * (1 - exp(-p))`` plus a small deterministic noise per
(configuration, epoch). A large learning rate learns fast but ends lower than the best
one, so curves cross and early rankings can mislead, as with real training.

The objective checkpoints through the real artifact store (``trial.report(...,
checkpoint=...)``, ``trial.load_checkpoint()``): the state holds the epoch, the
accumulated progress and the trial that saved it. Every trained (trial, epoch) pair is
recorded in ``trained`` (and appended to ``log_path`` when given, for objectives run in
other processes), every restore in ``restores``, so tests can check that no epoch is
trained twice and that a clone loaded its donor's checkpoint.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigError
from tunelab.space import Choice, Float, Int, Space, Value
from tunelab.tasks.base import Task

if TYPE_CHECKING:
    from tunelab.trial import Trial

_ACTIVATION_PENALTY = {"relu": 0.0, "tanh": 0.02, "sigmoid": 0.06}


@dataclass(frozen=True)
class Restore:
    """Trial ``trial`` started from the checkpoint ``source`` saved at epoch ``epoch``."""

    trial: int
    source: int
    epoch: int


def asymptote(params: Mapping[str, Value]) -> float:
    """The accuracy a configuration reaches after long training."""
    u = math.log10(float(params["lr"]))
    width = math.log2(float(params["width"]) / 128.0)
    value = (
        0.97
        - 0.04 * (u + 2.0) ** 2
        - 0.004 * width**2
        - _ACTIVATION_PENALTY[str(params["activation"])]
    )
    return min(max(value, 0.15), 0.99)


def rate(params: Mapping[str, Value]) -> float:
    """Training progress per epoch: larger learning rates learn faster."""
    u = math.log10(float(params["lr"]))
    return 0.12 * 10 ** (0.5 * (u + 2.0)) * (1.15 if params["activation"] == "relu" else 1.0)


def accuracy(params: Mapping[str, Value], progress: float) -> float:
    """The noise-free validation accuracy after ``progress``."""
    return 0.1 + (asymptote(params) - 0.1) * (1.0 - math.exp(-progress))


def noise(params: Mapping[str, Value], epoch: int, seed: int, scale: float) -> float:
    """Deterministic noise in ``[-scale, scale]`` for one configuration and epoch."""
    key = repr((sorted((k, repr(v)) for k, v in params.items()), epoch, seed)).encode()
    return scale * (2.0 * (zlib.crc32(key) / 0xFFFFFFFF) - 1.0)


class LearningCurves(Task):
    """Synthetic curves over ``lr`` (log), ``width`` (log int) and ``activation``.

    ``checkpointing=False`` gives an objective that saves no checkpoint, to show what
    happens to one (a resumed trial restarts from epoch 1).
    """

    name = "synthetic_curves"
    metric = "val_accuracy"
    mode = "max"

    def __init__(
        self,
        *,
        epochs: int = 27,
        seed: int = 0,
        noise: float = 0.005,
        checkpointing: bool = True,
        log_path: str | None = None,
    ) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"synthetic_curves: epochs must be an integer >= 1, got {epochs!r}")
        if not isinstance(noise, int | float) or noise < 0:
            raise ConfigError(f"synthetic_curves: noise must be a number >= 0, got {noise!r}")
        self.epochs = epochs
        self.seed = seed
        self.noise = float(noise)
        self.checkpointing = checkpointing
        self.log_path = log_path
        self.trained: list[tuple[int, int]] = []
        self.restores: list[Restore] = []

    def options(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "seed": self.seed,
            "noise": self.noise,
            "checkpointing": self.checkpointing,
            "log_path": self.log_path,
        }

    def space(self) -> Space:
        return Space(
            [
                Float("lr", 1e-4, 1.0, sampling="log"),
                Int("width", 16, 512, sampling="log"),
                Choice("activation", ("relu", "tanh", "sigmoid")),
            ]
        )

    def objective(self, trial: Trial) -> None:
        params = {
            "lr": trial.hp.Float("lr", 1e-4, 1.0, sampling="log"),
            "width": trial.hp.Int("width", 16, 512, sampling="log"),
            "activation": trial.hp.Choice("activation", ["relu", "tanh", "sigmoid"]),
        }
        budget = self.epochs if trial.budget is None else trial.budget
        state = trial.load_checkpoint()
        if state is None:
            start, progress = 0, 0.0
        else:
            start, progress = int(state["epoch"]), float(state["progress"])
            self.restores.append(Restore(trial.number, int(state["trial"]), start))
        for epoch in range(start + 1, budget + 1):
            progress += rate(params)
            self._log(trial.number, epoch)
            value = accuracy(params, progress) + noise(params, epoch, self.seed, self.noise)
            saved = {"epoch": epoch, "progress": progress, "trial": trial.number}
            trial.report(
                epoch,
                val_accuracy=value,
                checkpoint=(lambda s=saved: dict(s)) if self.checkpointing else None,
                last=epoch == budget,
            )
        # Returning None: the trial's value is the best it reported.

    def _log(self, number: int, epoch: int) -> None:
        self.trained.append((number, epoch))
        if self.log_path is not None:
            with Path(self.log_path).open("a") as f:
                f.write(f"{number} {epoch}\n")

    def final_evaluation(self, params: Mapping[str, Value], epochs: int) -> dict[str, float]:
        """The noise-free accuracy after ``epochs`` epochs (stands in for a test score)."""
        return {"test_accuracy": accuracy(params, epochs * rate(params))}


def read_log(path: str | Path) -> list[tuple[int, int]]:
    """The (trial, epoch) pairs a ``log_path`` recorded, in training order."""
    out = []
    for line in Path(path).read_text().splitlines():
        number, epoch = line.split()
        out.append((int(number), int(epoch)))
    return out
