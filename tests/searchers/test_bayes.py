"""bayes: stable log EI, the GP against references, mixed spaces, pending trials, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.stats import norm

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.searchers.acquisition import LogEI, log_expected_improvement, log_h
from tunelab.searchers.base import History
from tunelab.searchers.bayes import BayesSearcher, warp_outputs
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.gp import GaussianProcess, length_scale_prior
from tunelab.space import Space
from tunelab.trial import TrialRecord, TrialStatus

# -- log expected improvement ------------------------------------------------------------------


def test_log_h_equals_the_direct_formula_where_ei_is_not_tiny():
    z = np.linspace(-6.0, 6.0, 241)
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    np.testing.assert_allclose(log_h(z), direct, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(
    ("mean", "var", "best"), [(0.3, 0.5, 0.0), (-1.0, 2.0, 0.5), (0.0, 1e-4, 0.01), (2.0, 1.0, 0.0)]
)
def test_log_ei_equals_the_expectation_by_quadrature(mean, var, best):
    sd = math.sqrt(var)
    ei, _ = quad(lambda f: (best - f) * norm.pdf(f, mean, sd), mean - 12 * sd, best, epsabs=0)
    value = log_expected_improvement(np.array([mean]), np.array([var]), best)[0]
    assert value == pytest.approx(math.log(ei), rel=1e-7)


def test_log_ei_is_finite_and_monotone_far_from_the_incumbent():
    z = -np.logspace(-2, 12, 400)  # from close to hopeless
    values = log_h(z)
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) < 0)
    with np.errstate(divide="ignore"):  # the naive formula gives up here
        assert np.log(norm.pdf(-40.0) + -40.0 * norm.cdf(-40.0)) == -np.inf
    far = -1e5
    asymptotic = -0.5 * far**2 - 0.5 * math.log(2 * math.pi) - 2 * math.log(-far)
    assert log_h(np.array([far]))[0] == pytest.approx(asymptotic, rel=1e-12)
    # continuous across the branch points
    for b in (-1.0, -1e3):
        lo, hi = log_h(np.array([b - 1e-9, b + 1e-9]))
        assert lo == pytest.approx(hi, rel=1e-6, abs=1e-8)
    # a worse mean lowers log EI; more uncertainty raises it; both stay finite
    means = np.linspace(1.0, 1e6, 50)
    for var in (1e-10, 1e-2, 1.0):
        values = log_expected_improvement(means, np.full(50, var), 0.0)
        assert np.all(np.isfinite(values)) and np.all(np.diff(values) < 0)
    variances = np.logspace(-8, 2, 50)
    values = log_expected_improvement(np.full(50, 3.0), variances, 0.0)
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) > 0)


def _fitted_gp(n: int = 30, dims: int = 3, seed: int = 0) -> tuple[GaussianProcess, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, dims))
    y = np.sin(3 * X @ np.arange(1, dims + 1)) + 0.3 * X[:, 0]
    y = (y - y.mean()) / y.std()
    return GaussianProcess(restarts=2).fit(X, y, rng=rng), y


def test_log_ei_gradient_matches_finite_differences():
    gp, y = _fitted_gp()
    acq = LogEI(gp, float(y.min()))
    rng = np.random.default_rng(1)
    for x in [*rng.random((4, 3)), gp.X_[np.argmax(y)] + 1e-3]:  # the last: EI is tiny there
        value, grad = acq.value_and_grad(x)
        assert np.isfinite(value)
        numeric = np.array(
            [
                (acq.value_and_grad(x + e)[0] - acq.value_and_grad(x - e)[0]) / 2e-6
                for e in np.eye(3) * 1e-6
            ]
        )
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


# -- the Gaussian process ---------------------------------------------------------------------


def _matern52(A: np.ndarray, B: np.ndarray, c: float, ls: np.ndarray) -> np.ndarray:
    r = np.sqrt((((A[:, None, :] - B[None, :, :]) / ls) ** 2).sum(-1))
    return c * (1 + math.sqrt(5) * r + 5 / 3 * r**2) * np.exp(-math.sqrt(5) * r)


def _reference_neg_log_posterior(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Written out directly: -(log N(y; 0, K + noise I) + log priors), constants dropped."""
    c, ls, noise = math.exp(theta[0]), np.exp(theta[1:-1]), math.exp(theta[-1])
    K = _matern52(X, X, c, ls) + (noise + 1e-10) * np.eye(len(X))
    _, logdet = np.linalg.slogdet(K)
    lml = -0.5 * y @ np.linalg.solve(K, y) - 0.5 * logdet - 0.5 * len(y) * math.log(2 * math.pi)

    def lognormal(t: np.ndarray, mu: float, s: float) -> float:
        return float(np.sum(-t - (t - mu) ** 2 / (2 * s * s)))

    mu_l, s_l = length_scale_prior(len(ls))
    prior = (
        lognormal(theta[:1], 0.0, 1.0)
        + lognormal(theta[1:-1], mu_l, s_l)
        - 30.0 * noise  # Exponential(30) density over the noise variance
    )
    return -(lml + prior)


def test_gp_fit_is_the_map_of_an_independently_written_posterior():
    gp, y = _fitted_gp()
    X, theta = gp.X_, gp.theta_
    ours = _reference_neg_log_posterior(theta, X, y)
    box = [(-4.7, 4.7)] + [(-4.7, 4.7)] * 3 + [(math.log(1e-6), 0.0)]
    rng = np.random.default_rng(5)
    for start in [np.zeros(5), np.array([0.0, -1, -1, -1, -5]), *rng.uniform(-2, 1, (3, 5))]:
        res = minimize(
            _reference_neg_log_posterior, start, args=(X, y), method="L-BFGS-B", bounds=box
        )
        assert ours <= res.fun + 1e-4 * abs(res.fun)
    # and it is a stationary point of the reference objective
    grad = [
        (
            _reference_neg_log_posterior(theta + e, X, y)
            - _reference_neg_log_posterior(theta - e, X, y)
        )
        / 2e-5
        for e in np.eye(5) * 1e-5
    ]
    inside = (theta > np.array(box)[:, 0] + 1e-3) & (theta < np.array(box)[:, 1] - 1e-3)
    assert np.all(np.abs(np.array(grad)[inside]) < 1e-2)


def test_gp_posterior_matches_scikit_learn_and_a_direct_solve():
    gp, y = _fitted_gp()
    xs = np.random.default_rng(2).random((7, 3))
    mean, var = gp.posterior(xs)
    sk_mean, sk_std = gp.regressor_.predict(xs, return_std=True)
    np.testing.assert_allclose(mean, sk_mean, atol=1e-10)
    np.testing.assert_allclose(var + gp.noise_, sk_std**2, atol=1e-10)  # sklearn adds the noise
    K = _matern52(gp.X_, gp.X_, gp.signal_, gp.length_scales_) + (gp.noise_ + 1e-10) * np.eye(30)
    k = _matern52(xs, gp.X_, gp.signal_, gp.length_scales_)
    np.testing.assert_allclose(mean, k @ np.linalg.solve(K, y), atol=1e-8)
    direct_var = gp.signal_ - np.sum(k * np.linalg.solve(K, k.T).T, axis=1)
    np.testing.assert_allclose(var, direct_var, atol=1e-8)
    # gradients of mean and variance against finite differences
    _, _, dmean, dvar = gp.posterior_with_grad(xs)
    for d in range(3):
        e = np.zeros(3)
        e[d] = 1e-6
        (mp, vp), (mm, vm) = gp.posterior(xs + e), gp.posterior(xs - e)
        np.testing.assert_allclose(dmean[:, d], (mp - mm) / 2e-6, atol=1e-5)
        np.testing.assert_allclose(dvar[:, d], (vp - vm) / 2e-6, atol=1e-5)


def test_conditioning_on_believers_keeps_hyperparameters_and_pins_the_point():
    gp, _ = _fitted_gp()
    x = np.array([[0.5, 0.5, 0.5]])
    m, v = gp.posterior(x)
    believed = gp.condition_on(x, m)
    np.testing.assert_array_equal(believed.theta_, gp.theta_)
    m2, v2 = believed.posterior(x)
    assert m2[0] == pytest.approx(m[0], abs=1e-6)
    # as certain as one observation with that noise makes it (up to rounding: the fitted
    # noise of this noise-free function is the floor, 1e-6)
    assert v2[0] < gp.noise_ * (1 + 1e-3) < v[0]


def test_output_warp_is_monotone_and_tames_a_heavy_tail():
    rng = np.random.default_rng(0)
    heavy = np.concatenate([rng.random(40), [50.0, 400.0, 3000.0]])
    z = warp_outputs(heavy)
    assert np.all(np.diff(z[np.argsort(heavy)]) > 0)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    assert np.ptp(z[:40]) > 3 * np.ptp((heavy[:40] - heavy.mean()) / heavy.std())
    # a long tail of *good* values is left alone (only the bad end is ever compressed)
    good_tail = -heavy
    np.testing.assert_allclose(
        warp_outputs(good_tail), (good_tail - good_tail.mean()) / good_tail.std()
    )


# -- the searcher -------------------------------------------------------------------------------


def mixed_objective(trial: tl.Trial) -> float:
    units = trial.hp.Int("units", 16, 256, step=16)
    layers = trial.hp.Int("layers", 1, 4)
    lr = trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
    decay = trial.hp.Float("decay", 1e-6, 1e-2, sampling="log", step=10)
    activation = trial.hp.Choice("activation", ["relu", "tanh", "gelu"])
    batch_norm = trial.hp.Boolean("batch_norm")
    optimizer = trial.hp.Choice("optimizer", ["adam", "sgd"])
    with trial.hp.conditional_scope("optimizer", ["sgd"]):
        momentum = trial.hp.Float("momentum", 0.5, 0.99)
    loss = (math.log10(lr) + 2.5) ** 2 + (units - 128) ** 2 / 1e4 + 0.1 * layers
    loss += (activation != "gelu") + 0.1 * batch_norm + 0.01 * math.log10(decay)
    if optimizer == "sgd":
        loss += 2 * (0.9 - momentum) ** 2
    return loss


FAST = {"name": "bayes", "n_initial": 5, "n_candidates": 256}


def _run(n: int, seed: int, storage: str = ":memory:", name: str = "b", searcher=None) -> tl.Study:
    study = tl.create_study(
        name, searcher=searcher or FAST, seed=seed, storage=storage, load_if_exists=True
    )
    study.optimize(mixed_objective, max_trials=n, quiet=True)
    return study


def test_mixed_conditional_space_gives_valid_configurations_only():
    study = _run(14, seed=0)
    trials = study.trials
    assert len(trials) == 14 and all(t.status is TrialStatus.COMPLETED for t in trials)
    model_based = [t for t in trials if "log_ei" in t.meta]
    assert len(model_based) >= 8
    for t in trials:
        study.space.validate(t.params)
        assert t.params == study.space.active(t.params)
        assert ("momentum" in t.params) == (t.params["optimizer"] == "sgd")
        assert t.proposal == {k: v for k, v in t.params.items() if k in t.proposal}
        assert np.isfinite(t.meta.get("log_ei", 0.0))
    keys = {tuple(sorted(t.params.items())) for t in trials}
    assert len(keys) == 14


def _record(number: int, config: dict, status: TrialStatus, value: float | None) -> TrialRecord:
    return TrialRecord(
        study_id=1,
        trial_id=number + 1,
        number=number,
        status=status,
        params=dict(config),
        proposal=dict(config),
        meta={},
        budget=None,
        value=value,
        metrics={},
        reports=(),
        created_at=0.0,
        started_at=0.0,
        ended_at=None,
    )


BRANIN_LIKE = Space.from_dict(
    {"x": {"type": "float", "min": -5, "max": 10}, "y": {"type": "float", "min": 0, "max": 15}}
)


def _branin(c: dict) -> float:
    from tunelab.tasks.functions import branin

    return branin()([c["x"], c["y"]])


def test_four_pending_suggestions_are_four_distinct_points():
    searcher = BayesSearcher(n_initial=6, n_candidates=512, seed=0)
    finished: list[TrialRecord] = []
    for i in range(8):
        history = History(BRANIN_LIKE, "value", "min", finished=list(finished))
        config = searcher.suggest(history, 1)[0].config
        finished.append(_record(i, config, TrialStatus.COMPLETED, _branin(config)))
    history = History(BRANIN_LIKE, "value", "min", finished=finished)
    first = searcher.suggest(history, 4)
    assert len(first) == 4
    enc = SpaceEncoding(BRANIN_LIKE)
    points = enc.encode_many([p.config for p in first])
    observed = enc.encode_many([t.params for t in finished])
    gaps = np.linalg.norm(points[:, None] - points[None], axis=-1) + np.eye(4)
    assert gaps.min() > 1e-3  # spread out, not four copies of one optimum
    assert np.linalg.norm(points[:, None] - observed[None], axis=-1).min() > 1e-6
    # the same four as running trials: the next four avoid them as well
    pending = [_record(8 + i, p.config, TrialStatus.RUNNING, None) for i, p in enumerate(first)]
    history = History(BRANIN_LIKE, "value", "min", finished=finished, pending=pending)
    second = enc.encode_many([p.config for p in searcher.suggest(history, 4)])
    assert np.linalg.norm(second[:, None] - points[None], axis=-1).min() > 1e-3
    gaps = np.linalg.norm(second[:, None] - second[None], axis=-1) + np.eye(4)
    assert gaps.min() > 1e-3


def test_failed_and_finished_configurations_are_never_proposed_again():
    calls: list[tuple] = []

    def objective(trial: tl.Trial) -> float:
        a = trial.hp.Choice("a", [1, 2, 3])
        b = trial.hp.Boolean("b")
        calls.append((a, b))
        if a == 2:
            raise RuntimeError("diverged")
        return a + b

    study = tl.create_study(searcher={"name": "bayes", "n_initial": 2}, seed=0, storage=":memory:")
    study.optimize(objective, max_trials=20, quiet=True)
    assert sorted(calls) == sorted({(a, b) for a in (1, 2, 3) for b in (False, True)})
    assert sum(t.status is TrialStatus.FAILED for t in study.trials) == 2


def test_seeded_runs_are_reproducible():
    a = [t.params for t in _run(9, seed=3).trials]
    b = [t.params for t in _run(9, seed=3).trials]
    c = [t.params for t in _run(9, seed=4).trials]
    assert a == b
    assert a != c


def test_resumed_study_continues_with_the_same_model(tmp_path):
    storage = f"sqlite:///{tmp_path / 'bayes.db'}"
    straight = _run(11, seed=5)
    _run(7, seed=5, storage=storage, name="resumed")
    study = tl.load_study("resumed", storage=storage)
    assert isinstance(study.searcher, BayesSearcher)
    assert study.searcher.theta_ is not None  # the fitted hyperparameters came back
    study.optimize(mixed_objective, max_trials=11, quiet=True)
    assert [t.params for t in study.trials] == [t.params for t in straight.trials]


def test_default_initial_design_and_bad_options():
    enc = SpaceEncoding(BRANIN_LIKE)
    assert BayesSearcher().initial_design_size(enc) == 6  # max(5, parameters + 4)
    assert (
        BayesSearcher().initial_design_size(
            SpaceEncoding(
                Space.from_dict({f"x{i}": {"type": "float", "min": 0, "max": 1} for i in range(6)})
            )
        )
        == 10
    )
    assert BayesSearcher(n_initial=3).initial_design_size(enc) == 3
    with pytest.raises(ConfigError, match="bayes: n_initial must be an integer >= 1, got 0"):
        BayesSearcher(n_initial=0)
    with pytest.raises(ConfigError, match="n_candidates"):
        tl.create_study(searcher={"name": "bayes", "n_candidates": "many"}, storage=":memory:")
