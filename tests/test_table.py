"""Columns, filters and order of the trials table that ``tunelab show`` prints."""

from __future__ import annotations

import math

import pytest

import tunelab as tl
from tunelab.errors import TunelabError
from tunelab.table import (
    available_columns,
    default_columns,
    format_duration,
    parse_columns,
    parse_states,
    resolve,
    select,
)
from tunelab.trial import TrialRecord, TrialStatus


def record(number: int, status: str, value: float | None, **params) -> TrialRecord:
    return TrialRecord(
        study_id=1,
        trial_id=number + 1,
        number=number,
        status=TrialStatus(status),
        params=params,
        proposal={},
        meta={},
        budget=None,
        value=value,
        metrics={"loss": value, "acc": 0.5} if value is not None else {},
        reports=(),
        created_at=0.0,
        started_at=10.0,
        ended_at=10.0 + number,
    )


TRIALS = [
    record(0, "completed", 0.5, lr=0.1, act="relu"),
    record(1, "failed", None, lr=0.2, act="tanh"),
    record(2, "pruned", 0.9, lr=0.05),
    record(3, "completed", 0.2, lr=0.3, act="relu"),
    record(4, "completed", math.nan, lr=0.01, act="gelu"),
    record(5, "completed", 0.5, lr=0.2, act="tanh"),
]
COLUMNS = available_columns("loss", ["lr", "act"], TRIALS)


def numbers(trials: list[TrialRecord]) -> list[int]:
    return [t.number for t in trials]


def test_columns_in_order_with_parameters_then_other_metrics_then_extras():
    assert list(COLUMNS) == [
        *("number", "state", "value", "epochs", "duration", "lr", "act", "acc"),
        *("started", "error"),
    ]
    assert [c.key for c in default_columns(COLUMNS)] == [
        *("number", "state", "value", "epochs", "duration", "lr", "act")
    ]
    assert COLUMNS["value"].header == "loss"
    assert COLUMNS["lr"].numeric and not COLUMNS["act"].numeric


def test_a_metric_named_like_a_parameter_gets_a_prefixed_key():
    trials = [record(0, "completed", 0.5, acc=1)]
    columns = available_columns("loss", ["acc"], trials)
    assert columns["acc"].is_param and columns["metrics_acc"].header == "acc"


def test_names_resolve_with_aliases_and_unknown_ones_are_refused():
    assert resolve("loss", COLUMNS, "loss").key == "value"
    assert resolve("#", COLUMNS, "loss").key == "number"
    assert resolve("status", COLUMNS, "loss").key == "state"
    assert [c.key for c in parse_columns(" lr , value,", COLUMNS, "loss")] == ["lr", "value"]
    with pytest.raises(TunelabError, match="unknown column 'x'; columns: number, state"):
        parse_columns("lr,x", COLUMNS, "loss")
    with pytest.raises(TunelabError, match="names no column"):
        parse_columns(" , ", COLUMNS, "loss")


def test_states_parse_and_unknown_ones_are_refused():
    assert parse_states("completed, Pruned") == {TrialStatus.COMPLETED, TrialStatus.PRUNED}
    with pytest.raises(TunelabError, match="unknown state 'done'; states: waiting"):
        parse_states("done")


def test_default_order_is_the_trial_number_and_states_filter():
    assert numbers(select(TRIALS)) == [0, 1, 2, 3, 4, 5]
    assert numbers(select(TRIALS, states={TrialStatus.PRUNED, TrialStatus.FAILED})) == [1, 2]


def test_value_sorts_best_first_with_missing_values_last_either_way():
    value = COLUMNS["value"]
    # min study: ascending; ties keep number order; None and NaN last
    assert numbers(select(TRIALS, sort=value)) == [3, 0, 5, 2, 1, 4]
    # max study: descending, ties still in number order, missing still last
    assert numbers(select(TRIALS, sort=value, descending=True)) == [2, 0, 5, 3, 1, 4]
    assert numbers(select(TRIALS, sort=value, reverse=True)) == [2, 0, 5, 3, 1, 4]
    assert numbers(select(TRIALS, sort=value, top=2)) == [3, 0]


def test_other_columns_sort_ascending_text_after_numbers():
    assert numbers(select(TRIALS, sort=COLUMNS["act"])) == [4, 0, 3, 1, 5, 2]
    assert numbers(select(TRIALS, sort=COLUMNS["duration"], reverse=True)) == [5, 4, 3, 2, 1, 0]


def test_cells_as_text_and_csv():
    t = TRIALS[2]
    assert COLUMNS["act"].text(COLUMNS["act"].raw(t)) == "-"
    assert COLUMNS["value"].text(0.123456) == "0.1235"
    assert COLUMNS["started"].csv(None) is None
    assert COLUMNS["started"].csv(0.0).startswith("1970-01-01T")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.04, "0.0s"), (12.34, "12.3s"), (245, "4m05s"), (7620, "2h07m")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_a_stored_study_gives_its_space_order_and_undeclared_params_after():
    study = tl.create_study("t", storage=":memory:", seed=0, space={"b": [1, 2], "a": [3, 4]})

    def objective(trial: tl.Trial) -> float:
        trial.hp.Choice("b", [1, 2])
        trial.hp.Float("z", 0.0, 1.0)
        return float(trial.hp.Choice("a", [3, 4]))

    study.optimize(objective, max_trials=2, quiet=True)
    columns = available_columns(study.metric, study.space.names, study.trials)
    assert [c.key for c in default_columns(columns)][5:] == ["b", "a", "z"]
