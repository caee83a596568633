"""bayes: the amortised hyperparameter restart, local candidates, the pessimistic prior mean."""

from __future__ import annotations

import numpy as np

import tunelab as tl
from tunelab.searchers.acquisition import LOCAL_SCALES, AcquisitionOptimizer
from tunelab.searchers.base import History
from tunelab.searchers.bayes import PRIOR_MEAN_QUANTILE, BayesSearcher
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.gp import GaussianProcess, bounds, new_challenger, prior_mode
from tunelab.space import Space


def _data(n: int = 40, dims: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = rng.random((n, dims))
    y = np.sin(3 * xs @ np.arange(1, dims + 1)) + 0.3 * xs[:, 0]
    return xs, (y - y.mean()) / y.std()


def _poor_theta(dims: int) -> np.ndarray:
    """Every length scale at its lower bound: a fit that explains nothing."""
    return bounds(dims, 1e-6)[:, 0].copy()


def test_a_challenger_is_continued_across_fits_and_adopted_when_it_wins():
    xs, y = _data()
    rng = np.random.default_rng(0)
    poor = _poor_theta(3)
    stuck = GaussianProcess().fit(xs, y, rng=rng, warm_start=poor)
    # one step per fit: the challenger is not done, so the fit hands back where it stopped
    first = GaussianProcess().fit(
        xs, y, rng=rng, warm_start=poor, challenger=prior_mode(3, 1e-6), challenger_steps=1
    )
    assert first.challenger_ is not None
    assert not np.array_equal(first.challenger_, prior_mode(3, 1e-6))
    # given enough steps it converges and beats the poor warm start: it becomes the fit
    done = GaussianProcess().fit(
        xs, y, rng=rng, warm_start=poor, challenger=first.challenger_, challenger_steps=500
    )
    assert done.challenger_ is None
    assert not np.allclose(done.theta_, stuck.theta_)
    full = GaussianProcess(restarts=2).fit(xs, y, rng=np.random.default_rng(1))
    assert done.regressor_.log_marginal_likelihood_value_ > (
        stuck.regressor_.log_marginal_likelihood_value_
    )
    np.testing.assert_allclose(done.theta_, full.theta_, atol=0.05)


def test_challengers_cycle_through_the_prior_mode_and_prior_draws():
    rng = np.random.default_rng(0)
    assert np.array_equal(new_challenger(4, rng, 0, restarts=1), prior_mode(4, 1e-6))
    drawn = new_challenger(4, rng, 1, restarts=1)
    assert drawn.shape == (6,) and not np.array_equal(drawn, prior_mode(4, 1e-6))
    assert np.array_equal(new_challenger(4, rng, 2, restarts=1), prior_mode(4, 1e-6))
    assert np.array_equal(new_challenger(4, rng, 5, restarts=0), prior_mode(4, 1e-6))


def test_searcher_state_carries_the_challenger():
    space = Space.from_dict({f"x{i}": {"type": "float", "min": 0, "max": 1} for i in range(3)})
    searcher = BayesSearcher(n_initial=5, n_candidates=128, seed=3)
    study = tl.create_study(searcher=searcher, space=space, storage=":memory:", seed=3)
    study.optimize(
        lambda t: sum((t.hp.Float(f"x{i}", 0, 1) - 0.3) ** 2 for i in range(3)),
        max_trials=12,
        quiet=True,
    )
    state = searcher.state_dict()
    assert state["challengers"] >= 1 and state["theta"] is not None
    restored = BayesSearcher(n_initial=5, n_candidates=128, seed=3)
    restored.load_state_dict(state)
    assert restored.challenger_ == searcher.challenger_
    assert restored.challengers_ == searcher.challengers_


def test_local_candidates_move_only_continuous_coordinates_and_stay_close():
    space = Space.from_dict(
        {
            "lr": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log"},
            "x": {"type": "float", "min": 0, "max": 1},
            "act": {"type": "choice", "values": ["relu", "tanh", "gelu"]},
        }
    )
    enc = SpaceEncoding(space)
    optimiser = AcquisitionOptimizer(enc, n_candidates=512)
    around = enc.encode_many([{"lr": 1e-2, "x": 0.5, "act": "tanh"}])
    local = optimiser.local_candidates(around, np.random.default_rng(0))
    assert len(local) == 64
    np.testing.assert_array_equal(enc.project(local), local)
    for row in local:
        assert enc.decode(row)["act"] == "tanh"
    step = np.abs(local - around)[:, optimiser._relaxed]
    assert step.max() < 6 * max(LOCAL_SCALES) and np.median(step) < max(LOCAL_SCALES)


def test_the_model_sees_the_observations_with_a_pessimistic_prior_mean():
    space = Space.from_dict({f"x{i}": {"type": "float", "min": 0, "max": 1} for i in range(2)})
    searcher = BayesSearcher(n_initial=5, n_candidates=128, seed=0)
    study = tl.create_study(searcher=searcher, space=space, storage=":memory:", seed=0)
    study.optimize(
        lambda t: t.hp.Float("x0", 0, 1) + t.hp.Float("x1", 0, 1), max_trials=8, quiet=True
    )
    history = History(space, "value", "min", finished=list(study.trials))
    proposer = searcher._model(SpaceEncoding(space), history.completed(), history)
    y = proposer.y  # type: ignore[attr-defined]
    assert abs(np.quantile(y, PRIOR_MEAN_QUANTILE)) < 1e-12
    assert np.mean(y) < 0  # most observations look better than where nothing is known
