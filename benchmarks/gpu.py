"""Trials on a GPU: do process workers see and use it, and what does it buy?

Tunes the MNIST MLP task (the full space) with random search, first with trials inline
on the CPU, then with process workers sharing the GPUs (``gpus_per_trial``, so each
worker gets its ``CUDA_VISIBLE_DEVICES``). Every trial records the device its model
trained on, what ``CUDA_VISIBLE_DEVICES`` said in its worker, and its peak GPU memory;
the table shows them with the wall time.

Then the GAN (``mnist_gan`` at full size: the TensorFlow tutorial's DCGAN, one pass over
the 48,000 training images per epoch, batch 128) with trials packed 1, 2 and 4 to a GPU
(``gpus_per_trial`` 1, 0.5, 0.25): trials per hour for each packing, and the best
Inception Score reached.

    python benchmarks/gpu.py --data-dir ../shared/datasets [--trials 8] [--epochs 5]
        [--train-size 60000] [--gpu-workers 2] [--cpu-trials 2]
        [--gan-packing 1 2 4] [--gan-trials 8] [--gan-epochs 2]

Needs a machine with CUDA; on one without, only the CPU row runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import tunelab as tl
from tunelab.executors.processes import ProcessExecutor
from tunelab.tasks import make_task
from tunelab.tasks.training import resolve_device


class DeviceRecordingObjective:
    """The task as the objective, plus where its trial trained (a picklable class, so
    process workers can run it)."""

    def __init__(self, options: dict[str, Any], task: str = "mnist_mlp") -> None:
        self.options = options
        self.task = task

    def __call__(self, trial: Any) -> Any:
        import torch

        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        task = make_task(self.task, **self.options)
        result = task(trial)
        trial.set_user_attr(
            "device",
            {
                "torch": str(resolve_device(self.options.get("device"))),
                "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "peak_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else 0.0,
                "pid": os.getpid(),
            },
        )
        return result


def run(
    name: str,
    options: dict[str, Any],
    trials: int,
    task: str = "mnist_mlp",
    **optimize: Any,
) -> dict[str, Any]:
    metric = make_task(task, **options)
    study = tl.create_study(
        name, metric=metric.metric, mode=metric.mode, storage=":memory:", searcher="random", seed=0
    )
    start = time.perf_counter()
    study.optimize(
        DeviceRecordingObjective(options, task), max_trials=trials, quiet=True, **optimize
    )
    wall = time.perf_counter() - start
    done = [t for t in study.trials if t.status is tl.TrialStatus.COMPLETED]
    failed = [t for t in study.trials if t.status is tl.TrialStatus.FAILED]
    for t in failed:
        print(f"{name}: trial {t.number} failed: {t.error}")
    devices = [t.user_attrs.get("device", {}) for t in done]
    epochs = sum(t.steps_trained for t in done)
    return {
        "run": name,
        "trials": len(done),
        "epochs": epochs,
        "wall": wall,
        "s_per_epoch": wall / max(epochs, 1),
        "trials_per_hour": len(done) / wall * 3600,
        "best": max((t.value or 0.0 for t in done), default=float("nan")),
        "devices": sorted({d.get("torch", "?") for d in devices}),
        "visible": sorted({str(d.get("visible")) for d in devices}),
        "workers": len({d.get("pid") for d in devices}),
        "peak_mb": statistics.fmean(d.get("peak_mb", 0.0) for d in devices) if devices else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--trials", type=int, default=8, help="GPU trials per run")
    parser.add_argument("--cpu-trials", type=int, default=2, help="CPU trials (0: skip)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=None, help="default: all 60000")
    parser.add_argument("--gpu-workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument(
        "--gan-packing", type=int, nargs="*", default=[1, 2, 4], help="GAN trials per GPU"
    )
    parser.add_argument("--gan-trials", type=int, default=8, help="GAN trials per packing")
    parser.add_argument("--gan-epochs", type=int, default=2, help="epochs per GAN trial")
    args = parser.parse_args()

    import torch

    base = {"data_dir": args.data_dir, "epochs": args.epochs, "train_size": args.train_size}
    rows = []
    if args.cpu_trials:
        rows.append(run("cpu-inline", {**base, "device": "cpu"}, args.cpu_trials))
        print(rows[-1], flush=True)
    if torch.cuda.is_available():
        rows.append(run("gpu-inline", {**base, "device": "cuda"}, args.trials))
        print(rows[-1], flush=True)
        for workers in args.gpu_workers:
            rows.append(
                run(
                    f"gpu-processes-{workers}",
                    base,  # no device: each worker finds the GPU it was given
                    args.trials,
                    executor=ProcessExecutor(n_workers=workers, gpus_per_trial=1.0 / workers),
                )
            )
            print(rows[-1], flush=True)
    else:
        print("no CUDA device: GPU runs skipped")
    gan_rows = gan_packing(args) if torch.cuda.is_available() else []

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"\nMNIST MLP, {args.epochs} epochs/trial at most, GPU: {gpu}, {os.cpu_count()} cores\n")
    print(
        "| run | trials | epochs | wall (s) | s/epoch | best val acc | torch device | "
        "CUDA_VISIBLE_DEVICES | worker pids | mean peak GPU MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for r in rows:
        print(
            f"| {r['run']} | {r['trials']} | {r['epochs']} | {r['wall']:.1f} | "
            f"{r['s_per_epoch']:.2f} | {r['best']:.4f} | {', '.join(r['devices'])} | "
            f"{', '.join(r['visible'])} | {r['workers']} | {r['peak_mb']:.0f} |"
        )
    if gan_rows:
        print(
            f"\nmnist_gan at full size (dcgan, one pass of 48,000 images per epoch, batch 128), "
            f"{args.gan_epochs} epochs/trial\n"
        )
        print(
            "| trials per GPU | trials | epochs | wall (s) | trials/hour | s/epoch | best IS | "
            "mean peak GPU MB |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for packed, r in gan_rows:
            print(
                f"| {packed} | {r['trials']} | {r['epochs']} | {r['wall']:.1f} | "
                f"{r['trials_per_hour']:.1f} | {r['s_per_epoch']:.2f} | {r['best']:.2f} | "
                f"{r['peak_mb']:.0f} |"
            )


def gan_packing(args: argparse.Namespace) -> list[tuple[int, dict[str, Any]]]:
    """The full-size GAN with ``packed`` trials sharing each GPU, for each packing."""
    options = {
        "data_dir": args.data_dir,
        "epochs": args.gan_epochs,
        "architecture": "dcgan",
        "steps_per_epoch": None,
        "batch_size": 128,
        "artifact_dir": None,
    }
    from tunelab.metrics.classifier import mnist_classifier

    mnist_classifier(args.data_dir)  # trained once here, not by every worker at once
    rows = []
    for packed in args.gan_packing:
        row = run(
            f"gan-packed-{packed}",
            options,
            args.gan_trials,
            task="mnist_gan",
            executor=ProcessExecutor(n_workers=None, gpus_per_trial=1.0 / packed),
        )
        print(row, flush=True)
        rows.append((packed, row))
    return rows


if __name__ == "__main__":
    main()
