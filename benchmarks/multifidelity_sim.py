"""Multi-fidelity strategies on recorded learning curves, on simulated workers.

Every strategy runs on a tabular task (``TabularTask``: a recorded table of learning
curves, answered from the nearest recorded configuration) with ``executor="simulated"``
(each epoch takes its recorded time on a simulated clock; ``n_workers`` simulated workers)
at an equal epoch budget E (``--budget-trials`` full trials of the table's R epochs):

- random: random search, every trial R epochs (fifo);
- hyperband, asha: random search with those schedulers (rungs from 1 epoch, eta 3);
  asha is the promotion type (tunelab's default); ``asha-stopping`` (not run unless
  named in ``--strategies``) is the stopping type, Ray Tune's and Syne Tune's ASHA;
- bohb: BOHB's scheduler (its own model) with the ``tpe`` searcher when it exists;
- pbt: E / R members of R epochs, perturbing every R / 9 epochs;
- random+median: random search with median stopping.

Every study is restricted to the table's configurations (``optimize(candidates=...)``):
each proposal becomes the nearest recorded configuration not used yet. Without that a
searcher that keeps proposing near its best so far is answered by the same recorded row
again and again (BOHB on digits, 100 full trials of budget: 158 distinct rows in 384
trials), and the benchmark scores that artefact. ``--nearest`` runs without the
restriction (every proposal answered by its nearest row, repeats included).

For each strategy and worker count it prints: the epochs and the simulated wall time each
run needed to reach random search's final median best (the lower median over seeds of
the final best of random search on one worker: a value half of random search's runs
reach only by the end of their budget; one target for every worker count), as medians
over seeds; the epochs as a share
of random search's epochs (its whole budget E, which is what it spends to reach that
value) and as a ratio to random search's own median epochs to the target, and the
simulated time as a ratio to random search's (each with a bootstrap 95% interval over
seeds; "never" when the median run did not reach it, "n/a" when random search's did
not); the final regret (the table's
best final value minus the final value of the configuration the study picked; median
and interquartile range); and tunelab's own decision time per trial (the wall time of
``optimize`` over the trials it ran: the objective only reads the table). Then asha's
speed-up in simulated time to that target from 1 worker to 16 and to 64, and the
comparison's wall time.

Every finished run is appended to a results file
(``benchmarks/results/multifidelity_sim_<table>_<hash>_b<budget-trials>.jsonl``, the
first 8 hex digits of the table file's SHA-256, ``_nearest`` added with ``--nearest``), so an
interrupted benchmark continues where it stopped and a rerun only prints.

``--scale`` instead runs one study of ``--scale-trials`` trials (default 100,000; not restricted,
the table has far fewer rows) on 256
simulated workers and prints the decision time per trial.

    python benchmarks/multifidelity_sim.py --jobs 2                       # digits, 100 seeds
    python benchmarks/multifidelity_sim.py --table mnist_mlp --jobs 2
    python benchmarks/multifidelity_sim.py --workers 1 --seeds 100 --jobs 2   # 6 x 100 runs
    python benchmarks/multifidelity_sim.py --scale                       # 100,000 trials
    python benchmarks/multifidelity_sim.py --quick                       # 5 seeds, 1 and 16
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import math
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tunelab as tl
from tunelab.executors.simulated import SimulatedExecutor
from tunelab.runner.candidates import CandidateList
from tunelab.searchers import SEARCHERS
from tunelab.searchers.base import config_key, sample_config
from tunelab.tasks.tabular import LearningCurveTable, TabularTask
from tunelab.tasks.tabular_table import table_path

STRATEGIES = ("random", "hyperband", "asha", "bohb", "pbt", "random+median")
EXTRA_STRATEGIES = ("asha-stopping",)
ASHA = ("asha", "asha-stopping")
WORKERS = (1, 4, 16, 64, 256)


@dataclass
class Run:
    """One study: where its best-so-far value (signed: larger is better) improved, by
    epochs trained (in simulated-time order) and simulated time, and what it cost."""

    strategy: str
    workers: int
    seed: int
    epochs: list[int]  # epochs trained when the best improved (1-based)
    times: list[float]  # simulated seconds then
    values: list[float]  # the best signed validation value from then on
    regret: float
    wall: float
    trials: int

    @property
    def final(self) -> float:
        return self.values[-1] if self.values else -math.inf

    def reached(self, target: float) -> tuple[float, float]:
        """(epochs, simulated seconds) when the best reached ``target``; inf if never."""
        for epochs, seconds, value in zip(self.epochs, self.times, self.values, strict=True):
            if value >= target:
                return float(epochs), seconds
        return math.inf, math.inf

    def key(self) -> tuple[str, int, int]:
        return self.strategy, self.workers, self.seed


def make_study(strategy: str, table: LearningCurveTable, seed: int, members: int) -> tl.Study:
    r = table.max_epochs
    searcher: str = "random"
    scheduler: dict[str, Any] = {"name": "fifo"}
    if strategy in ("hyperband", "asha", "bohb"):
        scheduler = {"name": strategy, "max_epochs": r, "min_epochs": 1, "eta": 3}
    if strategy == "asha-stopping":
        scheduler = {"name": "asha", "max_epochs": r, "min_epochs": 1, "eta": 3, "type": "stopping"}
    if strategy == "bohb":
        searcher = "tpe" if "tpe" in SEARCHERS else "random"
        scheduler["seed"] = seed
    elif strategy == "pbt":
        scheduler = {
            "name": "pbt",
            "max_epochs": r,
            "perturbation_interval": max(1, r // 9),
            "population_size": members,
            "seed": seed,
        }
    elif strategy == "random+median":
        scheduler = {"name": "median", "max_epochs": r}
    return tl.create_study(
        metric=table.metric,
        mode=table.mode,
        storage=":memory:",
        searcher=searcher,
        scheduler=scheduler,
        seed=seed,
        space=table.space,
    )


def run_one(
    table_name: str, strategy: str, workers: int, seed: int, members: int, restricted: bool
) -> Run:
    task = TabularTask(table_name)
    table = task.table
    study = make_study(strategy, table, seed, members)
    executor = SimulatedExecutor(n_workers=workers, start=0.0)
    started = time.perf_counter()
    study.optimize(
        task,
        max_epochs=members * table.max_epochs,
        executor=executor,
        max_consecutive_failures=None,
        candidates=table.configs if restricted else None,
        quiet=True,
    )
    wall = time.perf_counter() - started
    trials = study.trials
    sign = 1.0 if table.mode == "max" else -1.0
    points = sorted(
        (r.time, sign * r.metrics[table.metric])
        for t in trials
        for r in t.reports
        if table.metric in r.metrics
    )
    epochs: list[int] = []
    times: list[float] = []
    values: list[float] = []
    for n, (at, value) in enumerate(points, start=1):
        if not values or value > values[-1]:
            epochs.append(n)
            times.append(at)
            values.append(value)
    picked = study.best_trial
    index = int(picked.metrics.get("table_index", table.nearest(picked.params)))
    regret = sign * (table.best() - float(table.curve(index)[-1]))
    return Run(strategy, workers, seed, epochs, times, values, regret, wall, len(trials))


def _run_args(args: tuple[str, str, int, int, int, bool]) -> Run:
    return run_one(*args)


def bootstrap_ratio(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n: int = 1000
) -> tuple[float, float, float]:
    """median(a) / median(b) and a bootstrap 95% interval (seeds resampled in each); NaN
    where the median of ``b`` is infinite (the reference never got there: no ratio)."""

    def ratio(x: np.ndarray, y: np.ndarray) -> float:
        mx, my = float(np.median(x)), float(np.median(y))
        if math.isinf(mx):
            return math.inf
        if math.isinf(my):
            return math.nan
        return mx / my if my > 0 else math.inf

    point = ratio(a, b)
    # inf / inf when neither reached the target; every draw NaN when the reference never did
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        draws = [ratio(rng.choice(a, a.size), rng.choice(b, b.size)) for _ in range(n)]
        drawn = np.array(draws)
        # Without interpolation: between two infinite draws it would give nan.
        low = np.nanpercentile(drawn, 2.5, method="lower")
        high = np.nanpercentile(drawn, 97.5, method="higher")
    return point, float(low), float(high)


def _ratio_cell(point: float, low: float, high: float) -> str:
    if math.isinf(point):
        return "never"
    if math.isnan(point):
        return "n/a (reference never)"
    top = "inf" if math.isinf(high) else f"{high:.2f}"
    return f"{point:.2f} [{low:.2f}, {top}]"


def _median_cell(values: np.ndarray, scale: float = 1.0, fmt: str = "{:.0f}") -> str:
    m = float(np.median(values))
    return "never" if math.isinf(m) else fmt.format(m / scale)


def random_order(table: LearningCurveTable, seed: int) -> list[int]:
    """The order in which random search, restricted to the table's rows, starts them."""
    rows = CandidateList(table.space, table.configs)
    index = {config_key(config): i for i, config in enumerate(rows.configs)}
    draw = np.random.default_rng(seed).random
    order = []
    while (row := rows.take(sample_config(table.space, draw))) is not None:
        order.append(index[config_key(row)])
    return order


def seconds_to_target(table: LearningCurveTable, target: float) -> np.ndarray:
    """Per row, the simulated seconds of training until its curve first reaches
    ``target`` (signed: larger is better); inf for rows that never do."""
    sign = 1.0 if table.mode == "max" else -1.0
    to_target = np.full(len(table.configs), math.inf)
    for i in range(len(table.configs)):
        reached = np.nonzero(sign * table.curve(i) >= target)[0]
        if reached.size:
            to_target[i] = sum(table.seconds(i, e) for e in range(1, int(reached[0]) + 2))
    return to_target


def oracle_seconds(
    table: LearningCurveTable, to_target: np.ndarray, workers: Sequence[int], seeds: int
) -> dict[int, np.ndarray]:
    """Per worker count and seed, the simulated seconds an oracle needs to reach the
    target (``to_target``: each row's seconds to it, from :func:`seconds_to_target`): it
    starts rows in random search's order, stops every row that never reaches the target
    after its first epoch (the least a scheduler spends on a row it starts) and trains
    every row that does straight to the epoch where it does.
    No strategy that starts rows in that order and trains each one at least an epoch
    gets there sooner: a lower bound on asha's, hyperband's and random search's time."""
    first_epoch = np.array([table.seconds(i, 1) for i in range(len(table.configs))])
    out = {w: np.full(seeds, math.inf) for w in workers}
    for seed in range(seeds):
        order = random_order(table, seed)
        for w, best in out.items():
            free = [0.0] * w  # when each worker is next free
            for row in order:
                start = heapq.heappop(free)
                if start >= best[seed]:
                    break
                best[seed] = min(best[seed], start + to_target[row])
                heapq.heappush(free, start + min(first_epoch[row], to_target[row]))
    return out


def report(
    runs: Sequence[Run], table: LearningCurveTable, strategies: Sequence[str], budget: int
) -> None:
    """Print the table; ``budget`` is every run's epoch budget (random search's epochs)."""
    rng = np.random.default_rng(0)
    by: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        by.setdefault((run.strategy, run.workers), []).append(run)
    workers = sorted({run.workers for run in runs})
    print(
        "\n| strategy | workers | runs reaching target | epochs to target | "
        "share of random's epochs [95% CI] | ratio to random's epochs to target [95% CI] | "
        "sim. seconds to target | "
        "ratio to random [95% CI] | regret median (IQR) | ms per trial |"
    )
    print("|---|---:|---:|---:|---|---|---:|---|---|---:|")
    spent = np.full(1, float(budget))
    sim_to_target: dict[tuple[str, int], np.ndarray] = {}
    # One target for every worker count: sequential random search's final median best. (Run
    # on many workers with the same epoch budget, random search cuts its last trials short
    # and ends lower; a target that fell with the worker count would flatter the speed-up.)
    # The lower median: a value some run reached (with an even number of seeds the plain
    # median may be the mean of two values that no run reached).
    reference = by.get(("random", 1)) or by.get(("random", workers[0]), [])
    target = float(np.percentile([r.final for r in reference], 50, method="lower"))
    for w in workers:
        baseline = by.get(("random", w))
        if not baseline:
            continue
        base = np.array([r.reached(target) for r in baseline])
        for strategy in strategies:
            group = by.get((strategy, w), [])
            if not group:
                continue
            hit = np.array([r.reached(target) for r in group])
            sim_to_target[strategy, w] = hit[:, 1]
            regrets = np.array([r.regret for r in group])
            q1, q3 = np.percentile(regrets, [25, 75])
            per_trial = 1000.0 * sum(r.wall for r in group) / sum(r.trials for r in group)
            print(
                f"| {strategy} | {w} | {int(np.isfinite(hit[:, 0]).sum())}/{len(group)} | "
                f"{_median_cell(hit[:, 0])} | "
                f"{_ratio_cell(*bootstrap_ratio(hit[:, 0], spent, rng))} | "
                f"{_ratio_cell(*bootstrap_ratio(hit[:, 0], base[:, 0], rng))} | "
                f"{_median_cell(hit[:, 1], 1.0, '{:.1f}')} | "
                f"{_ratio_cell(*bootstrap_ratio(hit[:, 1], base[:, 1], rng))} | "
                f"{np.median(regrets):.4f} ({q1:.4f}-{q3:.4f}) | {per_trial:.2f} |"
            )
    oracles: dict[int, np.ndarray] = {}  # the same for every asha variant
    fastest: np.ndarray | None = None
    for asha in ASHA:
        one = sim_to_target.get((asha, 1))
        if one is None:
            continue
        if fastest is None:
            fastest = seconds_to_target(table, target)
        reaching = int(np.isfinite(fastest).sum())
        if reaching:
            print(
                f"\n{reaching} of {len(fastest)} rows ever reach the target, the fastest "
                f"(row {int(np.argmin(fastest))}) after {fastest.min():.3f} s of training: "
                f"no strategy on any number of workers, not even one that knows the table, "
                f"can fall more than {float(np.median(one)) / fastest.min():.1f}x from "
                f"{asha}'s 1-worker time (median {np.median(one):.3f} s)"
            )
        parallel = [w for w in (16, 64) if (asha, w) in sim_to_target]
        missing = [w for w in parallel if w not in oracles]
        if missing:
            oracles.update(oracle_seconds(table, fastest, missing, len(one)))
        for w in parallel:
            many = sim_to_target[asha, w]
            if math.isinf(float(np.median(many))):
                print(f"\n{asha} on {w} workers: the median run never reached the target")
                continue
            point, low, high = bootstrap_ratio(one, many, rng)
            oracle = oracles[w]
            ceiling = float(np.median(one)) / float(np.median(oracle))
            print(
                f"\n{asha}: simulated time to target falls {_ratio_cell(point, low, high)}x "
                f"from 1 to {w} workers (median {np.median(many):.3f} s); an oracle "
                f"starting rows in random search's order needs {np.median(oracle):.3f} s "
                f"on {w} workers (median), so no such strategy can fall more than "
                f"{ceiling:.1f}x from {asha}'s 1-worker time"
            )
    print(
        f"\ntarget: random search's final median best on {reference[0].workers} worker(s), "
        f"{table.metric} {abs(target):.4f}; table {table.name}: best final {table.metric} "
        f"{table.best():.4f} ({table.mode})"
    )


def scale(table_name: str, trials: int, workers: int, strategy: str) -> None:
    task = TabularTask(table_name)
    table = task.table
    study = make_study(strategy, table, 0, trials)
    executor = SimulatedExecutor(n_workers=workers, start=0.0)
    started = time.perf_counter()
    usage = study.optimize(
        task, max_trials=trials, executor=executor, max_consecutive_failures=None, quiet=True
    )
    wall = time.perf_counter() - started
    print("\n| strategy | workers | trials | epochs | simulated seconds | wall s | ms per trial |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {strategy} | {workers} | {usage.trials} | {usage.epochs} | "
        f"{usage.seconds:.1f} | {wall:.1f} | {1000 * wall / max(usage.trials, 1):.3f} |"
    )


RESULTS = Path(__file__).resolve().parent / "results"


def read_results(path: Path) -> dict[tuple[str, int, int], Run]:
    """Runs already finished (a rerun continues; a line cut short by a kill is skipped)."""
    done: dict[tuple[str, int, int], Run] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                run = Run(**json.loads(line))
            except (json.JSONDecodeError, TypeError):
                continue
            done[run.key()] = run
    return done


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", default="digits_mlp", help="a shipped table or a .npz path")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--workers", default=",".join(map(str, WORKERS)))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument(
        "--budget-trials", type=int, default=30, help="epoch budget in full trials of R epochs"
    )
    parser.add_argument("--jobs", type=int, default=1, help="processes running studies")
    parser.add_argument(
        "--nearest",
        action="store_true",
        help="do not restrict studies to the table's configurations (rows may repeat)",
    )
    parser.add_argument(
        "--results",
        help="runs file (default: benchmarks/results/, named by table, its hash and budget)",
    )
    parser.add_argument("--quick", action="store_true", help="5 seeds, 1 and 16 workers")
    parser.add_argument(
        "--report-only", action="store_true", help="print the finished runs, run nothing"
    )
    parser.add_argument("--scale", action="store_true", help="one large study instead")
    parser.add_argument("--scale-trials", type=int, default=100_000)
    parser.add_argument("--scale-workers", type=int, default=256)
    parser.add_argument("--scale-strategy", default="asha", choices=STRATEGIES + EXTRA_STRATEGIES)
    args = parser.parse_args(argv)
    if args.scale:
        scale(args.table, args.scale_trials, args.scale_workers, args.scale_strategy)
        return
    seeds = 5 if args.quick else args.seeds
    workers = [1, 16] if args.quick else [int(w) for w in args.workers.split(",")]
    strategies = [s for s in args.strategies.split(",") if s]
    unknown = sorted(set(strategies) - set(STRATEGIES + EXTRA_STRATEGIES))
    if unknown:
        known = ", ".join(STRATEGIES + EXTRA_STRATEGIES)
        parser.error(f"unknown strategies {unknown}; known: {known}")
    if "random" not in strategies:
        strategies.insert(0, "random")  # the target and the ratios need it
    table = LearningCurveTable.load(args.table)
    jobs = [
        (args.table, s, w, seed, args.budget_trials, not args.nearest)
        for w in workers
        for s in strategies
        for seed in range(seeds)
    ]
    print(
        f"{table.name}: {len(table.configs)} configurations x {table.max_epochs} epochs; "
        f"budget {args.budget_trials * table.max_epochs} epochs per run; {seeds} seeds; "
        f"workers {workers}; {len(jobs)} runs on {args.jobs} processes; "
        + ("nearest recorded row, repeats allowed" if args.nearest else "rows not repeated")
    )
    # The table's content is in the default name: runs recorded on an earlier version of
    # a table (the MNIST one grew from 200 to 1000 rows) are never read back as this one's.
    fingerprint = hashlib.sha256(table_path(args.table).read_bytes()).hexdigest()[:8]
    results = Path(
        args.results
        or RESULTS
        / (
            f"multifidelity_sim_{table.name}_{fingerprint}_b{args.budget_trials}"
            f"{'_nearest' * args.nearest}.jsonl"
        )
    )
    done = read_results(results)
    pending = [job for job in jobs if (job[1], job[2], job[3]) not in done]
    if args.report_only:  # what the results file holds of these runs
        jobs = [job for job in jobs if (job[1], job[2], job[3]) in done]
        pending = []
    if len(pending) < len(jobs):
        print(f"{len(jobs) - len(pending)} runs read from {results}; {len(pending)} to run")
    started = time.perf_counter()
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as out:
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                for run in pool.map(_run_args, pending, chunksize=4):
                    done[run.key()] = run
                    out.write(json.dumps(asdict(run)) + "\n")
                    out.flush()
        else:
            for job in pending:
                run = _run_args(job)
                done[run.key()] = run
                out.write(json.dumps(asdict(run)) + "\n")
                out.flush()
    wall = time.perf_counter() - started
    runs = [done[(job[1], job[2], job[3])] for job in jobs]
    report(runs, table, strategies, args.budget_trials * table.max_epochs)
    print(
        f"\n{len(pending)} runs in {wall:.0f} s of wall time on {args.jobs} processes "
        f"({len(runs) - len(pending)} read from {results})"
    )


if __name__ == "__main__":
    main()
