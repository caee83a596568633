"""The Gaussian-process surrogate of the ``bayes`` searcher.

A zero-mean GP on the unit-cube encoding with kernel ``c * Matern52_ARD(l) + noise``,
fitted by scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor`.
The hyperparameters ``(c, l_1..l_D, noise)`` are the maximum a posteriori (MAP)
estimate: scikit-learn's log marginal likelihood plus the log priors below, maximised
by L-BFGS-B: from the prior's mode and draws from the prior on the first fit, then
from the previous fit's values plus a few iterations of a *challenger* restart that
later fits continue (so a full restart's cost is spread over several suggestions).
The priors keep small data sets from producing the degenerate fits plain maximum
likelihood is known for (length scales collapsing onto the data, or a "noise
explains everything" optimum):

- length scale ``l_d``: LogNormal(sqrt(2) + log(D) / 2, sqrt(3)), the dimension-scaled
  prior of Hvarfner et al. 2024 ("Vanilla Bayesian optimization performs great in
  high dimensions", BoTorch's default), evaluated as a density over ``l``;
- signal variance ``c``: LogNormal(0, 1), centred on 1 since outputs are standardised;
- noise variance: Exponential(30), at least ``min_noise``: flat where the noise is
  small, so a deterministic objective can be fitted (almost) exactly.

Posterior mean, variance and their gradients with respect to the input are computed
here from the fitted factors (``L_``, ``alpha_``), because scikit-learn does not give
input gradients; tests check them against scikit-learn's ``predict`` and a direct
dense computation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize

_SQRT5 = math.sqrt(5.0)
LENGTH_SCALE_BOUNDS = (1e-2, 1e2)
SIGNAL_BOUNDS = (1e-2, 1e2)
NOISE_MAX = 1.0

ObjFunc = Callable[..., Any]


def length_scale_prior(dims: int) -> tuple[float, float]:
    """(mu, sigma) of the LogNormal length-scale prior for ``dims`` input dimensions."""
    return math.sqrt(2.0) + 0.5 * math.log(max(dims, 1)), math.sqrt(3.0)


MIN_NOISE = 1e-6
"""Smallest noise variance (on standardised outputs); keeps the Cholesky factor stable."""
NOISE_RATE = 30.0
"""The noise variance's prior is Exponential with this rate (mean 1/30)."""
SIGNAL_PRIOR = (0.0, 1.0)


def _lognormal(theta: np.ndarray, mu: float, s: float) -> tuple[np.ndarray, np.ndarray]:
    """LogNormal(mu, s) log density over ``p = exp(theta)``, as a function of theta."""
    z = (theta - mu) / s**2
    return -theta - 0.5 * (theta - mu) * z, -1.0 - z


def log_prior(theta: np.ndarray, dims: int) -> tuple[float, np.ndarray]:
    """Log prior density of ``theta = log(c, l_1..l_D, noise)`` and its gradient.

    Each prior is a LogNormal(mu, s) density over the parameter itself (not its log),
    ``-log p - (log p - mu)^2 / (2 s^2)`` up to a constant, as BoTorch evaluates it; as
    a function of ``t = log p`` that is ``-t - (t - mu)^2 / (2 s^2)``, whose maximum
    (the MAP estimate without data) is ``mu - s^2``.
    """
    value = np.empty_like(theta)
    grad = np.empty_like(theta)
    value[:1], grad[:1] = _lognormal(theta[:1], *SIGNAL_PRIOR)
    value[1:-1], grad[1:-1] = _lognormal(theta[1:-1], *length_scale_prior(dims))
    # Exponential(rate) density over the noise variance n = exp(t): -rate * n, flat for
    # small n, so a deterministic objective may fit an almost noise-free model (a
    # LogNormal prior held the noise near 1e-4 and with it the final precision).
    value[-1:] = grad[-1:] = -NOISE_RATE * np.exp(theta[-1:])
    return float(value.sum()), grad


def prior_mode(dims: int, min_noise: float) -> np.ndarray:
    """The prior's most likely ``theta`` (clipped to the bounds)."""
    mu_l, s_l = length_scale_prior(dims)
    modes = [
        SIGNAL_PRIOR[0] - SIGNAL_PRIOR[1] ** 2,
        mu_l - s_l**2,
        -math.inf,  # the Exponential's mode, 0: clipped to the smallest noise
    ]
    theta = np.concatenate([[modes[0]], np.full(dims, modes[1]), [modes[2]]])
    return np.clip(theta, *bounds(dims, min_noise).T)


def bounds(dims: int, min_noise: float) -> np.ndarray:
    """Box on ``theta`` (log scale), one row per hyperparameter."""
    rows = [SIGNAL_BOUNDS] + [LENGTH_SCALE_BOUNDS] * dims + [(min_noise, NOISE_MAX)]
    return np.log(np.array(rows, dtype=float))


def make_kernel(theta: np.ndarray, min_noise: float) -> Any:
    """scikit-learn kernel ``c * Matern(l, nu=2.5) + White(noise)`` with ``theta``'s values."""
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    signal = ConstantKernel(math.exp(theta[0]), SIGNAL_BOUNDS)
    matern = Matern(np.exp(theta[1:-1]), LENGTH_SCALE_BOUNDS, nu=2.5)
    return signal * matern + WhiteKernel(math.exp(theta[-1]), (min_noise, NOISE_MAX))


CHALLENGER_STEPS = 10
"""L-BFGS-B iterations a challenger restart takes per fit (see :meth:`GaussianProcess.fit`)."""


def prior_draws(dims: int, min_noise: float, rng: np.random.Generator, k: int) -> list[np.ndarray]:
    """``k`` values of ``theta`` drawn around the prior (clipped to the bounds)."""
    mu_l, s_l = length_scale_prior(dims)
    box = bounds(dims, min_noise)
    draws = []
    for _ in range(k):
        theta = np.concatenate(
            [
                rng.normal(SIGNAL_PRIOR[0], SIGNAL_PRIOR[1], 1),
                rng.normal(mu_l - s_l**2, s_l, dims),
                np.log(rng.exponential(1.0 / NOISE_RATE, 1) + min_noise),
            ]
        )
        draws.append(np.clip(theta, box[:, 0], box[:, 1]))
    return draws


def new_challenger(
    dims: int, rng: np.random.Generator, index: int, restarts: int, min_noise: float = MIN_NOISE
) -> np.ndarray:
    """The ``index``-th restart point: the prior's mode, then ``restarts`` prior draws, cycling."""
    if index % (restarts + 1) == 0:
        return prior_mode(dims, min_noise)
    return prior_draws(dims, min_noise, rng, 1)[0]


def _minimise(
    obj_func: ObjFunc, start: np.ndarray, box: np.ndarray, dims: int, steps: int | None
) -> Any:
    """L-BFGS-B on ``-(log marginal likelihood + log prior)`` from ``start``."""

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        neg_lml, neg_grad = obj_func(theta, eval_gradient=True)
        lp, lp_grad = log_prior(theta, dims)
        value = neg_lml - lp
        if not np.isfinite(value):  # a failed Cholesky: steer the line search away
            return 1e25, np.zeros_like(theta)
        return value, neg_grad - lp_grad

    options = {} if steps is None else {"maxiter": steps}
    return minimize(loss, start, jac=True, method="L-BFGS-B", bounds=box, options=options)


class GaussianProcess:
    """A fitted GP: ``fit`` once, then ask for posteriors (and conditioned copies).

    ``theta_`` holds the fitted ``log(c, l_1..l_D, noise)``; ``regressor_`` the
    scikit-learn model whose ``L_`` and ``alpha_`` the posterior uses.
    """

    def __init__(self, *, min_noise: float | None = None, restarts: int = 1) -> None:
        self.min_noise = MIN_NOISE if min_noise is None else min_noise
        self.restarts = restarts

    # -- fitting ------------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        rng: np.random.Generator,
        warm_start: np.ndarray | None = None,
        challenger: np.ndarray | None = None,
        challenger_steps: int = CHALLENGER_STEPS,
    ) -> GaussianProcess:
        """MAP-fit the hyperparameters to ``(X, y)`` (``y`` standardised) and factorise.

        With a usable ``warm_start`` (the previous fit's optimum) L-BFGS-B starts there,
        and a ``challenger`` (a restart from elsewhere, see :func:`new_challenger`) takes
        at most ``challenger_steps`` iterations on the same data; it wins if its value is
        better. ``challenger_`` is then where it stopped, or None when it converged or
        won, so the next fit continues it: a full restart is spread over several fits
        and no single fit pays for it. Without a warm start L-BFGS-B runs to convergence
        from the prior's mode and ``restarts`` draws from the prior; the best optimum wins.
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor

        dims = X.shape[1]
        box = bounds(dims, self.min_noise)
        starts = []
        if warm_start is not None and len(warm_start) == dims + 2:
            starts.append(np.clip(np.asarray(warm_start, dtype=float), box[:, 0], box[:, 1]))
        else:
            starts.append(prior_mode(dims, self.min_noise))
            starts.extend(prior_draws(dims, self.min_noise, rng, self.restarts))
            challenger = None
        if challenger is not None and len(challenger) != dims + 2:
            challenger = None
        self.challenger_: np.ndarray | None = None

        def optimizer(obj_func: ObjFunc, initial_theta: np.ndarray, bounds: Any) -> Any:
            theta, value = self._map_optimise(obj_func, starts, box, dims)
            if challenger is None:
                return theta, value
            start = np.clip(np.asarray(challenger, dtype=float), box[:, 0], box[:, 1])
            res = _minimise(obj_func, start, box, dims, challenger_steps)
            if res.fun < value:
                return res.x, float(res.fun)
            if res.nit >= challenger_steps and not res.success:
                self.challenger_ = np.asarray(res.x, dtype=float)
            return theta, value

        regressor = GaussianProcessRegressor(
            make_kernel(starts[0], self.min_noise),
            alpha=1e-10,
            optimizer=optimizer,
            normalize_y=False,
        )
        with warnings.catch_warnings():
            # scikit-learn warns when a value ends at its bound (a noise-free objective
            # drives the noise to min_noise); that is an answer here, not a problem.
            warnings.simplefilter("ignore", ConvergenceWarning)
            regressor.fit(X, y)
        self._set(regressor)
        return self

    @staticmethod
    def _map_optimise(
        obj_func: ObjFunc, starts: list[np.ndarray], box: np.ndarray, dims: int
    ) -> tuple[np.ndarray, float]:
        """Minimise ``-(log marginal likelihood + log prior)`` by L-BFGS-B from each start."""
        best_theta, best_value = starts[0], math.inf
        for start in starts:
            res = _minimise(obj_func, start, box, dims, None)
            if res.fun < best_value:
                best_theta, best_value = res.x, float(res.fun)
        return best_theta, best_value

    def _set(self, regressor: Any) -> None:
        self.regressor_ = regressor
        self.X_ = regressor.X_train_
        self.theta_ = np.asarray(regressor.kernel_.theta, dtype=float)
        self.signal_ = math.exp(self.theta_[0])
        self.length_scales_ = np.exp(self.theta_[1:-1])
        self.noise_ = math.exp(self.theta_[-1])
        self.L_ = regressor.L_
        self.alpha_ = regressor.alpha_

    def condition_on(self, X_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """A copy that also observed ``(X_new, y_new)``, with the same hyperparameters."""
        from sklearn.gaussian_process import GaussianProcessRegressor

        regressor = GaussianProcessRegressor(
            self.regressor_.kernel_, alpha=1e-10, optimizer=None, normalize_y=False
        )
        regressor.fit(np.vstack([self.X_, X_new]), np.concatenate([self.y_, y_new]))
        clone = GaussianProcess(min_noise=self.min_noise, restarts=self.restarts)
        clone._set(regressor)
        return clone

    @property
    def y_(self) -> np.ndarray:
        return np.asarray(self.regressor_.y_train_, dtype=float)

    # -- the posterior of the latent function ------------------------------------------------
    def _cross(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """k(x, X) and the pieces of its gradient: scaled differences and dk/dr factor."""
        diff = (x[:, None, :] - self.X_[None, :, :]) / self.length_scales_  # (b, n, D)
        r = np.sqrt(np.sum(diff * diff, axis=-1))
        e = np.exp(-_SQRT5 * r)
        k = self.signal_ * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r * r) * e
        # d k / d x_d = -(5/3) c (1 + sqrt5 r) e^{-sqrt5 r} (x_d - X_d) / l_d^2
        factor = -(5.0 / 3.0) * self.signal_ * (1.0 + _SQRT5 * r) * e
        return k, diff, factor

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of f at the rows of ``x`` (noise excluded)."""
        x = np.atleast_2d(x)
        out_mean = np.empty(len(x))
        out_var = np.empty(len(x))
        for s in range(0, len(x), 512):  # bounded memory for the (b, n, D) differences
            k, _, _ = self._cross(x[s : s + 512])
            out_mean[s : s + 512] = k @ self.alpha_
            v = solve_triangular(self.L_, k.T, lower=True, check_finite=False)
            out_var[s : s + 512] = self.signal_ - np.sum(v * v, axis=0)
        return out_mean, np.maximum(out_var, 0.0)

    def posterior_with_grad(
        self, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients (``(b, D)``) at the rows of ``x``."""
        x = np.atleast_2d(x)
        k, diff, factor = self._cross(x)
        dk = factor[:, :, None] * diff / self.length_scales_  # (b, n, D)
        mean = k @ self.alpha_
        w = cho_solve((self.L_, True), k.T, check_finite=False).T  # K^-1 k, (b, n)
        var = self.signal_ - np.sum(k * w, axis=1)
        dmean = np.einsum("n,bnd->bd", self.alpha_, dk)
        dvar = -2.0 * np.einsum("bn,bnd->bd", w, dk)
        return mean, np.maximum(var, 0.0), dmean, dvar
