"""Keras Tuner's "tune anything" pattern, with ``import tunelab.keras as kt``: no model.

    python examples/keras_tuner_patterns/tune_anything.py
    python examples/keras_tuner_patterns/tune_anything.py --small    # a quick check

A tuner subclass overrides ``run_trial`` to evaluate plain Python code, so no hypermodel
is given. Here the code smooths a noisy signal with a moving average and the tuner picks
the window, the kernel and a blend weight that best recover the clean signal.

1. ``RandomSearch`` whose ``run_trial`` returns a number: the tuner minimises it.
2. ``kt.Tuner(oracle=kt.oracles.BayesianOptimizationOracle(...))`` whose ``run_trial``
   returns a dict of metrics; the oracle's ``objective`` names the one to optimise.

``--small`` (or ``TUNELAB_EXAMPLE_SMALL=1``) runs 3 trials per tuner instead of 20.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

import numpy as np

import tunelab.keras as kt  # was: import keras_tuner as kt

_rng = np.random.default_rng(0)
CLEAN = np.sin(np.linspace(0, 6 * np.pi, 400))
NOISY = CLEAN + _rng.normal(0, 0.4, CLEAN.shape)


def smoothing_error(window: int, kernel: str, blend: float) -> float:
    """Mean squared error between the clean signal and the smoothed noisy one."""
    weights = np.ones(window) if kernel == "flat" else np.hanning(window + 2)[1:-1]
    smoothed = np.convolve(NOISY, weights / weights.sum(), mode="same")
    estimate = blend * smoothed + (1 - blend) * NOISY
    return float(np.mean((estimate - CLEAN) ** 2))


def define_and_score(hp: kt.HyperParameters) -> float:
    return smoothing_error(
        window=hp.Int("window", 1, 41, step=2),
        kernel=hp.Choice("kernel", ["flat", "hann"]),
        blend=hp.Float("blend", 0.0, 1.0),
    )


class SmoothingSearch(kt.RandomSearch):
    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
        return define_and_score(trial.hyperparameters)  # a number: minimised


class SmoothingTuner(kt.Tuner):
    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        error = define_and_score(trial.hyperparameters)
        return {"mse": error, "rmse": error**0.5}  # the oracle's objective picks one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run (few trials)")
    parser.add_argument("--directory", default=None, help="where the studies go (default: temp)")
    args = parser.parse_args()
    trials = 3 if args.small or os.environ.get("TUNELAB_EXAMPLE_SMALL") == "1" else 20

    with tempfile.TemporaryDirectory(prefix="tunelab-tune-anything-") as scratch:
        directory = args.directory or scratch
        random_tuner = SmoothingSearch(
            max_trials=trials, seed=0, directory=directory, project_name="random", overwrite=True
        )
        random_tuner.search()
        best = random_tuner.oracle.get_best_trials(1)[0]
        print(f"random: best hyperparameters {best.hyperparameters.values}")
        print(f"best mse (RandomSearch): {best.score:.5f}")

        bayes_tuner = SmoothingTuner(
            oracle=kt.oracles.BayesianOptimizationOracle(
                objective=kt.Objective("mse", direction="min"), max_trials=trials, seed=0
            ),
            directory=directory,
            project_name="bayes",
            overwrite=True,
        )
        bayes_tuner.search()
        best = bayes_tuner.oracle.get_best_trials(1)[0]
        print(f"bayes: best hyperparameters {best.hyperparameters.values}")
        print(f"best mse (BayesianOptimizationOracle): {best.score:.5f}")


if __name__ == "__main__":
    main()
