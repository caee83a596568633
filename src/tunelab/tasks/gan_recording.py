"""Record one ``mnist_gan`` configuration's learning curve for a tabular benchmark.

The GAN's counterpart of :meth:`tunelab.tasks.mlp.MLPTask.record_curve`, used by
``benchmarks/record_tables.py``. It lives beside the task rather than in it (the task's
module is at the project's size limit) and trains through the task's own training and
evaluation, the path every trial takes, so a recorded curve is what a trial of the same
number would report.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tunelab.metrics.gan import feature_statistics, frechet_distance
from tunelab.tasks.gan import _EVAL_NOISE, _TUNING_STREAM, MnistGAN
from tunelab.tasks.training import derive_seed

if TYPE_CHECKING:
    from tunelab.space import Value
    from tunelab.tasks.gan_pair import GanPair

# What a row of a GAN table holds per epoch, the task's metric first.
GAN_TABLE_METRICS = [
    "inception_score",
    "fid",
    "g_loss",
    "d_loss",
    "d_accuracy",
    "d_real_accuracy",
    "d_fake_accuracy",
    "test_inception_score",
    "test_fid",
]


def record_gan_curve(
    task: MnistGAN, params: Mapping[str, Value], epochs: int, *, index: int = 0
) -> list[tuple[dict[str, float], float]]:
    """Train ``params`` for ``epochs`` epochs on the training part and return, per epoch,
    the metrics a trial reports (against the validation images) plus ``test_fid``
    (the same samples against the real test images) and ``test_inception_score`` (the
    Inception Score needs no real images, so it equals the validation one), with the
    epoch's duration.

    For recording only: it opens the sealed test part, so it is refused during tuning.
    ``index`` seeds the run as the objective seeds trial number ``index``. The duration
    covers training the epoch and the validation evaluation (what a trial spends), not
    the test scoring; on a CPU it is the process's CPU time (one torch thread, so other
    load barely changes it), on a GPU wall time.
    """
    if epochs < 1:
        raise ValueError(f"{task.name}: record_curve needs epochs >= 1, got {epochs}")
    splits = task.splits
    classifier = task.classifier
    with splits.test.unsealed(f"{task.name}.record_curve") as (x_test, _):
        test_reference = feature_statistics(classifier.scores(x_test)[1])
    task.fid_floor()  # the validation statistics, once, outside the timed epochs
    noise = task._noise(_EVAL_NOISE, task.eval_samples, task._latent(params))
    timer = time.process_time if task._device().type == "cpu" else time.perf_counter
    rows: list[tuple[dict[str, float], float]] = []
    clock = [timer()]

    def after_epoch(nets: GanPair, epoch: int, losses: dict[str, float]) -> None:
        metrics = {**losses, **task._evaluate(nets, params, real=None)}
        seconds = timer() - clock[0]
        _, features = classifier.scores(nets.generate(noise))
        test_fid = frechet_distance(*test_reference, *feature_statistics(features))
        metrics.update(test_inception_score=metrics["inception_score"], test_fid=test_fid)
        rows.append(({k: float(metrics[k]) for k in GAN_TABLE_METRICS}, seconds))
        clock[0] = timer()

    task._train(
        params,
        splits.x_train,
        epochs=epochs,
        seed=derive_seed(task.seed, _TUNING_STREAM, index),
        on_epoch=after_epoch,
    )
    return rows
