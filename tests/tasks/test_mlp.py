"""The digits MLP task, driven through a real Trial with a recording channel.

The study engine is not needed: a Trial only talks to its TrialChannel, so a channel
that records reports and answers with a fixed decision exercises the objective exactly
as a study would.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch

from tunelab.errors import ConfigError
from tunelab.space import Config, Param, Space, Value
from tunelab.tasks import TASKS, make_task
from tunelab.tasks.mlp import DigitsMLP, build_mlp
from tunelab.trial import Decision, Trial, TrialChannel, TrialPruned

GOOD: Config = {
    "n_layers": 2,
    "units_1": 128,
    "units_2": 64,
    "activation": "relu",
    "dropout": 0.1,
    "learning_rate": 3e-3,
    "batch_size": 32,
}


class RecordingChannel(TrialChannel):
    """Answers unproposed parameters with their default, records reports, says ``decision``."""

    def __init__(self, decision: Decision = Decision.CONTINUE, stop_at: int | None = None) -> None:
        self.decision = decision
        self.stop_at = stop_at
        self.reports: list[tuple[int, dict[str, float]]] = []
        self.attrs: dict[str, Any] = {}
        self.threads: list[int] = []

    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        return param.default

    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        self.reports.append((step, metrics))
        self.threads.append(torch.get_num_threads())
        if self.stop_at is not None and step >= self.stop_at:
            return self.decision
        return Decision.CONTINUE

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.attrs[key] = value


def make_trial(
    proposal: Config = GOOD, *, number: int = 0, budget: int | None = None, **channel: Any
) -> tuple[Trial, RecordingChannel]:
    recorder = RecordingChannel(**channel)
    trial = Trial(number=number, proposal=proposal, space=Space(), channel=recorder, budget=budget)
    return trial, recorder


@pytest.fixture(scope="module")
def task() -> DigitsMLP:
    return DigitsMLP(epochs=20, seed=0)


@pytest.fixture(scope="module")
def full_run(task: DigitsMLP) -> tuple[Trial, RecordingChannel, dict[str, float]]:
    trial, recorder = make_trial()
    result = task.objective(trial)
    return trial, recorder, result


def test_reports_every_epoch_with_sane_metrics(full_run: Any) -> None:
    _, recorder, _ = full_run
    assert [step for step, _ in recorder.reports] == list(range(1, 21))
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
    assert result["best_epoch"] == float(epoch)
    assert recorder.reports[epoch - 1][1]["val_accuracy"] == result["val_accuracy"]
    assert recorder.reports[epoch - 1][1]["val_loss"] == result["val_loss"]


def test_space_is_defined_with_conditional_widths(full_run: Any) -> None:
    trial, _, _ = full_run
    assert trial.params == GOOD
    assert trial.hp.get("units_3") is None
    assert trial.hp.space.names == [
        "n_layers",
        "units_1",
        "units_2",
        "units_3",
        "activation",
        "dropout",
        "learning_rate",
        "batch_size",
    ]
    units_3 = trial.hp.space["units_3"]
    assert units_3.conditions[0].parent == "n_layers"
    assert units_3.conditions[0].values == (3,)
    assert trial.hp.space["learning_rate"].to_dict()["sampling"] == "log"


def test_budget_sets_the_number_of_epochs(task: DigitsMLP) -> None:
    trial, recorder = make_trial(budget=3)
    result = task.objective(trial)
    assert [step for step, _ in recorder.reports] == [1, 2, 3]
    assert 1.0 <= result["best_epoch"] <= 3.0


def test_same_trial_number_reproduces_and_leaves_global_rng_alone(task: DigitsMLP) -> None:
    rng_before = torch.get_rng_state()
    runs = []
    for number in (4, 4, 5):
        trial, recorder = make_trial(number=number, budget=2)
        task.objective(trial)
        runs.append([m for _, m in recorder.reports])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_stop_decision_propagates_as_trial_pruned(task: DigitsMLP) -> None:
    trial, recorder = make_trial(decision=Decision.STOP, stop_at=2)
    with pytest.raises(TrialPruned):
        task.objective(trial)
    assert [step for step, _ in recorder.reports] == [1, 2]


def test_unproposed_parameters_come_from_the_channel(task: DigitsMLP) -> None:
    trial, recorder = make_trial({"learning_rate": 3e-3}, budget=1)
    task.objective(trial)
    assert trial.params["n_layers"] == 1
    assert trial.params["activation"] == "relu"
    assert trial.params["batch_size"] == 16
    assert "units_2" not in trial.params
    assert len(recorder.reports) == 1


def test_objective_never_reads_the_test_part() -> None:
    task = DigitsMLP()
    poisoned = dataclasses.replace(
        task.splits,
        x_test=np.full_like(task.splits.x_test, np.nan),
        y_test=np.full_like(task.splits.y_test, -1),
    )
    task._splits = poisoned
    trial, recorder = make_trial(budget=2)
    result = task.objective(trial)
    assert all(math.isfinite(v) for v in result.values())
    assert all(math.isfinite(v) for _, m in recorder.reports for v in m.values())


def test_final_evaluation_scores_the_test_part(task: DigitsMLP) -> None:
    scores = task.final_evaluation(GOOD, epochs=20)
    assert set(scores) == {"test_accuracy", "test_loss"}
    assert scores["test_accuracy"] >= 0.93
    assert math.isfinite(scores["test_loss"])
    assert task.final_evaluation(GOOD, epochs=1) != scores


def test_build_mlp_shapes() -> None:
    params: Config = {**GOOD, "n_layers": 3, "units_3": 32, "activation": "gelu", "dropout": 0.0}
    model = build_mlp(params, 64, 10)
    linear = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (64, 128),
        (128, 64),
        (64, 32),
        (32, 10),
    ]
    assert not any(isinstance(m, torch.nn.Dropout) for m in model)
    assert model(torch.zeros(5, 64)).shape == (5, 10)
    with pytest.raises(ConfigError, match="units_2"):
        build_mlp({k: v for k, v in GOOD.items() if k != "units_2"}, 64, 10)


def test_options_and_registry() -> None:
    assert TASKS["digits_mlp"] == "tunelab.tasks.mlp:DigitsMLP"
    task = make_task("digits_mlp", epochs=5, seed=3)
    assert isinstance(task, DigitsMLP)
    assert task.options() == {
        "epochs": 5,
        "seed": 3,
        "max_layers": 3,
        "device": None,
        "num_threads": None,
    }
    assert (task.name, task.metric, task.mode) == ("digits_mlp", "val_accuracy", "max")


def test_registry_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match=r"^unknown task 'x'; available: .*digits_mlp"):
        make_task("x")
    with pytest.raises(ConfigError, match="'epoch'"):
        make_task("digits_mlp", epoch=5)
    with pytest.raises(ConfigError, match="epochs"):
        make_task("digits_mlp", epochs=0)


def test_threads_are_set_while_training_and_restored_after() -> None:
    threads = torch.get_num_threads()
    for option, expected in ((None, 1), (2, 2)):
        trial, recorder = make_trial(budget=2)
        DigitsMLP(num_threads=option, device="cpu").objective(trial)
        assert recorder.threads == [expected, expected]
        assert torch.get_num_threads() == threads


def test_importing_tunelab_does_not_import_torch() -> None:
    code = "import sys, tunelab, tunelab.tasks, tunelab.tasks.data; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
