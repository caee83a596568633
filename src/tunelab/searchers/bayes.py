"""Gaussian-process Bayesian optimisation: ``searcher="bayes"``.

How a configuration is chosen:

1. Initial design: the first ``n_initial`` trials (default ``max(5, 2 * parameters)``)
   are scrambled Sobol points (:mod:`~tunelab.searchers.model_based`).
2. Model: a GP with an ARD Matérn-5/2 kernel and a noise term on the unit-cube
   encoding of the space (:mod:`~tunelab.searchers.encoding`: log and stepped
   parameters through the space's own transform, categoricals one-hot, inactive
   conditional parameters at a fixed fill value), fitted to the standardised values of
   the completed and pruned trials (after compressing a heavy tail of bad values,
   :func:`warp_outputs`), with MAP hyperparameters (:mod:`~tunelab.searchers.gp`).
3. Acquisition: log expected improvement, computed stably, maximised over
   projected points by quasi-random candidates + L-BFGS-B + discrete sweeps
   (:mod:`~tunelab.searchers.acquisition`).
4. Pending trials (running, paused, queued, and proposals made earlier in the same
   call) enter the model as *kriging believers*: observations at their posterior mean,
   hyperparameters unchanged, and the incumbent is the best of the real and believed
   values. EI at a pending point is then zero, so ``n`` pending suggestions are ``n``
   different points.
5. Failed trials are not observations (their value is unknown), but their
   configurations, like those of every finished or pending trial, are never proposed
   again: the best-scoring candidate that is not a duplicate is taken.

The fitted hyperparameters are part of the state: each fit starts L-BFGS-B from the
previous optimum (the data changed by one trial, so the optimum moved little), and
every ``FULL_FIT_EVERY`` (5) observations also from the prior's mode and
``fit_restarts`` draws from the prior, so it can leave a poor local optimum. A resumed
study therefore continues with the same model, and a seeded study is reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunelab.searchers.acquisition import AcquisitionOptimizer, LogEI
from tunelab.searchers.base import ConfigKey, History, Proposal, config_key, used_config
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.gp import GaussianProcess
from tunelab.searchers.model_based import ModelBasedSearcher, ModelProposer, check_positive_int
from tunelab.trial import TrialRecord

FULL_FIT_EVERY = 5
"""Hyperparameter fits restart from the prior (not only from the last optimum) when
the number of observations is a multiple of this; see :meth:`GaussianProcess.fit`."""


class BayesSearcher(ModelBasedSearcher):
    """GP-based Bayesian optimisation with log expected improvement."""

    name = "bayes"

    def __init__(
        self,
        *,
        n_initial: int | None = None,
        n_candidates: int = 2048,
        n_refine: int = 5,
        fit_restarts: int = 1,
        seed: int | None = None,
    ) -> None:
        super().__init__(n_initial=n_initial, seed=seed)
        check_positive_int(self.name, "n_candidates", n_candidates)
        check_positive_int(self.name, "n_refine", n_refine)
        check_positive_int(self.name, "fit_restarts", fit_restarts, minimum=0)
        self.n_candidates = n_candidates
        self.n_refine = n_refine
        self.fit_restarts = fit_restarts
        self.theta_: list[float] | None = None

    def default_initial_design(self, encoding: SpaceEncoding) -> int:
        return max(5, 2 * encoding.param_dims)

    def _model(
        self, encoding: SpaceEncoding, completed: list[TrialRecord], history: History
    ) -> ModelProposer:
        from threadpoolctl import threadpool_limits

        space = history.space
        X = encoding.encode_many([used_config(t, space) for t in completed])
        y = warp_outputs(np.array([history.sign() * float(t.value or 0.0) for t in completed]))
        pending = encoding.encode_many([used_config(t, space) for t in history.pending])
        warm = None if self.theta_ is None else np.array(self.theta_)
        with threadpool_limits(1):
            gp = GaussianProcess(restarts=self.fit_restarts).fit(
                X, y, rng=self.rng_, warm_start=warm, full_search=len(X) % FULL_FIT_EVERY == 0
            )
        self.theta_ = [float(v) for v in gp.theta_]
        return _Proposer(self, encoding, gp, X, y, pending)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["theta"] = self.theta_
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        theta = state.get("theta")
        self.theta_ = None if theta is None else [float(v) for v in theta]


def warp_outputs(y: np.ndarray) -> np.ndarray:
    """Standardised losses, with a heavy tail of bad values compressed first.

    A Yeo-Johnson power transform is fitted by maximum likelihood to the standardised
    losses and applied only when it compresses the large (bad) ones (lambda < 1; a
    larger lambda is capped at 1, the identity). A few very bad trials (a diverged
    training run, Rosenbrock's walls) then no longer squash the differences among the
    good ones, while the good end keeps its resolution. The transform is monotone, so
    the best observation stays the best.
    """
    from scipy.stats import yeojohnson, yeojohnson_normmax

    z = standardise(y)
    if np.ptp(z) > 0:
        lam = min(float(yeojohnson_normmax(z)), 1.0)
        z = standardise(np.asarray(yeojohnson(z, lmbda=lam), dtype=float))
    return z


def standardise(y: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (a constant vector becomes zeros)."""
    std = float(np.std(y))
    return (y - np.mean(y)) / (std if std > 0 else 1.0)


class _Proposer(ModelProposer):
    """The GP of one ``suggest`` call, with believers added as it proposes."""

    def __init__(
        self,
        searcher: BayesSearcher,
        encoding: SpaceEncoding,
        gp: GaussianProcess,
        X: np.ndarray,
        y: np.ndarray,
        pending: np.ndarray,
    ) -> None:
        self.searcher = searcher
        self.encoding = encoding
        self.gp = gp
        self.y = y
        self.X = X
        self.pending = pending
        self.optimiser = AcquisitionOptimizer(
            encoding, n_candidates=searcher.n_candidates, n_refine=searcher.n_refine
        )

    def propose(self, earlier: list[Proposal], taken: set[ConfigKey]) -> Proposal | None:
        from threadpoolctl import threadpool_limits

        encoding = self.encoding
        believers = self.pending
        if earlier:
            believers = np.vstack([believers, encoding.encode_many([p.config for p in earlier])])
        with threadpool_limits(1):
            model, best = self.gp, float(np.min(self.y))
            if len(believers):
                beliefs, _ = self.gp.posterior(believers)
                model = self.gp.condition_on(believers, beliefs)
                best = min(best, float(np.min(beliefs)))
            # Local search also starts at the best observation, as Optuna's does: the
            # best improvement is often a small step from it, which no candidate hits.
            incumbent = self.X[[int(np.argmin(self.y))]]
            points, scores = self.optimiser.maximise(
                LogEI(model, best), self.searcher.rng_, extra_starts=incumbent
            )
        for x, score in zip(points, scores, strict=True):
            config = encoding.decode(x)
            if config_key(config) not in taken:
                return Proposal(config, {"log_ei": float(score)})
        return None
