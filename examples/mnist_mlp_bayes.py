"""Tune an MLP on MNIST with Bayesian optimisation; score the best configuration on test once.

    python examples/mnist_mlp_bayes.py                       # 20 trials of GP-based search
    python examples/mnist_mlp_bayes.py --searcher sobol      # the same with Sobol points

The task holds MNIST's official test images back (sealed: tuning cannot read them),
takes a stratified subset of ``--train-size`` training images and splits it 80/20 into
train and validation. Each trial defines the full MLP space (1-5 layers, layer
structure, per-layer dropout, activation, optimizer, learning rate, batch size), trains
up to ``--epochs`` epochs with early stopping on validation loss, and reports every
epoch. Afterwards the best configuration is retrained on train+validation for the epoch
count that was best on validation, and scored once on the 10000 test images.

MNIST is read from ``--data-dir``, else ``TUNELAB_DATA_DIR``, else the user cache
(downloaded there when missing). Rerunning the command continues the stored study.
"""

from __future__ import annotations

import argparse
import time

import tunelab as tl
from tunelab.evaluation import evaluate_best
from tunelab.tasks import make_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searcher", default="bayes", help="bayes (default), tpe, sobol, random")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial at most")
    parser.add_argument("--train-size", type=int, default=5000, help="training images used")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--storage", default="sqlite:///tunelab.db")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    task = make_task(
        "mnist_mlp",
        data_dir=args.data_dir,
        train_size=args.train_size,
        epochs=args.epochs,
        seed=args.seed,
    )
    study = tl.create_study(
        f"mnist-mlp-{args.searcher}",
        metric=task.metric,
        mode=task.mode,
        searcher=args.searcher,
        storage=args.storage,
        seed=args.seed,
        load_if_exists=True,
    )
    start = time.perf_counter()
    study.optimize(task, max_trials=args.trials)
    best = study.best_trial
    print(f"best trial #{best.number}: val_accuracy = {best.value:.4f}")
    for name, value in best.params.items():
        print(f"  {name}: {value}")

    result = evaluate_best(study, task)
    print(
        f"retrained on train+validation for {result.epochs} epochs: "
        f"test_accuracy = {result.test_metrics['test_accuracy']:.4f}, "
        f"test_loss = {result.test_metrics['test_loss']:.4f} "
        f"({time.perf_counter() - start:.0f}s in all)"
    )


if __name__ == "__main__":
    main()
