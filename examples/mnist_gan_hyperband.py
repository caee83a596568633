"""Tune a GAN on MNIST with Hyperband, judged by the Inception Score of its samples.

    python examples/mnist_gan_hyperband.py                         # Hyperband, 1 iteration
    python examples/mnist_gan_hyperband.py --scheduler fifo --trials 4

Tuned: the discriminator's dropout rate, the generator's activation (relu, leaky_relu,
sigmoid, softmax), batch normalisation on/off, and both learning rates. Hyperband
(R = ``--max-epochs`` = 4, eta = 2: brackets of 4, 3 and 3 trials, 28 epochs in all)
starts many configurations on one epoch and promotes the best, which resume from their
checkpoints (generator, discriminator, both optimizers, epoch). Every epoch
reports generator and discriminator losses, the Inception Score and FID of 1000 samples
(scored by an MNIST classifier that tunelab trains once and caches, saying so; about ten
seconds) and the discriminator's confusion on real vs generated images. The network is
the task's CPU default (an MLP GAN; ``architecture`` in tunelab/tasks/gan.py), an epoch
``--steps-per-epoch`` steps of 64 images from the 48,000 training images.

Artifacts per trial, in ``<artifact-dir>/<study>/trial-NNNN/``: ``grid-epoch-NNN.png``
(64 samples from the same noise every epoch) and ``losses.png``; their paths are in the
trial's user attributes ``image_grids`` and ``gan_artifacts``. The best configuration is
finally retrained on train+validation and scored against the 10000 real MNIST test
images.

On 2 CPU cores the defaults train 28 epochs of 250 steps in all: about 7,000 steps at
14 ms each on one core (the step time benchmarks/gan.py measured, 2026-11-30) plus an
evaluation per epoch, so a few minutes; the whole-run time is still to be measured. A
trial needs about 8,000 steps (32 such epochs) to pass IS 7 (README, GAN), so raise
``--max-epochs`` and ``--epochs-budget`` for digits you would keep.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import tunelab as tl
from tunelab.evaluation import evaluate_best
from tunelab.tasks import make_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scheduler", default="hyperband", help="hyperband (default) or fifo")
    parser.add_argument("--max-epochs", type=int, default=4, help="epochs per trial at most")
    parser.add_argument("--epochs-budget", type=int, default=28, help="epochs of all trials")
    parser.add_argument("--trials", type=int, default=4, help="trials, without Hyperband")
    parser.add_argument("--steps-per-epoch", type=int, default=250, help="steps of 64 images")
    parser.add_argument("--artifact-dir", default="tunelab-artifacts")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--storage", default="sqlite:///tunelab.db")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    task = make_task(
        "mnist_gan",
        data_dir=args.data_dir,
        epochs=args.max_epochs,
        steps_per_epoch=args.steps_per_epoch,
        tune_learning_rates=True,
        eval_samples=1000,
        artifact_dir=args.artifact_dir,
        seed=args.seed,
    )
    scheduler: Any = args.scheduler
    budget = {"max_trials": args.trials}
    if args.scheduler == "hyperband":
        scheduler = {"name": "hyperband", "max_epochs": args.max_epochs, "eta": 2}
        budget = {"max_epochs": args.epochs_budget}
    study = tl.create_study(
        f"mnist-gan-{args.scheduler}",
        metric=task.metric,
        mode=task.mode,
        searcher="random",
        scheduler=scheduler,
        storage=args.storage,
        seed=args.seed,
        load_if_exists=True,
    )
    start = time.perf_counter()
    study.optimize(task, **budget)

    print(f"{'trial':>5} {'status':>9} {'epochs':>6} {'IS':>6} {'FID':>7}  configuration")
    for t in study.trials:
        value = "-" if t.value is None else f"{t.value:.2f}"
        fid = t.metrics.get("fid")
        print(
            f"{t.number:>5} {t.status.value:>9} {t.steps_trained:>6} {value:>6} "
            f"{'-' if fid is None else f'{fid:.1f}':>7}  {t.params}"
        )
    best = study.best_trial
    artifacts = best.user_attrs.get("gan_artifacts", {})
    print(f"best trial #{best.number}: inception_score = {best.value:.3f}")
    print(f"  image grids: {sorted(best.user_attrs.get('image_grids', {}).values())}")
    print(f"  loss curves: {artifacts.get('loss_curves')}")

    result = evaluate_best(study, task)
    scores = ", ".join(f"{k} = {v:.3f}" for k, v in result.test_metrics.items() if "_as_" not in k)
    print(f"retrained on train+validation for {result.epochs} epochs: {scores}")
    print(f"{time.perf_counter() - start:.0f}s in all")


if __name__ == "__main__":
    main()
