"""Every registered scheduler: rebuilt from its spec, state that survives a reload,
a plan for any budget, and clear errors for bad options."""

from __future__ import annotations

import json

import pytest

import tunelab as tl
from tunelab.budget import Budget
from tunelab.errors import ConfigError
from tunelab.schedulers import SCHEDULERS, make_scheduler, scheduler_class
from tunelab.schedulers.plan import Plan

OPTIONS: dict[str, dict[str, object]] = {
    "fifo": {"max_epochs": 9},
    "median": {"max_epochs": 9, "min_trials": 2},
    "halving": {"max_epochs": 9},
    "asha": {"max_epochs": 9},
    "hyperband": {"max_epochs": 9},
    "bohb": {"max_epochs": 9, "seed": 0},
    "pbt": {"max_epochs": 9, "perturbation_interval": 3, "population_size": 4, "seed": 0},
}


def test_every_registered_scheduler_is_covered_here():
    assert set(SCHEDULERS) == set(OPTIONS)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_spec_rebuilds_the_same_scheduler(name):
    scheduler = make_scheduler({"name": name, **OPTIONS[name]})
    assert isinstance(scheduler, scheduler_class(name))
    rebuilt = make_scheduler(json.loads(json.dumps(scheduler.spec())))
    assert rebuilt.get_params() == scheduler.get_params()
    assert repr(rebuilt) == repr(scheduler)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_a_study_reloaded_mid_way_continues_with_the_stored_state(run_curves, tmp_path, name):
    storage = tmp_path / "s.db"
    run = run_curves({"name": name, **OPTIONS[name]}, storage=storage, max_epochs=20)
    stored = run.study.storage.get_study(run.study.name).scheduler_state
    json.dumps(stored)  # plain JSON
    again = tl.load_study(run.study.name, storage=storage)
    assert type(again.scheduler) is type(run.study.scheduler)
    assert again.scheduler.state_dict() == run.study.scheduler.state_dict()
    used = again.optimize(run.task, max_epochs=45, quiet=True)
    assert used.epochs <= 45
    assert sum(t.steps_trained for t in again.trials) == used.epochs


@pytest.mark.parametrize("name", sorted(OPTIONS))
@pytest.mark.parametrize(
    "budget", [Budget(max_epochs=100), Budget(max_trials=10), Budget(max_seconds=5.0)]
)
def test_plan_for_any_budget(name, budget):
    plan = make_scheduler({"name": name, **OPTIONS[name]}).plan(budget)
    assert isinstance(plan, Plan) and plan.scheduler == name
    text = str(plan)
    assert text.startswith(f"{name} plan: ") and "total:" in text
    if plan.total_epochs is not None and budget.max_epochs is not None and plan.exact:
        assert plan.total_epochs <= budget.max_epochs


@pytest.mark.parametrize("name", ["halving", "asha", "hyperband", "bohb"])
def test_bad_epoch_options(name):
    with pytest.raises(ConfigError, match=f"{name}: max_epochs"):
        make_scheduler({"name": name, "max_epochs": "nine"})
    with pytest.raises(ConfigError, match=f"scheduler {name!r}: bad options"):
        make_scheduler({"name": name, "max_epochs": 9, "epochs": 3})


def test_unknown_scheduler():
    with pytest.raises(ConfigError, match="unknown scheduler 'hyperbnd'; available: asha, bohb"):
        make_scheduler("hyperbnd")
