"""Per-trial overhead of the engine: tunelab vs Optuna, in memory and on SQLite.

A no-op objective that defines three parameters (a float, an int, a choice) and
returns at once, run with random search for N trials (2000 by default). Every
configuration runs in this one process on fresh storage: Optuna on SQLite twice, with its
default settings and with tunelab's (WAL journal, ``synchronous=NORMAL``), so the
like-for-like ratio is printed too. Each configuration first runs 100 untimed trials
(imports and first calls are not per-trial costs), then ``--repeats`` timed runs,
interleaved with the other configurations'; the table shows the median.

    python benchmarks/overhead.py [--trials 2000] [--repeats 3]

Optuna is a benchmark-only extra: pip install -e '.[benchmarks]'.
"""

from __future__ import annotations

import argparse
import statistics
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
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per configuration (median shown)"
    )
    args = parser.parse_args()
    n = args.trials

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def sqlite(name: str) -> str:
            return f"sqlite:///{folder / name}"

        runs: list[tuple[str, str, Callable[[str, int], float]]] = [
            ("tunelab", "memory", lambda tag, k: tunelab_run(":memory:", k)),
            ("tunelab", "sqlite", lambda tag, k: tunelab_run(sqlite(f"tunelab{tag}.db"), k)),
            ("optuna", "memory", lambda tag, k: optuna_run(None, k)),
            ("optuna", "sqlite", lambda tag, k: optuna_run(sqlite(f"optuna{tag}.db"), k)),
            (
                "optuna",
                "sqlite, WAL + synchronous=NORMAL",
                lambda tag, k: optuna_run(sqlite(f"optuna-wal{tag}.db"), k, tuned=True),
            ),
        ]
        times: dict[tuple[str, str], list[float]] = {}
        for library, storage, run in runs:
            try:
                run("-warm-up", min(n, 100))  # imports and first calls are not per-trial costs
                times[(library, storage)] = []
            except ImportError as exc:
                print(f"{library} on {storage}: skipped ({exc}); pip install -e '.[benchmarks]'")
        # Interleaved, so a slow spell of the machine touches every configuration alike.
        for repeat in range(args.repeats):
            for library, storage, run in runs:
                if (library, storage) in times:
                    times[(library, storage)].append(run(f"-{repeat}", n))
        results = {key: statistics.median(seconds) for key, seconds in times.items()}

    print(
        f"\nper-trial overhead, no-op objective, random search, {n} trials; median of "
        f"{args.repeats} interleaved runs, each after an untimed warm-up run\n"
    )
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
