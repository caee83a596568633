"""Sample efficiency on synthetic black-box problems: tunelab vs Optuna, skopt, Keras Tuner.

Every method minimises Branin, Hartmann-6, Rosenbrock-4, Ackley-5 (on the shifted box
[-32.768, 20]^5) and Levy-8 (tunelab.tasks.functions) with 60 evaluations, for 10 seeds,
each with its own defaults (nothing is tuned per problem). Printed per problem: the
median and interquartile range of the final simple regret (best value found minus the
known optimum), the median regret after the first 30 evaluations, and the median
seconds per suggestion; then each method's mean rank over the problems (rank of its
median final regret on each problem), the checks of issue 18 (bayes vs Optuna GP on
Hartmann-6, Branin after 30 evaluations) and the cost of one bayes suggestion at 25,
50, 100 and 200 observations in 6 dimensions (median and max over 10 suggestions, and
their ratio).

    python benchmarks/blackbox.py --jobs 2             # everything (~40 min on 2 cores)
    python benchmarks/blackbox.py --quick              # 3 seeds (1 for the slow peers)
    python benchmarks/blackbox.py --methods tunelab-bayes,optuna-gp --problems branin
    python benchmarks/blackbox.py --csv runs.csv       # resume / add to runs.csv
    python benchmarks/blackbox.py --csv runs.csv --report-only
    python benchmarks/blackbox.py --first-seed 100 --csv other-seeds.csv

Every finished run is appended to the CSV (default benchmarks/results/blackbox.csv) at
once, and runs already in it are not repeated, so an interrupted benchmark continues
where it stopped and the table can be re-printed from the file.

Peers are benchmark-only extras: pip install -e '.[benchmarks]'. Keras Tuner runs on
Keras 3 with the torch backend (KERAS_BACKEND=torch); its BayesianOptimization oracle is
driven directly (create_trial / update_trial / end_trial), no model is trained.
Seconds per suggestion: tunelab times ``searcher.suggest``; for the peers it is the
wall time per evaluation (the objectives take microseconds). scikit-optimize and
Keras Tuner take over a minute per run, so they run ``--slow-seeds`` seeds (5).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# One BLAS/OpenMP thread for every method (Optuna's GPSampler documentation asks for it
# on Linux; tunelab's bayes limits its own threads anyway), set before numpy/torch load.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tunelab.tasks.functions import FUNCTIONS, SyntheticFunction, make_function

DEFAULT_CSV = Path(__file__).resolve().parent / "results" / "blackbox.csv"
FIELDS = [
    "method",
    "problem",
    "seed",
    "evals",
    "best_value",
    "regret",
    "regret_30",
    "s_per_suggestion",
    "wall_s",
]
COST_OBSERVATIONS = (25, 50, 100, 200)
EARLY = 30
"""The regret after this many evaluations is recorded too (column ``regret_30``)."""


@dataclass
class Run:
    best_value: float
    seconds: list[float]  # one entry per suggestion / evaluation
    values: list[float]  # objective values in evaluation order


Runner = Callable[[SyntheticFunction, int, int], Run]


# -- tunelab ---------------------------------------------------------------------------------------
def time_suggestions(searcher: Any, seconds: list[float], min_observations: int = 0) -> None:
    """Append the duration of each ``searcher.suggest`` call (with enough observations)."""
    suggest = searcher.suggest

    def timed(history: Any, n: int = 1) -> Any:
        start = time.perf_counter()
        out = suggest(history, n)
        if len(history.completed()) >= min_observations:
            seconds.append(time.perf_counter() - start)
        return out

    searcher.suggest = timed


# -- tunelab runs ----------------------------------------------------------------------------------
def tunelab_runner(searcher_name: str) -> Runner:
    def run(fn: SyntheticFunction, seed: int, evals: int) -> Run:
        import tunelab as tl
        from tunelab.searchers import make_searcher

        searcher = make_searcher(searcher_name, seed=seed)
        seconds: list[float] = []
        time_suggestions(searcher, seconds)
        study = tl.create_study(searcher=searcher, space=fn.space(), storage=":memory:", seed=seed)
        study.optimize(fn.objective, max_trials=evals, quiet=True)
        values = [float(t.value) for t in study.trials if t.value is not None]
        return Run(study.best_value, seconds, values)

    return run


# -- peers -------------------------------------------------------------------------------------
def _stamps_to_seconds(start: float, stamps: list[float]) -> list[float]:
    return list(np.diff([start, *stamps]))


def optuna_runner(kind: str) -> Runner:
    def run(fn: SyntheticFunction, seed: int, evals: int) -> Run:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler: Any
        if kind == "tpe":
            sampler = optuna.samplers.TPESampler(multivariate=True, seed=seed)
        else:
            sampler = optuna.samplers.GPSampler(seed=seed)
        study = optuna.create_study(sampler=sampler, direction="minimize")

        def objective(trial: Any) -> float:
            return fn(
                [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(fn.bounds)]
            )

        stamps: list[float] = []
        start = time.perf_counter()
        study.optimize(
            objective, n_trials=evals, callbacks=[lambda s, t: stamps.append(time.perf_counter())]
        )
        values = [float(t.value) for t in study.trials if t.value is not None]
        return Run(float(study.best_value), _stamps_to_seconds(start, stamps), values)

    return run


def skopt_run(fn: SyntheticFunction, seed: int, evals: int) -> Run:
    from skopt import gp_minimize

    stamps: list[float] = []
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = gp_minimize(
            fn,
            [tuple(b) for b in fn.bounds],
            n_calls=evals,
            random_state=seed,
            callback=[lambda r: stamps.append(time.perf_counter())],
        )
    values = [float(v) for v in result.func_vals]
    return Run(float(result.fun), _stamps_to_seconds(start, stamps), values)


def keras_tuner_run(fn: SyntheticFunction, seed: int, evals: int) -> Run:
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for i, (lo, hi) in enumerate(fn.bounds):
        hp.Float(f"x{i}", lo, hi)
    oracle = kt.oracles.BayesianOptimizationOracle(
        objective=kt.Objective("value", "min"), max_trials=evals, hyperparameters=hp, seed=seed
    )
    best = math.inf
    seconds: list[float] = []
    values: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        oracle._set_project_dir(directory, "blackbox")
        oracle._display.verbose = 0
        for _ in range(evals):
            start = time.perf_counter()
            trial = oracle.create_trial("tuner0")
            seconds.append(time.perf_counter() - start)
            if trial.status == "STOPPED":
                break
            value = fn([trial.hyperparameters.get(f"x{i}") for i in range(fn.dims)])
            best = min(best, value)
            values.append(value)
            oracle.update_trial(trial.trial_id, {"value": value})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
    return Run(best, seconds, values)


METHODS: dict[str, Runner] = {
    "tunelab-random": tunelab_runner("random"),
    "tunelab-sobol": tunelab_runner("sobol"),
    "tunelab-bayes": tunelab_runner("bayes"),
    "tunelab-tpe": tunelab_runner("tpe"),
    "optuna-tpe": optuna_runner("tpe"),
    "optuna-gp": optuna_runner("gp"),
    "skopt-gp": skopt_run,
    "kerastuner-bo": keras_tuner_run,
}
SLOW = {"skopt-gp", "kerastuner-bo"}


# -- running and recording ------------------------------------------------------------------------
def run_one(method: str, problem: str, seed: int, evals: int) -> dict[str, Any]:
    fn = make_function(problem)
    start = time.perf_counter()
    result = METHODS[method](fn, seed, evals)
    return {
        "method": method,
        "problem": problem,
        "seed": seed,
        "evals": evals,
        "best_value": repr(result.best_value),
        "regret": repr(fn.regret(result.best_value)),
        "regret_30": repr(fn.regret(min(result.values[:EARLY])))
        if len(result.values) >= EARLY
        else "",
        "s_per_suggestion": repr(float(np.median(result.seconds)) if result.seconds else math.nan),
        "wall_s": repr(time.perf_counter() - start),
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def append_csv(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _upgrade_header(path)
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def _upgrade_header(path: Path) -> None:
    """Rewrite a CSV written before a column was added (the old rows get it empty)."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        header = next(csv.reader(f), None)
    if header is None or header == FIELDS:
        return
    rows = read_csv(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: r.get(k) or "" for k in FIELDS} for r in rows)


def run_all(plan: list[tuple[str, str, int]], evals: int, path: Path, jobs: int) -> None:
    done = {(r["method"], r["problem"], int(r["seed"]), int(r["evals"])) for r in read_csv(path)}
    todo = [(m, p, s) for m, p, s in plan if (m, p, s, evals) not in done]
    if len(todo) < len(plan):
        print(f"{len(plan) - len(todo)} of {len(plan)} runs already in {path}; running {len(todo)}")
    total = len(todo)
    started = time.perf_counter()
    if jobs <= 1:
        for i, (m, p, s) in enumerate(todo, 1):
            row = run_one(m, p, s, evals)
            append_csv(path, row)
            _progress(i, total, row, started)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, m, p, s, evals) for m, p, s in todo]
        for i, future in enumerate(as_completed(futures), 1):
            row = future.result()
            append_csv(path, row)
            _progress(i, total, row, started)


def _progress(i: int, total: int, row: dict[str, Any], started: float) -> None:
    print(
        f"[{i}/{total} {time.perf_counter() - started:7.0f}s] {row['method']:15s} "
        f"{row['problem']:12s} seed {row['seed']:>2}: regret {float(row['regret']):.4g} "
        f"({float(row['wall_s']):.1f}s)",
        file=sys.stderr,
        flush=True,
    )


# -- the report ----------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def report(rows: list[dict[str, str]], methods: list[str], problems: list[str], evals: int) -> None:
    rows = [r for r in rows if int(r["evals"]) == evals]
    regrets: dict[tuple[str, str], list[float]] = {}
    early: dict[tuple[str, str], list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for r in rows:
        if r["method"] in methods and r["problem"] in problems:
            regrets.setdefault((r["method"], r["problem"]), []).append(float(r["regret"]))
            if r.get("regret_30"):
                early.setdefault((r["method"], r["problem"]), []).append(float(r["regret_30"]))
            seconds.setdefault(r["method"], []).append(float(r["s_per_suggestion"]))
    present = [m for m in methods if any((m, p) in regrets for p in problems)]
    ranks: dict[str, list[float]] = {m: [] for m in present}
    medians: dict[tuple[str, str], float] = {}
    early_medians: dict[tuple[str, str], float] = {}
    for p in problems:
        here = [m for m in present if (m, p) in regrets]
        if not here:
            continue
        print(f"\n### {p} ({evals} evaluations): final simple regret\n")
        print(f"| method | seeds | median | IQR (25% - 75%) | median after {EARLY} |")
        print("|---|---:|---:|---:|---:|")
        for m in here:
            values = np.array(regrets[(m, p)])
            q25, q50, q75 = np.percentile(values, [25, 50, 75])
            medians[(m, p)] = float(q50)
            at_30 = "-"
            if len(early.get((m, p), [])) == len(values):  # older rows lack the column
                early_medians[(m, p)] = float(np.median(early[(m, p)]))
                at_30 = _fmt(early_medians[(m, p)])
            print(f"| {m} | {len(values)} | {_fmt(q50)} | {_fmt(q25)} - {_fmt(q75)} | {at_30} |")
        order = sorted(here, key=lambda m: medians[(m, p)])
        for m in here:
            tied = [i + 1 for i, o in enumerate(order) if medians[(o, p)] == medians[(m, p)]]
            ranks[m].append(sum(tied) / len(tied))
    print("\n### Summary\n")
    print("| method | mean rank | problems | median s/suggestion |")
    print("|---|---:|---:|---:|")
    for m in sorted(present, key=lambda m: statistics.mean(ranks[m]) if ranks[m] else math.inf):
        mean_rank = statistics.mean(ranks[m]) if ranks[m] else math.nan
        print(f"| {m} | {mean_rank:.2f} | {len(ranks[m])} | {statistics.median(seconds[m]):.3f} |")
    _verdict(medians, problems)
    _issue_checks(medians, early_medians, ranks)


def _issue_checks(
    medians: dict[tuple[str, str], float],
    early_medians: dict[tuple[str, str], float],
    ranks: dict[str, list[float]],
) -> None:
    """The sample-efficiency targets of issue 18, where this table has the numbers."""
    bayes = "tunelab-bayes"
    lines = []
    pair = (medians.get((bayes, "hartmann6")), medians.get(("optuna-gp", "hartmann6")))
    if pair[0] is not None and pair[1] is not None:
        ok = "yes" if pair[0] <= pair[1] else "NO"
        lines.append(f"Hartmann-6 median regret {_fmt(pair[0])} <= optuna-gp {_fmt(pair[1])}: {ok}")
    at_30 = early_medians.get((bayes, "branin"))
    if at_30 is not None:
        lines.append(
            f"Branin median regret after {EARLY} {_fmt(at_30)} < 0.01: "
            + ("yes" if at_30 < 0.01 else "NO")
        )
    full = [m for m, r in ranks.items() if r and len(r) == max(len(v) for v in ranks.values())]
    if bayes in full:
        best = min(full, key=lambda m: statistics.mean(ranks[m]))
        first = statistics.mean(ranks[bayes]) <= statistics.mean(ranks[best])
        lines.append(f"{bayes} best mean rank: " + ("yes" if first else f"NO ({best})"))
    if lines:
        print("\n" + "\n".join(lines))


def _verdict(medians: dict[tuple[str, str], float], problems: list[str]) -> None:
    bayes = "tunelab-bayes"
    for peer, relation in (("optuna-tpe", "lower than"), ("optuna-gp", "no worse than")):
        pairs = [p for p in problems if (bayes, p) in medians and (peer, p) in medians]
        if not pairs:
            continue
        wins = [
            p
            for p in pairs
            if medians[(bayes, p)] < medians[(peer, p)]
            or (relation == "no worse than" and medians[(bayes, p)] <= medians[(peer, p)])
        ]
        print(
            f"\n{bayes} median regret {relation} {peer}: {len(wins)}/{len(pairs)} problems"
            f" ({', '.join(wins) or 'none'})"
        )


def bayes_cost(repeats: int = 10, warmup: int = 5) -> None:
    """Seconds per bayes suggestion with N observations of Hartmann-6 (6 dimensions).

    A study whose Sobol design has ``N - warmup`` points, then ``warmup`` model
    suggestions (the first fit of a study has no previous optimum to start from, which
    a real study pays once, at its first model suggestion, not at N), then ``repeats``
    timed suggestions at N, N+1, ... observations: their median, max and max/median.
    """
    import tunelab as tl
    from tunelab.searchers.bayes import BayesSearcher

    fn = make_function("hartmann6")
    print("\n### bayes: seconds per suggestion, 6 dimensions (Hartmann-6)\n")
    print("| observations | median s | max s | max / median |")
    print("|---:|---:|---:|---:|")
    for n in COST_OBSERVATIONS:
        searcher = BayesSearcher(n_initial=n - warmup, seed=0)
        seconds: list[float] = []
        time_suggestions(searcher, seconds, min_observations=n)
        study = tl.create_study(searcher=searcher, space=fn.space(), storage=":memory:")
        study.optimize(fn.objective, max_trials=n + repeats, quiet=True)
        median, worst = statistics.median(seconds), max(seconds)
        print(f"| {n} | {median:.3f} | {worst:.3f} | {worst / median:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds (1 for slow peers)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per method (10)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from this one")
    parser.add_argument("--slow-seeds", type=int, default=None, help="seeds for slow peers (5)")
    parser.add_argument("--evals", type=int, default=60)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--problems", default=",".join(FUNCTIONS))
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument("--report-only", action="store_true", help="print the table from the CSV")
    parser.add_argument("--no-cost", action="store_true", help="skip the bayes cost table")
    args = parser.parse_args()

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; available: {', '.join(METHODS)}")
    for p in problems:
        if p not in FUNCTIONS:
            parser.error(f"unknown problem {p!r}; available: {', '.join(FUNCTIONS)}")
    seeds = args.seeds if args.seeds is not None else (3 if args.quick else 10)
    slow_seeds = args.slow_seeds if args.slow_seeds is not None else (1 if args.quick else 5)
    slow_seeds = min(slow_seeds, seeds)

    if not args.report_only:
        plan = [
            (m, p, s)
            for s in range(args.first_seed, args.first_seed + seeds)
            for p in problems
            for m in methods
            if s < args.first_seed + (slow_seeds if m in SLOW else seeds)
        ]
        print(
            f"{len(plan)} runs: {len(methods)} methods x {len(problems)} problems, "
            f"{seeds} seeds ({slow_seeds} for {', '.join(sorted(SLOW & set(methods))) or '-'}), "
            f"{args.evals} evaluations each; results in {args.csv}",
            flush=True,
        )
        started = time.perf_counter()
        run_all(plan, args.evals, args.csv, args.jobs)
        print(f"runs took {time.perf_counter() - started:.0f} s", flush=True)
    report(read_csv(args.csv), methods, problems, args.evals)
    if not args.report_only and not args.no_cost and "tunelab-bayes" in methods:
        bayes_cost()


if __name__ == "__main__":
    main()
