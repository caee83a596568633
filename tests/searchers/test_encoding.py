"""The shared vector encoding: config <-> point, projection, one-hot, inactive parameters."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.searchers.base import config_key, used_config
from tunelab.searchers.encoding import (
    INACTIVE_NUMERIC,
    SpaceEncoding,
)
from tunelab.space import Space
from tunelab.trial import TrialRecord, TrialStatus

SPACE = Space.from_dict(
    {
        "units": {"type": "int", "min": 16, "max": 256, "step": 16},
        "layers": {"type": "int", "min": 1, "max": 4},
        "width": {"type": "int", "min": 1, "max": 300, "sampling": "log"},
        "lr": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log"},
        "decay": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log", "step": 10},
        "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1},
        "activation": ["relu", "tanh", "gelu"],
        "batch": [32, 64, 128],
        "batch_norm": {"type": "boolean"},
        "optimizer": ["adam", "sgd"],
        "momentum": {"type": "float", "min": 0.5, "max": 0.99, "condition": {"optimizer": ["sgd"]}},
        "nesterov": {"type": "boolean", "condition": {"optimizer": ["sgd"]}},
        "epochs": {"type": "fixed", "value": 5},
    }
)


@pytest.fixture(scope="module")
def enc():
    return SpaceEncoding(SPACE)


def test_layout_one_hot_for_unordered_choices_one_coordinate_otherwise(enc):
    widths = {b.param.name: (b.width, b.one_hot) for b in enc.blocks}
    assert widths["activation"] == (3, True)
    assert widths["batch_norm"] == (2, True)
    assert widths["batch"] == (1, False)  # numeric choices are ordered
    assert widths["lr"] == (1, False)
    assert "epochs" not in widths  # fixed: no coordinate
    assert enc.dims == sum(w for w, _ in widths.values())
    assert enc.param_dims == len(SPACE) - 1
    assert enc.continuous.sum() == 2  # lr and momentum


def test_projection_equals_encoding_the_decoded_configuration(enc):
    rng = np.random.default_rng(0)
    X = rng.random((3000, enc.dims))
    X[:10] = 0.0
    X[10:20] = 1.0
    projected = enc.project(X)
    reference = np.stack([enc.encode(enc.decode(x)) for x in X])
    np.testing.assert_allclose(projected, reference, atol=1e-12)
    np.testing.assert_array_equal(enc.project(projected), projected)  # idempotent


def test_decoded_points_are_valid_active_configurations_and_round_trip(enc):
    rng = np.random.default_rng(1)
    for x in rng.random((300, enc.dims)):
        config = enc.decode(x)
        SPACE.validate(config)
        assert config == SPACE.active(config)
        assert enc.decode(enc.encode(config)) == config


def test_inactive_parameters_take_the_fill_value_and_do_not_distinguish_trials(enc):
    base = {
        "units": 32,
        "layers": 2,
        "width": 10,
        "lr": 0.01,
        "decay": 0.001,
        "dropout": 0.2,
        "activation": "tanh",
        "batch": 64,
        "batch_norm": True,
        "optimizer": "adam",
        "epochs": 5,
    }
    stray = dict(base, momentum=0.9, nesterov=True)  # values of inactive parameters
    x, y = enc.encode(base), enc.encode(SPACE.active(stray))
    np.testing.assert_array_equal(x, y)
    b = enc.block("momentum")
    assert x[b.start] == INACTIVE_NUMERIC
    assert np.all(x[enc.block("nesterov").start : enc.block("nesterov").stop] == 0.0)
    _, active = enc.encode_with_mask(
        [base, dict(base, optimizer="sgd", momentum=0.9, nesterov=False)]
    )
    names = [blk.param.name for blk in enc.blocks]
    assert not active[0, names.index("momentum")] and active[1, names.index("momentum")]
    # an active momentum of 0.5 + (0.99-0.5)/2 is not confused with an inactive one
    sgd = dict(base, optimizer="sgd", momentum=0.745, nesterov=False)
    assert not np.array_equal(enc.encode(sgd), x)


def test_projection_fills_parameters_made_inactive(enc):
    x = enc.encode(
        dict(
            units=32,
            layers=2,
            width=10,
            lr=0.01,
            decay=0.001,
            dropout=0.2,
            activation="relu",
            batch=64,
            batch_norm=False,
            optimizer="sgd",
            momentum=0.6,
            nesterov=True,
            epochs=5,
        )
    )
    b = enc.block("optimizer")
    x[b.start : b.stop] = [0.9, 0.1]  # switch to adam
    p = enc.project(x)[0]
    assert p[enc.block("momentum").start] == INACTIVE_NUMERIC
    assert "momentum" not in enc.decode(p)


def test_cells_decode_to_one_value(enc):
    rng = np.random.default_rng(2)
    for name in ("units", "layers", "width", "decay", "dropout", "batch"):
        b = enc.block(name)
        u = rng.random(200)
        lo, hi = enc.cell_bounds(b, u)
        assert np.all(lo <= u) and np.all(u <= hi)
        for a, c, v in zip(lo, hi, u, strict=True):
            value = b.param.from_unit(float(v))
            assert b.param.from_unit(float(a) + 1e-12) == value
            assert b.param.from_unit(float(c) - 1e-12) == value
        centres = enc.level_centres(b)
        assert len(centres) == b.levels
        assert len({b.param.from_unit(float(c)) for c in centres}) == b.levels


def test_used_config_and_key():
    space = Space.from_dict({"x": {"type": "float", "min": 0, "max": 1}, "c": ["a", "b"]})
    record = TrialRecord(
        study_id=1,
        trial_id=1,
        number=0,
        status=TrialStatus.COMPLETED,
        params={"x": 0.5},
        proposal={"x": 0.25, "c": "a", "gone": 3},
        meta={},
        budget=None,
        value=1.0,
        metrics={},
        reports=(),
        created_at=0.0,
        started_at=0.0,
        ended_at=0.0,
    )
    assert used_config(record, space) == {"x": 0.5, "c": "a"}
    assert config_key({"x": 0.5, "c": "a"}) == config_key({"c": "a", "x": 0.5})
    assert config_key({"x": 1}) != config_key({"x": True})
