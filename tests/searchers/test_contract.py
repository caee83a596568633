"""Every registered searcher keeps the contract in tunelab/searchers/base.py."""

from __future__ import annotations

import json

import pytest

from tunelab.searchers import SEARCHERS, make_searcher
from tunelab.searchers.base import History
from tunelab.space import Space

MIXED = Space.from_dict(
    {
        "units": {"type": "int", "min": 16, "max": 256, "step": 16},
        "layers": {"type": "int", "min": 1, "max": 4},
        "lr": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log", "step": 10},
        "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1},
        "activation": ["relu", "tanh", "gelu"],
        "batch_norm": {"type": "boolean"},
        "optimizer": ["adam", "sgd"],
        "momentum": {
            "type": "float",
            "min": 0.5,
            "max": 0.9,
            "step": 0.1,
            "condition": {"optimizer": ["sgd"]},
        },
        "epochs": {"type": "fixed", "value": 5},
    }
)


@pytest.fixture(params=sorted(SEARCHERS))
def name(request):
    return request.param


def test_proposals_are_valid_active_configurations(name):
    searcher = make_searcher(name, seed=0)
    history = History(space=MIXED, metric="v", mode="min")
    proposals = searcher.suggest(history, 20)
    assert 1 <= len(proposals) <= 20
    for p in proposals:
        MIXED.validate(p.config)
        assert p.config == MIXED.active(p.config)
        json.dumps(p.meta)


def test_state_is_json_and_restores_the_same_continuation(name):
    history = History(space=MIXED, metric="v", mode="min")
    a = make_searcher(name, seed=3)
    a.suggest(history, 3)
    state = json.loads(json.dumps(a.state_dict()))
    b = make_searcher(a.spec())
    b.load_state_dict(state)
    assert [p.config for p in a.suggest(history, 5)] == [p.config for p in b.suggest(history, 5)]


def test_unknown_searcher_name_is_a_clear_error():
    from tunelab.errors import ConfigError

    with pytest.raises(
        ConfigError,
        match="unknown searcher 'sobolx'; available: bayes, grid, random, sobol, tpe",
    ):
        make_searcher("sobolx")
