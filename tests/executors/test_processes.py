"""Trials in local worker processes: results, pinning, dying workers, parallel speed-up."""

from __future__ import annotations

import itertools

import pytest

import tunelab as tl
from tunelab.errors import ConfigError, SpaceError, WorkerStartError
from tunelab.executors.processes import ProcessExecutor, _gpu_groups

from . import objectives


def test_trials_run_in_worker_processes_and_everything_is_recorded(tmp_path):
    import os

    study = tl.create_study("p", metric="loss", searcher="sobol", seed=0, storage=tmp_path / "p.db")
    study.optimize(
        objectives.quadratic, max_trials=8, executor="processes", n_workers=2, quiet=True
    )
    trials = study.trials
    assert [t.number for t in trials] == list(range(8))
    assert all(t.status is tl.TrialStatus.COMPLETED for t in trials)
    assert all(len(t.reports) == 3 and set(t.params) == {"x", "kind"} for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # workers are reused
    # Sobol keeps its categorical balance when trials run two at a time.
    kinds = [t.params["kind"] for t in trials]
    assert kinds.count("a") == kinds.count("b") == 4


def test_each_worker_gets_its_share_of_cpu_threads():
    executor = ProcessExecutor(n_workers=2, threads_per_trial=1)
    study = tl.create_study(storage=":memory:")
    study.optimize(objectives.environment, max_trials=4, executor=executor, quiet=True)
    for t in study.trials:
        assert t.user_attrs["omp"] == "1"
        assert t.user_attrs["torch_threads"] == 1
        assert t.user_attrs["cuda"] == ""


def test_gpu_slots_pack_fractional_trials():
    assert _gpu_groups([0, 1], 0.5) == [[0], [0], [1], [1]]
    assert _gpu_groups([0, 1, 2, 3], 1) == [[0], [1], [2], [3]]
    assert _gpu_groups([0, 1, 2, 3], 2) == [[0, 1], [2, 3]]
    executor = ProcessExecutor(gpus_per_trial=0.5, gpus=[0, 1])
    assert [s["CUDA_VISIBLE_DEVICES"] for s in executor._slots] == ["0", "0", "1", "1"]
    with pytest.raises(ConfigError, match="no GPU is visible"):
        ProcessExecutor(gpus_per_trial=1, gpus=[])
    with pytest.raises(ConfigError, match="need more than the 2 GPU"):
        ProcessExecutor(n_workers=3, gpus_per_trial=1, gpus=[0, 1])


def test_a_worker_that_dies_fails_its_trial_and_the_study_goes_on():
    study = tl.create_study(metric="loss", storage=":memory:")
    study.optimize(
        objectives.dies_on_trial_one, max_trials=5, executor="processes", n_workers=2, quiet=True
    )
    by_number = {t.number: t for t in study.trials}
    assert by_number[1].status is tl.TrialStatus.FAILED
    assert by_number[1].failure is tl.FailureKind.WORKER_LOST
    assert "died with exit code 3" in (by_number[1].error or "")
    assert by_number[2].failure is tl.FailureKind.WORKER_LOST
    assert "SIGKILL" in (by_number[2].error or "")
    assert len(by_number[1].reports) == 1  # what it reported before dying is kept
    completed = [t for t in study.trials if t.status is tl.TrialStatus.COMPLETED]
    assert len(completed) == 3


def test_two_workers_run_trials_concurrently():
    # Proof by overlapping time spans, not by wall time (timings belong in benchmarks/).
    study = tl.create_study(storage=":memory:", metric="loss")
    # 12 trials of 0.3 s: the second worker may start seconds late on a loaded machine.
    study.optimize(objectives.sleepy, max_trials=12, executor="processes", n_workers=2, quiet=True)
    spans = sorted((t.started_at, t.ended_at) for t in study.trials)
    overlaps = sum(a[1] > b[0] for a, b in itertools.pairwise(spans))
    assert overlaps >= 2


def test_conflicting_definition_in_a_worker_stops_the_study():
    study = tl.create_study(storage=":memory:")
    with pytest.raises(SpaceError, match="'units' is already defined"):
        study.optimize(
            objectives.redefines, max_trials=6, executor="processes", n_workers=1, quiet=True
        )


def test_unpicklable_objective_is_a_clear_error():
    study = tl.create_study(storage=":memory:")
    with pytest.raises(ConfigError, match="must be picklable"):
        study.optimize(lambda t: 0.0, max_trials=2, executor="processes", n_workers=1, quiet=True)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="n_workers must be >= 1"):
        ProcessExecutor(n_workers=0)
    with pytest.raises(ConfigError, match="unknown executor 'threads'"):
        tl.create_study(storage=":memory:").optimize(
            objectives.quadratic, max_trials=1, executor="threads"
        )


def test_an_objective_workers_cannot_import_stops_the_study_with_the_reason(tmp_path):
    import importlib.util

    source = tmp_path / "private_objective.py"
    source.write_text("def objective(trial):\n    return trial.hp.Float('x', 0.0, 1.0)\n")
    spec = importlib.util.spec_from_file_location("not_on_any_path_xyz", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    study = tl.create_study(storage=":memory:")
    with pytest.raises(WorkerStartError, match="a worker process cannot load the objective") as e:
        study.optimize(
            module.objective, max_trials=3, executor="processes", n_workers=1, quiet=True
        )
    assert "No module named 'not_on_any_path_xyz'" in str(e.value)
    assert not [t for t in study.trials if t.counts_toward_budget]  # not the trial's fault
