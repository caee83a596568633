"""Tabular benchmarks: a table recorded here from the real digits task, and its task."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.hyperparameters import HyperParameters
from tunelab.searchers.base import History
from tunelab.searchers.sobol import SobolSearcher
from tunelab.space import Config
from tunelab.tasks import TASKS, make_task
from tunelab.tasks.gan import MnistGAN
from tunelab.tasks.mlp import DigitsMLP, MnistMLP
from tunelab.tasks.tabular import (
    LearningCurveTable,
    TabularTask,
    define_space,
    shipped_tables,
)
from tunelab.tasks.tabular_table import TABLES_DIR, write_table

from .trials import make_checkpoint_trial, make_trial

EPOCHS = 3
METRICS = ["val_accuracy", "val_loss", "train_loss", "test_accuracy", "test_loss"]


class Recorded:
    """A 3-configuration x 3-epoch table of the real digits MLP, and what went into it."""

    def __init__(self, folder: Path) -> None:
        task = DigitsMLP(epochs=EPOCHS, patience=None)
        hp = HyperParameters()
        task.define(hp)
        self.space = hp.space
        history = History(space=self.space, metric="val_accuracy", mode="max")
        self.configs: list[Config] = [
            dict(p.config) for p in SobolSearcher(seed=0).suggest(history, 3)
        ]
        self.rows = [task.record_curve(c, EPOCHS, index=i) for i, c in enumerate(self.configs)]
        values = np.array([[[m[k] for k in METRICS] for m, _ in rows] for rows in self.rows])
        seconds = np.array([[s for _, s in rows] for rows in self.rows])
        self.path = write_table(
            folder / "tiny_digits.npz",
            name="tiny_digits",
            metric="val_accuracy",
            mode="max",
            space=self.space,
            configs=self.configs,
            metric_names=METRICS,
            values=values,
            seconds=seconds,
            task="digits_mlp",
        )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    return Recorded(tmp_path_factory.mktemp("tables"))


@pytest.fixture
def table(recorded: Recorded) -> LearningCurveTable:
    return LearningCurveTable.load(str(recorded.path))


@pytest.fixture
def task(recorded: Recorded) -> TabularTask:
    built = make_task("tabular", table=str(recorded.path))
    assert isinstance(built, TabularTask)
    return built


def test_nearest_is_exact_for_recorded_configurations(
    recorded: Recorded, table: LearningCurveTable
) -> None:
    assert table.configs == recorded.configs
    assert [table.nearest(c) for c in recorded.configs] == [0, 1, 2]
    # Inactive or unknown parameters do not change the answer.
    assert table.nearest({**recorded.configs[1], "not_a_parameter": 3}) == 1


def test_nearest_answers_an_unrecorded_configuration_with_the_closest_one(
    recorded: Recorded, table: LearningCurveTable
) -> None:
    nudged = dict(recorded.configs[2])
    nudged["learning_rate"] = float(nudged["learning_rate"]) * 1.001
    assert nudged not in table.configs
    assert table.nearest(nudged) == 2


def test_metrics_and_seconds_round_trip_through_the_file(
    recorded: Recorded, table: LearningCurveTable
) -> None:
    assert (table.name, table.metric, table.mode, table.max_epochs) == (
        "tiny_digits",
        "val_accuracy",
        "max",
        EPOCHS,
    )
    assert table.space == recorded.space
    for i, rows in enumerate(recorded.rows):
        for epoch, (metrics, seconds) in enumerate(rows, start=1):
            assert table.metrics(i, epoch) == {k: float(np.float32(v)) for k, v in metrics.items()}
            assert table.seconds(i, epoch) == float(np.float32(seconds)) > 0
    final = [rows[-1][0]["val_accuracy"] for rows in recorded.rows]
    assert table.best() == float(np.float32(max(final)))


def test_epochs_and_indices_outside_the_table_are_refused(table: LearningCurveTable) -> None:
    with pytest.raises(IndexError, match=r"epochs 1\.\.3, not 4"):
        table.metrics(0, EPOCHS + 1)
    with pytest.raises(IndexError, match=r"configurations 0\.\.2, not 3"):
        table.seconds(3, 1)


def test_the_task_defines_the_recorded_tasks_space(recorded: Recorded, task: TabularTask) -> None:
    hp = HyperParameters()
    assert define_space(hp, recorded.space) == recorded.space.defaults()
    assert hp.space == recorded.space
    assert task.space() == recorded.space
    assert (task.metric, task.mode) == ("val_accuracy", "max")


def test_the_objective_reports_the_recorded_curve_with_epoch_seconds(
    recorded: Recorded, table: LearningCurveTable, task: TabularTask
) -> None:
    trial, log = make_trial(recorded.configs[1], budget=2)
    result = task.objective(trial)
    assert log.steps() == [1, 2]
    for epoch, reported in log.reports:
        expected = {k: v for k, v in table.metrics(1, epoch).items() if not k.startswith("test_")}
        assert reported == {**expected, "epoch_seconds": table.seconds(1, epoch)}
    best_epoch = max((1, 2), key=lambda e: (table.metrics(1, e)["val_accuracy"], -e))
    assert result["val_accuracy"] == table.metrics(1, best_epoch)["val_accuracy"]
    assert result["best_epoch"] == best_epoch
    assert (result["epochs_trained"], result["table_index"]) == (2, 1)
    assert not any(k.startswith("test_") for k in result)


def test_a_budget_beyond_the_recorded_epochs_is_refused(
    recorded: Recorded, task: TabularTask
) -> None:
    trial, _ = make_trial(recorded.configs[0], budget=EPOCHS + 1)
    with pytest.raises(ConfigError, match=r"trial budget 4 is outside the table's recorded"):
        task.objective(trial)


def test_resume_from_a_checkpoint_continues_at_the_right_epoch(
    recorded: Recorded, task: TabularTask
) -> None:
    straight, straight_log = make_checkpoint_trial(recorded.configs[0], checkpoint_at=(1,))
    straight_result = task.objective(straight)
    resumed, resumed_log = make_checkpoint_trial(recorded.configs[0], resume_from=straight.saved[1])
    assert task.objective(resumed) == straight_result
    assert resumed_log.steps() == [2, 3]
    assert resumed_log.reports == straight_log.reports[1:]


def test_a_clone_continues_with_its_own_configurations_curve(
    recorded: Recorded, table: LearningCurveTable, task: TabularTask
) -> None:
    donor, _ = make_checkpoint_trial(recorded.configs[0], checkpoint_at=(1,))
    task.objective(donor)
    clone, log = make_checkpoint_trial(recorded.configs[2], number=5, resume_from=donor.saved[1])
    result = task.objective(clone)
    assert log.steps() == [2, 3]
    assert [r["val_loss"] for _, r in log.reports] == [
        table.metrics(2, e)["val_loss"] for e in (2, 3)
    ]
    assert result["table_index"] == 2


def test_a_study_with_random_search_and_hyperband_runs_on_the_table(
    table: LearningCurveTable, task: TabularTask
) -> None:
    study = tl.create_study(
        metric=task.metric,
        mode=task.mode,
        storage=":memory:",
        searcher="random",
        scheduler={"name": "hyperband", "max_epochs": EPOCHS},
        space=task.space(),
        seed=1,
    )
    study.optimize(task, max_trials=12, quiet=True)
    finished = study.get_trials()
    assert len(finished) == 12
    assert {t.budget for t in finished} >= {1, EPOCHS}
    for t in finished:
        index = table.nearest(t.params)
        for report in t.reports:
            assert report.metrics["epoch_seconds"] == table.seconds(index, report.step)
    assert study.best_trial.value is not None


def test_a_study_without_the_space_up_front_defines_it_by_run(
    recorded: Recorded, table: LearningCurveTable, task: TabularTask
) -> None:
    study = tl.create_study(
        metric=task.metric, mode=task.mode, storage=":memory:", searcher="random", seed=2
    )
    study.enqueue(recorded.configs[1])
    study.optimize(task, max_trials=3, quiet=True)
    finished = study.get_trials()
    assert len(finished) == 3
    assert finished[0].params == table.space.active(recorded.configs[1])
    assert finished[0].metrics["table_index"] == 1
    for t in finished:
        assert set(t.params) >= {
            p.name for p in table.space if table.space.is_active(p.name, t.params)
        }
        assert t.metrics["table_index"] == table.nearest(t.params)


def test_final_evaluation_reads_the_recorded_test_metrics(
    recorded: Recorded, table: LearningCurveTable, task: TabularTask
) -> None:
    assert task.final_evaluation(recorded.configs[2], 99) == {
        k: v for k, v in table.metrics(2, EPOCHS).items() if k.startswith("test_")
    }


def test_the_task_pickles_without_its_table(recorded: Recorded, task: TabularTask) -> None:
    copy = pickle.loads(pickle.dumps(task))
    assert copy.__dict__["_table"] is None
    assert copy.table.configs == recorded.configs
    assert copy.options() == {"table": str(recorded.path)}


def test_a_bad_table_name_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    for build in (
        lambda: LearningCurveTable.load("no_such_table"),
        lambda: make_task("tabular", table="no_such_table"),
    ):
        with pytest.raises(ConfigError, match=r"unknown learning-curve table 'no_such_table'") as e:
            build()
        assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match=r"table file '.*missing\.npz' does not exist"):
        LearningCurveTable.load(str(tmp_path / "missing.npz"))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a table")
    with pytest.raises(ConfigError, match=r"junk\.npz' is not a learning-curve table"):
        LearningCurveTable.load(str(junk))


def test_the_table_tasks_are_registered() -> None:
    assert TASKS["digits_mlp_table"] == "tunelab.tasks.tabular:DigitsMLPTable"
    assert TASKS["mnist_mlp_table"] == "tunelab.tasks.tabular:MnistMLPTable"
    assert TASKS["mnist_gan_table"] == "tunelab.tasks.tabular:MnistGANTable"
    assert TASKS["tabular"] == "tunelab.tasks.tabular:TabularTask"


@pytest.mark.skipif("digits_mlp" not in shipped_tables(), reason="digits table not recorded")
def test_the_shipped_digits_table_holds_1000_configurations_of_27_epochs() -> None:
    task = make_task("digits_mlp_table")
    assert isinstance(task, TabularTask)
    table = task.table
    assert len(table.configs) >= 1000
    assert table.max_epochs == 27
    assert table.values.shape == (len(table.configs), 27, len(table.metric_names))
    assert bool((table.epoch_seconds > 0).all())
    hp = HyperParameters()
    DigitsMLP().define(hp)
    assert table.space == hp.space
    assert [table.nearest(c) for c in table.configs[:50]] == list(range(50))
    assert 0.9 < table.best() <= 1.0


@pytest.mark.skipif("mnist_mlp" not in shipped_tables(), reason="MNIST table not recorded")
def test_the_shipped_mnist_table_holds_1000_configurations_of_27_epochs() -> None:
    task = make_task("mnist_mlp_table")
    assert isinstance(task, TabularTask)
    table = task.table
    assert len(table.configs) >= 1000
    assert table.max_epochs == 27
    assert bool((table.epoch_seconds > 0).all())
    hp = HyperParameters()
    MnistMLP().define(hp)
    assert table.space == hp.space
    assert table.task_options["train_size"] == 15000  # 5,000 training, 10,000 validation
    assert 0.9 < table.best() <= 1.0


@pytest.mark.skipif("mnist_gan" not in shipped_tables(), reason="GAN table not recorded")
def test_the_shipped_gan_table_replays_inception_scores_under_a_scheduler() -> None:
    task = make_task("mnist_gan_table")
    assert isinstance(task, TabularTask)
    table = task.table
    assert (task.metric, task.mode, table.max_epochs) == ("inception_score", "max", 8)
    assert bool((table.epoch_seconds > 0).all())
    hp = HyperParameters()
    MnistGAN(tune_learning_rates=True, learning_rate_range=(4e-4, 1.6e-3)).define(hp)
    assert table.space == hp.space
    assert {"fid", "test_fid", "test_inception_score"} <= set(table.metric_names)
    assert 1.0 <= table.best() < 9.7  # real test images score 9.7
    study = tl.create_study(
        metric=task.metric,
        mode=task.mode,
        storage=":memory:",
        space=task.space(),
        searcher="random",
        scheduler={"name": "asha", "max_epochs": 8, "min_epochs": 1, "eta": 3},
        seed=0,
    )
    study.optimize(task, max_trials=20, candidates=table.configs, quiet=True)
    best = study.best_trial  # completed, or paused at a rung by asha
    epochs = max(r.step for r in best.reports)
    curve = table.curve(table.nearest(best.params))
    assert best.value == pytest.approx(float(curve[:epochs].max()))
    assert all("fid" in r.metrics and "test_fid" not in r.metrics for r in best.reports)


def test_the_shipped_tables_stay_small() -> None:
    sizes = {p.name: p.stat().st_size for p in TABLES_DIR.glob("*.npz")}
    assert sum(sizes.values()) < 20e6, sizes
