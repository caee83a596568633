"""Parameters, their unit-interval transform, and the space's validation and serialisation."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest

from tunelab.errors import SpaceError
from tunelab.space import Boolean, Choice, Condition, Fixed, Float, Int, Space

# -- bad definitions fail at once, naming the parameter ---------------------------------


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: Int("units", 64, 32), "min_value 64 is greater than max_value 32"),
        (lambda: Float("lr", 1.0, 0.1), "min_value 1.0 is greater than max_value 0.1"),
        (lambda: Float("lr", 0.0, 1.0, sampling="log"), "log sampling needs min_value > 0"),
        (lambda: Int("n", 0, 10, sampling="log"), "log sampling needs min_value > 0"),
        (lambda: Float("lr", -1.0, 1.0, sampling="log"), "log sampling needs min_value > 0"),
        (lambda: Choice("act", []), "values must not be empty"),
        (lambda: Choice("act", ["relu", "tanh", "relu"]), "duplicate value 'relu'"),
        (lambda: Choice("bs", [16, 32, 16]), "duplicate value 16"),
        (lambda: Choice("mixed", ["a", 1]), "one kind"),
        (lambda: Int("units", 10, 100, step=20), "step 20 does not fit the range"),
        (lambda: Float("drop", 0.0, 0.5, step=0.2), "step 0.2 does not fit the range"),
        (lambda: Int("units", 10, 20, step=30), "step 30 does not fit the range"),
        (lambda: Int("units", 10, 20, step=0), "step must be positive"),
        (lambda: Float("x", 0.0, 1.0, step=-0.1), "step must be positive"),
        (lambda: Int("bs", 16, 256, step=1, sampling="log"), "must be > 1"),
        (lambda: Int("bs", 16, 250, step=2, sampling="log"), "is not a power of 2"),
        (lambda: Int("units", 1.5, 10), "must be an integer"),
        (lambda: Float("x", 0.0, math.inf), "must be finite"),
        (lambda: Float("x", "a", 1.0), "must be numbers"),
        (lambda: Int("n", 1, 5, default_value=9), "default 9 is not one of its values"),
        (lambda: Choice("act", ["relu"], default_value="elu"), "default 'elu' is not one of"),
        (lambda: Float("x", 0.0, 1.0, sampling="cubic"), "sampling must be 'linear', 'log' or"),
        (lambda: Float("x", 0.0, 1.0, sampling="reverse_log"), "needs min_value > 0"),
        (lambda: Int("n", 1, 10, sampling="reverse_log"), "for unstepped Floats only"),
        (lambda: Float("x", 0.1, 0.9, 0.2, "reverse_log"), "for unstepped Floats only"),
        (lambda: Fixed("f", [1, 2]), "value must be a number, string or boolean"),
    ],
)
def test_bad_definitions_raise_naming_the_parameter(make, fragment):
    with pytest.raises(SpaceError) as info:
        make()
    message = str(info.value)
    assert fragment in message
    # every message names the parameter it is about
    assert any(
        name in message
        for name in ("units", "lr", "'n'", "act", "bs", "mixed", "drop", "'x'", "'f'")
    )


def test_redefinition_with_another_range_or_type_is_refused():
    space = Space([Int("units", 32, 512, step=32)])
    assert space.add(Int("units", 32, 512, step=32)) is space["units"]  # same definition: fine
    with pytest.raises(SpaceError, match="'units' is already defined as Int"):
        space.add(Int("units", 16, 512, step=16))
    with pytest.raises(SpaceError, match="'units' is already defined"):
        space.add(Float("units", 32.0, 512.0))
    with pytest.raises(SpaceError, match="'units' is already defined"):
        space.add(Choice("units", [32, 64]))


def test_condition_on_an_undefined_parent_or_impossible_value_is_refused():
    space = Space([Choice("model", ["mlp", "cnn"])])
    with pytest.raises(SpaceError, match="'units' is conditional on 'depth', which is not defined"):
        space.add(Int("units", 1, 4, conditions=(Condition("depth", (2,)),)))
    with pytest.raises(SpaceError, match="'rnn' is not a value of its parent 'model'"):
        space.add(Int("units", 1, 4, conditions=(Condition("model", ("rnn",)),)))


# -- the unit-interval transform ---------------------------------------------------------

DISCRETE = [
    Int("i", -3, 7),
    Int("ilog", 1, 100, sampling="log"),
    Int("istep", 32, 512, step=32),
    Int("igeo", 16, 256, step=2, sampling="log"),
    Float("fstep", 0.0, 0.5, step=0.1),
    Float("fgeo", 1e-4, 1e-1, step=10, sampling="log"),
    Choice("c", ["relu", "tanh", "elu"]),
    Choice("n", [16, 32, 64, 128]),
    Boolean("b"),
    Fixed("f", "adam"),
]


@pytest.mark.parametrize("param", DISCRETE, ids=lambda p: p.name)
def test_discrete_values_round_trip_through_the_unit_interval(param):
    values = param.grid()
    assert len(values) == param.cardinality
    for v in values:
        assert param.contains(v)
        u = param.to_unit(v)
        assert 0.0 <= u <= 1.0
        assert param.from_unit(u) == v


@pytest.mark.parametrize("param", DISCRETE, ids=lambda p: p.name)
def test_every_unit_value_decodes_to_a_contained_value(param):
    for u in np.linspace(0.0, 1.0, 1001):
        assert param.contains(param.from_unit(float(u)))


def test_integers_and_steps_are_rounded_without_bias():
    # Equal-width cells: each of k values gets 1/k of the unit interval, the ends too.
    grid = (np.arange(100_000) + 0.5) / 100_000
    for param in (Int("i", 0, 4), Int("s", 10, 50, step=10), Float("f", 0.0, 1.0, step=0.25)):
        counts = collections.Counter(param.from_unit(float(u)) for u in grid)
        assert len(counts) == param.cardinality
        assert max(counts.values()) - min(counts.values()) <= 1


def test_log_int_gives_each_integer_its_log_width():
    param = Int("n", 1, 100, sampling="log")
    grid = (np.arange(200_000) + 0.5) / 200_000
    counts = collections.Counter(param.from_unit(float(u)) for u in grid)
    width = math.log(100.5) - math.log(0.5)
    for v in (1, 2, 10, 50, 100):
        expected = (math.log(v + 0.5) - math.log(max(v - 0.5, 0.5))) / width
        assert counts[v] / 200_000 == pytest.approx(expected, abs=2e-5)


def test_continuous_floats_map_linearly_or_logarithmically():
    lin = Float("x", -5.0, 10.0)
    assert lin.from_unit(0.0) == -5.0 and lin.from_unit(1.0) == 10.0
    assert lin.from_unit(0.5) == pytest.approx(2.5)
    log = Float("lr", 1e-4, 1e-1, sampling="log")
    assert log.from_unit(0.0) == pytest.approx(1e-4)
    assert log.from_unit(1.0) == pytest.approx(1e-1)
    assert log.from_unit(1 / 3) == pytest.approx(1e-3)
    for v in (1e-4, 3e-3, 0.05, 0.1):
        assert log.from_unit(log.to_unit(v)) == pytest.approx(v)


def test_reverse_log_float_round_trips_through_the_unit_interval():
    param = Float("momentum", 0.5, 0.999, sampling="reverse_log")
    assert param.from_unit(0.0) == pytest.approx(0.5)
    assert param.from_unit(1.0) == pytest.approx(0.999)
    for u in np.linspace(0.0, 1.0, 101):
        v = param.from_unit(float(u))
        assert param.contains(v)
        assert param.to_unit(v) == pytest.approx(float(u), abs=1e-9)
    for v in (0.5, 0.7, 0.9, 0.99, 0.999):
        assert param.from_unit(param.to_unit(v)) == pytest.approx(v)


def test_reverse_log_float_is_denser_near_max():
    lo, hi = 1e-3, 1.0
    param = Float("beta", lo, hi, sampling="reverse_log")
    draws = [param.from_unit(float(u)) for u in np.random.default_rng(0).random(10_000)]
    assert np.median(draws) > (lo + hi) / 2
    # the mirror image of log sampling: as many draws in the top 1% as log puts in the bottom 1%
    top = np.mean(np.array(draws) > hi - 0.01 * (hi - lo))
    assert top == pytest.approx(
        math.log((lo + 0.01 * (hi - lo)) / lo) / math.log(hi / lo), abs=0.02
    )


def test_reverse_log_survives_the_space_dict_round_trip():
    space = Space([Float("beta", 0.5, 0.999, sampling="reverse_log")])
    assert Space.from_dict(space.to_dict()) == space


def test_stepped_floats_have_clean_values():
    assert Float("d", 0.0, 0.5, step=0.1).grid() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert Int("bs", 16, 256, step=2, sampling="log").grid() == [16, 32, 64, 128, 256]


def test_contains_rejects_wrong_types_and_off_grid_values():
    assert not Int("i", 0, 10).contains(2.5)
    assert not Int("i", 0, 10).contains(True)
    assert not Int("i", 0, 10).contains("3")
    assert not Int("s", 0, 100, step=10).contains(15)
    assert not Float("f", 0.0, 1.0).contains(math.nan)
    assert not Float("f", 0.0, 1.0).contains(1.5)
    assert not Choice("c", [1, 2]).contains(True)
    assert not Boolean("b").contains(1)
    assert Boolean("b").contains(True)


def test_continuous_float_has_no_grid_without_points():
    with pytest.raises(SpaceError, match="'lr' is a continuous float"):
        Float("lr", 1e-4, 1e-1, sampling="log").grid()
    points = Float("lr", 1e-4, 1e-1, sampling="log").grid(4)
    assert points == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])


# -- conditions, validation and serialisation ---------------------------------------------


def _conditional_space() -> Space:
    return Space(
        [
            Choice("optimizer", ["adam", "sgd"]),
            Float("momentum", 0.0, 0.99, conditions=(Condition("optimizer", ("sgd",)),)),
            Boolean("nesterov", conditions=(Condition("optimizer", ("sgd",)),)),
            Choice(
                "schedule",
                ["step", "cosine"],
                conditions=(Condition("nesterov", (True,)),),
            ),
        ]
    )


def test_activity_follows_conditions_through_nested_parents():
    space = _conditional_space()
    adam = {"optimizer": "adam", "momentum": 0.5, "nesterov": True, "schedule": "step"}
    assert space.active(adam) == {"optimizer": "adam"}
    sgd = {"optimizer": "sgd", "momentum": 0.5, "nesterov": False}
    assert space.active(sgd) == sgd
    space.validate({"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "schedule": "cosine"})
    with pytest.raises(SpaceError, match="no value for active parameter 'schedule'"):
        space.validate({"optimizer": "sgd", "momentum": 0.9, "nesterov": True})
    with pytest.raises(SpaceError, match=r"'momentum': 2\.0 is not a value"):
        space.validate({"optimizer": "sgd", "momentum": 2.0, "nesterov": False})


def test_space_round_trips_through_dict_and_yaml(tmp_path):
    space = _conditional_space()
    space.add(Int("units", 32, 512, step=32, default_value=128))
    space.add(Fixed("epochs", 10))
    assert Space.from_dict(space.to_dict()) == space
    import yaml

    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({"space": space.to_dict()}))
    assert Space.from_yaml(path) == space


def test_declarative_space_reads_yaml_the_way_people_write_it():
    text = """
space:
  lr: {type: float, min: 1e-4, max: 1e-1, sampling: log}
  units: {type: int, min_value: 32, max_value: 256, step: 32}
  activation: [relu, tanh]
  use_bn: {type: boolean}
  epochs: 20
  momentum: {type: float, min: 0.0, max: 0.99, condition: {activation: [tanh]}}
"""
    space = Space.from_yaml(text)
    assert space["lr"] == Float("lr", 1e-4, 1e-1, sampling="log")
    assert space["units"] == Int("units", 32, 256, step=32)
    assert space["activation"] == Choice("activation", ("relu", "tanh"))
    assert isinstance(space["use_bn"], Boolean)
    assert space["epochs"] == Fixed("epochs", 20)
    assert space["momentum"].conditions == (Condition("activation", ("tanh",)),)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"x": {"type": "floaty", "min": 0, "max": 1}}, "unknown type 'floaty'"),
        ({"x": {"type": "float", "min": 0}}, "needs min and max"),
        ({"x": {"type": "float", "min": 0, "max": 1, "stepp": 0.1}}, "unknown field(s) ['stepp']"),
        ({"x": {"type": "int", "min": "ten", "max": 20}}, "min must be a number"),
        ({"x": {"type": "choice"}}, "choice needs values"),
        ({"x": {"type": "float", "min": 2, "max": 1}}, "greater than max_value"),
    ],
)
def test_declarative_errors_name_the_parameter_and_field(spec, fragment):
    with pytest.raises(SpaceError) as info:
        Space.from_dict(spec)
    assert fragment in str(info.value)
    assert "x" in str(info.value)


def test_defaults_respect_conditions():
    space = _conditional_space()
    assert space.defaults() == {"optimizer": "adam"}
