"""Which strategies can run here, and the task a comparison runs on."""

from __future__ import annotations

import pytest

from tests.compare.synthetic import STOP_ODD, TASK, CurveTask
from tunelab.compare import Strategy, check_strategy, resolve_task
from tunelab.errors import ConfigError
from tunelab.schedulers import SCHEDULERS
from tunelab.searchers import SEARCHERS


def test_registered_components_are_available():
    assert check_strategy(Strategy("random")).available
    assert check_strategy(Strategy("g", {"name": "grid", "points": 3}, "fifo")).available
    assert check_strategy(Strategy("mine", "random", STOP_ODD)).available


def test_an_unregistered_searcher_or_scheduler_is_unavailable_with_the_reason():
    future = check_strategy(Strategy("future", "quantum_annealing"))
    assert not future.available
    assert future.reason == (
        "searcher 'quantum_annealing' is not in this tunelab (registered searchers: "
        + ", ".join(sorted(SEARCHERS))
        + ")"
    )
    later = check_strategy(Strategy("later", "random", {"name": "hyperband_v9", "eta": 3}))
    assert not later.available and "scheduler 'hyperband_v9'" in (later.reason or "")
    assert ", ".join(sorted(SCHEDULERS)) in (later.reason or "")


def test_a_component_that_cannot_be_imported_is_unavailable(monkeypatch):
    monkeypatch.setitem(SEARCHERS, "gone", "tunelab_no_such_module:Searcher")
    result = check_strategy(Strategy("gone", "gone"))
    assert not result.available
    assert "searcher 'gone' cannot be imported here" in (result.reason or "")


def test_bad_options_of_a_registered_component_are_a_config_error():
    with pytest.raises(ConfigError, match=r"strategy 'r'.*bad options"):
        check_strategy(Strategy("r", {"name": "random", "colour": "red"}))
    with pytest.raises(ConfigError, match=r"strategy 'f'.*max_epochs must be >= 1"):
        check_strategy(Strategy("f", "random", {"name": "fifo", "max_epochs": 0}))


def test_resolve_task_by_name_by_path_and_as_an_instance(tmp_path):
    digits = resolve_task("digits_mlp", {"epochs": 2})
    assert digits.name == "digits_mlp"
    curve = resolve_task(TASK, {"epochs": 3})
    assert type(curve).__name__ == "CurveTask" and curve.options()["epochs"] == 3
    instance = CurveTask()
    assert resolve_task(instance, {}) is instance
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        resolve_task("nope", {})
    with pytest.raises(ConfigError, match="accepted options"):
        resolve_task("digits_mlp", {"epoch": 2})
    (tmp_path / "notatask.py").write_text("def build():\n    return 1\n")
    with pytest.raises(ConfigError, match="is not a tunelab Task subclass"):
        resolve_task("notatask.py:build", {}, tmp_path)
    with pytest.raises(ConfigError, match="bad options"):
        resolve_task(TASK, {"colour": 1})
