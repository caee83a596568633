"""tpe: the Parzen estimators are proper densities; mixed spaces, pending, resume, seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.searchers.base import History
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.tpe import ParzenEstimator, TPESearcher
from tunelab.space import Space
from tunelab.trial import TrialStatus

from .test_bayes import _record, mixed_objective


def _estimator(space: Space, configs: list[dict]) -> tuple[SpaceEncoding, ParzenEstimator]:
    enc = SpaceEncoding(space)
    X, A = enc.encode_with_mask(configs)
    return enc, ParzenEstimator(enc, X, A, prior_weight=1.0)


def test_density_sums_to_one_over_a_discrete_conditional_space():
    space = Space.from_dict(
        {
            "opt": ["adam", "sgd", "rmsprop"],
            "layers": {"type": "int", "min": 1, "max": 4},
            "width": {"type": "int", "min": 1, "max": 40, "sampling": "log"},
            "decay": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log", "step": 10},
            "nesterov": {"type": "boolean", "condition": {"opt": ["sgd"]}},
            "rho": {"type": "int", "min": 1, "max": 3, "condition": {"opt": ["rmsprop"]}},
        }
    )
    observed: list[dict] = [
        {"opt": "sgd", "layers": 2, "width": 3, "decay": 0.01, "nesterov": True},
        {"opt": "adam", "layers": 4, "width": 30, "decay": 0.0001},
        {"opt": "rmsprop", "layers": 1, "width": 1, "decay": 0.1, "rho": 2},
        {"opt": "sgd", "layers": 2, "width": 5, "decay": 0.001, "nesterov": False},
    ]
    enc, est = _estimator(space, observed)
    every = []
    for opt, layers, width, decay in itertools.product(
        ["adam", "sgd", "rmsprop"], range(1, 5), range(1, 41), [1e-4, 1e-3, 1e-2, 1e-1]
    ):
        base = {"opt": opt, "layers": layers, "width": width, "decay": decay}
        if opt == "sgd":
            every += [dict(base, nesterov=b) for b in (False, True)]
        elif opt == "rmsprop":
            every += [dict(base, rho=r) for r in (1, 2, 3)]
        else:
            every.append(base)
    X, A = enc.encode_with_mask(every)
    assert np.exp(est.log_density(X, A)).sum() == pytest.approx(1.0, abs=1e-9)
    # and sampling follows the density: observed configurations are much likelier
    draws = [enc.decode(x) for x in est.sample(np.random.default_rng(0), 4000)]
    share = sum(d == observed[0] for d in draws) / len(draws)
    density = math.exp(est.log_density(*enc.encode_with_mask([observed[0]]))[0])
    assert share == pytest.approx(density, abs=0.01)
    assert density > 10 / len(every)  # uniform would be 1 / len(every)


def test_density_integrates_to_one_over_a_continuous_parameter():
    space = Space.from_dict({"lr": {"type": "float", "min": 1e-5, "max": 1.0, "sampling": "log"}})
    _, est = _estimator(space, [{"lr": 1e-3}, {"lr": 2e-3}, {"lr": 0.5}])
    u = (np.arange(20000) + 0.5) / 20000
    X = u[:, None]
    dens = np.exp(est.log_density(X, np.ones((len(u), 1), dtype=bool)))
    assert dens.mean() == pytest.approx(1.0, abs=1e-4)  # a density over the unit encoding
    univariate = np.exp(est.block_log_density(0, X))
    assert univariate.mean() == pytest.approx(1.0, abs=1e-4)


def test_tpe_moves_towards_good_regions():
    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", -5.0, 5.0)
        y = trial.hp.Float("y", -5.0, 5.0)
        return (x - 1.0) ** 2 + (y + 2.0) ** 2

    finals = {}
    for name in ("random", "tpe"):
        bests = []
        for seed in range(3):
            study = tl.create_study(searcher=name, seed=seed, storage=":memory:")
            study.optimize(objective, max_trials=40, quiet=True)
            bests.append(study.best_value)
        finals[name] = np.median(bests)
    assert finals["tpe"] < finals["random"] / 3


def _run(n: int, seed: int, storage: str = ":memory:", name: str = "t", **options) -> tl.Study:
    spec = {"name": "tpe", "n_initial": 5, **options}
    study = tl.create_study(name, searcher=spec, seed=seed, storage=storage, load_if_exists=True)
    study.optimize(mixed_objective, max_trials=n, quiet=True)
    return study


@pytest.mark.parametrize("multivariate", [True, False])
def test_mixed_conditional_space_gives_valid_configurations_only(multivariate):
    study = _run(25, seed=0, multivariate=multivariate)
    trials = study.trials
    assert len(trials) == 25 and all(t.status is TrialStatus.COMPLETED for t in trials)
    assert sum("log_l_over_g" in t.meta for t in trials) >= 15
    for t in trials:
        study.space.validate(t.params)
        assert t.params == study.space.active(t.params)
        assert ("momentum" in t.params) == (t.params["optimizer"] == "sgd")
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 25


def test_pending_suggestions_are_distinct_and_avoid_running_trials():
    study = _run(12, seed=1)
    history = History(study.space, "value", "min", finished=study.trials)
    searcher = study.searcher
    first = searcher.suggest(history, 4)
    keys = {tuple(sorted(p.config.items())) for p in first}
    assert len(keys) == 4
    pending = [_record(12 + i, p.config, TrialStatus.RUNNING, None) for i, p in enumerate(first)]
    history = History(study.space, "value", "min", finished=study.trials, pending=pending)
    second = {tuple(sorted(p.config.items())) for p in searcher.suggest(history, 4)}
    assert len(second) == 4 and not second & keys


def test_seeded_runs_are_reproducible_and_resume_continues(tmp_path):
    a = [t.params for t in _run(16, seed=2).trials]
    assert a == [t.params for t in _run(16, seed=2).trials]
    assert a != [t.params for t in _run(16, seed=3).trials]
    storage = f"sqlite:///{tmp_path / 'tpe.db'}"
    _run(9, seed=2, storage=storage, name="resumed")
    study = tl.load_study("resumed", storage=storage)
    study.optimize(mixed_objective, max_trials=16, quiet=True)
    assert [t.params for t in study.trials] == a


def test_split_and_bad_options():
    tpe = TPESearcher()
    assert [tpe.n_good(n) for n in (1, 10, 11, 60, 1000)] == [1, 1, 2, 6, 25]
    with pytest.raises(ConfigError, match=r"tpe: gamma must be a number in \(0, 1\), got 1.5"):
        TPESearcher(gamma=1.5)
    with pytest.raises(ConfigError, match="prior_weight"):
        TPESearcher(prior_weight=0)
    with pytest.raises(ConfigError, match="n_candidates"):
        tl.create_study(searcher={"name": "tpe", "n_candidates": 0}, storage=":memory:")
