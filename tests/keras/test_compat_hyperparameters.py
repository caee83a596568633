"""Keras Tuner's HyperParameters behaviour where tunelab's core rules differ (issue 17,
points 2, 3, 5 and 6), each checked from the call a Keras Tuner script makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import pytest

import tunelab.keras as kt
from tests.keras.conftest import Mnist
from tunelab.trial import TrialStatus


def values_of(hp: kt.HyperParameters, name: str) -> list[Any]:
    """Every value the searchers can give ``name`` (its grid)."""
    return next(p for p in hp.space if p.name == name).grid()


# -- point 2: a step that does not divide the range ------------------------------------------
def test_point2_an_int_step_that_does_not_divide_the_range_ends_at_the_last_step() -> None:
    hp = kt.HyperParameters()
    with pytest.warns(UserWarning, match="values end at 480"):
        assert hp.Int("u", 32, 512, step=64) == 32
    assert values_of(hp, "u") == list(range(32, 481, 64))


def test_point2_a_float_step_that_does_not_divide_the_range_ends_at_the_last_step() -> None:
    hp = kt.HyperParameters()
    with pytest.warns(UserWarning, match="'c'"):
        hp.Float("c", 0, 10, step=3)
    assert values_of(hp, "c") == [0, 3, 6, 9]
    hp.Float("f", 0.1, 1.0, step=0.4)
    assert values_of(hp, "f") == pytest.approx([0.1, 0.5, 0.9])


def test_point2_a_log_step_whose_factor_does_not_reach_max_ends_at_the_last_power() -> None:
    hp = kt.HyperParameters()
    hp.Int("filters", 8, 100, step=2, sampling="log")
    assert values_of(hp, "filters") == [8, 16, 32, 64]
    hp.Float("lr", 1e-4, 5e-2, step=10, sampling="log")
    assert values_of(hp, "lr") == pytest.approx([1e-4, 1e-3, 1e-2])


def test_point2_a_dividing_step_is_unchanged_and_does_not_warn(
    recwarn: pytest.WarningsRecorder,
) -> None:
    hp = kt.HyperParameters()
    hp.Int("units", 32, 512, step=32)
    hp.Float("rate", 0.1, 0.5, step=0.2)
    assert values_of(hp, "units")[-1] == 512
    assert values_of(hp, "rate")[-1] == pytest.approx(0.5)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


# -- point 3: sampling="reverse_log" and sampling=None ---------------------------------------
def test_point3_reverse_log_and_none_sampling_are_accepted() -> None:
    hp = kt.HyperParameters()
    assert hp.Float("momentum", 0.5, 0.99, sampling="reverse_log") == 0.5
    assert hp.Int("units", 16, 64, sampling=None, default=32) == 32
    with pytest.warns(UserWarning, match="reverse_log"):
        assert hp.Int("depth", 1, 8, step=1, sampling="reverse_log") == 1
    assert values_of(hp, "depth") == list(range(1, 9))


def test_point3_reverse_log_float_is_denser_near_max(tmp_path: Path) -> None:
    seen: list[float] = []

    class Probe(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            seen.append(trial.hyperparameters.Float("beta", 0.001, 1.0, sampling="reverse_log"))
            return 0.0

    Probe(max_trials=60, seed=0, directory=str(tmp_path), project_name="p").search()
    assert len(seen) == 60
    assert all(0.001 <= v <= 1.0 for v in seen)
    # linear sampling would put the median near 0.5 and a tenth of the draws above 0.9
    median = sorted(seen)[30]
    assert median > 0.85
    assert sum(v > 0.9 for v in seen) > len(seen) / 3


# -- point 5: live values, copy, merge, name_scope, get_config/from_config -------------------
def test_point5_values_is_live() -> None:
    hp = kt.HyperParameters()
    hp.Int("u", 32, 512, step=32)
    hp.values["u"] = 96
    assert hp.get("u") == 96
    assert hp["u"] == 96
    assert hp.Int("u", 32, 512, step=32) == 96  # the model reads the assigned value
    hp.values["extra"] = "x"  # as in Keras Tuner, a name not defined yet
    assert hp.get("extra") == "x"
    assert dict(hp.values) == {"u": 96, "extra": "x"}


def test_point5_copy_is_independent() -> None:
    hp = kt.HyperParameters()
    hp.Choice("act", ["relu", "tanh"])
    twin = hp.copy()
    twin.values["act"] = "tanh"
    assert hp.get("act") == "relu" and twin.get("act") == "tanh"
    assert [p.name for p in twin.space] == ["act"]


def test_point5_merge_adds_the_other_parameters_and_values() -> None:
    hp = kt.HyperParameters()
    hp.Int("a", 1, 4)
    other = kt.HyperParameters()
    other.Int("a", 1, 4, default=3)
    other.Boolean("b", default=True)
    hp.merge(other)
    assert dict(hp.values) == {"a": 3, "b": True}
    kept = kt.HyperParameters()
    kept.Int("a", 1, 4)
    kept.merge(other, overwrite=False)
    assert dict(kept.values) == {"a": 1, "b": True}


def test_point5_name_scope_prefixes_names() -> None:
    hp = kt.HyperParameters()
    with hp.name_scope("s"):
        assert hp.Int("units", 8, 16, default=8) == 8
        with hp.name_scope("t"):
            hp.Boolean("b")
        assert hp.get("units") == 8
    assert [p.name for p in hp.space] == ["s/units", "s/t/b"]
    assert hp.get("s/units") == 8


def test_point5_get_config_from_config_round_trip() -> None:
    hp = kt.HyperParameters()
    hp.Choice("model", ["a", "b"])
    with hp.conditional_scope("model", ["a"]):
        hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.values["lr"] = 1e-3
    again = kt.HyperParameters.from_config(hp.get_config())
    assert again.get_config() == hp.get_config()
    assert again.get("lr") == 1e-3
    assert again.tunelab_space == hp.tunelab_space


# -- point 6: one name in two conditional scopes ---------------------------------------------
def two_branch_units(hp: Any) -> int | None:
    model = hp.Choice("model", ["a", "b"])
    units = None
    with hp.conditional_scope("model", ["a"]):
        if model == "a":
            units = hp.Int("units", 4, 8, step=4)
    with hp.conditional_scope("model", ["b"]):
        if model == "b":
            units = hp.Int("units", 16, 32, step=16)
    return units


@pytest.mark.parametrize(("branch", "expected"), [("a", 4), ("b", 16)])
def test_point6_a_name_in_two_conditional_scopes_has_a_value_outside_a_tuner(
    branch: str, expected: int
) -> None:
    hp = kt.HyperParameters()
    hp.Choice("model", ["a", "b"], default=branch)
    assert two_branch_units(hp) == expected
    assert hp.get("units") == expected
    assert dict(hp.values) == {"model": branch, "units": expected}


def test_point6_both_scopes_defined_unconditionally_read_the_active_branch() -> None:
    hp = kt.HyperParameters()
    hp.Choice("model", ["a", "b"], default="b")
    with hp.conditional_scope("model", ["a"]):
        assert hp.Int("units", 4, 8, step=4) is None
    with hp.conditional_scope("model", ["b"]):
        assert hp.Int("units", 16, 32, step=16) == 16
    assert hp.get("units") == 16


def test_point6_every_configuration_runs_inside_a_tuner(tmp_path: Path, mnist: Mnist) -> None:
    def build(hp: Any) -> keras.Model:
        units = two_branch_units(hp)
        model = keras.Sequential(
            [keras.Input((784,)), keras.layers.Dense(units), keras.layers.Dense(10)]
        )
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    tuner = kt.GridSearch(build, "val_loss", directory=tmp_path, project_name="p")
    x, y = mnist.x_train[:32], mnist.y_train[:32]
    tuner.search(x, y, epochs=1, validation_data=(x, y), batch_size=32, verbose=0)

    trials = tuner.study.trials
    assert trials and all(t.status is TrialStatus.COMPLETED for t in trials)
    seen = {
        (t.hyperparameters.values["model"], t.hyperparameters.values["units"])
        for t in tuner.oracle.trials.values()
    }
    assert seen == {("a", 4), ("a", 8), ("b", 16), ("b", 32)}
