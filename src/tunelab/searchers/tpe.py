"""Tree-structured Parzen estimator: ``searcher="tpe"`` (Bergstra et al. 2011).

After an initial Sobol design (default 10 trials, Optuna's ``n_startup_trials``) the
completed trials are split by a quantile of their values: the best
``min(ceil(gamma * n), max_good)`` (default gamma 0.1, at most 25) form the *good* group,
the rest the *bad* one. Each group becomes a Parzen estimator, ``l(x)`` and ``g(x)``;
``n_candidates`` (24) configurations are drawn from ``l`` and the one with the largest
``log l(x) - log g(x)`` (which ranks like expected improvement) is proposed.

Everything happens in the space's unit encoding (:mod:`~tunelab.searchers.encoding`),
one mixture component per observation plus a prior component (weight
``prior_weight``):

- numeric parameters: a Gaussian kernel truncated to [0, 1] around the observation's
  unit value (so log sampling is a Gaussian in log space). Ints and stepped floats
  take the kernel's mass over the cell of [0, 1] that decodes to the value, which is
  exactly the probability that a draw rounds to it. Bandwidth: Bergstra's, the larger
  distance to a neighbouring observation of the group, at least ``1 / min(100, n + 2)``;
- categoricals and booleans: the observed value gets ``1`` and every value
  ``prior_weight / (n + 1)``, normalised (sharper as the group grows);
- the prior: uniform over the unit interval / the values;
- conditional parameters: a component whose trial did not have a parameter (inactive
  or not yet defined) uses the prior for it, and a candidate's density only multiplies
  over the parameters active in it, which is exactly the density of the sampling
  process (draw a component, then each active parameter in definition order).

``multivariate=True`` (the default, as the issue asks; Optuna's ``multivariate=True``)
draws whole configurations from one component, so correlations between parameters are
kept; ``multivariate=False`` is the original independent TPE, one parameter at a time.

Pending trials (and proposals made earlier in the same call) join the bad group as a
*constant liar* (``constant_liar=True``, on by default here because tunelab runs trials
in parallel; Optuna has it off by default), so parallel workers spread out. Failed
trials are not observations; their configurations are never proposed again.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr, ndtri

from tunelab.errors import ConfigError
from tunelab.searchers.base import ConfigKey, History, Proposal, config_key
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.model_based import ModelBasedSearcher, ModelProposer, check_positive_int
from tunelab.trial import TrialRecord

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_TINY = 1e-300


class TPESearcher(ModelBasedSearcher):
    """Tree-structured Parzen estimator, multivariate by default."""

    name = "tpe"

    def __init__(
        self,
        *,
        n_initial: int | None = None,
        gamma: float = 0.1,
        max_good: int = 25,
        n_candidates: int = 24,
        prior_weight: float = 1.0,
        multivariate: bool = True,
        constant_liar: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__(n_initial=n_initial, seed=seed)
        if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not 0 < gamma < 1:
            raise ConfigError(f"tpe: gamma must be a number in (0, 1), got {gamma!r}")
        if (
            isinstance(prior_weight, bool)
            or not isinstance(prior_weight, int | float)
            or not prior_weight > 0
        ):
            raise ConfigError(f"tpe: prior_weight must be a positive number, got {prior_weight!r}")
        check_positive_int(self.name, "max_good", max_good)
        check_positive_int(self.name, "n_candidates", n_candidates)
        self.gamma = gamma
        self.max_good = max_good
        self.n_candidates = n_candidates
        self.prior_weight = prior_weight
        self.multivariate = bool(multivariate)
        self.constant_liar = bool(constant_liar)

    def default_initial_design(self, encoding: SpaceEncoding) -> int:
        return 10

    def n_good(self, n: int) -> int:
        """Size of the good group among ``n`` completed trials."""
        return max(1, min(math.ceil(self.gamma * n), self.max_good))

    def _model(
        self, encoding: SpaceEncoding, completed: list[TrialRecord], history: History
    ) -> ModelProposer:
        space = history.space
        X, A = self.encode_trials(completed, space, encoding)
        losses = np.array([history.sign() * float(t.value or 0.0) for t in completed])
        order = np.argsort(losses, kind="stable")
        good, bad = order[: self.n_good(len(order))], order[self.n_good(len(order)) :]
        pending: list[TrialRecord] = list(history.pending) if self.constant_liar else []
        Xp, Ap = self.encode_trials(pending, space, encoding)
        return _Proposer(
            self, encoding, X[good], A[good], np.vstack([X[bad], Xp]), np.vstack([A[bad], Ap])
        )


class ParzenEstimator:
    """A mixture of one kernel per observation and a prior, over an encoding's parameters."""

    def __init__(
        self, encoding: SpaceEncoding, X: np.ndarray, A: np.ndarray, prior_weight: float
    ) -> None:
        self.encoding = encoding
        self.A = A
        n = len(X)
        self.log_weights = np.log(np.concatenate([np.ones(n), [prior_weight]]) / (n + prior_weight))
        self.centres: list[np.ndarray] = []  # per block: unit values, or value indices
        self.sigmas: list[np.ndarray] = []  # per numeric block: one bandwidth per observation
        self.tables: list[np.ndarray | None] = []  # per one-hot block: (n, k) probabilities
        for j, b in enumerate(encoding.blocks):
            cols = X[:, b.start : b.stop]
            if b.one_hot:
                idx = np.argmax(cols, axis=1) if n else np.zeros(0, dtype=int)
                table = np.full((n, b.width), prior_weight / (n + 1))
                table[np.arange(n), idx] += 1.0
                self.centres.append(idx)
                self.sigmas.append(np.zeros(n))
                self.tables.append(table / table.sum(axis=1, keepdims=True))
            else:
                self.centres.append(cols[:, 0].copy())
                self.sigmas.append(_neighbour_bandwidths(cols[:, 0], A[:, j]))
                self.tables.append(None)

    # -- sampling ----------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, m: int) -> np.ndarray:
        """``m`` points (one component per point, every parameter from it)."""
        n = len(self.A)
        comp = rng.choice(n + 1, size=m, p=np.exp(self.log_weights))
        x = np.zeros((m, self.encoding.dims))
        for j in range(len(self.encoding.blocks)):
            own = comp < n
            own[own] = self.A[comp[own], j]
            self._draw(j, comp, own, rng, x)
        return x

    def sample_block(self, j: int, rng: np.random.Generator, m: int) -> np.ndarray:
        """``m`` draws of block ``j`` alone, from the components that have it and the prior."""
        b = self.encoding.blocks[j]
        log_w = self._block_log_weights(j)
        comp = rng.choice(len(log_w), size=m, p=np.exp(log_w))
        own = comp < len(self.A)
        x = np.zeros((m, self.encoding.dims))
        self._draw(j, comp, own, rng, x)
        return x[:, b.start : b.stop]

    def _draw(
        self,
        j: int,
        comp: np.ndarray,
        own: np.ndarray,
        rng: np.random.Generator,
        x: np.ndarray,
    ) -> None:
        block = self.encoding.blocks[j]
        m = len(comp)
        if block.one_hot:
            k = block.width
            idx = rng.integers(k, size=m)
            table = self.tables[j]
            assert table is not None
            for i in np.flatnonzero(own):
                idx[i] = rng.choice(k, p=table[comp[i]])
            x[np.arange(m), block.start + idx] = 1.0
        else:
            u = rng.random(m)
            if own.any():
                mu = self.centres[j][comp[own]]
                sigma = self.sigmas[j][comp[own]]
                lo, hi = ndtr(-mu / sigma), ndtr((1.0 - mu) / sigma)
                z = ndtri(np.clip(lo + u[own] * (hi - lo), 1e-300, 1 - 1e-16))
                u[own] = np.clip(mu + sigma * z, 0.0, 1.0)
            x[:, block.start] = u

    # -- density -----------------------------------------------------------------------------
    def log_density(self, X: np.ndarray, A: np.ndarray) -> np.ndarray:
        """log of the mixture density at configurations ``X`` having parameters ``A``."""
        total = np.zeros((len(X), len(self.A) + 1))
        for j in range(len(self.encoding.blocks)):
            rows = A[:, j]
            if not rows.any():
                continue
            kernel, prior = self._block_terms(j, X[rows])
            own = np.concatenate([self.A[:, j], [False]])
            total[rows] += np.where(own[None, :], kernel, prior[:, None])
        return logsumexp(total + self.log_weights[None, :], axis=1)

    def block_log_density(self, j: int, X: np.ndarray) -> np.ndarray:
        """log density of block ``j`` alone (univariate TPE) at points ``X``."""
        kernel, prior = self._block_terms(j, X)
        own = np.flatnonzero(self.A[:, j])
        terms = np.hstack([kernel[:, own], prior[:, None]])
        return logsumexp(terms + self._block_log_weights(j)[None, :], axis=1)

    def _block_log_weights(self, j: int) -> np.ndarray:
        """Log weights of the components that have block ``j``, then the prior (renormalised)."""
        w = np.exp(self.log_weights)
        kept = np.concatenate([w[:-1][self.A[:, j]], w[-1:]])
        return np.log(kept / kept.sum())

    def _block_terms(self, j: int, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-component log kernel ``(m, n + 1)`` (last column unused) and log prior ``(m,)``."""
        b = self.encoding.blocks[j]
        m, n = len(X), len(self.A)
        kernel = np.zeros((m, n + 1))
        if b.one_hot:
            idx = np.argmax(X[:, b.start : b.stop], axis=1)
            table = self.tables[j]
            assert table is not None
            kernel[:, :n] = np.log(table[:, idx].T)
            return kernel, np.full(m, -math.log(b.width))
        u = X[:, b.start][:, None]
        mu = self.centres[j][None, :]
        sigma = self.sigmas[j][None, :]
        log_z = np.log(np.maximum(ndtr((1.0 - mu) / sigma) - ndtr(-mu / sigma), _TINY))
        if b.levels is None:
            z = (u - mu) / sigma
            kernel[:, :n] = -0.5 * z * z - _LOG_SQRT_2PI - np.log(sigma) - log_z
            return kernel, np.zeros(m)
        lo, hi = self.encoding.cell_bounds(b, X[:, b.start])
        mass = _normal_mass((lo[:, None] - mu) / sigma, (hi[:, None] - mu) / sigma)
        kernel[:, :n] = np.log(np.maximum(mass, _TINY)) - log_z
        return kernel, np.log(hi - lo)


def _neighbour_bandwidths(u: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Bergstra's bandwidths: the larger gap to a neighbouring observation (the ends of
    [0, 1] count as neighbours), clipped to [1 / min(100, n + 2), 1] (Optuna's "magic
    clip"); ``n`` counts the observations that have the parameter."""
    sigmas = np.ones(len(u))
    idx = np.flatnonzero(active)
    if len(idx) == 0:
        return sigmas
    order = idx[np.argsort(u[idx], kind="stable")]
    points = np.concatenate([[0.0], u[order], [1.0]])
    gaps = np.diff(points)
    if len(order) >= 2:
        # The outermost observations look inwards only (Optuna's consider_endpoints=False):
        # a point near an end of the range is no reason for a wide kernel.
        gaps[0], gaps[-1] = gaps[1], gaps[-2]
    sigmas[order] = np.maximum(gaps[:-1], gaps[1:])
    return np.clip(sigmas, 1.0 / min(100.0, len(idx) + 2.0), 1.0)


def _normal_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(a < Z < b) for a standard normal Z, accurate in both tails."""
    upper = a > 0  # both in the right tail: use the survival function
    out = np.where(upper, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
    tiny = out < 1e-12
    if tiny.any():  # far from the centre: exp(log Phi) differences lose everything; use logs
        la, lb = log_ndtr(np.where(upper, -b, a)), log_ndtr(np.where(upper, -a, b))
        out = np.where(tiny, np.exp(lb) * -np.expm1(np.minimum(la - lb, 0.0)), out)
    return out


class _Proposer(ModelProposer):
    """l (good) and g (bad) estimators of one ``suggest`` call."""

    def __init__(
        self,
        searcher: TPESearcher,
        encoding: SpaceEncoding,
        X_good: np.ndarray,
        A_good: np.ndarray,
        X_bad: np.ndarray,
        A_bad: np.ndarray,
    ) -> None:
        self.searcher = searcher
        self.encoding = encoding
        self.good = ParzenEstimator(encoding, X_good, A_good, searcher.prior_weight)
        self.X_bad, self.A_bad = X_bad, A_bad

    def propose(self, earlier: list[Proposal], taken: set[ConfigKey]) -> Proposal | None:
        searcher, encoding = self.searcher, self.encoding
        X_bad, A_bad = self.X_bad, self.A_bad
        if earlier and searcher.constant_liar:
            Xe, Ae = encoding.encode_with_mask([p.config for p in earlier])
            X_bad, A_bad = np.vstack([X_bad, Xe]), np.vstack([A_bad, Ae])
        bad = ParzenEstimator(encoding, X_bad, A_bad, searcher.prior_weight)
        rng, m = searcher.rng_, searcher.n_candidates
        if searcher.multivariate:
            raw = self.good.sample(rng, m)
        else:
            raw = np.zeros((m, encoding.dims))
            for j, b in enumerate(encoding.blocks):
                draws = self.good.sample_block(j, rng, m)
                score = self.good.block_log_density(j, _place(encoding, j, draws, m))
                score -= bad.block_log_density(j, _place(encoding, j, draws, m))
                raw[:, b.start : b.stop] = draws[int(np.argmax(score))]
        configs = [encoding.decode(x) for x in raw]
        X, A = encoding.encode_with_mask(configs)
        scores = self.good.log_density(X, A) - bad.log_density(X, A)
        for i in np.argsort(-scores, kind="stable"):
            if config_key(configs[i]) not in taken:
                return Proposal(configs[i], {"log_l_over_g": float(scores[i])})
        return None


def _place(encoding: SpaceEncoding, j: int, draws: np.ndarray, m: int) -> np.ndarray:
    """Points whose block ``j`` holds ``draws`` (other coordinates unused)."""
    b = encoding.blocks[j]
    x = np.zeros((m, encoding.dims))
    x[:, b.start : b.stop] = draws
    return x
