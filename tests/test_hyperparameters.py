"""The define-by-run ``hp`` object with Keras Tuner's names."""

from __future__ import annotations

import pytest

from tunelab.errors import SpaceError
from tunelab.hyperparameters import HyperParameters
from tunelab.space import Choice, Condition, Int


def test_free_standing_hp_returns_defaults_like_keras_tuner():
    hp = HyperParameters()
    assert hp.Int("units", 32, 512, step=32) == 32
    assert hp.Int("layers", 1, 3, default=2) == 2
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == pytest.approx(1e-4)
    assert hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.2) == pytest.approx(0.2)
    assert hp.Choice("activation", ["relu", "tanh"]) == "relu"
    assert hp.Boolean("batch_norm") is False
    assert hp.Fixed("epochs", 10) == 10
    assert hp.values == {
        "units": 32,
        "layers": 2,
        "lr": pytest.approx(1e-4),
        "dropout": pytest.approx(0.2),
        "activation": "relu",
        "batch_norm": False,
        "epochs": 10,
    }
    assert hp.get("units") == 32 and hp["activation"] == "relu"


def test_resolver_supplies_values_and_they_are_checked():
    proposals = {"units": 256, "activation": "tanh"}
    hp = HyperParameters(resolver=lambda p, _config: proposals.get(p.name, p.default))
    assert hp.Int("units", 32, 512, step=32) == 256
    assert hp.Choice("activation", ["relu", "tanh"]) == "tanh"
    bad = HyperParameters(resolver=lambda p, _config: 7)
    with pytest.raises(SpaceError, match="'units': resolved value 7 is not a value"):
        bad.Int("units", 32, 512, step=32)


def test_conditional_scope_makes_parameters_inactive_on_other_branches():
    hp = HyperParameters(resolver=lambda p, _c: {"model": "cnn"}.get(p.name, p.default))
    model = hp.Choice("model", ["mlp", "cnn"])
    assert model == "cnn"
    with hp.conditional_scope("model", ["mlp"]):
        assert hp.Int("units", 16, 64) is None
    with hp.conditional_scope("model", "cnn"):
        filters = hp.Int("filters", 8, 32)
        with hp.conditional_scope("filters", [8]):
            assert hp.Boolean("pool") is False
    assert filters == 8
    assert hp.space["units"].conditions == (Condition("model", ("mlp",)),)
    assert hp.space["pool"].conditions == (
        Condition("model", ("cnn",)),
        Condition("filters", (8,)),
    )
    assert "units" not in hp.values and hp.values["filters"] == 8
    assert not hp.is_active("units")


def test_parent_name_arguments_work_like_conditional_scope():
    hp = HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd"])
    momentum = hp.Float("momentum", 0.0, 0.9, parent_name="optimizer", parent_values=["sgd"])
    assert momentum is None
    assert hp.space["momentum"].conditions == (Condition("optimizer", ("sgd",)),)


def test_scope_on_an_undefined_parent_fails():
    hp = HyperParameters()
    with (
        pytest.raises(SpaceError, match="parent 'model' is not defined"),
        hp.conditional_scope("model", ["mlp"]),
    ):
        pass


def test_redefining_a_name_differently_fails_at_once():
    hp = HyperParameters()
    hp.Int("units", 32, 512, step=32)
    assert hp.Int("units", 32, 512, step=32) == 32  # same definition, same value
    with pytest.raises(SpaceError, match="'units' is already defined as Int"):
        hp.Int("units", 16, 512, step=16)
    with pytest.raises(SpaceError, match="'units' is already defined"):
        hp.Float("units", 32.0, 512.0)
    assert hp.space["units"] == Int("units", 32, 512, step=32)


def test_get_of_an_unknown_name_is_a_key_error():
    with pytest.raises(KeyError, match="'nope' is not defined"):
        HyperParameters().get("nope")


def test_conditional_scope_accepts_any_iterable_of_values():
    hp = HyperParameters(resolver=lambda p, _c: {"layers": 2}.get(p.name, p.default))
    hp.Int("layers", 1, 3)
    with hp.conditional_scope("layers", range(2, 4)):
        assert hp.Int("units_2", 8, 64) == 8
    assert hp.space["units_2"].conditions == (Condition("layers", (2, 3)),)


def test_a_definition_is_built_once_and_values_of_other_types_stay_apart() -> None:
    first, second = HyperParameters(), HyperParameters()
    first.Float("lr", 1e-4, 1e-1, sampling="log")
    second.Float("lr", 1e-4, 1e-1, sampling="log")
    assert first.space["lr"] is second.space["lr"]  # one object serves every trial
    ints, floats, bools = HyperParameters(), HyperParameters(), HyperParameters()
    ints.Choice("c", [1, 0])
    floats.Choice("c", [1.0, 0.0])
    bools.Choice("c", [True, False])
    choices = [hp.space["c"] for hp in (ints, floats, bools)]
    kinds = [type(v) for c in choices if isinstance(c, Choice) for v in c.values]
    assert kinds == [int, int, float, float, bool, bool]
    assert [type(hp.Choice("c", v)) for hp, v in ((ints, [1, 0]), (floats, [1.0, 0.0]))] == [
        int,
        float,
    ]
