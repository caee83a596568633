"""Running comparisons: one study per (strategy, repeat), equal budgets, resume, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.compare.synthetic import STOP_ODD, TASK, calls
from tunelab.compare import ComparisonResults, compare, load_comparison
from tunelab.compare.results import MANIFEST_KEY, RESULT_KEY, RUN_KEY, SESSIONS_KEY
from tunelab.errors import ConfigError
from tunelab.storage import Storage, make_storage
from tunelab.trial import TrialStatus


def curve_compare(
    tmp_path: Path, storage: Storage | None = None, **overrides: Any
) -> ComparisonResults:
    options: dict[str, Any] = {
        "task": TASK,
        "strategies": ["random", "sobol"],
        "budget": {"epochs": 10},
        "repeats": 2,
        "name": "cmp",
        "storage": storage or make_storage(tmp_path / "cmp.db"),
        "task_options": {"epochs": 4, "calls_file": str(tmp_path / "calls.txt")},
        "quiet": True,
    }
    options.update(overrides)
    return compare(**options)


def test_each_strategy_and_repeat_is_one_seeded_study_with_the_same_budget(tmp_path):
    storage = make_storage(tmp_path / "cmp.db")
    results = curve_compare(tmp_path, storage)

    names = sorted(s.name for s in storage.list_studies())
    assert names == ["cmp/random/0", "cmp/random/1", "cmp/sobol/0", "cmp/sobol/1"]
    for strategy in results.strategies:
        assert strategy.status == "ok"
        for run in strategy.runs:
            record = storage.get_study(run.study_name)
            assert record.searcher["name"] == strategy.name
            assert record.searcher["options"]["seed"] == run.repeat  # seed 0 + repeat
            assert record.user_attrs[RUN_KEY]["budget"] == {"epochs": 10}
            trials = storage.get_trials(record.study_id)
            assert sum(t.steps_trained for t in trials) == 10 == run.epochs
            assert run.trace.total_epochs == 10
            assert run.status == "finished"
            best = max(
                (t for t in trials if t.status is TrialStatus.COMPLETED),
                key=lambda t: t.value or 0.0,
            )
            assert run.best_trial is not None and run.best_trial.number == best.number
            assert run.validation_value == best.value
            assert set(run.test_metrics) == {"test_score", "test_loss"}
            assert run.wall_seconds > 0 and run.final_epochs is not None
    # the two repeats of a strategy differ (own seeds); repeat r of random and sobol differ
    random0, random1 = (r.params for r in results.strategy("random").runs)
    assert random0 != random1
    assert results.test_metric == "test_score"


def test_a_finished_comparison_is_not_rerun(tmp_path):
    storage = make_storage(tmp_path / "cmp.db")
    first = curve_compare(tmp_path, storage)
    log = tmp_path / "calls.txt"
    before = calls(log)
    trials_before = {r.study_name: r.trace.total_epochs for r in first.runs}

    again = curve_compare(tmp_path, storage)

    assert calls(log) == before  # neither the objective nor the final evaluation ran
    assert {r.study_name: r.trace.total_epochs for r in again.runs} == trials_before
    assert [r.test_metrics for r in again.runs] == [r.test_metrics for r in first.runs]


def test_more_repeats_and_a_new_strategy_run_only_what_is_missing(tmp_path):
    storage = make_storage(tmp_path / "cmp.db")
    curve_compare(tmp_path, storage, strategies=["random"], repeats=1)
    log = tmp_path / "calls.txt"
    first_calls = calls(log).count("final_evaluation")
    ended = {
        t.trial_id: t.ended_at
        for t in storage.get_trials(storage.get_study("cmp/random/0").study_id)
    }

    results = curve_compare(tmp_path, storage, strategies=["random", "sobol"], repeats=2)

    assert calls(log).count("final_evaluation") == first_calls + 3  # random/1, sobol/0, sobol/1
    again = storage.get_trials(storage.get_study("cmp/random/0").study_id)
    assert {t.trial_id: t.ended_at for t in again} == ended
    assert [s.status for s in results.strategies] == ["ok", "ok"]
    manifest = storage.get_study("cmp/random/0").user_attrs[MANIFEST_KEY]
    assert [s["name"] for s in manifest["strategies"]] == ["random", "sobol"]


def test_an_unfinished_run_continues_its_study(tmp_path):
    storage = make_storage(tmp_path / "cmp.db")
    curve_compare(tmp_path, storage, strategies=["random"], repeats=1)
    record = storage.get_study("cmp/random/0")
    # as if the process had died between the study's end and its result being written
    attrs = dict(record.user_attrs)
    del attrs[RESULT_KEY]
    storage.delete_study("cmp/random/0")
    partial = storage.create_study(
        record.name,
        metric=record.metric,
        mode=record.mode,
        searcher=record.searcher,
        scheduler=record.scheduler,
        space=record.space,
        user_attrs=attrs,
    )
    import tunelab as tl

    study = tl.load_study(partial.name, storage=storage)
    task_log = tmp_path / "calls.txt"
    from tests.compare.synthetic import CurveTask

    study.optimize(CurveTask(epochs=4, calls_file=str(task_log)), max_epochs=6, quiet=True)

    results = curve_compare(tmp_path, storage, strategies=["random"], repeats=1)

    run = results.strategy("random").runs[0]
    assert run.status == "finished" and run.epochs == 10  # 6 before, 4 more after
    sessions = storage.get_study("cmp/random/0").user_attrs[SESSIONS_KEY]
    assert len(sessions) == 2


def test_a_changed_definition_is_refused_without_touching_the_runs(tmp_path):
    storage = make_storage(tmp_path / "cmp.db")
    curve_compare(tmp_path, storage, strategies=["random"], repeats=1)
    before = storage.get_study("cmp/random/0")
    with pytest.raises(ConfigError, match="budget"):
        curve_compare(tmp_path, storage, strategies=["random"], repeats=1, budget={"epochs": 12})
    with pytest.raises(ConfigError, match="definition"):
        curve_compare(
            tmp_path,
            storage,
            strategies=[{"name": "random", "searcher": "sobol"}],
            repeats=1,
        )
    assert storage.get_study("cmp/random/0") == before
    # spelling out a task default is not a change
    same = {"epochs": 4, "sleep": 0.0, "calls_file": str(tmp_path / "calls.txt")}
    again = curve_compare(tmp_path, storage, strategies=["random"], repeats=1, task_options=same)
    assert again.strategy("random").status == "ok"


def test_unavailable_strategies_are_listed_with_the_reason_and_never_run(tmp_path):
    storage = make_storage(tmp_path / "cmp.db")
    results = curve_compare(
        tmp_path,
        storage,
        strategies=[
            "random",
            "quantum",
            {"name": "later", "searcher": "random", "scheduler": {"name": "hyperband_v9"}},
        ],
        repeats=1,
    )
    assert [s.name for s in storage.list_studies()] == ["cmp/random/0"]
    quantum, later = results.strategy("quantum"), results.strategy("later")
    assert quantum.status == "unavailable" and not quantum.runs
    assert "searcher 'quantum' is not in this tunelab" in (quantum.reason or "")
    assert "scheduler 'hyperband_v9' is not in this tunelab" in (later.reason or "")


def test_nothing_available_and_bad_options_fail_before_any_run(tmp_path):
    storage = make_storage(tmp_path / "cmp.db")
    with pytest.raises(ConfigError, match="none of the strategies can run"):
        curve_compare(tmp_path, storage, strategies=["quantum", "oracle"])
    with pytest.raises(ConfigError, match=r"strategy 'grid'.*bad options"):
        curve_compare(
            tmp_path,
            storage,
            strategies=["random", {"name": "grid", "searcher": {"name": "grid", "pointz": 3}}],
        )
    assert storage.list_studies() == []


def test_a_strategy_failing_in_every_repeat_is_recorded_and_the_others_run(tmp_path):
    results = curve_compare(
        tmp_path,
        strategies=[
            "random",
            {"name": "short", "searcher": "random", "scheduler": {"name": "fifo", "max_epochs": 2}},
        ],
        task_options={"epochs": 4, "fail_budget": 2},
        max_consecutive_failures=3,
    )
    short = results.strategy("short")
    assert short.status == "failed"
    assert len(short.failed) == 2
    for run in short.runs:
        assert run.error is not None
        assert "3 failed trials in a row" in run.error
        assert "simulated out of memory at budget 2" in run.error
        assert run.failed_trials == 3
        assert run.traceback and "ConsecutiveFailuresError" in run.traceback
    assert results.strategy("random").status == "ok"


def test_an_error_out_of_the_study_fails_the_run_with_it(tmp_path):
    """Grid search cannot cover a continuous float: every run stops with that error."""
    results = curve_compare(tmp_path, strategies=["random", "grid"])
    grid = results.strategy("grid")
    assert grid.status == "failed"
    assert all("grid search: parameter" in (r.error or "") for r in grid.runs)


def test_trials_and_seconds_budgets(tmp_path):
    by_trials = curve_compare(tmp_path, strategies=["random"], budget={"trials": 3}, repeats=1)
    run = by_trials.strategy("random").runs[0]
    assert run.trials_run == 3 and run.epochs == 12  # 3 trials at the task's 4 epochs

    by_seconds = curve_compare(
        tmp_path,
        storage=make_storage(tmp_path / "seconds.db"),
        strategies=["random"],
        budget={"seconds": 0.3},
        repeats=1,
        task_options={"epochs": 4, "sleep": 0.02},
    )
    run = by_seconds.strategy("random").runs[0]
    assert run.status == "finished"
    # Seconds of slack: the bounds hold on a machine loaded by several times its cores.
    assert 0.3 <= run.wall_seconds < 0.3 + 10.0
    assert run.trace.seconds[-1] == pytest.approx(run.wall_seconds, abs=3.0)


def test_a_run_its_time_limit_ends_before_any_trial_completes_keeps_the_reported_best(
    tmp_path,
):
    # Each trial needs 4 x 1 s; the 3 s limit cuts the first after a report or two (two
    # seconds of slack for the first report on a loaded machine).
    results = curve_compare(
        tmp_path,
        strategies=["random"],
        budget={"seconds": 3.0},
        repeats=1,
        task_options={"epochs": 4, "sleep": 1.0},
    )
    run = results.strategy("random").runs[0]
    assert run.status == "finished"
    storage = make_storage(tmp_path / "cmp.db")
    trials = storage.get_trials(storage.get_study(run.study_name).study_id)
    assert all(t.status is not TrialStatus.COMPLETED for t in trials)
    pruned = [t for t in trials if t.status is TrialStatus.PRUNED and t.value is not None]
    assert pruned and run.validation_value == max(t.value for t in pruned)


def test_stopped_early_counts_scheduler_stops_not_the_budget_cut(tmp_path):
    results = curve_compare(
        tmp_path,
        strategies=[{"name": "stopper", "searcher": "random", "scheduler": STOP_ODD}],
        budget={"epochs": 15},
        repeats=1,
    )
    run = results.strategy("stopper").runs[0]
    storage = make_storage(tmp_path / "cmp.db")
    trials = storage.get_trials(storage.get_study(run.study_name).study_id)
    # trials 0, 2, 4 train 4 epochs; 1, 3 are stopped at 2: 4+2+4+2+3 = 15, the last cut
    assert [t.steps_trained for t in trials] == [4, 2, 4, 2, 3]
    assert [t.status for t in trials][-1] is TrialStatus.PRUNED
    assert run.stopped_early == 2


def test_the_real_digits_task_with_final_evaluation(tmp_path):
    storage = make_storage(tmp_path / "digits.db")
    results = compare(
        "digits_mlp",
        ["random", "sobol"],
        budget={"epochs": 8},
        repeats=2,
        task_options={"epochs": 3},
        storage=storage,
        quiet=True,
    )
    assert results.name == "digits_mlp"
    assert results.metric == "val_accuracy" and results.test_metric == "test_accuracy"
    for run in results.runs:
        assert run.status == "finished"
        assert run.epochs == run.trace.total_epochs == 8
        assert 0.0 < run.test_metrics["test_accuracy"] <= 1.0
        assert run.trace.final_best is not None
        assert run.validation_value is not None and run.validation_value <= run.trace.final_best
    assert load_comparison(storage=storage).runs == results.runs


def test_progress_lines_name_each_run(tmp_path, capsys):
    curve_compare(tmp_path, strategies=["random", "quantum"], repeats=1, quiet=False)
    out = capsys.readouterr().out
    assert "comparison 'cmp'" in out and "1 of 1 runs to do" in out
    assert "quantum: unavailable" in out
    assert "[1/1] cmp/random/0: best" in out and "test_score" in out
