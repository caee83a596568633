"""Real studies to plot, in memory and in SQLite: a conditional space (``momentum``
exists only with ``optimizer="sgd"``), log-scaled ``lr`` and ``width``, and a tiny
objective that checkpoints, run under Hyperband, ASHA and PBT so that trials are
pruned, promoted, paused and copied as in a real study."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest

import tunelab as tl

matplotlib.use("Agg")

MAX_EPOCHS = 9


def objective(trial: tl.Trial) -> None:
    """A loss falling with the epochs, lowest near lr=0.01 and width=64."""
    optimizer = trial.hp.Choice("optimizer", ["sgd", "adam"])
    lr = trial.hp.Float("lr", 1e-4, 1.0, sampling="log")
    width = trial.hp.Int("width", 8, 256, sampling="log")
    momentum = 0.0
    if optimizer == "sgd":
        momentum = trial.hp.Float(
            "momentum", 0.0, 0.99, parent_name="optimizer", parent_values=["sgd"]
        )
    state = trial.load_checkpoint() or {"epoch": 0}
    base = (math.log10(lr) + 2) ** 2 + 0.1 * abs(math.log2(width / 64)) + 0.2 * momentum
    for epoch in range(int(state["epoch"]) + 1, (trial.budget or MAX_EPOCHS) + 1):
        trial.report(epoch, loss=base + 1.0 / epoch, checkpoint=lambda e=epoch: {"epoch": e})


SCHEDULERS = {
    "hyperband": ({"name": "hyperband", "max_epochs": MAX_EPOCHS, "eta": 3}, 42),
    "asha": ({"name": "asha", "max_epochs": MAX_EPOCHS, "eta": 3}, 60),
    "pbt": (
        {
            "name": "pbt",
            "max_epochs": 6,
            "perturbation_interval": 2,
            "population_size": 4,
            "seed": 0,
        },
        None,
    ),
}


def run_study(scheduler: str, storage: str, folder: Path) -> tl.Study:
    spec, max_epochs = SCHEDULERS[scheduler]
    url = ":memory:" if storage == "memory" else f"sqlite:///{folder / 'studies.db'}"
    study = tl.create_study(
        scheduler,
        metric="loss",
        mode="min",
        storage=url,
        seed=0,
        scheduler=spec,
        artifacts=folder / "artifacts",
    )
    study.optimize(objective, max_epochs=max_epochs or 1000, quiet=True)
    if storage == "sqlite":  # read back from the file, as a dashboard or notebook would
        return tl.load_study(scheduler, storage=url, read_only=True)
    return study


def run_interrupted(storage: str, folder: Path) -> tl.Study:
    """An ASHA study stopped by Ctrl-C in its fourth trial: the trials it had paused stay
    PAUSED (one of them after a promotion), the fourth is failed as interrupted."""
    url = ":memory:" if storage == "memory" else f"sqlite:///{folder / 'interrupted.db'}"
    study = tl.create_study(
        "interrupted",
        metric="loss",
        mode="min",
        storage=url,
        seed=0,
        scheduler=SCHEDULERS["asha"][0],
        artifacts=folder / "artifacts",
    )

    def interrupted(trial: tl.Trial) -> None:
        if trial.number == 3:
            raise KeyboardInterrupt
        objective(trial)

    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupted, max_trials=10, quiet=True)
    if storage == "sqlite":
        return tl.load_study("interrupted", storage=url, read_only=True)
    return study


@pytest.fixture(scope="session", params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def studies(
    storage: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tl.Study]]:
    """``{"hyperband": ..., "asha": ..., "pbt": ...}``, finished, and ``"interrupted"``,
    in ``storage``."""
    folder = tmp_path_factory.mktemp(f"plot-{storage}")
    out = {name: run_study(name, storage, folder) for name in SCHEDULERS}
    yield {**out, "interrupted": run_interrupted(storage, folder)}


@pytest.fixture(scope="session")
def hyperband(studies: dict[str, tl.Study]) -> tl.Study:
    return studies["hyperband"]


@pytest.fixture(scope="session")
def pbt(studies: dict[str, tl.Study]) -> tl.Study:
    return studies["pbt"]
