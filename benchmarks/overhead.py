"""Per-trial overhead of the engine: tunelab vs Optuna, in memory and on SQLite.

A no-op objective that defines three parameters (a float, an int, a choice) and
returns at once, run with random search for N trials (2000 by default). Every
configuration runs in this one process, one after another, on fresh storage: Optuna on
SQLite twice, with its default settings and with tunelab's (WAL journal,
``synchronous=NORMAL``), so the like-for-like ratio is printed too.

    python benchmarks/overhead.py [--trials 2000]

Optuna is a benchmark-only extra: pip install -e '.[benchmarks]'.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def tunelab_run(storage: str, n_trials: int) -> float:
    import tunelab as tl

    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", -5.0, 10.0)
        trial.hp.Int("y", 0, 10)
        trial.hp.Choice("c", ["a", "b"])
        return x

    study = tl.create_study(metric="value", mode="min", searcher="random", storage=storage, seed=0)
    start = time.perf_counter()
    study.optimize(objective, max_trials=n_trials, quiet=True)
    elapsed = time.perf_counter() - start
    assert len(study.trials) == n_trials
    return elapsed


def optuna_run(storage: str | None, n_trials: int, *, tuned: bool = False) -> float:
    import optuna
    from scaling import optuna_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        x: float = trial.suggest_float("x", -5.0, 10.0)
        trial.suggest_int("y", 0, 10)
        trial.suggest_categorical("c", ["a", "b"])
        return x

    where = optuna_storage(storage) if tuned and storage is not None else storage
    study = optuna.create_study(storage=where, sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    elapsed = time.perf_counter() - start
    assert len(study.trials) == n_trials
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    args = parser.parse_args()
    n = args.trials

    with tempfile.TemporaryDirectory() as tmp:
        runs: list[tuple[str, str, Callable[[], float]]] = [
            ("tunelab", "memory", lambda: tunelab_run(":memory:", n)),
            ("tunelab", "sqlite", lambda: tunelab_run(f"sqlite:///{Path(tmp) / 'tunelab.db'}", n)),
            ("optuna", "memory", lambda: optuna_run(None, n)),
            ("optuna", "sqlite", lambda: optuna_run(f"sqlite:///{Path(tmp) / 'optuna.db'}", n)),
            (
                "optuna",
                "sqlite, WAL + synchronous=NORMAL",
                lambda: optuna_run(f"sqlite:///{Path(tmp) / 'optuna-wal.db'}", n, tuned=True),
            ),
        ]
        results: dict[tuple[str, str], float] = {}
        for library, storage, run in runs:
            try:
                results[(library, storage)] = run()
            except ImportError as exc:
                print(f"{library} on {storage}: skipped ({exc}); pip install -e '.[benchmarks]'")

    print(f"\nper-trial overhead, no-op objective, random search, {n} trials\n")
    print("| library | storage | trials/s | ms/trial |")
    print("|---|---|---:|---:|")
    for (library, storage), seconds in results.items():
        print(f"| {library} | {storage} | {n / seconds:,.0f} | {1000 * seconds / n:.3f} |")
    print()
    pairs = [
        ("memory", ("optuna", "memory"), "Optuna in memory"),
        ("sqlite", ("optuna", "sqlite"), "Optuna/SQLite's (its default settings)"),
        (
            "sqlite",
            ("optuna", "sqlite, WAL + synchronous=NORMAL"),
            "Optuna/SQLite's (same settings)",
        ),
    ]
    for storage, other, label in pairs:
        ours, theirs = results.get(("tunelab", storage)), results.get(other)
        if ours is not None and theirs is not None:
            print(f"tunelab/{storage} takes {ours / theirs:.1%} of {label} time per trial")


if __name__ == "__main__":
    main()
