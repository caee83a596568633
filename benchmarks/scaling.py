"""How the engine's costs grow with the study: tunelab vs Optuna on SQLite.

For each size N (1,000, 5,000 and 20,000 trials by default) both libraries run N
trials of a no-op objective (three parameters, as in benchmarks/overhead.py) with
random search on a fresh SQLite file, then reopen the study and time:

- ``best_trial`` on the loaded study (median of 5 calls),
- one more trial on a loaded study (open it again and optimise 1 trial),
- ``dataframe()`` (Optuna: ``trials_dataframe()``), the second, repeated call,
- the per-trial overhead while running, over the first and the last 1,000 trials
  (time between consecutive objective calls).

Optuna gets tunelab's SQLite settings (WAL journal, ``synchronous=NORMAL``), so the
comparison is like for like.

    python benchmarks/scaling.py [--sizes 1000,5000,20000]

Optuna is a benchmark-only extra: pip install -e '.[benchmarks]'.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WINDOW = 1000
REPEATS = 5


@dataclass(frozen=True)
class Row:
    library: str
    trials: int
    best_ms: float
    one_more_ms: float
    dataframe_ms: float
    first_ms: float
    last_ms: float


def window_ms(stamps: list[float]) -> tuple[float, float]:
    """Mean ms between consecutive objective calls over the first and last WINDOW trials."""
    k = min(WINDOW, len(stamps))
    if k < 2:
        return float("nan"), float("nan")
    first = (stamps[k - 1] - stamps[0]) / (k - 1)
    last = (stamps[-1] - stamps[-k]) / (k - 1)
    return 1000 * first, 1000 * last


def median_ms(call: Callable[[], Any], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def tunelab_row(path: Path, n: int) -> Row:
    import tunelab as tl

    stamps: list[float] = []

    def objective(trial: tl.Trial) -> float:
        stamps.append(time.perf_counter())
        x = trial.hp.Float("x", -5.0, 10.0)
        trial.hp.Int("y", 0, 10)
        trial.hp.Choice("c", ["a", "b"])
        return x

    url = f"sqlite:///{path}"
    study = tl.create_study("scaling", searcher="random", storage=url, seed=0)
    study.optimize(objective, max_trials=n, quiet=True)
    study.storage.close()
    first, last = window_ms(stamps)

    loaded = tl.load_study("scaling", storage=url)
    best = median_ms(lambda: loaded.best_trial)
    loaded.dataframe()
    frame = median_ms(loaded.dataframe, repeats=1)
    loaded.storage.close()

    start = time.perf_counter()
    again = tl.load_study("scaling", storage=url)
    again.optimize(objective, max_trials=n + 1, quiet=True)
    one_more = 1000 * (time.perf_counter() - start)
    again.storage.close()
    return Row("tunelab", n, best, one_more, frame, first, last)


def optuna_storage(url: str) -> Any:
    """An Optuna RDB storage on SQLite with tunelab's settings: WAL, synchronous=NORMAL."""
    import optuna
    from sqlalchemy import event

    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:  # the journal mode is kept in the file
        conn.execute("PRAGMA journal_mode=WAL")
    storage = optuna.storages.RDBStorage(url)

    @event.listens_for(storage.engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    storage.engine.dispose()  # connections opened before the listener reconnect with it
    return storage


def optuna_row(path: Path, n: int) -> Row:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stamps: list[float] = []

    def objective(trial: Any) -> float:
        stamps.append(time.perf_counter())
        x: float = trial.suggest_float("x", -5.0, 10.0)
        trial.suggest_int("y", 0, 10)
        trial.suggest_categorical("c", ["a", "b"])
        return x

    url = f"sqlite:///{path}"
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(study_name="scaling", storage=optuna_storage(url), sampler=sampler)
    study.optimize(objective, n_trials=n)
    first, last = window_ms(stamps)

    loaded = optuna.load_study(study_name="scaling", storage=optuna_storage(url))
    best = median_ms(lambda: loaded.best_trial)
    loaded.trials_dataframe()
    frame = median_ms(loaded.trials_dataframe, repeats=1)

    start = time.perf_counter()
    again = optuna.load_study(
        study_name="scaling", storage=optuna_storage(url), sampler=optuna.samplers.RandomSampler()
    )
    again.optimize(objective, n_trials=1)
    one_more = 1000 * (time.perf_counter() - start)
    return Row("optuna", n, best, one_more, frame, first, last)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,5000,20000", help="comma-separated study sizes (trials)"
    )
    parser.add_argument("--libraries", default="tunelab,optuna", help="comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    runners = {"tunelab": tunelab_row, "optuna": optuna_row}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for library in args.libraries.split(","):
                try:
                    rows.append(runners[library](Path(tmp) / f"{library}-{n}.db", n))
                except ImportError as exc:
                    print(f"{library}: skipped ({exc}); pip install -e '.[benchmarks]'")
                    continue
                print(f"done: {library} {n} trials", flush=True)

    print(
        "\nSQLite (WAL, synchronous=NORMAL), no-op objective, random search; "
        f"per-trial overhead over the first and last {WINDOW:,} trials\n"
    )
    print(
        "| library | trials | best_trial ms | one more trial ms | dataframe() ms "
        "| ms/trial first | ms/trial last | last/first |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.library} | {r.trials:,} | {r.best_ms:.2f} | {r.one_more_ms:.1f} "
            f"| {r.dataframe_ms:.1f} | {r.first_ms:.3f} | {r.last_ms:.3f} "
            f"| {r.last_ms / r.first_ms:.2f} |"
        )


if __name__ == "__main__":
    main()
