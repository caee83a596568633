"""Keras Tuner's ``SklearnTuner``: cross-validated search over scikit-learn estimators.

    tuner = kt.SklearnTuner(
        oracle=kt.oracles.BayesianOptimizationOracle(
            objective=kt.Objective("score", "max"), max_trials=10),
        hypermodel=build_model,            # hp -> an unfitted scikit-learn estimator
        scoring=metrics.make_scorer(metrics.accuracy_score),   # or None: model.score
        cv=model_selection.StratifiedKFold(5),
        directory="runs", project_name="sk")
    tuner.search(X, y)                     # sample_weight=, groups= as Keras Tuner
    best = tuner.get_best_models(1)[0]

Each trial builds a fresh estimator per split of ``cv`` (default
``KFold(5, shuffle=True, random_state=1)``, as in Keras Tuner), fits it on the
training part and scores it on the held-out part; the trial's ``score`` is the mean
over the splits, and each of ``metrics`` (functions ``metric(y_true, y_pred)``) is
averaged under its ``__name__``. As in Keras Tuner, the model kept for a trial (what
``get_best_models`` returns) is the one fitted on the last split's training part; to
refit on all the data, ``tuner.hypermodel.build(best_hp).fit(X, y)``.
"""

from __future__ import annotations

import math
import pickle
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from tunelab.errors import ConfigError
from tunelab.keras.hyperparameters import HyperParameters, define
from tunelab.keras.models import model_folder
from tunelab.keras.objective import Objective
from tunelab.keras.oracle import TunerTrial
from tunelab.keras.trial_run import RunningTrial
from tunelab.keras.tuner import Tuner
from tunelab.space import Space

MODEL_FILE = "model.pickle"

Metric = Callable[..., Any]


class SklearnTuner(Tuner):
    """Cross-validated hyperparameter search for scikit-learn estimators (Keras Tuner's
    ``SklearnTuner``; see the module docstring). ``oracle`` is any of
    :mod:`tunelab.keras.oracles` without a scheduler (random, grid, Bayesian...); its
    objective defaults to ``Objective("score", "max")`` and may also name one of
    ``metrics``. ``scoring`` is a scorer ``scoring(estimator, X, y)`` (e.g. from
    ``sklearn.metrics.make_scorer``), the name of one of scikit-learn's scorers, or
    None for the estimator's own ``score``."""

    def __init__(
        self,
        oracle: Any,
        hypermodel: Any,
        scoring: str | Callable[..., Any] | None = None,
        metrics: Metric | Sequence[Metric] | None = None,
        cv: Any = None,
        **kwargs: Any,
    ) -> None:
        sklearn_model_selection = _import_sklearn()
        if hypermodel is None:
            raise ConfigError(
                "SklearnTuner: hypermodel is required: a function build_model(hp) returning "
                "a scikit-learn estimator"
            )
        if getattr(oracle, "scheduler", None) is not None:
            raise ConfigError(
                "SklearnTuner: an oracle with a scheduler (Hyperband, BOHB, asha...) stops "
                "trials by epochs, which scikit-learn estimators do not have; use "
                "RandomSearchOracle, GridSearchOracle or BayesianOptimizationOracle"
            )
        if getattr(oracle, "objective_spec", "absent") in (None, "score"):
            oracle.objective_spec = Objective("score", "max")
        if metrics is None:
            metrics = []
        elif callable(metrics):
            metrics = [metrics]
        self.metrics: list[Metric] = list(metrics)
        for metric in self.metrics:
            if not callable(metric) or not isinstance(getattr(metric, "__name__", None), str):
                raise ConfigError(
                    "SklearnTuner: metrics= must be functions metric(y_true, y_pred) with a "
                    f"__name__ (such as sklearn.metrics.f1_score), got {metric!r}"
                )
        self.scoring = scoring
        self.cv = (
            cv if cv is not None else sklearn_model_selection.KFold(5, shuffle=True, random_state=1)
        )
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)

    def _discover_space(self) -> Space:
        """Build the estimator once with default values to learn its parameters."""
        from tunelab.hyperparameters import HyperParameters as TrialHyperParameters

        base = TrialHyperParameters()
        for param in self.policy.given:
            define(base, param.with_conditions(()))
        self._build(HyperParameters.bound(base, self.policy))
        return base.space.copy()

    def search(
        self,
        X: Any,  # noqa: N803 (Keras Tuner's name; search(X=...) works)
        y: Any,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> Any:
        """Run trials, each a cross-validation of the estimator built from its
        hyperparameters on ``X``, ``y``. ``sample_weight`` weights fitting and scoring
        (a ``Pipeline`` is fitted unweighted, as in Keras Tuner); ``groups`` goes to
        ``cv.split`` (``GroupKFold``...). Returns tunelab's budget usage."""
        return super().search(X, y, sample_weight=sample_weight, groups=groups)

    def run_trial(
        self,
        trial: RunningTrial,
        X: Any,  # noqa: N803
        y: Any,
        sample_weight: Any = None,
        groups: Any = None,
        **_search_options: Any,
    ) -> dict[str, float]:
        """Cross-validate the estimator built from ``trial.hyperparameters``: the mean
        ``score`` and metrics over the splits. Keeps the last split's fitted estimator."""
        from sklearn.base import clone
        from sklearn.metrics import check_scoring
        from sklearn.model_selection import check_cv
        from sklearn.utils import _safe_indexing

        estimator = self._build(trial.hyperparameters)
        scorer = check_scoring(estimator, scoring=self.scoring)
        splitter = check_cv(self.cv, y, classifier=_is_classifier(estimator))
        split_options = {"groups": groups} if groups is not None else {}
        values: dict[str, list[float]] = defaultdict(list)
        model = estimator
        for train, test in splitter.split(X, y, **split_options):
            model = clone(estimator)
            x_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
            x_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
            _fit(model, x_train, y_train, _weights(sample_weight, train))
            weights = _weights(sample_weight, test)
            weighted = {"sample_weight": weights} if weights is not None else {}
            values["score"].append(float(scorer(model, x_test, y_test, **weighted)))
            if self.metrics:
                predicted = model.predict(x_test)
                for metric in self.metrics:
                    values[metric.__name__].append(float(metric(y_test, predicted, **weighted)))
        if not values:
            raise ConfigError(f"SklearnTuner: cv={self.cv!r} produced no splits")
        self._save_model(trial.tunelab_trial.number, model)
        return {name: math.fsum(v) / len(v) for name, v in values.items()}

    def _build(self, hp: HyperParameters) -> Any:
        if self.hypermodel is None:  # __init__ refuses it; this narrows the type
            raise ConfigError("SklearnTuner: hypermodel is required")
        return _check_estimator(self.hypermodel.build(hp))

    def _save_model(self, number: int, model: Any) -> None:
        folder = model_folder(self.study.artifacts.directory, number)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / MODEL_FILE, "wb") as f:
            pickle.dump(model, f)

    def load_model(self, trial: TunerTrial) -> Any:
        """Trial ``trial``'s estimator, fitted on its last cross-validation split."""
        path = model_folder(self.study.artifacts.directory, trial.record.number) / MODEL_FILE
        if not path.is_file():
            raise ConfigError(f"trial {trial.trial_id} has no saved model ({path} is missing)")
        with open(path, "rb") as f:
            return pickle.load(f)


def _import_sklearn() -> Any:
    try:
        from sklearn import model_selection
    except ImportError:
        raise ConfigError("SklearnTuner needs scikit-learn: pip install scikit-learn") from None
    return model_selection


def _check_estimator(estimator: Any) -> Any:
    if not callable(getattr(estimator, "fit", None)):
        raise ConfigError(
            "SklearnTuner: the model-building function (or HyperModel.build) must return a "
            f"scikit-learn estimator (with fit), got {type(estimator).__name__}"
        )
    return estimator


def _is_classifier(estimator: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(estimator))


def _weights(sample_weight: Any, indices: Any) -> Any:
    if sample_weight is None:
        return None
    from sklearn.utils import _safe_indexing

    return _safe_indexing(sample_weight, indices)


def _fit(model: Any, x: Any, y: Any, sample_weight: Any) -> None:
    from sklearn.pipeline import Pipeline

    if sample_weight is None:
        model.fit(x, y)
    elif isinstance(model, Pipeline):
        warnings.warn(
            "SklearnTuner: a Pipeline is fitted without sample_weight (as in Keras Tuner); "
            "the weights still weight its scores",
            stacklevel=3,
        )
        model.fit(x, y)
    else:
        model.fit(x, y, sample_weight=sample_weight)
