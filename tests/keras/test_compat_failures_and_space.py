"""Issue 17 points 9 and 10: what a Keras Tuner user catches, what the oracle's space shows,
and the documented model.compile calls on Keras 3."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import tunelab.keras as kt

ROOT = Path(__file__).resolve().parents[2]
# where a Keras Tuner user copies model.compile from: the README, the docs and the examples
DOCUMENTED = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted((ROOT / "examples").rglob("*.py")),
]


def test_point9_too_many_failed_trials_in_a_row_is_a_runtime_error(tmp_path: Path) -> None:
    class AlwaysFails(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            trial.hyperparameters.Float("x", -1, 1)
            raise ValueError("this configuration never works")

    tuner = AlwaysFails(max_trials=10, max_consecutive_failed_trials=2, seed=0, directory=tmp_path)
    with pytest.raises(RuntimeError):  # Keras Tuner users write `except RuntimeError`
        tuner.search()


def test_point9_the_oracle_space_gives_every_default_in_values(tmp_path: Path) -> None:
    class Quadratic(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            hp = trial.hyperparameters
            return hp.Int("units", 1, 9, default=5) + hp.Choice("kind", ["a", "b"]).count("a")

    tuner = Quadratic(max_trials=2, seed=0, directory=tmp_path)
    tuner.search()
    assert dict(tuner.oracle.get_space().values) == {"units": 5, "kind": "a"}


def test_point10_the_documentation_compiles_keras_models_with_keywords() -> None:
    text = "\n".join(path.read_text() for path in DOCUMENTED)
    calls = re.findall(r"model\.compile\(([^)]*\)?[^)]*)\)", text)
    assert len(calls) >= 3  # the Keras Tuner tutorial and the examples each compile a model
    for call in calls:  # a positional third argument is loss_weights on Keras 3
        positional = [a for a in call.split(",") if a.strip() and "=" not in a]
        assert len(positional) <= 2, call
