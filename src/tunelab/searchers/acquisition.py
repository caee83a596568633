"""Log expected improvement, computed stably, and its maximisation over a mixed space.

``log EI(x) = log h(z) + log sigma`` with ``z = (best - mu) / sigma`` (minimisation) and
``h(z) = phi(z) + z Phi(z)``. Evaluating ``h`` directly underflows to 0 (log = -inf)
once ``z`` is below about -38, i.e. anywhere the model is sure there is nothing to
gain, which leaves an optimiser with flat zeros and no gradient. Following Ament et
al. 2023 ("Unexpected improvements to expected improvement", eq. 9) ``log h`` is
computed piecewise: directly for ``z > -1``; as
``-z^2/2 - log sqrt(2 pi) + log1mexp(log(erfcx(-z/sqrt2) |z|) + log sqrt(pi/2))`` below,
which stays accurate for any finite ``z``; and by its asymptotic series far out.

The maximiser scores many candidates at once (scrambled Sobol points of the whole
space, 2048 by default), refines the best few (5, plus any extra starts such as the
best observation) with
L-BFGS-B on the continuous coordinates and an exhaustive sweep over each discrete
parameter's values, alternating until neither improves. Every score is taken at a
projected point (ints and steps rounded, one-hot blocks snapped, inactive parameters
filled; see :mod:`tunelab.searchers.encoding`), so the value that ranks a candidate is
the value of the configuration that will be proposed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr, ndtr

from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.gp import GaussianProcess

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_LOG_SQRT_HALF_PI = 0.5 * math.log(0.5 * math.pi)
_ASYMPTOTIC_BELOW = -1e3
_MIN_VARIANCE = 1e-12
LOCAL_SCALES = (0.005, 0.02, 0.08)
"""Standard deviations (unit-cube coordinates) of the candidates around good points."""
MAX_EXHAUSTIVE_LEVELS = 16
"""Discrete parameters with more values are relaxed to continuous during L-BFGS-B."""


def _log1mexp(t: np.ndarray) -> np.ndarray:
    """log(1 - exp(t)) for t < 0, accurate at both ends (Maechler 2012)."""
    return np.where(t > -math.log(2.0), np.log(-np.expm1(t)), np.log1p(-np.exp(t)))


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, finite for every finite ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(zu * ndtr(zu) + _INV_SQRT_2PI * np.exp(-0.5 * zu * zu))
    middle = ~upper & (z >= _ASYMPTOTIC_BELOW)
    zm = z[middle]
    t = np.log(erfcx(-_SQRT_HALF * zm) * np.abs(zm)) + _LOG_SQRT_HALF_PI
    out[middle] = -0.5 * zm * zm - _LOG_SQRT_2PI + _log1mexp(t)
    far = z < _ASYMPTOTIC_BELOW
    zf = z[far]
    # h(z) ~ phi(z) / z^2 * (1 - 3 / z^2) for z -> -inf
    out[far] = -0.5 * zf * zf - _LOG_SQRT_2PI - 2.0 * np.log(-zf) + np.log1p(-3.0 / (zf * zf))
    return out


def dlog_h(z: np.ndarray, log_h_z: np.ndarray) -> np.ndarray:
    """d log h / dz = Phi(z) / h(z), from logs so it stays finite far out (~ -z)."""
    return np.exp(log_ndtr(z) - log_h_z)


def log_expected_improvement(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """log E[max(best - f, 0)] for f ~ N(mean, var), elementwise."""
    sigma = np.sqrt(np.maximum(var, _MIN_VARIANCE))
    return log_h((best - mean) / sigma) + np.log(sigma)


class LogEI:
    """Log expected improvement over ``best`` under a fitted GP (minimisation)."""

    def __init__(self, model: GaussianProcess, best: float) -> None:
        self.model = model
        self.best = best

    def __call__(self, x: np.ndarray) -> np.ndarray:
        mean, var = self.model.posterior(x)
        return log_expected_improvement(mean, var, self.best)

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """log EI at one point and its gradient."""
        mean, var, dmean, dvar = self.model.posterior_with_grad(x[None, :])
        floored = var[0] < _MIN_VARIANCE
        sigma = math.sqrt(max(float(var[0]), _MIN_VARIANCE))
        z = (self.best - mean) / sigma
        lh = log_h(z)
        dsigma = np.zeros_like(dvar[0]) if floored else dvar[0] / (2.0 * sigma)
        dz = -(dmean[0] + z[0] * dsigma) / sigma
        grad = dlog_h(z, lh)[0] * dz + dsigma / sigma
        return float(lh[0] + math.log(sigma)), grad


class AcquisitionOptimizer:
    """Maximises an acquisition function over the projected points of an encoding."""

    def __init__(
        self,
        encoding: SpaceEncoding,
        *,
        n_candidates: int = 2048,
        n_refine: int = 5,
        max_rounds: int = 3,
    ) -> None:
        self.encoding = encoding
        self.n_candidates = n_candidates
        self.n_refine = n_refine
        self.max_rounds = max_rounds
        enc = encoding
        relaxed = np.zeros(enc.dims, dtype=bool)
        self._sweeps = []  # (block, alternatives) for exhaustive discrete sweeps
        for b in enc.blocks:
            if b.one_hot:
                self._sweeps.append((b, np.eye(b.width)))
            elif b.levels is None or b.levels > MAX_EXHAUSTIVE_LEVELS:
                relaxed[b.start] = True
            else:
                self._sweeps.append((b, enc.level_centres(b)[:, None]))
        self._relaxed = relaxed

    def candidates(self, rng: np.random.Generator) -> np.ndarray:
        """Scrambled Sobol points of the whole space (projected)."""
        from scipy.stats import qmc

        enc = self.encoding
        # An integer seed, not the Generator: scipy derives the scrambling from the
        # Generator's seed sequence too, which a restored state does not bring back.
        sobol = qmc.Sobol(d=enc.param_dims, scramble=True, seed=int(rng.integers(2**63 - 1)))
        return enc.from_unit_coordinates(sobol.random(self.n_candidates))

    def local_candidates(self, around: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Gaussian perturbations of the rows of ``around`` (projected).

        Only the continuous coordinates move, at several scales (``LOCAL_SCALES``), so
        both a small step from a good point and a larger one are among the candidates:
        the best improvement is often close to the best observations, where global
        quasi-random candidates are too sparse to land.
        """
        n = max(1, self.n_candidates // 8)
        base = around[rng.integers(len(around), size=n)]
        scales = np.asarray(LOCAL_SCALES)[rng.integers(len(LOCAL_SCALES), size=n)]
        step = rng.normal(size=base.shape) * scales[:, None] * self._relaxed
        return self.encoding.project(np.clip(base + step, 0.0, 1.0))

    def maximise(
        self,
        acq: LogEI,
        rng: np.random.Generator,
        extra_starts: np.ndarray | None = None,
        around: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Projected points and their acquisition values, best first.

        Candidates are quasi-random points of the whole space plus, with ``around``,
        perturbations of those points. The refined optima come first, then every
        scored candidate, so a caller can take the best one that it has not proposed
        before.
        """
        X = self.candidates(rng)
        if around is not None and len(around) and self._relaxed.any():
            X = np.vstack([X, self.local_candidates(around, rng)])
        values = acq(X)
        order = np.argsort(-values, kind="stable")
        starts = [X[i] for i in self._start_indices(values, order, rng)]
        if extra_starts is not None:
            starts.extend(extra_starts)
        refined = [self._refine(acq, s) for s in starts]
        points = np.vstack([np.array([p for p, _ in refined]), X[order]])
        scores = np.concatenate([[v for _, v in refined], values[order]])
        final = np.argsort(-scores, kind="stable")
        return points[final], scores[final]

    def _start_indices(
        self, values: np.ndarray, order: np.ndarray, rng: np.random.Generator
    ) -> list[int]:
        """The best candidate, then ``n_refine - 1`` drawn with weights ``exp(log EI)``.

        Drawing rather than taking the next best spreads the local searches over the
        acquisition's different modes: the few best candidates usually sit on one.
        """
        best = int(order[0])
        weights = np.exp(values - values[best])
        weights[best] = 0.0
        drawable = int(np.count_nonzero(weights > 0))
        k = min(self.n_refine - 1, drawable)
        if k == 0:
            return [best]
        others = rng.choice(len(values), size=k, replace=False, p=weights / weights.sum())
        return [best, *(int(i) for i in others)]

    def _refine(self, acq: LogEI, x: np.ndarray) -> tuple[np.ndarray, float]:
        enc = self.encoding
        value = float(acq(x[None, :])[0])
        for _ in range(self.max_rounds):
            improved = False
            free = self._relaxed & self._active_coordinates(x)
            if free.any():
                y, v = self._lbfgsb(acq, x, free)
                if v > value + 1e-12:
                    x, value, improved = y, v, True
            for b, alternatives in self._sweeps:
                trial = np.repeat(x[None, :], len(alternatives), axis=0)
                trial[:, b.start : b.stop] = alternatives
                trial = enc.project(trial)
                scores = acq(trial)
                i = int(np.argmax(scores))
                if scores[i] > value + 1e-12:
                    x, value, improved = trial[i], float(scores[i]), True
            if not improved:
                break
        return x, value

    def _active_coordinates(self, x: np.ndarray) -> np.ndarray:
        enc = self.encoding
        mask = np.ones(enc.dims, dtype=bool)
        if enc.is_conditional:
            active = enc.active_mask(x[None, :])
            for b in enc.blocks:
                if not active[b.param.name][0]:
                    mask[b.start : b.stop] = False
        return mask

    def _lbfgsb(self, acq: LogEI, x: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, float]:
        base = x.copy()

        def negative(z: np.ndarray) -> tuple[float, np.ndarray]:
            point = base.copy()
            point[free] = z
            value, grad = acq.value_and_grad(point)
            return -value, -grad[free]

        res = minimize(
            negative,
            x[free],
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * int(free.sum()),
            options={"maxiter": 100},
        )
        point = base.copy()
        point[free] = res.x
        point = self.encoding.project(point)[0]
        return point, float(acq(point[None, :])[0])
