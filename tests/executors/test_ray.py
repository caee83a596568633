"""Trials on a real local Ray instance started with this machine's CPUs."""

from __future__ import annotations

import os

import pytest

import tunelab as tl
from tunelab.executors.ray import RayExecutor

from . import objectives

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_trials_run_on_ray_actors_with_per_trial_resources(local_ray, tmp_path):
    executor = RayExecutor(n_workers=2, resources_per_trial={"cpu": 1})
    study = tl.create_study("r", metric="loss", searcher="sobol", seed=0, storage=tmp_path / "r.db")
    study.optimize(objectives.quadratic, max_trials=6, executor=executor, quiet=True)
    trials = study.trials
    assert [t.status for t in trials] == [tl.TrialStatus.COMPLETED] * 6
    assert all(len(t.reports) == 3 and set(t.params) == {"x", "kind"} for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_ray_workers_are_pinned_to_their_cpu_share(local_ray):
    executor = RayExecutor(n_workers=2, resources_per_trial={"cpu": 1})
    study = tl.create_study(storage=":memory:")
    study.optimize(objectives.environment, max_trials=2, executor=executor, quiet=True)
    for t in study.trials:
        assert t.user_attrs["omp"] == "1" and t.user_attrs["torch_threads"] == 1


def test_more_resources_than_the_cluster_has_means_fewer_workers(local_ray):
    executor = RayExecutor(resources_per_trial={"cpu": 2})
    study = tl.create_study(storage=":memory:", metric="loss")
    study.optimize(objectives.quadratic, max_trials=2, executor=executor, quiet=True)
    assert executor._size == max(1, (os.cpu_count() or 1) // 2)


def test_a_dead_actor_fails_its_trial_and_the_study_goes_on(local_ray):
    study = tl.create_study(metric="loss", storage=":memory:")
    study.optimize(
        objectives.dies_on_trial_one, max_trials=5, executor=RayExecutor(n_workers=2), quiet=True
    )
    by_number = {t.number: t for t in study.trials}
    assert by_number[1].failure is tl.FailureKind.WORKER_LOST
    assert "its Ray actor died" in (by_number[1].error or "")
    assert sum(t.status is tl.TrialStatus.COMPLETED for t in study.trials) == 3


def test_lambdas_travel_to_ray(local_ray):
    study = tl.create_study(storage=":memory:")
    study.optimize(
        lambda t: {"value": 2 * t.hp.Float("x", 0.0, 1.0), "pid": os.getpid()},
        max_trials=3,
        executor="ray",
        n_workers=2,
        quiet=True,
    )
    trials = study.trials
    assert [t.status for t in trials] == [tl.TrialStatus.COMPLETED] * 3
    assert [t.value for t in trials] == [2 * t.params["x"] for t in trials]
    assert os.getpid() not in {t.metrics["pid"] for t in trials}  # ran in Ray actors
