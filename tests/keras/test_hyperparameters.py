"""Keras Tuner's rules for HyperParameters objects, on tunelab's space."""

from __future__ import annotations

import pytest

import tunelab.keras as kt
from tunelab.errors import SpaceError


def test_the_first_definition_of_a_name_wins() -> None:
    hp = kt.HyperParameters()
    assert hp.Int("units", 16, 128, step=16, default=48) == 48
    # As in Keras Tuner, a second definition reads the first one's value, even with
    # another range; the space keeps the first.
    assert hp.Int("units", 16, 64, step=16) == 48
    assert [p.name for p in hp.space] == ["units"]
    assert hp.space[0].to_dict()["max"] == 128


def test_a_bad_definition_names_the_parameter() -> None:
    hp = kt.HyperParameters()
    with pytest.raises(SpaceError, match="'lr'"):
        hp.Float("lr", 1e-2, 1e-4, sampling="log")
    with pytest.raises(SpaceError, match="'act'"):
        hp.Choice("act", [])
