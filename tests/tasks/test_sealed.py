"""The seal on test data: closed by default, opened only outside tuning, logged."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

from tunelab.errors import SealedTestDataError, TunelabError
from tunelab.tasks.sealed import SealedTestSet, in_tuning_phase, row_hashes, tuning_phase


def make_set() -> SealedTestSet:
    return SealedTestSet(np.arange(12.0).reshape(4, 3), np.array([0, 1, 0, 1]), name="toy")


def test_reading_a_sealed_set_raises_a_clear_error() -> None:
    sealed = make_set()
    for attribute in ("x", "y"):
        with pytest.raises(SealedTestDataError, match=r"toy: .* sealed.*final_evaluation"):
            getattr(sealed, attribute)
    assert issubclass(SealedTestDataError, TunelabError)
    assert len(sealed) == 4
    assert "sealed" in repr(sealed)


def test_unsealed_opens_for_the_block_and_logs_why() -> None:
    sealed = make_set()
    with sealed.unsealed("final evaluation") as (x, y):
        assert x.shape == (4, 3) and list(y) == [0, 1, 0, 1]
        assert np.array_equal(sealed.x, x)
        assert "open" in repr(sealed)
    assert sealed.is_sealed
    with pytest.raises(SealedTestDataError):
        _ = sealed.y
    assert sealed.openings == ["final evaluation"]


def test_arrays_are_read_only() -> None:
    with make_set().unsealed("look") as (x, _), pytest.raises(ValueError):
        x[0, 0] = 1.0


def test_cannot_be_opened_during_tuning() -> None:
    sealed = make_set()
    assert not in_tuning_phase()
    with tuning_phase("trial 3"):
        assert in_tuning_phase()
        with (
            pytest.raises(SealedTestDataError, match=r"during tuning.*trial 3"),
            sealed.unsealed("sneaky"),
        ):
            pass  # pragma: no cover
    assert not in_tuning_phase()
    assert sealed.openings == []


def test_tuning_phase_belongs_to_its_thread() -> None:
    seen: list[bool] = []
    with tuning_phase():
        worker = threading.Thread(target=lambda: seen.append(in_tuning_phase()))
        worker.start()
        worker.join()
    assert seen == [False]


def test_row_hashes_work_sealed_and_match_the_rows() -> None:
    sealed = make_set()
    with sealed.unsealed("compare") as (x, _):
        expected = row_hashes(x)
    assert sealed.row_hashes() == expected
    assert len(set(expected)) == 4


def test_a_pickled_copy_arrives_sealed_and_read_only() -> None:
    sealed = make_set()
    with sealed.unsealed("while open"):
        copy = pickle.loads(pickle.dumps(sealed))
    assert copy.is_sealed
    with copy.unsealed("again") as (x, _):
        assert not x.flags.writeable
    assert copy.openings == ["while open", "again"]


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="4 rows but y_test has 3"):
        SealedTestSet(np.zeros((4, 2)), np.zeros(3), name="bad")
