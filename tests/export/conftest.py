"""A stored study to export: conditional parameters, reports, completed, pruned and failed
trials, in a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunelab as tl

N_TRIALS = 8
EPOCHS = 3


def objective(trial: tl.Trial) -> dict[str, float]:
    lr = trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
    units = trial.hp.Int("units", 8, 64)
    activation = trial.hp.Choice("activation", ["relu", "tanh"])
    batch = trial.hp.Choice("batch", [16, 32, 64])
    dropout = 0.0
    if trial.hp.Boolean("regularize"):
        dropout = trial.hp.Float(
            "dropout", 0.0, 0.5, parent_name="regularize", parent_values=[True]
        )
    loss = lr * 10 + units / 100 + dropout + (activation == "tanh") + batch / 1000
    for epoch in range(1, EPOCHS + 1):
        trial.report(epoch, {"loss": loss / epoch, "accuracy": 1 - loss / (epoch + 5)})
        if trial.number % 4 == 2 and epoch == 2:
            raise tl.TrialPruned()
    if trial.number % 4 == 3:
        raise RuntimeError("diverged")
    return {"loss": loss / EPOCHS, "accuracy": 0.5 + trial.number / 100}


@pytest.fixture(scope="package")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding tunelab.db with study 'demo'."""
    folder = tmp_path_factory.mktemp("stored")
    study = tl.create_study("demo", metric="loss", storage=folder / "tunelab.db", seed=0)
    study.optimize(objective, max_trials=N_TRIALS, quiet=True, max_consecutive_failures=None)
    states = {t.status.value for t in study.trials}
    assert states == {"completed", "pruned", "failed"}
    assert any(t.params.get("dropout") is None for t in study.trials)
    assert any(t.params.get("dropout") is not None for t in study.trials)
    return folder
