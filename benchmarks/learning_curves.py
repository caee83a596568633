"""How much a few epochs say about the end, and how noisy the validation accuracy is.

Trains random search's configurations of ``benchmarks/multifidelity.py`` (the same
searcher, seed, trial numbers and weight initialisations, so the very curves its
``tunelab fifo+random`` rows are made of) to R epochs each, and prints per seed:

- Spearman's rank correlation between a configuration's validation accuracy after 1, 3
  and 9 epochs (the rungs Hyperband and ASHA decide at) and its best over R epochs;
- the epoch-to-epoch spread ("noise"): the standard deviation of a configuration's
  validation accuracy over its last two thirds of epochs, in validation rows (median
  over configurations; evaluation noise and the model's own changes alike);
- the winner's luck: random search's final best (the single highest of all its epochs'
  evaluations) minus its winner's mean over those last two thirds, in rows;
- how many configurations' means over their last two thirds come within one spread of
  the winner's.

    python benchmarks/learning_curves.py --seeds 10                       # digits
    python benchmarks/learning_curves.py --task mnist_mlp --data-dir ../shared/datasets \
        --train-size 14000 --val-fraction 0.7142857 --seeds 10

About 20 s a seed on digits and 80 s on MNIST with 20 000 epochs-worth of 4000 images,
on one core.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import numpy as np
import torch
from multifidelity import (
    Data,
    Trainer,
    _seed,
    add_data_options,
    default_trials,
    define_space,
    task_data,
)
from scipy.stats import spearmanr

import tunelab as tl

RUNGS = (1, 3, 9)


def random_search_curves(data: Data, seed: int, trials: int, r: int) -> np.ndarray:
    """Validation accuracy of every epoch (``trials`` x ``r``) of random search's
    configurations, in trial order."""
    curves: list[list[float]] = []

    def objective(trial: tl.Trial) -> float:
        trainer = Trainer(define_space(trial.hp), data, _seed(seed, trial.number))
        curves.append([trainer.epoch()[0] for _ in range(r)])
        return max(curves[-1])

    study = tl.create_study(
        metric="val_accuracy", mode="max", storage=":memory:", searcher="random", seed=seed
    )
    study.optimize(objective, max_trials=trials, quiet=True)
    return np.array(curves)


def summarise(curves: np.ndarray, n_val: int) -> dict[str, Any]:
    """The numbers the module docstring lists, for one seed's curves."""
    best = curves.max(axis=1)
    late = curves[:, curves.shape[1] // 3 :]
    noise = late.std(axis=1) * n_val
    winner = int(best.argmax())
    margin = (best[winner] - late[winner].mean()) * n_val
    row: dict[str, Any] = {
        f"rho@{r}": float(spearmanr(curves[:, r - 1], best).statistic)
        for r in RUNGS
        if r <= curves.shape[1]
    }
    row["noise (rows)"] = float(np.median(noise))
    row["final best"] = float(best[winner])
    row["winner's luck (rows)"] = float(margin)
    close = late.mean(axis=1) * n_val >= late[winner].mean() * n_val - np.median(noise)
    row["configs within noise"] = int(close.sum())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_options(parser)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=27)
    parser.add_argument("--trials", type=int, default=None, help="30 on digits, 20 on MNIST")
    args = parser.parse_args()
    torch.set_num_threads(1)
    trials = args.trials or default_trials(args.task)
    data = task_data(args.task, args.train_size, args.val_fraction, args.data_dir)
    n_val = len(data.y_val)
    print(
        f"{args.task}: {len(data.y_train)} train / {n_val} validation rows; random search's "
        f"{trials} configurations x {args.max_epochs} epochs, seeds 0-{args.seeds - 1}\n"
    )
    rows = []
    for seed in range(args.seeds):
        rows.append(summarise(random_search_curves(data, seed, trials, args.max_epochs), n_val))
        if seed == 0:
            print("| seed | " + " | ".join(rows[0]) + " |")
            print("|---:|" + "---:|" * len(rows[0]))
        cells = " | ".join(_cell(k, v) for k, v in rows[-1].items())
        print(f"| {seed} | {cells} |", flush=True)
    medians = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print("| median | " + " | ".join(_cell(k, v) for k, v in medians.items()) + " |")


def _cell(key: str, value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if key == "final best":
        return f"{value:.4f}"
    return f"{value:.1f}" if "rows" in key or "configs" in key else f"{value:.2f}"


if __name__ == "__main__":
    main()
