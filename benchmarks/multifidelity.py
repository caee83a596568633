"""Multi-fidelity tuning at an equal epoch budget: tunelab vs Optuna vs Keras Tuner.

Strategies, each given the same total number of training epochs E (random search's
``--trials`` full trials of ``--max-epochs`` R epochs) on the same data split:

- tunelab: fifo + random (full-budget random search), hyperband, asha, bohb (with the
  ``tpe`` searcher when it exists, else random), pbt (E / R members of R epochs,
  exploring learning rate, dropout and batch size);
- Optuna: TPE sampler + HyperbandPruner (trials restart from scratch when promoted);
- Keras Tuner: Hyperband (Keras 3 on the torch backend), an equivalent Keras MLP;
- tunelab.keras: the same Keras script with tunelab's Keras front end (its Hyperband),
  so the two Hyperbands differ in the search alone, not in the framework.

Every epoch trained by any strategy is counted; a strategy is cut off when it has trained
E epochs (tunelab keeps to the budget itself). Prints the best validation accuracy
against cumulative epochs (median over seeds), the final numbers, and for hyperband,
asha and bohb the fraction of random search's epochs they needed to reach random
search's final best ("never" when they did not reach it): the median over seeds against
random search of the same seed (which shares their searcher seed, so hyperband and asha
start its configurations), and the median over every pair of different seeds (independent
draws).

    python benchmarks/multifidelity.py --jobs 2                  # digits, 5 seeds
    python benchmarks/multifidelity.py --task mnist_mlp --data-dir ../shared/datasets --jobs 2
    python benchmarks/multifidelity.py --quick                   # 2 seeds, small budget
    python benchmarks/multifidelity.py --task mnist_mlp --data-dir ../shared/datasets \
        --train-size 14000 --val-fraction 0.7142857 --jobs 2  # 4000 train / 10000 val
    python benchmarks/multifidelity.py --task mnist_mlp --report-only   # re-print the tables

Defaults: R = 27 epochs, eta = 3, rungs from 1 epoch; a budget of 30 full trials on
digits, 20 on MNIST (4000 training / 1000 validation images of ``--train-size`` 5000).
Every finished run is appended to ``--results`` (JSON lines: the setting, strategy,
seed, best-so-far curve and seconds) at once; runs of the same setting already there
are not repeated, so an interrupted benchmark continues where it stopped. With
``--jobs 2`` two runs share the two cores (each with one torch thread), which inflates
the seconds per run a little.

The task (``digits_mlp``, or ``mnist_mlp`` with ``--train-size`` rows and
``--data-dir``) gives the data: its train/validation split and its ``features``. Every
strategy searches the same small space (:func:`define_space`: 1-3 layers, activation,
dropout, learning rate, batch size; the tasks' own spaces are larger) and trains the
same network with Adam; the tunelab objective saves and loads model + optimizer state
through ``trial.report(checkpoint=...)``/``load_checkpoint()``.
Benchmark-only extras: pip install -e '.[benchmarks]'.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import tunelab as tl
from tunelab.searchers import SEARCHERS
from tunelab.tasks import make_task

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}
PBT_MUTABLE = ["learning_rate", "dropout", "batch_size"]


# -- data and training shared by tunelab and Optuna ---------------------------------------
@dataclass(frozen=True)
class Data:
    """Train and validation tensors of one task's split (the test part is never read)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    raw: Any = field(repr=False)

    @property
    def n_inputs(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max())) + 1


def load_data(task: Any) -> Data:
    """The task's train and validation rows as its own network sees them (``features``:
    MNIST pixels scaled to [0, 1] and flattened, digits as they are)."""
    splits = task.splits
    x_train = task.features(splits.x_train).reshape(len(splits.y_train), -1)
    x_val = task.features(splits.x_val).reshape(len(splits.y_val), -1)
    return Data(
        torch.tensor(x_train),
        torch.tensor(np.asarray(splits.y_train), dtype=torch.int64),
        torch.tensor(x_val),
        torch.tensor(np.asarray(splits.y_val), dtype=torch.int64),
        raw=(x_train, np.asarray(splits.y_train), x_val, np.asarray(splits.y_val)),
    )


def define_space(hp: Any) -> dict[str, Any]:
    """The search space of every strategy, tunelab's, Optuna's and Keras Tuner's alike:
    1-3 layers of 16-256 units, activation, one dropout rate, learning rate, batch size."""
    n_layers = hp.Int("n_layers", 1, 3)
    params: dict[str, Any] = {"n_layers": n_layers}
    for i in range(1, n_layers + 1):
        params[f"units_{i}"] = hp.Int(f"units_{i}", 16, 256, step=16)
    params["activation"] = hp.Choice("activation", list(ACTIVATIONS))
    params["dropout"] = hp.Float("dropout", 0.0, 0.5)
    params["learning_rate"] = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    params["batch_size"] = hp.Choice("batch_size", [16, 32, 64, 128])
    return params


def build_network(params: Mapping[str, Any], n_inputs: int, n_classes: int) -> nn.Sequential:
    """The MLP of :func:`define_space`'s parameters; a Dropout layer is always present
    (p may be 0) so that a PBT clone with another dropout still loads its donor's weights."""
    layers: list[nn.Module] = []
    width = n_inputs
    for i in range(1, int(params["n_layers"]) + 1):
        units = int(params[f"units_{i}"])
        layers += [
            nn.Linear(width, units),
            ACTIVATIONS[str(params["activation"])](),
            nn.Dropout(float(params["dropout"])),
        ]
        width = units
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


class Trainer:
    """One configuration's network, Adam optimizer and batch order, epoch by epoch."""

    def __init__(self, params: Mapping[str, Any], data: Data, seed: int) -> None:
        torch.manual_seed(seed)
        self.data = data
        self.params = dict(params)
        self.model = build_network(params, data.n_inputs, data.n_classes)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=float(params["learning_rate"])
        )
        self.generator = torch.Generator().manual_seed(seed)

    def state(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load(self, state: Mapping[str, Any]) -> int:
        """Continue from ``state``, keeping this configuration's learning rate (a PBT
        clone loads its donor's optimizer state with its own hyperparameters)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:
            group["lr"] = float(self.params["learning_rate"])
        self.generator.set_state(state["generator"])
        return int(state["epoch"])

    def epoch(self) -> tuple[float, float]:
        """Train one epoch; return (validation accuracy, validation loss)."""
        x, y = self.data.x_train, self.data.y_train
        batch = int(self.params["batch_size"])
        self.model.train()
        order = torch.randperm(len(x), generator=self.generator)
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            self.optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(self.model(x[idx]), y[idx]).backward()
            self.optimizer.step()
        self.model.eval()
        with torch.inference_mode():
            logits = self.model(self.data.x_val)
            loss = float(F.cross_entropy(logits, self.data.y_val))
            accuracy = float((logits.argmax(1) == self.data.y_val).float().mean())
        return accuracy, loss


@dataclass
class Recorder:
    """Validation accuracy of every epoch trained, in order; enforces the epoch budget."""

    budget: int
    accuracies: list[float] = field(default_factory=list)

    @property
    def used(self) -> int:
        return len(self.accuracies)

    def add(self, accuracy: float) -> None:
        assert self.used < self.budget, "trained past the epoch budget"
        self.accuracies.append(accuracy)

    def best_curve(self) -> list[float]:
        out, best = [], 0.0
        for a in self.accuracies:
            best = max(best, a)
            out.append(best)
        return out


def _seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


# -- tunelab ------------------------------------------------------------------------------
def tunelab_run(
    data: Data, recorder: Recorder, strategy: str, r: int, seed: int, r_min: int = 1
) -> None:
    def objective(trial: tl.Trial) -> None:
        params = define_space(trial.hp)
        trainer = Trainer(params, data, _seed(seed, trial.number))
        state = trial.load_checkpoint()
        start = trainer.load(state) if state is not None else 0
        for epoch in range(start + 1, (trial.budget or r) + 1):
            accuracy, loss = trainer.epoch()
            recorder.add(accuracy)
            trial.report(
                epoch,
                val_accuracy=accuracy,
                val_loss=loss,
                checkpoint=lambda epoch=epoch: trainer.state(epoch),
            )

    searcher = "random"
    scheduler: dict[str, Any] = {"name": strategy, "max_epochs": r}
    if strategy in ("hyperband", "asha", "bohb"):
        scheduler["min_epochs"] = r_min
    if strategy == "bohb":
        searcher = "tpe" if "tpe" in SEARCHERS else "random"
        scheduler["seed"] = seed
    elif strategy == "pbt":
        scheduler.update(
            perturbation_interval=max(1, r // 9),
            population_size=recorder.budget // r,
            mutate=PBT_MUTABLE,
            seed=seed,
        )
    study = tl.create_study(
        metric="val_accuracy",
        mode="max",
        storage=":memory:",
        searcher=searcher,
        scheduler=scheduler,
        seed=seed,
    )
    study.optimize(objective, max_epochs=recorder.budget, quiet=True)


# -- Optuna -------------------------------------------------------------------------------
class OptunaHP:
    """The ``hp`` calls :func:`define_space` makes, answered by an Optuna trial's
    ``suggest_*`` (the same calls in the same order as writing them out by hand)."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def Int(self, name: str, low: int, high: int, step: int = 1) -> int:  # noqa: N802
        return int(self.trial.suggest_int(name, low, high, step=step))

    def Float(self, name: str, low: float, high: float, sampling: str = "linear") -> float:  # noqa: N802
        return float(self.trial.suggest_float(name, low, high, log=sampling == "log"))

    def Choice(self, name: str, values: list[Any]) -> Any:  # noqa: N802
        return self.trial.suggest_categorical(name, values)


def optuna_run(data: Data, recorder: Recorder, r: int, seed: int, r_min: int = 1) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        # HyperbandPruner assigns trials to brackets by a hash of the study name: a fixed
        # name makes the run repeatable (the default name is random).
        study_name=f"multifidelity-{seed}",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(
            min_resource=r_min, max_resource=r, reduction_factor=3
        ),
    )

    def objective(trial: Any) -> float:
        params = define_space(OptunaHP(trial))
        trainer = Trainer(params, data, _seed(seed, trial.number))
        best = 0.0
        for epoch in range(1, r + 1):
            if recorder.used >= recorder.budget:
                study.stop()
                raise optuna.TrialPruned()
            accuracy, _ = trainer.epoch()
            recorder.add(accuracy)
            best = max(best, accuracy)
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return best

    study.optimize(objective, n_trials=1_000_000)


# -- Keras Tuner --------------------------------------------------------------------------
def keras_tuner_run(
    data: Data, recorder: Recorder, r: int, seed: int, directory: str, front_end: str
) -> None:
    """Hyperband on a Keras MLP, by Keras Tuner (``front_end="keras_tuner"``) or by
    tunelab's Keras front end (``"tunelab.keras"``): the same model code and callbacks,
    only the import differs, so the two compare the search and nothing else."""
    import importlib

    import keras

    kt: Any = importlib.import_module(front_end)
    tunelab_front = front_end == "tunelab.keras"

    keras.utils.set_random_seed(seed)
    x_train, y_train, x_val, y_val = data.raw
    n_classes = data.n_classes

    class MLP(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            model = keras.Sequential([keras.Input((x_train.shape[1],))])
            activation = hp.Choice("activation", list(ACTIVATIONS))
            dropout = hp.Float("dropout", 0.0, 0.5)
            for i in range(1, hp.Int("n_layers", 1, 3) + 1):
                model.add(keras.layers.Dense(hp.Int(f"units_{i}", 16, 256, step=16), activation))
                model.add(keras.layers.Dropout(dropout))
            model.add(keras.layers.Dense(n_classes))
            lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
            hp.Choice("batch_size", [16, 32, 64, 128])
            model.compile(
                optimizer=keras.optimizers.Adam(lr),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
            )
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(*args, batch_size=hp.get("batch_size"), **kwargs)

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
            recorder.add(float((logs or {})["val_accuracy"]))
            if recorder.used >= recorder.budget and not tunelab_front:
                raise kt.errors.FatalError("epoch budget used")

    # Keras Tuner runs iterations until stopped; tunelab keeps to an epoch budget itself.
    limit = {"epoch_budget": recorder.budget} if tunelab_front else {"hyperband_iterations": 1000}
    tuner = kt.Hyperband(
        MLP(),
        objective="val_accuracy",
        max_epochs=r,
        factor=3,
        seed=seed,
        directory=directory,
        project_name=f"kt-{seed}",
        overwrite=True,
        **limit,
    )
    stop: type[BaseException] = kt.errors.FatalError if not tunelab_front else RuntimeError
    with contextlib.suppress(stop), warnings.catch_warnings():
        # Keras Tuner reloads weights without the optimizer state, and says so each time.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        tuner.search(
            x_train, y_train, validation_data=(x_val, y_val), callbacks=[Count()], verbose=0
        )


# -- the comparison -----------------------------------------------------------------------
STRATEGIES = [
    "tunelab fifo+random",
    "tunelab hyperband",
    "tunelab asha",
    "tunelab bohb",
    "tunelab pbt",
    "optuna tpe+hyperband",
    "keras-tuner hyperband",
    "tunelab.keras hyperband",
]


@dataclass
class Result:
    curve: list[float]
    seconds: float


@dataclass(frozen=True)
class Setting:
    """What one benchmark run is: the task and its data, R, the epoch budget, the rungs."""

    task: str
    train_size: int
    val_fraction: float
    data_dir: str | None
    r: int
    budget: int
    r_min: int

    def key(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "train_size": self.train_size if self.task == "mnist_mlp" else None,
            "val_fraction": self.val_fraction if self.task == "mnist_mlp" else None,
            "r": self.r,
            "budget": self.budget,
            "r_min": self.r_min,
        }


@lru_cache(maxsize=2)
def task_data(task_name: str, train_size: int, val_fraction: float, data_dir: str | None) -> Data:
    """The task's tensors, loaded once per process."""
    options: dict[str, Any] = {"seed": 0}
    if task_name == "mnist_mlp":
        options.update(train_size=train_size, val_fraction=val_fraction)
        if data_dir:
            options["data_dir"] = data_dir
    return load_data(make_task(task_name, **options))


def run_strategy(name: str, setting: Setting, seed: int) -> Result:
    torch.set_num_threads(1)
    data = task_data(setting.task, setting.train_size, setting.val_fraction, setting.data_dir)
    r, r_min = setting.r, setting.r_min
    recorder = Recorder(setting.budget)
    start = time.perf_counter()
    if name.startswith(("keras-tuner", "tunelab.keras")):
        front_end = "tunelab.keras" if name.startswith("tunelab.keras") else "keras_tuner"
        with tempfile.TemporaryDirectory() as tmp:
            keras_tuner_run(data, recorder, r, seed, tmp, front_end)
    elif name.startswith("optuna"):
        optuna_run(data, recorder, r, seed, r_min)
    else:
        strategy = name.split()[1].replace("+random", "")
        tunelab_run(data, recorder, strategy, r, seed, r_min)
    return Result(recorder.best_curve(), time.perf_counter() - start)


def epochs_to_reach(curve: list[float], target: float) -> float:
    return next((i + 1 for i, best in enumerate(curve) if best >= target), math.inf)


def reach_fraction(run: Result, random_run: Result) -> float:
    """Epochs ``run`` needed to reach ``random_run``'s final best, as a fraction of
    random search's epochs (inf when it never did)."""
    return epochs_to_reach(run.curve, random_run.curve[-1]) / len(random_run.curve)


def _fraction(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:.3f}"


def _judged(value: float) -> str:
    """A median fraction and whether it meets the one-third target."""
    return f"{_fraction(value)} ({'met' if value <= 1 / 3 else 'missed'})"


def default_trials(task: str) -> int:
    """Random search's full trials, the budget's unit: 20 on MNIST, 30 on digits."""
    return 20 if task == "mnist_mlp" else 30


def at(curve: list[float], epochs: int) -> float:
    return curve[min(epochs, len(curve)) - 1] if curve else 0.0


# -- results file: every finished run is appended at once, and never repeated -------------
def read_runs(path: Path, setting: Setting) -> dict[tuple[str, int], Result]:
    """The runs of ``setting`` already in ``path`` (JSON lines), by (strategy, seed)."""
    runs: dict[tuple[str, int], Result] = {}
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if {k: row.get(k) for k in setting.key()} == setting.key():
            runs[(row["strategy"], int(row["seed"]))] = Result(row["curve"], row["seconds"])
    return runs


def append_run(path: Path, setting: Setting, name: str, seed: int, result: Result) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {**setting.key(), "strategy": name, "seed": seed}
    row.update(curve=result.curve, seconds=round(result.seconds, 2))
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def run_all(
    todo: list[tuple[str, int]], setting: Setting, path: Path, jobs: int
) -> dict[tuple[str, int], Result]:
    """Run every (strategy, seed) of ``todo``, ``jobs`` at a time; skipped strategies
    (a peer not installed) are left out of the answer."""
    done: dict[tuple[str, int], Result] = {}

    def record(name: str, seed: int, outcome: Callable[[], Result]) -> None:
        try:
            result = outcome()
        except ImportError as exc:
            print(f"  {name}: skipped ({exc}); pip install -e '.[benchmarks]'")
            return
        append_run(path, setting, name, seed, result)
        done[(name, seed)] = result
        print(
            f"  seed {seed} {name:<24} best {result.curve[-1]:.4f} after "
            f"{len(result.curve)} epochs, {result.seconds:.1f} s",
            flush=True,
        )

    if jobs <= 1:
        for name, seed in todo:
            record(name, seed, partial(run_strategy, name, setting, seed))
        return done
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {
            pool.submit(run_strategy, name, setting, seed): (name, seed) for name, seed in todo
        }
        for future in as_completed(futures):
            record(*futures[future], future.result)
    return done


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """The options :func:`task_data` reads: --task, --train-size, --val-fraction, --data-dir."""
    parser.add_argument("--task", default="digits_mlp", help="digits_mlp or mnist_mlp")
    parser.add_argument("--train-size", type=int, default=5000, help="mnist_mlp subset")
    parser.add_argument(
        "--val-fraction", type=float, default=0.2, help="mnist_mlp: part of the subset held out"
    )
    parser.add_argument("--data-dir", default=None, help="mnist_mlp data folder")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_options(parser)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-epochs", type=int, default=None, help="R: epochs per trial at most")
    parser.add_argument(
        "--min-epochs", type=int, default=1, help="smallest rung (hyperband, asha, bohb, optuna)"
    )
    parser.add_argument("--trials", type=int, default=None, help="random search's trials")
    parser.add_argument("--quick", action="store_true", help="2 seeds, R=9, 10 trials")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument(
        "--results",
        type=Path,
        default=Path(__file__).parent / "results" / "multifidelity.jsonl",
        help="JSON-lines file of finished runs (resumed, never repeated)",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore runs already in --results")
    parser.add_argument("--report-only", action="store_true", help="print from --results")
    args = parser.parse_args()
    r = args.max_epochs or (9 if args.quick else 27)
    trials = args.trials or (10 if args.quick else default_trials(args.task))
    seeds = list(range(args.first_seed, args.first_seed + (2 if args.quick else args.seeds)))
    setting = Setting(
        args.task,
        args.train_size,
        args.val_fraction,
        args.data_dir,
        r,
        r * trials,
        args.min_epochs,
    )
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies {unknown}; choose from {STRATEGIES}")

    rows = "the results file"  # --report-only needs no data
    if not args.report_only:
        data = task_data(setting.task, setting.train_size, setting.val_fraction, setting.data_dir)
        rows = f"{len(data.y_train)} train / {len(data.y_val)} validation rows"
    print(
        f"{args.task}: {rows}; "
        f"R={r} epochs per trial, min {args.min_epochs}, eta=3; budget {setting.budget} "
        f"epochs (= {trials} full random trials); seeds {seeds[0]}-{seeds[-1]}; bohb "
        f"searcher: {'tpe' if 'tpe' in SEARCHERS else 'random (no tpe)'}; results in "
        f"{args.results}"
    )
    known = {} if args.fresh else read_runs(args.results, setting)
    if not args.report_only:
        todo = [(n, s) for s in seeds for n in strategies if (n, s) not in known]
        if len(todo) < len(seeds) * len(strategies):
            print(f"  {len(seeds) * len(strategies) - len(todo)} runs already in the results file")
        known.update(run_all(todo, setting, args.results, args.jobs))
    results = {
        name: {s: known[(name, s)] for s in seeds if (name, s) in known} for name in strategies
    }
    report({k: v for k, v in results.items() if v}, setting.budget, r)


def report(results: dict[str, dict[int, Result]], budget: int, r: int) -> None:
    """The tables, from each strategy's runs by seed."""
    marks = sorted({max(1, budget // 9), max(1, budget // 3), 2 * budget // 3, budget})
    print(f"\nbest validation accuracy against cumulative epochs (median over seeds), R={r}\n")
    print(
        "| strategy | seeds | " + " | ".join(f"{m} ep" for m in marks) + " | epochs used | s/run |"
    )
    print("|---|---:|" + "---:|" * (len(marks) + 2))
    for name, by_seed in results.items():
        runs = list(by_seed.values())
        cells = [f"{statistics.median(at(x.curve, m) for x in runs):.4f}" for m in marks]
        used = statistics.median(len(x.curve) for x in runs)
        seconds = statistics.median(x.seconds for x in runs)
        print(f"| {name} | {len(runs)} | " + " | ".join(cells) + f" | {used:.0f} | {seconds:.1f} |")

    random_runs = results.get("tunelab fifo+random", {})
    if random_runs:
        print(
            "\nepochs needed to reach full-budget random search's final best, as a fraction of "
            "random search's epochs (target <= 0.333). Same seed: the two runs share their "
            "searcher seed, so hyperband and asha start random search's configurations in "
            "its order, and the question is whether they keep random search's winner. "
            "Independent: every run against random search's runs of the other seeds (no "
            "shared draws), what a user choosing one strategy or the other gets.\n"
        )
        print("| strategy | same seed, per seed | same seed, median | independent, median |")
        print("|---|---|---:|---:|")
        for name in ("tunelab hyperband", "tunelab asha", "tunelab bohb"):
            by_seed = results.get(name, {})
            same = [
                reach_fraction(run, random_runs[s])
                for s, run in by_seed.items()
                if s in random_runs
            ]
            if not same:
                continue
            independent = [
                reach_fraction(run, rand)
                for s, run in by_seed.items()
                for t, rand in random_runs.items()
                if s != t
            ]
            per_seed = ", ".join(_fraction(f) for f in same)
            independent_cell = (
                f"{_judged(statistics.median(independent))}, {len(independent)} pairs"
                if independent
                else "-"
            )
            cells = [per_seed, _judged(statistics.median(same)), independent_cell]
            print(f"| {name} | " + " | ".join(cells) + " |")
    theirs = results.get("keras-tuner hyperband", {})
    for ours_name in ("tunelab hyperband", "tunelab.keras hyperband"):
        ours = results.get(ours_name, {})
        pairs = [(run.curve[-1], theirs[s].curve[-1]) for s, run in ours.items() if s in theirs]
        if not pairs:
            continue
        a = statistics.median(o for o, _ in pairs)
        b = statistics.median(t for _, t in pairs)
        ahead = sum(o > t for o, t in pairs)
        tied = sum(o == t for o, t in pairs)
        print(
            f"\n{ours_name} final {a:.4f} vs Keras Tuner hyperband {b:.4f} (median over the "
            f"{len(pairs)} seeds both ran, same budget): at least as good: "
            f"{'yes' if a >= b else 'no'}; seed by seed ahead {ahead}, tied {tied}, "
            f"behind {len(pairs) - ahead - tied}"
        )


if __name__ == "__main__":
    main()
