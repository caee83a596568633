"""Keras Tuner's SklearnTuner: cross-validated search over real scikit-learn estimators
on a small part of the digits data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import datasets, ensemble, linear_model, metrics, model_selection

import tunelab.keras as kt
from tunelab.errors import ConfigError


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = datasets.load_digits(return_X_y=True)
    return x[:300] / 16.0, y[:300]


def build_model(hp: Any) -> Any:
    if hp.Choice("model_type", ["forest", "logistic"]) == "forest":
        with hp.conditional_scope("model_type", "forest"):
            return ensemble.RandomForestClassifier(
                n_estimators=hp.Int("n_estimators", 5, 15, step=5),
                max_depth=hp.Int("max_depth", 2, 6),
                random_state=0,
            )
    with hp.conditional_scope("model_type", "logistic"):
        return linear_model.LogisticRegression(
            C=hp.Float("C", 1e-2, 10, sampling="log"), max_iter=200
        )


def cv_mean(hp: Any, x: np.ndarray, y: np.ndarray, cv: Any, scoring: Any = None) -> float:
    """What scikit-learn's own cross_val_score gives for the trial's configuration."""
    return float(
        model_selection.cross_val_score(build_model(hp), x, y, cv=cv, scoring=scoring).mean()
    )


@pytest.mark.parametrize(
    "make_oracle",
    [
        lambda: kt.oracles.RandomSearchOracle(
            objective=kt.Objective("score", "max"), max_trials=3, seed=1
        ),
        lambda: kt.oracles.BayesianOptimizationOracle(
            objective=kt.Objective("score", "max"), max_trials=3, seed=1
        ),
    ],
    ids=["random", "bayesian"],
)
def test_each_trial_scores_the_mean_of_its_cross_validation(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray], make_oracle: Any
) -> None:
    x, y = digits
    cv = model_selection.StratifiedKFold(3)
    tuner = kt.SklearnTuner(
        oracle=make_oracle(),
        hypermodel=build_model,
        scoring=metrics.make_scorer(metrics.accuracy_score),
        cv=cv,
        directory=str(tmp_path),
        project_name="digits",
    )
    tuner.search(x, y)
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) == 3
    for trial in trials:
        expected = cv_mean(trial.hyperparameters, x, y, cv, scoring="accuracy")
        assert trial.score == pytest.approx(expected)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    assert tuner.oracle.get_best_trials(1)[0].score == max(t.score or 0.0 for t in trials)
    best_model = tuner.get_best_models(1)[0]
    expected_type = (
        ensemble.RandomForestClassifier
        if best_hp.values["model_type"] == "forest"
        else linear_model.LogisticRegression
    )
    assert type(best_model) is expected_type
    assert best_model.predict(x[:5]).shape == (5,)  # fitted


def test_default_scoring_is_the_estimator_score_and_metrics_are_averaged(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = digits
    cv = model_selection.KFold(3, shuffle=True, random_state=0)

    def macro_f1(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        return float(metrics.f1_score(y_true, y_pred, average="macro", sample_weight=sample_weight))

    tuner = kt.SklearnTuner(
        oracle=kt.oracles.RandomSearchOracle(max_trials=2, seed=0),  # objective: score, max
        hypermodel=build_model,
        metrics=[macro_f1],
        cv=cv,
        directory=str(tmp_path),
        project_name="default-scoring",
    )
    tuner.search(x, y)
    assert tuner.objective.name == "score" and tuner.objective.direction == "max"
    for trial in tuner.oracle.trials.values():
        assert trial.score == pytest.approx(cv_mean(trial.hyperparameters, x, y, cv))
        f1 = model_selection.cross_val_score(
            build_model(trial.hyperparameters), x, y, cv=cv, scoring="f1_macro"
        ).mean()
        assert trial.metrics["macro_f1"] == pytest.approx(f1)


def test_groups_go_to_the_splitter_and_sample_weight_to_fit_and_score(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = digits
    groups = np.arange(len(y)) % 3
    weights = np.where(y == 0, 5.0, 1.0)
    cv = model_selection.GroupKFold(3)
    tuner = kt.SklearnTuner(
        oracle=kt.oracles.GridSearchOracle(max_trials=1),
        hypermodel=lambda hp: linear_model.LogisticRegression(
            C=hp.Choice("C", [0.5]), max_iter=200
        ),
        cv=cv,
        directory=str(tmp_path),
        project_name="groups",
    )
    tuner.search(x, y, sample_weight=weights, groups=groups)
    scores = []
    for train, test in cv.split(x, y, groups=groups):
        model = linear_model.LogisticRegression(C=0.5, max_iter=200)
        model.fit(x[train], y[train], sample_weight=weights[train])
        scores.append(model.score(x[test], y[test], sample_weight=weights[test]))
    assert tuner.oracle.get_best_trials(1)[0].score == pytest.approx(np.mean(scores))


def test_an_oracle_with_a_scheduler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scheduler"):
        kt.SklearnTuner(
            oracle=kt.oracles.HyperbandOracle(max_epochs=3),
            hypermodel=build_model,
            directory=str(tmp_path),
        )


def test_a_build_function_that_returns_no_estimator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scikit-learn estimator"):
        kt.SklearnTuner(
            oracle=kt.oracles.RandomSearchOracle(max_trials=1),
            hypermodel=lambda hp: hp.Int("n", 1, 3),
            directory=str(tmp_path),
        )
