"""Grid search: every combination once, conditional branches, exhaustion ends the study."""

from __future__ import annotations

import itertools

import pytest

import tunelab as tl
from tunelab.errors import SpaceError


def objective(trial: tl.Trial) -> float:
    activation = trial.hp.Choice("activation", ["relu", "tanh", "elu"])
    batch_norm = trial.hp.Boolean("batch_norm")
    layers = trial.hp.Int("layers", 1, 3)
    return layers + (activation == "tanh") + batch_norm


def test_define_by_run_grid_is_exhausted_and_ends_the_study():
    study = tl.create_study(searcher="grid", storage=":memory:")
    study.optimize(objective, max_trials=100, quiet=True)
    seen = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(seen) == 18 == len(set(seen))
    expected = {
        tuple(sorted({"activation": a, "batch_norm": b, "layers": n}.items()))
        for a, b, n in itertools.product(["relu", "tanh", "elu"], [False, True], [1, 2, 3])
    }
    assert set(seen) == expected


def test_grid_without_a_budget_stops_on_its_own_and_again_at_once():
    space = {"a": ["x", "y"], "b": {"type": "int", "min": 1, "max": 2}}
    study = tl.create_study(searcher="grid", storage=":memory:", space=space)
    study.optimize(lambda t: t.params["b"], quiet=True)
    assert len(study.trials) == 4
    study.optimize(lambda t: t.params["b"], quiet=True)
    assert len(study.trials) == 4


def test_continuous_float_needs_grid_points():
    space = {"lr": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log"}}
    with pytest.raises(SpaceError, match="'lr' is a continuous float"):
        tl.create_study(searcher="grid", storage=":memory:", space=space)
    study = tl.create_study(
        searcher={"name": "grid", "points": {"lr": 4}}, storage=":memory:", space=space
    )
    study.optimize(lambda t: t.params["lr"], quiet=True)
    assert sorted(t.params["lr"] for t in study.trials) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])


def test_conditional_parameters_vary_only_where_active():
    space = {
        "optimizer": ["adam", "sgd"],
        "momentum": {
            "type": "float",
            "min": 0.0,
            "max": 0.9,
            "step": 0.3,
            "condition": {"optimizer": ["sgd"]},
        },
    }
    study = tl.create_study(searcher="grid", storage=":memory:", space=space)
    study.optimize(lambda t: 0.0, quiet=True)
    configs = sorted((t.params["optimizer"], t.params.get("momentum")) for t in study.trials)
    assert configs == [("adam", None), ("sgd", 0.0), ("sgd", 0.3), ("sgd", 0.6), ("sgd", 0.9)]


def test_max_trials_stops_a_grid_early_and_resume_finishes_it(tmp_path):
    storage = tmp_path / "grid.db"
    study = tl.create_study("g", searcher="grid", storage=storage)
    study.optimize(objective, max_trials=5, quiet=True)
    assert len(study.trials) == 5
    tl.load_study("g", storage=storage).optimize(objective, quiet=True)
    params = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(params) == 18 == len(set(params))
