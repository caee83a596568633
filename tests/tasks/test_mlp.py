"""The MLP tasks (digits, MNIST, Fashion-MNIST), driven through real Trials.

The study engine is not needed here: a Trial only talks to its TrialChannel (see
trials.py). Studies that run these tasks end to end are in tests/test_evaluation.py.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tunelab.errors import ConfigError, DatasetError, SealedTestDataError
from tunelab.hyperparameters import HyperParameters
from tunelab.space import Config
from tunelab.tasks import TASKS, make_task
from tunelab.tasks.data import DatasetSplits
from tunelab.tasks.datasets import FASHION_MNIST
from tunelab.tasks.mlp import (
    ACTIVATIONS,
    LAYER_STRUCTURES,
    OPTIMIZERS,
    DigitsMLP,
    EarlyStopping,
    FashionMLP,
    MnistMLP,
    build_mlp,
    define_mlp_space,
    dropout_rates,
    layer_widths,
    make_optimizer,
)
from tunelab.tasks.sealed import SealedTestSet, tuning_phase
from tunelab.trial import Decision, TrialPruned

from .fake_idx import with_checksums, write_fake_dataset
from .trials import make_checkpoint_trial, make_trial

GOOD: Config = {
    "n_layers": 2,
    "layer_structure": "descending",
    "units": 128,
    "width_ratio": 0.5,
    "dropout_1": True,
    "dropout_rate_1": 0.1,
    "dropout_2": False,
    "activation": "relu",
    "optimizer": "adam",
    "learning_rate": 3e-3,
    "batch_size": 32,
}
SGD: Config = {**GOOD, "optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.05}


@pytest.fixture(scope="module")
def task() -> DigitsMLP:
    return DigitsMLP(epochs=20, seed=0, patience=None)


@pytest.fixture(scope="module")
def full_run(task: DigitsMLP) -> tuple[Any, Any, dict[str, float]]:
    trial, recorder = make_trial(GOOD)
    result = task.objective(trial)
    return trial, recorder, result


# -- the space -----------------------------------------------------------------------------
def test_space_names_and_conditions(full_run: Any) -> None:
    trial, _, _ = full_run
    assert trial.params == GOOD
    space = trial.hp.space
    assert space.names == [
        "n_layers",
        "layer_structure",
        "units",
        "width_ratio",
        *[f"units_{i}" for i in range(2, 6)],
        *[name for i in range(1, 6) for name in (f"dropout_{i}", f"dropout_rate_{i}")],
        "activation",
        "optimizer",
        "momentum",
        "learning_rate",
        "batch_size",
    ]
    assert [(c.parent, c.values) for c in space["units_3"].conditions] == [
        ("n_layers", (3, 4, 5)),
        ("layer_structure", ("free",)),
    ]
    assert [(c.parent, c.values) for c in space["dropout_rate_4"].conditions] == [
        ("n_layers", (4, 5)),
        ("dropout_4", (True,)),
    ]
    assert space["layer_structure"].to_dict()["values"] == list(LAYER_STRUCTURES)
    assert space["activation"].to_dict()["values"] == [
        "relu",
        "tanh",
        "sigmoid",
        "elu",
        "gelu",
        "selu",
        "silu",
    ]
    assert space["optimizer"].to_dict()["values"] == ["adam", "adamw", "rmsprop", "sgd"]
    assert space["momentum"].conditions[0].values == ("rmsprop", "sgd")
    for name in ("learning_rate", "batch_size", "units"):
        assert space[name].to_dict()["sampling"] == "log"
    assert space["batch_size"].to_dict()["type"] == "int"


def test_sobol_makes_every_layer_structure_as_likely_as_free() -> None:
    import tunelab as tl

    study = tl.create_study(metric="n", mode="max", searcher="sobol", storage=":memory:", seed=3)

    def widths_only(trial: tl.Trial) -> float:
        params = define_mlp_space(trial.hp)
        trial.set_user_attr("widths", layer_widths(params))
        return float(params["n_layers"])

    study.optimize(widths_only, max_trials=48, quiet=True)
    trials = study.trials
    structures = [t.params.get("layer_structure") for t in trials if t.params["n_layers"] > 1]
    counts = [structures.count(s) for s in LAYER_STRUCTURES]
    assert max(counts) - min(counts) <= 1, counts
    for t in trials:
        widths = t.user_attrs["widths"]
        assert len(widths) == t.params["n_layers"]
        structure = t.params.get("layer_structure", "uniform")
        if structure == "uniform":
            assert len(set(widths)) == 1
        elif structure == "descending":
            assert widths == sorted(widths, reverse=True) and widths[0] == t.params["units"]
        elif structure == "ascending":
            assert widths == sorted(widths) and widths[-1] == t.params["units"]


def test_layer_widths_per_structure() -> None:
    base: Config = {"n_layers": 4, "units": 256, "width_ratio": 0.25}
    assert layer_widths({**base, "layer_structure": "descending"}) == [256, 161, 102, 64]
    assert layer_widths({**base, "layer_structure": "ascending"}) == [64, 102, 161, 256]
    assert layer_widths({**base, "layer_structure": "uniform"}) == [256] * 4
    free = {**base, "layer_structure": "free", "units_2": 30, "units_3": 500, "units_4": 7}
    assert layer_widths(free) == [256, 30, 500, 7]
    assert layer_widths({"n_layers": 1, "units": 40}) == [40]
    narrow: Config = {"n_layers": 3, "units": 16, "layer_structure": "ascending"}
    narrow["width_ratio"] = 0.1
    assert layer_widths(narrow) == [4, 5, 16]
    with pytest.raises(ConfigError, match="'units_3'"):
        layer_widths({**base, "layer_structure": "free", "units_2": 3})


def test_build_mlp_follows_widths_dropout_and_activation() -> None:
    params: Config = {
        **GOOD,
        "n_layers": 3,
        "layer_structure": "free",
        "units_2": 64,
        "units_3": 32,
        "dropout_3": True,
        "dropout_rate_3": 0.25,
        "activation": "selu",
    }
    assert dropout_rates(params) == [0.1, 0.0, 0.25]
    model = build_mlp(params, 64, 10)
    linear = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (64, 128),
        (128, 64),
        (64, 32),
        (32, 10),
    ]
    assert [m.p for m in model if isinstance(m, torch.nn.Dropout)] == [0.1, 0.25]
    assert sum(isinstance(m, torch.nn.SELU) for m in model) == 3
    assert model(torch.zeros(5, 64)).shape == (5, 10)
    with pytest.raises(ConfigError, match="activation"):
        build_mlp({**GOOD, "activation": "swish"}, 64, 10)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_optimizer_and_activation_trains(optimizer: str, activation: str) -> None:
    params: Config = {
        **GOOD,
        "dropout_1": False,
        "optimizer": optimizer,
        "activation": activation,
        "momentum": 0.9,
        "learning_rate": 1e-3,
    }
    torch.manual_seed(0)
    model = build_mlp(params, 8, 3)
    opt = make_optimizer(params, model)
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    expected = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD"}
    assert type(opt).__name__ == expected[optimizer]
    if optimizer in ("rmsprop", "sgd"):
        assert opt.param_groups[0]["momentum"] == 0.9


def test_early_stopping_counts_epochs_without_improvement() -> None:
    stopper = EarlyStopping(patience=2)
    assert [stopper.update(v) for v in (1.0, 0.9, 0.95, 0.91, 0.8, 0.85, 0.9)] == [
        False,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    copy = EarlyStopping(patience=2)
    copy.load_state_dict(stopper.state_dict())
    assert (copy.best_loss, copy.bad_epochs) == (0.8, 2)
    assert not any(EarlyStopping(None).update(1.0) for _ in range(50))


# -- the digits task --------------------------------------------------------------------------
def test_reports_every_epoch_with_sane_metrics(full_run: Any) -> None:
    _, recorder, _ = full_run
    assert recorder.steps() == list(range(1, 21))
    for _, metrics in recorder.reports:
        assert set(metrics) == {"val_accuracy", "val_loss", "train_loss"}
        assert 0.0 <= metrics["val_accuracy"] <= 1.0
        assert math.isfinite(metrics["val_loss"]) and metrics["val_loss"] >= 0
        assert math.isfinite(metrics["train_loss"]) and metrics["train_loss"] >= 0
    first, last = recorder.reports[0][1], recorder.reports[-1][1]
    assert last["train_loss"] < first["train_loss"]


def test_good_configuration_reaches_high_validation_accuracy(full_run: Any) -> None:
    _, recorder, result = full_run
    assert result["val_accuracy"] >= 0.95
    accuracies = [m["val_accuracy"] for _, m in recorder.reports]
    assert result["val_accuracy"] == max(accuracies)
    epoch = int(result["best_epoch"])
    assert recorder.reports[epoch - 1][1]["val_accuracy"] == result["val_accuracy"]
    assert recorder.reports[epoch - 1][1]["val_loss"] == result["val_loss"]
    assert result["epochs_trained"] == 20.0 and result["stopped_early"] == 0.0


def test_early_stopping_ends_the_trial_on_validation_loss() -> None:
    overfitting = {**GOOD, "dropout_1": False, "learning_rate": 0.05, "batch_size": 16}
    trial, recorder = make_trial(overfitting)
    result = DigitsMLP(epochs=40, patience=3).objective(trial)
    losses = [m["val_loss"] for _, m in recorder.reports]
    assert result["stopped_early"] == 1.0
    assert len(losses) < 40 and result["epochs_trained"] == len(losses)
    best = int(np.argmin(losses))
    assert len(losses) == best + 1 + 3, "stops exactly `patience` epochs after the best loss"


def test_budget_sets_the_number_of_epochs(task: DigitsMLP) -> None:
    trial, recorder = make_trial(GOOD, budget=3)
    result = task.objective(trial)
    assert recorder.steps() == [1, 2, 3]
    assert 1.0 <= result["best_epoch"] <= 3.0


def test_same_trial_number_reproduces_and_leaves_global_rng_alone(task: DigitsMLP) -> None:
    rng_before = torch.get_rng_state()
    runs = []
    for number in (4, 4, 5):
        trial, recorder = make_trial(GOOD, number=number, budget=2)
        task.objective(trial)
        runs.append([m for _, m in recorder.reports])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_stop_decision_propagates_as_trial_pruned(task: DigitsMLP) -> None:
    trial, recorder = make_trial(GOOD, decision=Decision.STOP, stop_at=2)
    with pytest.raises(TrialPruned):
        task.objective(trial)
    assert recorder.steps() == [1, 2]


def test_unproposed_parameters_come_from_the_channel(task: DigitsMLP) -> None:
    trial, recorder = make_trial({"learning_rate": 3e-3}, budget=1)
    task.objective(trial)
    assert trial.params["n_layers"] == 1
    assert trial.params["activation"] == "relu"
    assert trial.params["optimizer"] == "adam"
    assert "layer_structure" not in trial.params
    assert len(recorder.reports) == 1


@pytest.mark.parametrize("params", [GOOD, SGD], ids=["adam", "sgd"])
def test_checkpoint_resume_continues_exactly(params: Config) -> None:
    task = DigitsMLP(epochs=6, seed=1)
    straight, straight_log = make_checkpoint_trial(params, number=2, checkpoint_at=(3,))
    straight_result = task.objective(straight)
    state = pickle.loads(straight.saved[3])
    assert state["epoch"] == 3
    assert set(state) == {"epoch", "model", "optimizer", "early_stopping", "best", "widths"}
    assert all(t.device.type == "cpu" for t in state["model"].values())
    assert state["optimizer"]["state"], "the optimizer's moments are saved too"

    resumed, resumed_log = make_checkpoint_trial(params, number=2, resume_from=straight.saved[3])
    resumed_result = task.objective(resumed)
    assert resumed_log.steps() == [4, 5, 6]
    assert resumed_log.reports == straight_log.reports[3:]
    assert resumed_result == straight_result


def test_state_dicts_round_trip_through_pickle() -> None:
    task = DigitsMLP(epochs=2, seed=0)
    trial, _ = make_checkpoint_trial(GOOD, checkpoint_at=(2,))
    task.objective(trial)
    state = pickle.loads(trial.saved[2])
    model = build_mlp(GOOD, 64, 10)
    model.load_state_dict(state["model"])
    optimizer = make_optimizer(GOOD, model)
    optimizer.load_state_dict(state["optimizer"])
    again = pickle.loads(pickle.dumps({"model": model.state_dict(), "opt": optimizer.state_dict()}))
    for key, value in state["model"].items():
        assert torch.equal(again["model"][key], value)
    assert again["opt"]["param_groups"][0]["lr"] == GOOD["learning_rate"]


def test_a_cloned_checkpoint_keeps_the_new_learning_rate_and_refuses_other_layers() -> None:
    task = DigitsMLP(epochs=2, seed=0)
    donor, _ = make_checkpoint_trial(GOOD, checkpoint_at=(2,))
    task.objective(donor)
    explored = {**GOOD, "learning_rate": 1e-3}
    clone, log = make_checkpoint_trial(explored, number=7, budget=3, resume_from=donor.saved[2])
    task.objective(clone)
    assert log.steps() == [3]
    wider = {**GOOD, "units": 256}
    bad, _ = make_checkpoint_trial(wider, number=8, budget=3, resume_from=donor.saved[2])
    with pytest.raises(ConfigError, match=r"checkpoint holds layers \[128, 64\]"):
        task.objective(bad)


def test_without_the_checkpoint_api_no_checkpoint_is_passed(task: DigitsMLP) -> None:
    trial, recorder = make_trial(GOOD, budget=1)  # plain Trial: checkpoint= would be a metric
    task.objective(trial)
    assert set(recorder.reports[0][1]) == {"val_accuracy", "val_loss", "train_loss"}


def poisoned(splits: DatasetSplits) -> DatasetSplits:
    with splits.test.unsealed("poison") as (x, y):
        bad = SealedTestSet(np.full_like(x, np.nan), np.full_like(y, -1), name="poisoned")
    return dataclasses.replace(splits, test=bad)


def test_objective_never_reads_the_test_part() -> None:
    task = DigitsMLP()
    task._splits = poisoned(task.splits)
    trial, recorder = make_trial(GOOD, budget=2)
    result = task(trial)
    assert all(math.isfinite(v) for v in result.values())
    assert all(math.isfinite(v) for _, m in recorder.reports for v in m.values())
    assert task.splits.test.openings == []


def test_final_evaluation_is_refused_during_tuning(task: DigitsMLP) -> None:
    with tuning_phase("a sneaky objective"), pytest.raises(SealedTestDataError):
        task.final_evaluation(GOOD, epochs=1)


def test_final_evaluation_scores_the_test_part_once() -> None:
    task = DigitsMLP(seed=0)
    scores = task.final_evaluation(GOOD, epochs=20)
    assert set(scores) == {"test_accuracy", "test_loss"}
    assert scores["test_accuracy"] >= 0.93
    assert math.isfinite(scores["test_loss"])
    assert task.splits.test.openings == ["digits_mlp.final_evaluation"]
    assert task.splits.test.is_sealed


def test_options_and_registry() -> None:
    assert TASKS["digits_mlp"] == "tunelab.tasks.mlp:DigitsMLP"
    assert TASKS["mnist_mlp"] == "tunelab.tasks.mlp:MnistMLP"
    assert TASKS["fashion_mlp"] == "tunelab.tasks.mlp:FashionMLP"
    task = make_task("digits_mlp", epochs=5, seed=3)
    assert isinstance(task, DigitsMLP)
    assert task.options() == {
        "epochs": 5,
        "seed": 3,
        "max_layers": 5,
        "patience": 5,
        "device": None,
        "num_threads": None,
    }
    assert (task.name, task.metric, task.mode) == ("digits_mlp", "val_accuracy", "max")
    mnist = make_task("mnist_mlp", data_dir="/data", train_size=1000, epochs=3)
    assert mnist.options() == {
        "data_dir": "/data",
        "train_size": 1000,
        "val_fraction": 0.2,
        "epochs": 3,
        "seed": 0,
        "max_layers": 5,
        "patience": 5,
        "device": None,
        "num_threads": None,
        "download": True,
    }


def test_registry_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match=r"^unknown task 'x'; available: .*digits_mlp"):
        make_task("x")
    with pytest.raises(ConfigError, match="'epoch'"):
        make_task("digits_mlp", epoch=5)
    with pytest.raises(ConfigError, match="epochs"):
        make_task("digits_mlp", epochs=0)
    with pytest.raises(ConfigError, match="mnist_mlp: train_size"):
        make_task("mnist_mlp", train_size=5)
    with pytest.raises(ConfigError, match="val_fraction"):
        make_task("fashion_mlp", val_fraction=1.0)
    with pytest.raises(ConfigError, match="patience"):
        make_task("digits_mlp", patience=0)


def test_threads_are_set_while_training_and_restored_after() -> None:
    threads = torch.get_num_threads()
    for option, expected in ((None, 1), (2, 2)):
        trial, recorder = make_trial(GOOD, budget=2)
        DigitsMLP(num_threads=option, device="cpu").objective(trial)
        assert recorder.threads == [expected, expected]
        assert torch.get_num_threads() == threads


def test_a_pickled_task_leaves_its_data_behind(task: DigitsMLP) -> None:
    assert task.splits is not None
    copy = pickle.loads(pickle.dumps(task))
    assert copy._splits is None and copy.options() == task.options()


def test_importing_tunelab_does_not_import_torch() -> None:
    code = (
        "import sys, tunelab, tunelab.tasks, tunelab.tasks.data, tunelab.tasks.datasets, "
        "tunelab.metrics; print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- MNIST and Fashion-MNIST ----------------------------------------------------------------
def test_mnist_mlp_trains_and_reports_on_a_subset(data_dir: Path) -> None:
    task = MnistMLP(data_dir=str(data_dir), train_size=2000, epochs=3, seed=0)
    params = {**GOOD, "units": 256, "learning_rate": 2e-3, "batch_size": 64}
    trial, recorder = make_trial(params)
    result = task(trial)
    assert task.splits.sizes == {"train": 1600, "val": 400, "test": 10000}
    assert recorder.steps() == [1, 2, 3]
    assert result["val_accuracy"] >= 0.85, result
    losses = [m["train_loss"] for _, m in recorder.reports]
    assert losses == sorted(losses, reverse=True)
    assert task.splits.test.openings == []
    scores = task.final_evaluation(params, epochs=int(result["best_epoch"]))
    assert scores["test_accuracy"] >= 0.85
    assert task.splits.test.openings == ["mnist_mlp.final_evaluation"]


def test_fashion_mlp_trains_on_files_in_the_fashion_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = write_fake_dataset(tmp_path / "fashion-mnist", FASHION_MNIST)
    with pytest.raises(DatasetError, match="checksum mismatch"):
        FashionMLP(data_dir=str(tmp_path), download=False).splits  # noqa: B018
    monkeypatch.setattr(FashionMLP, "dataset", with_checksums(FASHION_MNIST, digests))
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    task = make_task("fashion_mlp", epochs=4, download=False)
    assert isinstance(task, FashionMLP)
    trial, recorder = make_trial({**GOOD, "learning_rate": 3e-3})
    result = task(trial)
    assert task.splits.sizes == {"train": 480, "val": 120, "test": 200}
    assert recorder.steps() == [1, 2, 3, 4]
    assert result["val_accuracy"] >= 0.9, "the stripes are easy to learn"


def test_default_space_matches_define(task: DigitsMLP) -> None:
    hp = HyperParameters()
    assert task.define(hp) == define_mlp_space(hp, batch_size=(16, 256))
