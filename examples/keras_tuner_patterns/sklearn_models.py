"""Keras Tuner's scikit-learn pattern, with ``import tunelab.keras as kt``.

    python examples/keras_tuner_patterns/sklearn_models.py
    python examples/keras_tuner_patterns/sklearn_models.py --small    # a quick check

``kt.SklearnTuner`` tunes scikit-learn estimators: ``build_model(hp)`` picks the model
family (a random forest or a logistic regression) and reads that family's own
hyperparameters, each trial is a cross-validation with the given ``cv``
splits and ``scoring``, and the oracle (Bayesian optimisation here) chooses the next one.
The data is scikit-learn's digits (8x8 images, no download).

``--small`` (or ``TUNELAB_EXAMPLE_SMALL=1``) uses 300 images and 3 trials.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

from sklearn import datasets, ensemble, linear_model, model_selection, pipeline, preprocessing

import tunelab.keras as kt  # was: import keras_tuner as kt


def build_model(hp: kt.HyperParameters) -> Any:
    if hp.Choice("model", ["random_forest", "logistic"]) == "random_forest":
        return ensemble.RandomForestClassifier(
            n_estimators=hp.Int("n_estimators", 10, 60, step=10),
            max_depth=hp.Int("max_depth", 3, 12),
            random_state=0,
        )
    return pipeline.make_pipeline(
        preprocessing.StandardScaler(),
        linear_model.LogisticRegression(C=hp.Float("C", 1e-3, 10.0, sampling="log"), max_iter=300),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run (few samples, trials)")
    parser.add_argument("--directory", default=None, help="where the study goes (default: temp)")
    args = parser.parse_args()
    small = args.small or os.environ.get("TUNELAB_EXAMPLE_SMALL") == "1"

    x, y = datasets.load_digits(return_X_y=True)
    if small:
        x, y = x[:300], y[:300]
    with tempfile.TemporaryDirectory(prefix="tunelab-sklearn-") as scratch:
        tuner = kt.SklearnTuner(
            oracle=kt.oracles.BayesianOptimizationOracle(
                objective=kt.Objective("score", direction="max"),
                max_trials=3 if small else 15,
                seed=0,
            ),
            hypermodel=build_model,
            scoring="accuracy",
            cv=model_selection.StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
            directory=args.directory or scratch,
            project_name="digits",
            overwrite=True,
        )
        tuner.search(x, y)
        best = tuner.oracle.get_best_trials(1)[0]
        print(f"best hyperparameters {best.hyperparameters.values}")
        print(f"best score (cross-validated accuracy): {best.score:.4f}")
        print(f"best model: {tuner.get_best_models(1)[0]}")


if __name__ == "__main__":
    main()
