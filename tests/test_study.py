"""Studies: results, failures, interruption, resume, budgets and output."""

from __future__ import annotations

import math
import sqlite3

import pytest

import tunelab as tl
from tunelab.errors import ConfigError, DuplicateStudyError, SpaceError, StudyNotFoundError
from tunelab.storage import make_storage


def quadratic(trial: tl.Trial) -> dict[str, float]:
    x = trial.hp.Float("x", -5.0, 10.0)
    for epoch in range(1, 4):
        trial.report(epoch, loss=(x - 2) ** 2 + 1 / epoch)
    return {"loss": (x - 2) ** 2, "x_abs": abs(x)}


def memory_study(**kwargs: object) -> tl.Study:
    options: dict[str, object] = {"metric": "loss", "mode": "min", "storage": ":memory:", "seed": 0}
    options.update(kwargs)
    return tl.create_study(**options)


def test_best_trial_and_dataframe():
    study = memory_study(searcher="sobol")
    study.optimize(quadratic, max_trials=8, quiet=True)
    values = [t.value for t in study.trials]
    assert study.best_value == min(values)
    assert study.best_trial.params == {"x": study.best_trial.params["x"]}
    assert study.best_params == study.best_trial.params
    frame = study.dataframe()
    assert list(frame["number"]) == list(range(8))
    for column in (
        "status",
        "value",
        "params_x",
        "metrics_loss",
        "metrics_x_abs",
        "started_at",
        "duration_s",
        "epochs",
    ):
        assert column in frame.columns
    assert set(frame["status"]) == {"completed"}
    assert (frame["epochs"] == 3).all()
    assert frame["metrics_x_abs"].tolist() == pytest.approx([abs(x) for x in frame["params_x"]])


def test_trial_records_reports_times_and_final_metrics():
    study = memory_study()
    study.optimize(quadratic, max_trials=1, quiet=True)
    (trial,) = study.trials
    assert [r.step for r in trial.reports] == [1, 2, 3]
    assert trial.reports[-1].metrics["loss"] == pytest.approx(trial.value + 1 / 3)
    assert trial.started_at is not None and trial.ended_at is not None
    assert trial.ended_at >= trial.started_at
    assert trial.status is tl.TrialStatus.COMPLETED and trial.error is None


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        (math.nan, "objective returned nan for 'loss'"),
        (math.inf, "objective returned inf for 'loss'"),
        ({"accuracy": 0.9}, "dict without the study metric 'loss'"),
        ({"loss": math.nan}, "objective returned nan for 'loss'"),
        ({"loss": "low"}, "loss='low', which is not a number"),
        ("fine", "objective returned str 'fine'"),
        (None, "returned None and reported no 'loss'"),
    ],
)
def test_invalid_results_fail_the_trial_with_the_reason_and_the_study_goes_on(returned, reason):
    def objective(trial: tl.Trial) -> object:
        x = trial.hp.Float("x", 0.0, 1.0)
        return returned if trial.number == 1 else x

    study = memory_study()
    study.optimize(objective, max_trials=3, quiet=True)
    statuses = [t.status for t in study.trials]
    assert statuses == [tl.TrialStatus.COMPLETED, tl.TrialStatus.FAILED, tl.TrialStatus.COMPLETED]
    failed = study.trials[1]
    assert reason in (failed.error or "")
    assert failed.failure is tl.FailureKind.INVALID_VALUE


def test_objective_that_raises_is_recorded_with_traceback():
    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        trial.report(1, loss=x)
        if trial.number == 0:
            raise RuntimeError("out of memory on purpose")
        return x

    study = memory_study()
    study.optimize(objective, max_trials=3, quiet=True)
    failed = study.trials[0]
    assert failed.status is tl.TrialStatus.FAILED
    assert failed.error == "RuntimeError: out of memory on purpose"
    assert failed.traceback is not None and "out of memory on purpose" in failed.traceback
    assert failed.failure is tl.FailureKind.OBJECTIVE_ERROR
    assert len(failed.reports) == 1 and "x" in failed.params
    assert [t.status for t in study.trials[1:]] == [tl.TrialStatus.COMPLETED] * 2


def test_none_result_uses_the_best_reported_value():
    def objective(trial: tl.Trial) -> None:
        for epoch, acc in enumerate([0.5, 0.9, 0.7], start=1):
            trial.report(epoch, accuracy=acc, loss=1 - acc)

    study = tl.create_study(metric="accuracy", mode="max", storage=":memory:")
    study.optimize(objective, max_trials=1, quiet=True)
    (trial,) = study.trials
    assert trial.value == 0.9
    assert trial.metrics["accuracy"] == 0.9
    assert trial.metrics["loss"] == pytest.approx(0.3)


def test_each_report_is_committed_before_the_objective_continues(tmp_path):
    path = tmp_path / "seen.db"
    seen: list[int] = []

    def objective(trial: tl.Trial) -> float:
        for epoch in range(1, 4):
            trial.report(epoch, loss=1.0 / epoch)
            with sqlite3.connect(path) as other:  # another connection, as a crash-reader would
                (count,) = other.execute("select count(*) from tunelab_reports").fetchone()
            seen.append(count)
        return 0.0

    study = tl.create_study("c", metric="loss", storage=path)
    study.optimize(objective, max_trials=2, quiet=True)
    assert seen == [1, 2, 3, 4, 5, 6]


def test_keyboard_interrupt_stops_cleanly_and_resume_reruns_the_interrupted_config(tmp_path):
    storage = tmp_path / "ki.db"
    interrupt_at = {"n": 3}

    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        trial.report(1, loss=x)
        if trial.number == interrupt_at["n"]:
            raise KeyboardInterrupt
        return x

    study = tl.create_study("ki", metric="loss", searcher="sobol", seed=1, storage=storage)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, max_trials=6, quiet=True)
    trials = study.trials
    assert [t.status for t in trials[:3]] == [tl.TrialStatus.COMPLETED] * 3
    interrupted = trials[3]
    assert interrupted.status is tl.TrialStatus.FAILED
    assert interrupted.failure is tl.FailureKind.INTERRUPTED
    assert len(interrupted.reports) == 1  # what it reported is kept
    assert trials[4].status is tl.TrialStatus.WAITING and trials[4].retry_of == 3

    interrupt_at["n"] = -1
    resumed = tl.load_study("ki", storage=storage)
    resumed.optimize(objective, max_trials=6, quiet=True)
    trials = resumed.trials
    completed = [t for t in trials if t.status is tl.TrialStatus.COMPLETED]
    assert len(completed) == 6
    assert trials[4].params == interrupted.params  # the interrupted configuration ran again
    numbers_done_before = {0, 1, 2}
    assert {t.number for t in completed} >= numbers_done_before


def test_conflicting_redefinition_stops_the_study_with_a_clear_error():
    def objective(trial: tl.Trial) -> float:
        if trial.number == 0:
            return trial.hp.Int("units", 32, 512, step=32)
        return trial.hp.Int("units", 16, 256, step=16)

    study = memory_study(metric="value")
    with pytest.raises(SpaceError, match="'units' is already defined as Int"):
        study.optimize(objective, max_trials=5, quiet=True)
    assert [t.status for t in study.trials] == [tl.TrialStatus.COMPLETED, tl.TrialStatus.FAILED]


def test_max_trials_is_a_study_total_not_per_call():
    study = memory_study()
    study.optimize(quadratic, max_trials=4, quiet=True)
    assert len(study.trials) == 4
    study.optimize(quadratic, max_trials=4, quiet=True)
    assert len(study.trials) == 4
    used = study.optimize(quadratic, max_trials=6, quiet=True)
    assert len(study.trials) == 6
    assert used.trials == 6 and used.epochs == 18


def test_epoch_budget_stops_the_running_trial_and_the_study():
    study = memory_study()
    used = study.optimize(quadratic, max_epochs=7, quiet=True)
    assert used.epochs == 7
    statuses = [t.status for t in study.trials]
    assert statuses == [tl.TrialStatus.COMPLETED, tl.TrialStatus.COMPLETED, tl.TrialStatus.PRUNED]
    assert study.trials[-1].steps_trained == 1


def test_wall_clock_budget_ends_the_study():
    import time

    def slow(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        time.sleep(0.05)
        trial.report(1, loss=x)
        return x

    # Bounds with seconds of slack: they hold on a machine loaded by twice its cores.
    study = memory_study()
    used = study.optimize(slow, max_seconds=1.0, quiet=True)
    assert 1.0 <= used.seconds < 1.0 + 3.0
    assert 3 <= len(study.trials) <= 1.0 / 0.05 + 1


def test_stored_clock_counts_the_time_spent_training_between_reports(tmp_path):
    """The seconds a study has run survive in storage, training time included, so a
    resumed study keeps its wall-clock budget."""
    import time

    def reporting(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        for epoch in range(1, 4):
            time.sleep(0.05)
            trial.report(epoch, loss=x)
        return x

    storage = make_storage(tmp_path / "clock.db")
    study = tl.create_study("clock", storage=storage, seed=0)
    used = study.optimize(reporting, max_trials=3, quiet=True)
    stored = storage.get_study("clock").elapsed_seconds
    assert stored >= 9 * 0.05
    assert stored == pytest.approx(used.seconds, abs=0.05)
    again = tl.load_study("clock", storage=storage).optimize(reporting, max_seconds=0.1, quiet=True)
    assert again.seconds >= stored  # the resumed study starts from the stored clock
    assert len(tl.load_study("clock", storage=storage).trials) == 3  # budget already used


def test_enqueued_configurations_run_first():
    study = memory_study()
    study.optimize(quadratic, max_trials=1, quiet=True)
    study.enqueue({"x": 2.0})
    study.optimize(quadratic, max_trials=3, quiet=True)
    assert study.trials[1].params == {"x": 2.0}
    assert study.best_value == 0.0
    with pytest.raises(ConfigError, match=r"x=99\.0 is not a value"):
        study.enqueue({"x": 99.0})


def test_optimize_needs_a_budget_and_a_callable():
    study = memory_study()
    with pytest.raises(ConfigError, match="needs a budget"):
        study.optimize(quadratic)
    with pytest.raises(ConfigError, match="must be callable"):
        study.optimize("quadratic", max_trials=1)
    with pytest.raises(ConfigError, match="max_trials must be a positive integer"):
        study.optimize(quadratic, max_trials=0)


def test_create_and_load_errors(tmp_path):
    storage = tmp_path / "s.db"
    tl.create_study("a", storage=storage)
    with pytest.raises(DuplicateStudyError, match="'a' already exists"):
        tl.create_study("a", storage=storage)
    assert tl.create_study("a", storage=storage, load_if_exists=True).name == "a"
    with pytest.raises(StudyNotFoundError, match="no study named 'b'"):
        tl.load_study("b", storage=storage)
    with pytest.raises(ConfigError, match="mode must be 'min' or 'max'"):
        tl.create_study("c", storage=storage, mode="maximise")
    with pytest.raises(ConfigError, match="unknown searcher 'bayesian'"):
        tl.create_study("c", storage=storage, searcher="bayesian")
    with pytest.raises(ConfigError, match="unknown scheduler 'asha2'"):
        tl.create_study("c", storage=storage, scheduler="asha2")


def test_default_storage_is_a_file_in_the_working_directory_named_in_the_first_line(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    study = tl.create_study("here", metric="loss")
    study.optimize(quadratic, max_trials=2)
    first_line = capsys.readouterr().out.splitlines()[0]
    assert str(tmp_path / "tunelab.db") in first_line
    assert (tmp_path / "tunelab.db").exists()
    assert len(tl.load_study("here", storage=tmp_path / "tunelab.db").trials) == 2


def test_quiet_prints_nothing(capsys):
    memory_study().optimize(quadratic, max_trials=2, quiet=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_failures_are_reported_as_they_happen(capsys):
    def objective(trial: tl.Trial) -> float:
        trial.hp.Float("x", 0.0, 1.0)
        raise ValueError("bad batch")

    memory_study().optimize(objective, max_trials=2)
    captured = capsys.readouterr()
    assert "trial 0 failed: ValueError: bad batch" in captured.out + captured.err


def test_declared_space_params_are_recorded_even_if_read_with_get():
    space = {
        "lr": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log"},
        "act": ["relu", "tanh"],
    }
    study = tl.create_study(storage=":memory:", space=space, searcher="sobol", seed=0)
    study.optimize(lambda t: math.log10(t.hp.get("lr")), max_trials=4, quiet=True)
    for t in study.trials:
        assert set(t.params) == {"lr", "act"}
        assert 1e-4 <= t.params["lr"] <= 1e-1


def test_study_state_survives_in_storage(tmp_path):
    storage = make_storage(tmp_path / "state.db")
    study = tl.create_study("st", storage=storage, searcher="sobol", seed=2)
    study.optimize(quadratic, max_trials=3, quiet=True)
    record = storage.get_study("st")
    assert record.searcher["name"] == "sobol" and record.searcher["options"]["seed"] == 2
    assert record.searcher_state is not None and record.searcher_state["index"] == 3
    assert record.space["x"] == {"type": "float", "min": -5.0, "max": 10.0, "default": -5.0}
    assert record.elapsed_seconds > 0


def test_report_rejects_bad_steps_and_keeps_order():
    seen: list[str] = []

    def objective(trial: tl.Trial) -> float:
        for bad in (True, 2.5, "3"):
            try:
                trial.report(bad, loss=1.0)
            except TypeError as exc:
                seen.append(str(exc))
        trial.report(2, loss=1.0)
        try:
            trial.report(2, loss=0.5)
        except ValueError as exc:
            seen.append(str(exc))
        return 0.0

    study = memory_study()
    study.optimize(objective, max_trials=1, quiet=True)
    assert len(seen) == 4 and "step must be an integer" in seen[0]
    assert "step 2 does not follow step 2" in seen[3]
    assert [r.step for r in study.trials[0].reports] == [2]


def test_an_invalid_enqueued_value_fails_the_trial_with_the_reason():
    study = memory_study()
    study.enqueue({"x": 42.0})  # unknown parameter at enqueue time: checked when defined
    study.optimize(quadratic, max_trials=2, quiet=True)
    failed = study.trials[0]
    assert failed.status is tl.TrialStatus.FAILED
    assert "the proposed x=42.0 is not a value of Float('x'" in (failed.error or "")


def test_checkpoints_go_to_an_explicit_root_that_load_study_finds_again(tmp_path):
    from tunelab.tasks.curves import LearningCurves

    task = LearningCurves()
    root = tmp_path / "shared-checkpoints"
    study = tl.create_study(
        "ck",
        metric="val_accuracy",
        mode="max",
        storage=tmp_path / "s.db",
        scheduler={"name": "asha", "max_epochs": 9},
        space=task.space(),
        artifacts=root,
    )
    assert study.artifacts.directory.parent == root
    study.optimize(task, max_epochs=30, quiet=True)
    again = tl.load_study("ck", storage=tmp_path / "s.db")
    assert again.artifacts.directory == study.artifacts.directory
    paused_once = [t.number for t in again.trials if again.artifacts.steps(t.number)]
    assert paused_once
    assert again.checkpoint(paused_once[0])["trial"] == paused_once[0]
    assert again.checkpoint(10_000) is None
    elsewhere = tl.load_study("ck", storage=tmp_path / "s.db", artifacts=tmp_path / "mnt")
    assert elsewhere.artifacts.directory == tmp_path / "mnt" / study.artifacts.directory.name


def test_studies_of_the_same_name_never_share_checkpoints(tmp_path):
    storage = tmp_path / "s.db"
    first = tl.create_study("same", storage=storage)
    folder = first.artifacts.directory
    first.storage.delete_study("same")
    second = tl.create_study("same", storage=storage)
    assert second.artifacts.directory != folder
    assert second.artifacts.directory.parent == tmp_path / "s.db.artifacts"


def test_study_user_attrs_are_stored_and_read_back(tmp_path):
    storage = make_storage(tmp_path / "attrs.db")
    study = tl.create_study("attrs", storage=storage, user_attrs={"owner": "ada"})
    study.set_user_attr("note", {"k": (1, 2)})
    assert study.user_attrs["note"] == {"k": [1, 2]}
    again = tl.load_study("attrs", storage=storage)
    assert again.user_attrs["owner"] == "ada" and again.user_attrs["note"] == {"k": [1, 2]}
