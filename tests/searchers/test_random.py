"""Random search: seeded and reproducible, across a resume too."""

from __future__ import annotations

import tunelab as tl


def objective(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", -5.0, 10.0)
    trial.hp.Int("n", 1, 1000, sampling="log")
    trial.hp.Choice("c", ["a", "b"])
    return x


def _params(seed: int, n: int = 10) -> list[dict[str, object]]:
    study = tl.create_study(searcher="random", seed=seed, storage=":memory:")
    study.optimize(objective, max_trials=n, quiet=True)
    return [t.params for t in study.trials]


def test_same_seed_same_sequence():
    assert _params(1) == _params(1)
    assert _params(1) != _params(2)


def test_resume_continues_the_sequence(tmp_path):
    storage = tmp_path / "random.db"
    study = tl.create_study("r", searcher="random", seed=4, storage=storage)
    study.optimize(objective, max_trials=4, quiet=True)
    tl.load_study("r", storage=storage).optimize(objective, max_trials=10, quiet=True)
    assert [t.params for t in tl.load_study("r", storage=storage).trials] == _params(4, 10)


def test_log_parameters_are_log_uniform():
    study = tl.create_study(searcher="random", seed=0, storage=":memory:")
    study.optimize(objective, max_trials=400, quiet=True)
    small = sum(t.params["n"] <= 31 for t in study.trials)  # about half the log range
    assert 150 < small < 250
