"""Gaussian-process Bayesian optimisation: ``searcher="bayes"``.

How a configuration is chosen:

1. Initial design: the first ``n_initial`` trials (default ``max(5, parameters + 4)``)
   are scrambled Sobol points (:mod:`~tunelab.searchers.model_based`).
2. Model: a GP with an ARD Matérn-5/2 kernel and a noise term on the unit-cube
   encoding of the space (:mod:`~tunelab.searchers.encoding`: log and stepped
   parameters through the space's own transform, categoricals one-hot, inactive
   conditional parameters at a fixed fill value), fitted to the standardised values of
   the completed and pruned trials (after compressing a heavy tail of bad values,
   :func:`warp_outputs`) shifted so that the prior mean is their 90% quantile
   (``PRIOR_MEAN_QUANTILE``), with MAP hyperparameters (:mod:`~tunelab.searchers.gp`).
3. Acquisition: log expected improvement, computed stably, maximised over
   projected points by quasi-random candidates + L-BFGS-B + discrete sweeps
   (:mod:`~tunelab.searchers.acquisition`); candidates are also drawn around the
   ``LOCAL_AROUND`` best observations, and the local searches start from the best
   candidate, the best observation and candidates drawn with weights ``exp(log EI)``.
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
advances a *challenger* restart (the prior's mode, then ``fit_restarts`` draws from the
prior, in turn) by a few iterations, adopting it when it beats the warm start, so the
model can leave a poor local optimum without any one suggestion paying for a full
refit. A resumed study therefore continues with the same model (challenger included),
and a seeded study is reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunelab.searchers.acquisition import AcquisitionOptimizer, LogEI
from tunelab.searchers.base import ConfigKey, History, Proposal, config_key
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.gp import GaussianProcess, new_challenger
from tunelab.searchers.model_based import ModelBasedSearcher, ModelProposer, check_positive_int
from tunelab.trial import TrialRecord

PRIOR_MEAN_QUANTILE = 0.9
"""The GP's constant prior mean is this quantile of the (warped) observed losses.

A pessimistic mean: where the model knows nothing it expects a poor value, not an
average one, so expected improvement stops spending evaluations on the far corners
of the space (where the posterior variance is largest) and goes to the regions near
good observations, converging in a basin instead of circling it. Measured on
Hartmann-6 (10 seeds): median final regret 0.06 with the mean at the average, 9e-5
at the 90% quantile; Levy-8, Ackley-5 and Rosenbrock-4 improved as well.
"""
LOCAL_AROUND = 3
"""Candidates are also drawn around this many of the best observations."""


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
        self.challenger_: list[float] | None = None
        self.challengers_ = 0  # restarts begun so far: picks the next one's kind

    def default_initial_design(self, encoding: SpaceEncoding) -> int:
        return max(5, encoding.param_dims + 4)

    def _model(
        self, encoding: SpaceEncoding, completed: list[TrialRecord], history: History
    ) -> ModelProposer:
        from threadpoolctl import threadpool_limits

        space = history.space
        X = self.encode_trials(completed, space, encoding)[0]
        y = warp_outputs(np.array([history.sign() * float(t.value or 0.0) for t in completed]))
        y = y - np.quantile(y, PRIOR_MEAN_QUANTILE)
        pending = self.encode_trials(list(history.pending), space, encoding)[0]
        warm = None if self.theta_ is None else np.array(self.theta_)
        challenger = None
        if warm is not None:
            if self.challenger_ is None:
                self.challenger_ = _floats(
                    new_challenger(encoding.dims, self.rng_, self.challengers_, self.fit_restarts)
                )
                self.challengers_ += 1
            challenger = np.array(self.challenger_)
        with threadpool_limits(1):
            gp = GaussianProcess(restarts=self.fit_restarts).fit(
                X, y, rng=self.rng_, warm_start=warm, challenger=challenger
            )
        self.theta_ = _floats(gp.theta_)
        self.challenger_ = None if gp.challenger_ is None else _floats(gp.challenger_)
        return _Proposer(self, encoding, gp, X, y, pending)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["theta"] = self.theta_
        state["challenger"] = self.challenger_
        state["challengers"] = self.challengers_
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        theta = state.get("theta")
        self.theta_ = None if theta is None else _floats(theta)
        challenger = state.get("challenger")
        self.challenger_ = None if challenger is None else _floats(challenger)
        self.challengers_ = int(state.get("challengers", 0))


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values]


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
            order = np.argsort(self.y, kind="stable")
            incumbent = self.X[order[:1]]
            points, scores = self.optimiser.maximise(
                LogEI(model, best),
                self.searcher.rng_,
                extra_starts=incumbent,
                around=self.X[order[:LOCAL_AROUND]],
            )
        for x, score in zip(points, scores, strict=True):
            config = encoding.decode(x)
            if config_key(config) not in taken:
                return Proposal(config, {"log_ei": float(score)})
        return None
