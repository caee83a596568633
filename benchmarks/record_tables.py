"""Record the learning-curve tables that tunelab's tabular tasks replay.

For a task, draws N configurations by scrambled Sobol (tunelab's ``SobolSearcher``) from
the task's own search space, trains each for every epoch with the real task code
(``MLPTask.record_curve``, ``record_gan_curve`` for the GAN: no early stopping) and
records per epoch the validation metrics, the test metrics and the epoch's duration
(training + validation; CPU time of the worker's one torch thread on a CPU, so other
load barely changes it; wall time on a GPU). Finished
configurations are appended to a work file (``<work-dir>/<name>.jsonl``), so a rerun
continues where the last stopped, and a larger ``--configs`` extends a table (Sobol's
first N points do not change); without a work file, the rows of the table file being
written (same settings) are taken as recorded, so a shipped table is extended in a fresh
clone. The table file is rewritten every ``--save-every``
configurations and at the end.

    python benchmarks/record_tables.py digits_mlp --configs 1000 --jobs 2
    python benchmarks/record_tables.py mnist_mlp --configs 1000 --jobs 2 \\
        --data-dir ../shared/datasets
    python benchmarks/record_tables.py mnist_gan --configs 100 --jobs 2 \\
        --data-dir ../shared/datasets

The GAN table is the schedulers comparison's experiment (examples/compare/
mnist_gan_schedulers.yaml): the MLP GAN, 8 epochs of 1000 steps, both learning rates
tuned from 4e-4 to 1.6e-3; its metric is the Inception Score.

Configurations train in ``--jobs`` processes, one torch thread each, on the GPU when
torch sees one. Recorded times are those of this machine's cores (or GPU).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.hyperparameters import HyperParameters
from tunelab.searchers.base import History
from tunelab.searchers.sobol import SobolSearcher
from tunelab.space import Config, Space
from tunelab.tasks.gan import MnistGAN
from tunelab.tasks.gan_recording import GAN_TABLE_METRICS, record_gan_curve
from tunelab.tasks.mlp import DigitsMLP, MLPTask, MnistMLP
from tunelab.tasks.tabular_table import TABLES_DIR, LearningCurveTable, write_table

ROOT = Path(__file__).resolve().parents[1]
MLP_METRICS = ["val_accuracy", "val_loss", "train_loss", "test_accuracy", "test_loss"]
TABLES = ["digits_mlp", "mnist_mlp", "mnist_gan"]
DEFAULT_EPOCHS = {"digits_mlp": 27, "mnist_mlp": 27, "mnist_gan": 8}
RecordedTask = MLPTask | MnistGAN


def table_metrics(name: str) -> list[str]:
    """The metrics a row of table ``name`` records per epoch, its task's metric first."""
    return GAN_TABLE_METRICS if name == "mnist_gan" else MLP_METRICS


@dataclass(frozen=True)
class Recording:
    """What is recorded: the table's name, the task and its options, the draw."""

    name: str
    task_options: dict[str, Any]
    configs: int
    epochs: int
    seed: int

    def settings(self) -> dict[str, Any]:
        """What must match for a work file to be continued."""
        return {
            "name": self.name,
            "task_options": self.task_options,
            "epochs": self.epochs,
            "seed": self.seed,
        }


def make_task(name: str, options: dict[str, Any]) -> RecordedTask:
    if name == "digits_mlp":
        return DigitsMLP(**options)
    if name == "mnist_mlp":
        return MnistMLP(**options)
    if name == "mnist_gan":
        return MnistGAN(**options)
    raise SystemExit(f"record_tables.py: no recipe for table {name!r}; known: {TABLES}")


def task_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.name == "mnist_gan":
        data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
        return {
            "epochs": args.epochs,
            "seed": args.seed,
            "data_dir": data_dir,
            "download": data_dir is None,
            "tune_learning_rates": True,
            "learning_rate_range": [4e-4, 1.6e-3],
            "artifact_dir": None,
            "image_epochs": [],
        }
    options: dict[str, Any] = {"epochs": args.epochs, "seed": args.seed, "patience": None}
    if args.name == "mnist_mlp":
        # 5,000 training and 10,000 validation images from a stratified 15,000-image
        # subset of MNIST's training part; the official 10,000 test images are the test.
        data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
        options.update(
            data_dir=data_dir, train_size=15000, val_fraction=2 / 3, download=data_dir is None
        )
    return options


def task_space(task: RecordedTask) -> Space:
    """The task's whole search space, as its objective defines it."""
    hp = HyperParameters()
    task.define(hp)
    return hp.space


def draw_configs(space: Space, n: int, seed: int, metric: str, mode: Any) -> list[Config]:
    """The first ``n`` scrambled Sobol configurations of ``space`` (a prefix-stable draw)."""
    searcher = SobolSearcher(seed=seed)
    proposals = searcher.suggest(History(space=space, metric=metric, mode=mode), n)
    for p in proposals:
        space.validate(p.config)
    return [dict(p.config) for p in proposals]


# -- the work file ------------------------------------------------------------------------
def read_work(path: Path, recording: Recording) -> dict[int, dict[str, Any]]:
    """Finished configurations by index; refuses a work file of other settings."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"settings": recording.settings()}) + "\n")
        return {}
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    if header.get("settings") != json.loads(json.dumps(recording.settings())):
        raise SystemExit(
            f"record_tables.py: {path} was recorded with {header.get('settings')}, not "
            f"{recording.settings()}; move it away or use its settings"
        )
    done: dict[int, dict[str, Any]] = {}
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        done[int(row["index"])] = row
    return done


def rows_from_table(
    path: Path, recording: Recording, drawn: list[Config]
) -> dict[int, dict[str, Any]]:
    """A table file's rows as work-file rows, by their index among the drawn
    configurations: a table shipped without its work file is extended, not recorded
    again. Refuses a file recorded with other settings, which writing would replace."""
    table = LearningCurveTable.read(path)
    options = {k: v for k, v in recording.task_options.items() if k != "data_dir"}
    if (
        table.name != recording.name
        or table.max_epochs != recording.epochs
        or table.task_options != json.loads(json.dumps(options))
    ):
        raise SystemExit(
            f"record_tables.py: {path} holds {table.name} x {table.max_epochs} epochs with "
            f"options {table.task_options}, not these settings; pass --out to write elsewhere"
        )
    index_of = {json.dumps(c, sort_keys=True): i for i, c in enumerate(drawn)}
    rows = {}
    for row, config in enumerate(table.configs):
        i = index_of.get(json.dumps(config, sort_keys=True))
        if i is None:
            continue
        rows[i] = {
            "index": i,
            "config": dict(config),
            "metrics": {
                m: [float(v) for v in table.values[row, :, k]]
                for k, m in enumerate(table.metric_names)
            },
            "seconds": [float(v) for v in table.epoch_seconds[row]],
        }
    return rows


# -- the workers ----------------------------------------------------------------------------
_WORKER: dict[str, RecordedTask] = {}  # this process's task, data loaded


def _init_worker(name: str, options: dict[str, Any]) -> None:
    import torch

    torch.set_num_threads(1)
    task = _WORKER["task"] = make_task(name, options)
    _ = task.splits  # load the data once per process


def _record_one(job: tuple[int, Config, int]) -> dict[str, Any]:
    index, config, epochs = job
    task = _WORKER["task"]
    if isinstance(task, MnistGAN):
        rows = record_gan_curve(task, config, epochs, index=index)
    else:
        rows = task.record_curve(config, epochs, index=index)
    return {
        "index": index,
        "config": config,
        "metrics": {m: [r[0][m] for r in rows] for m in table_metrics(task.name)},
        "seconds": [r[1] for r in rows],
    }


def run_jobs(
    recording: Recording, jobs: list[tuple[int, Config, int]], n_jobs: int
) -> Iterator[dict[str, Any]]:
    if n_jobs <= 1:
        _init_worker(recording.name, recording.task_options)
        for job in jobs:
            yield _record_one(job)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        n_jobs, initializer=_init_worker, initargs=(recording.name, recording.task_options)
    ) as pool:
        yield from pool.imap_unordered(_record_one, jobs)


# -- the table --------------------------------------------------------------------------------
def save_table(
    out: Path,
    recording: Recording,
    space: Space,
    done: dict[int, dict[str, Any]],
    notes: dict[str, Any],
    task: RecordedTask,
) -> None:
    indices = sorted(done)
    metrics = table_metrics(recording.name)
    values = np.array(
        [
            [[done[i]["metrics"][m][e] for m in metrics] for e in range(recording.epochs)]
            for i in indices
        ],
        dtype=np.float32,
    ).reshape(len(indices), recording.epochs, len(metrics))
    seconds = np.array([done[i]["seconds"] for i in indices], dtype=np.float32).reshape(
        len(indices), recording.epochs
    )
    write_table(
        out,
        name=recording.name,
        metric=task.metric,
        mode=task.mode,
        space=space,
        configs=[done[i]["config"] for i in indices],
        metric_names=metrics,
        values=values,
        seconds=seconds,
        task=recording.name,
        task_options={k: v for k, v in recording.task_options.items() if k != "data_dir"},
        recording={**notes, "configs_planned": recording.configs, "configs_recorded": len(indices)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=TABLES)
    parser.add_argument("--configs", type=int, default=None, help="default 1000")
    parser.add_argument("--epochs", type=int, default=None, help="default 27 (MLPs), 8 (GAN)")
    parser.add_argument("--seed", type=int, default=0, help="Sobol scrambling and task seed")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (MNIST)")
    parser.add_argument("--out", type=Path, default=None, help="default: the shipped table")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "benchmarks" / "results" / "tables")
    parser.add_argument("--save-every", type=int, default=50)
    parser.add_argument("--limit", type=int, default=None, help="record at most this many now")
    args = parser.parse_args()
    configs = args.configs or 1000
    args.epochs = args.epochs or DEFAULT_EPOCHS[args.name]
    recording = Recording(args.name, task_options(args), configs, args.epochs, args.seed)
    out = args.out or TABLES_DIR / f"{args.name}.npz"
    task = make_task(args.name, recording.task_options)
    space = task_space(task)
    drawn = draw_configs(space, configs, args.seed, task.metric, task.mode)
    work = args.work_dir / f"{args.name}.jsonl"
    done = read_work(work, recording)
    if out.is_file():
        shipped = rows_from_table(out, recording, drawn)
        missing = sorted(set(shipped) - set(done))
        with work.open("a") as log:
            log.writelines(json.dumps(shipped[i]) + "\n" for i in missing)
        done.update({i: shipped[i] for i in missing})
    # The rows of this table: a work file recorded with more --configs holds more.
    rows = {i: row for i, row in done.items() if i < configs}
    for i, row in rows.items():
        if row["config"] != json.loads(json.dumps(drawn[i])):
            raise SystemExit(f"record_tables.py: {work} holds another configuration {i}")
    pending = [(i, drawn[i], args.epochs) for i in range(configs) if i not in rows]
    if args.limit is not None:
        pending = pending[: args.limit]
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    notes = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor(),
        "torch": torch.__version__,
        "jobs": args.jobs,
        "seconds_measure": "training + validation of the epoch, one torch thread per job",
        "recorded": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    print(
        f"{args.name}: {len(rows)} of {configs} configurations recorded, {len(pending)} to go "
        f"on {device} with {args.jobs} job(s); work file {work}",
        flush=True,
    )
    started = time.perf_counter()
    with work.open("a") as log:
        for n, row in enumerate(run_jobs(recording, pending, args.jobs), start=1):
            log.write(json.dumps(row) + "\n")
            log.flush()
            rows[int(row["index"])] = row
            elapsed = time.perf_counter() - started
            final = row["metrics"][task.metric][-1]
            print(
                f"[{len(rows)}/{configs}] config {row['index']}: {task.metric} {final:.4f}, "
                f"{sum(row['seconds']):.2f} s recorded; {elapsed / n:.2f} s wall per config, "
                f"about {elapsed / n * (len(pending) - n) / 60:.1f} min left",
                flush=True,
            )
            if n % args.save_every == 0:
                save_table(out, recording, space, rows, notes, task)
    save_table(out, recording, space, rows, notes, task)
    size = out.stat().st_size / 1e6
    print(f"wrote {out} ({len(rows)} configurations, {size:.2f} MB)")


if __name__ == "__main__":
    main()
