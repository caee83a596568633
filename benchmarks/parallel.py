"""Parallel execution: wall time and per-trial overhead of inline, processes, Ray and Ray Tune.

Each trial burns 0.5 s of CPU time (measured with the thread's CPU clock, so every
trial does the same work however busy the machine is) and reports one value. All runs
use random search on one float and run one after another in this process.

    python benchmarks/parallel.py [--trials 200] [--seconds 0.5] [--workers 2]

Per-trial overhead = wall time x workers / trials - seconds of work per trial.
Ray Tune is a benchmark-only extra: pip install -e '.[benchmarks]'.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any


def work_seconds() -> float:
    # Read from the environment so spawned workers and Ray workers see the same value.
    return float(os.environ.get("TUNELAB_BENCH_WORK_SECONDS", "0.5"))


def burn(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` of CPU time."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for _ in range(1000):
            x += 1


def objective(trial: Any) -> float:
    x: float = trial.hp.Float("x", -5.0, 10.0)
    burn(work_seconds())
    return (x - 2.0) ** 2


def tunelab_run(executor: str, trials: int, workers: int) -> float:
    import tunelab as tl

    study = tl.create_study(metric="value", storage=":memory:", searcher="random", seed=0)
    start = time.perf_counter()
    if executor == "inline":
        study.optimize(objective, max_trials=trials, quiet=True)
    else:
        study.optimize(
            objective, max_trials=trials, executor=executor, n_workers=workers, quiet=True
        )
    elapsed = time.perf_counter() - start
    done = [t for t in study.trials if t.status is tl.TrialStatus.COMPLETED]
    assert len(done) == trials, f"{executor}: {len(done)} of {trials} trials completed"
    return elapsed


def ray_tune_run(trials: int, workers: int) -> float:
    import ray
    from ray import tune

    def trainable(config: dict[str, float]) -> None:
        burn(work_seconds())
        tune.report({"value": (config["x"] - 2.0) ** 2})

    with tempfile.TemporaryDirectory() as tmp:
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"x": tune.uniform(-5.0, 10.0)},
            tune_config=tune.TuneConfig(
                num_samples=trials, max_concurrent_trials=workers, metric="value", mode="min"
            ),
            run_config=tune.RunConfig(storage_path=tmp, verbose=0),
        )
        start = time.perf_counter()
        results = tuner.fit()
        elapsed = time.perf_counter() - start
    assert len(results) == trials and not results.errors
    ray.shutdown()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--only",
        nargs="*",
        default=["inline", "processes", "ray", "ray-tune"],
        help="which runs (inline processes ray ray-tune)",
    )
    args = parser.parse_args()
    os.environ["TUNELAB_BENCH_WORK_SECONDS"] = str(args.seconds)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    n, w = args.trials, args.workers

    runs: dict[str, tuple[int, Callable[[], float]]] = {
        "inline": (1, lambda: tunelab_run("inline", n, 1)),
        "processes": (w, lambda: tunelab_run("processes", n, w)),
        "ray": (w, lambda: tunelab_run("ray", n, w)),
        "ray-tune": (w, lambda: ray_tune_run(n, w)),
    }
    results: dict[str, tuple[int, float]] = {}
    for name in args.only:
        workers, run = runs[name]
        try:
            results[name] = (workers, run())
        except ImportError as exc:
            print(f"{name}: skipped ({exc}); pip install -e '.[benchmarks]'")
        print(f"{name}: {results[name][1]:.1f} s" if name in results else "", flush=True)

    print(f"\n{n} trials of {args.seconds} s CPU-bound work, {os.cpu_count()} cores\n")
    print("| run | workers | wall time (s) | speed-up vs inline | overhead per trial (ms) |")
    print("|---|---:|---:|---:|---:|")
    inline = results.get("inline", (1, 0.0))[1]
    labels = {
        "inline": "tunelab inline",
        "processes": "tunelab processes",
        "ray": "tunelab on Ray",
        "ray-tune": "Ray Tune",
    }
    for name, (workers, wall) in results.items():
        overhead = (wall * workers / n - args.seconds) * 1000
        speedup = f"{inline / wall:.2f}x" if inline else "-"
        print(f"| {labels[name]} | {workers} | {wall:.1f} | {speedup} | {overhead:.1f} |")


if __name__ == "__main__":
    main()
