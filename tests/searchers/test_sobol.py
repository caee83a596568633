"""Sobol search: balanced categoricals (also conditional ones), unbiased ints, reproducibility."""

from __future__ import annotations

import collections

import tunelab as tl
from tunelab.searchers.sobol import SobolSearcher


def _balanced(values: list[object]) -> bool:
    counts = collections.Counter(values)
    return max(counts.values()) - min(counts.values()) <= 1


def objective(trial: tl.Trial) -> float:
    activation = trial.hp.Choice("activation", ["relu", "tanh", "elu"])
    batch_norm = trial.hp.Boolean("batch_norm")
    optimizer = trial.hp.Choice("optimizer", ["adam", "sgd"])
    with trial.hp.conditional_scope("optimizer", ["sgd"]):
        trial.hp.Choice("momentum_kind", ["classic", "nesterov", "none"])
    if activation == "relu":  # a parameter that only exists on one branch
        trial.hp.Choice("init", ["he", "xavier"])
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.hp.Int("depth", 0, 3)
    return x + (activation == "elu") + batch_norm + (optimizer == "sgd")


def _run(n: int, seed: int, storage: str = ":memory:", name: str = "s") -> tl.Study:
    study = tl.create_study(name, searcher="sobol", seed=seed, storage=storage, load_if_exists=True)
    study.optimize(objective, max_trials=n, quiet=True)
    return study


def test_categorical_boolean_and_conditional_values_are_balanced():
    trials = _run(37, seed=0).trials
    assert len(trials) == 37
    for k in range(1, 38):  # after any number of trials, not only at the end
        prefix = [t.params for t in trials[:k]]
        assert _balanced([p["activation"] for p in prefix])
        assert _balanced([p["batch_norm"] for p in prefix])
        assert _balanced([p["optimizer"] for p in prefix])
    params = [t.params for t in trials]
    sgd = [p for p in params if p["optimizer"] == "sgd"]
    assert all("momentum_kind" in p for p in sgd)
    assert not any("momentum_kind" in p for p in params if p["optimizer"] == "adam")
    assert _balanced([p["momentum_kind"] for p in sgd])
    relu = [p for p in params if p["activation"] == "relu"]
    assert not any("init" in p for p in params if p["activation"] != "relu")
    assert len(relu) >= 12 and _balanced([p["init"] for p in relu])


def test_integer_coordinates_are_stratified():
    # A scrambled Sobol coordinate puts exactly 1/4 of its first 64 points in each
    # quarter; trial 0, which revealed the space, used point 0 as well.
    params = [t.params for t in _run(64, seed=3).trials]
    counts = collections.Counter(p["depth"] for p in params)
    assert sorted(counts.values()) == [16, 16, 16, 16]


def test_same_seed_same_sequence_other_seed_other_sequence():
    a = [t.params for t in _run(12, seed=7).trials]
    b = [t.params for t in _run(12, seed=7).trials]
    c = [t.params for t in _run(12, seed=8).trials]
    assert a == b
    assert a != c


def test_resumed_study_continues_the_same_sequence(tmp_path):
    storage = f"sqlite:///{tmp_path / 'sobol.db'}"
    straight = [t.params for t in _run(16, seed=5).trials]
    _run(6, seed=5, storage=storage, name="resumed")
    study = tl.load_study("resumed", storage=storage)
    study.optimize(objective, max_trials=16, quiet=True)
    assert [t.params for t in study.trials] == straight


def test_state_round_trip_gives_identical_proposals():
    from tunelab.searchers.base import History
    from tunelab.space import Choice, Float, Space

    space = Space([Float("x", 0.0, 1.0), Choice("c", ["a", "b", "c"])])
    history = History(space=space, metric="v", mode="min")
    first = SobolSearcher(seed=1)
    first.suggest(history, 5)
    clone = SobolSearcher(seed=1)
    clone.load_state_dict(first.state_dict())
    assert [p.config for p in first.suggest(history, 4)] == [
        p.config for p in clone.suggest(history, 4)
    ]
