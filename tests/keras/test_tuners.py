"""The tuners on real Keras training (MNIST subset, torch backend): a typical Keras
Tuner script with only its import changed, Hyperband promotions that resume from
checkpoints, BOHB, Sobol and grid search."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.keras.conftest import Mnist
from tests.keras.models import EpochLog, build_model, kt
from tunelab.trial import TrialStatus


def fit_kwargs(mnist: Mnist, **extra: Any) -> dict[str, Any]:
    return {"validation_data": (mnist.x_val, mnist.y_val), "batch_size": 32, "verbose": 0, **extra}


def check_best_results(tuner: Any, mnist: Mnist, capsys: pytest.CaptureFixture[str]) -> None:
    """What a typical script does after its search, checked against the stored trials."""
    best_hp = tuner.get_best_hyperparameters(1)[0]
    best_model = tuner.get_best_models(num_models=1)[0]
    tuner.results_summary()

    completed = [t for t in tuner.study.trials if t.status is TrialStatus.COMPLETED]
    best = max(completed, key=lambda t: (t.value, -t.number))
    assert best_hp.values == best.params
    # The model returned carries the weights of the best trial's best epoch.
    _, accuracy = best_model.evaluate(mnist.x_val, mnist.y_val, verbose=0)
    assert accuracy == pytest.approx(best.value, abs=1e-6)
    # The hyperparameters build that model again, as with Keras Tuner.
    rebuilt = build_model(best_hp)
    assert rebuilt.layers[0].units == best_hp.values["units"]
    out = capsys.readouterr().out
    assert "Results summary" in out
    assert f"Trial {best.number} summary" in out and f"Score: {best.value}" in out


@pytest.mark.parametrize("tuner_class", ["RandomSearch", "BayesianOptimization"])
def test_a_typical_keras_tuner_script_runs_with_only_its_import_changed(
    tmp_path: Path, mnist: Mnist, capsys: pytest.CaptureFixture[str], tuner_class: str
) -> None:
    options: dict[str, Any] = (
        {"num_initial_points": 2} if tuner_class == "BayesianOptimization" else {}
    )
    tuner = getattr(kt, tuner_class)(
        build_model,
        objective="val_accuracy",
        max_trials=3,
        seed=1,
        directory=tmp_path,
        project_name="mnist",
        **options,
    )
    # As with Keras Tuner, the model is built once with defaults to learn the space; a
    # parameter behind a plain `if` (rate, when dropout is on) appears when first used.
    tuner.search_space_summary()
    out = capsys.readouterr().out
    assert "Default search space size: 4" in out
    assert "learning_rate (Float)" in out and "'sampling': 'log'" in out

    tuner.search(mnist.x_train, mnist.y_train, epochs=2, **fit_kwargs(mnist))
    tuner.search_space_summary()
    if any(t.params["dropout"] for t in tuner.study.trials):
        out = capsys.readouterr().out
        assert "Default search space size: 5" in out
        assert "rate (Float)" in out and "'step': 0.2" in out

    trials = tuner.study.trials
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 3
    assert all([r.step for r in t.reports] == [1, 2] for t in trials)
    for t in trials:
        # A History's result is its best epoch (Keras Tuner's rule).
        assert t.value == max(r.metrics["val_accuracy"] for r in t.reports)
        assert t.params["units"] in (16, 32, 48, 64)
        assert t.params["activation"] in ("relu", "tanh")
        assert 1e-3 <= t.params["learning_rate"] <= 3e-2
        assert ("rate" in t.params) == t.params["dropout"]
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 3
    check_best_results(tuner, mnist, capsys)
    assert (tmp_path / "mnist" / "tunelab.db").is_file()


def epochs_by_model(entries: list[tuple[int, int, int]]) -> list[list[tuple[int, int]]]:
    """EpochLog entries grouped per model: [(epoch index, optimizer step at its start)]."""
    groups: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for model, epoch, iterations in entries:
        groups[model].append((epoch, iterations))
    return list(groups.values())


def test_hyperband_maps_max_epochs_and_factor_and_resumes_promoted_trials(
    tmp_path: Path, mnist: Mnist, capsys: pytest.CaptureFixture[str]
) -> None:
    EpochLog.reset()
    tuner = kt.Hyperband(
        build_model,
        objective="val_accuracy",
        max_epochs=3,
        factor=3,
        seed=2,
        directory=tmp_path,
        project_name="hyperband",
    )
    tuner.search(
        mnist.x_train, mnist.y_train, callbacks=[EpochLog()], **fit_kwargs(mnist, verbose=2)
    )
    out = capsys.readouterr().out
    # The plan is printed first: bracket s=1 starts 3 trials at 1 epoch and promotes 1
    # to 3 epochs; bracket s=0 trains 2 trials for 3 epochs.
    assert "hyperband plan: R=3 epochs, eta=3" in out
    assert "total: 2 brackets, 5 trials, 11 epochs" in out

    trials = tuner.study.trials
    assert len(trials) == 5
    assert sum(t.steps_trained for t in trials) == 11 == len(EpochLog.entries)
    first_bracket = trials[:3]
    promoted = [t for t in first_bracket if t.status is TrialStatus.COMPLETED]
    assert len(promoted) == 1 and promoted[0].budget == 3
    assert [r.step for r in promoted[0].reports] == [1, 2, 3]
    # The best trial at 1 epoch was the one promoted.
    at_one = {t.number: t.reports[0].metrics["val_accuracy"] for t in first_bracket}
    assert at_one[promoted[0].number] == max(at_one.values())
    for t in first_bracket:
        if t is not promoted[0]:
            assert t.status is TrialStatus.PRUNED and t.steps_trained == 1
    assert all(t.steps_trained == 3 for t in trials[3:])

    # No epoch trained twice: the promoted trial's second fit starts at epoch index 1
    # with the optimizer's step count where its first fit left it (8 batches of 32).
    groups = epochs_by_model(EpochLog.entries)
    resumed = [g for g in groups if g[0][0] != 0]
    assert len(resumed) == 1
    assert resumed[0] == [(1, 8), (2, 16)]
    check_best_results(tuner, mnist, capsys)


def test_bohb_and_sobol_and_grid_search_run_their_tunelab_strategies(
    tmp_path: Path, mnist: Mnist
) -> None:
    def small_model(hp: Any) -> Any:
        hp.Choice("activation", ["relu", "tanh"])
        return build_model(hp)

    bohb = kt.BOHB(
        build_model,
        objective="val_loss",
        max_epochs=3,
        factor=3,
        seed=0,
        directory=tmp_path,
        project_name="bohb",
    )
    assert bohb.study.searcher.name == "tpe" and bohb.study.scheduler.name == "bohb"
    bohb.search(mnist.x_train, mnist.y_train, **fit_kwargs(mnist))
    assert sum(t.steps_trained for t in bohb.study.trials) == 11
    assert bohb.study.mode == "min"  # "val_loss" is minimised

    sobol = kt.Sobol(
        build_model, "val_accuracy", max_trials=2, seed=0, directory=tmp_path, project_name="s"
    )
    sobol.search(mnist.x_train, mnist.y_train, epochs=1, **fit_kwargs(mnist))
    assert sobol.study.searcher.name == "sobol" and len(sobol.study.trials) == 2

    hp = kt.HyperParameters()
    hp.Fixed("units", 16)
    hp.Choice("activation", ["relu", "tanh"])
    hp.Fixed("learning_rate", 0.01)
    grid = kt.GridSearch(
        small_model,
        "val_accuracy",
        hyperparameters=hp,
        tune_new_entries=False,
        directory=tmp_path,
        project_name="grid",
    )
    grid.search(mnist.x_train, mnist.y_train, epochs=1, **fit_kwargs(mnist))
    # Only the activation varies: the grid has two points and then is exhausted.
    assert sorted(t.params["activation"] for t in grid.study.trials) == ["relu", "tanh"]
    assert {t.params["units"] for t in grid.study.trials} == {16}
