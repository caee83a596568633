"""BOHB: the history a searcher sees is projected to the largest budget with enough data."""

from __future__ import annotations

from typing import ClassVar

from tests.schedulers.helpers import make_record, no_epoch_twice
from tunelab.budget import Budget
from tunelab.schedulers.base import value_at
from tunelab.schedulers.bohb import BOHBScheduler, project_history
from tunelab.schedulers.hyperband import hyperband_shapes
from tunelab.searchers.base import History, Proposal
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.random import RandomSearcher
from tunelab.searchers.sobol import SobolSearcher
from tunelab.space import Float, Space
from tunelab.trial import TrialRecord, TrialStatus


def _trial(number: int, status: TrialStatus, values: list[float]) -> TrialRecord:
    return make_record(number, status, values, params={"x": 0.1 * number})


SPACE = Space([Float("x", 0.0, 1.0)])


def test_projection_picks_the_largest_budget_with_enough_observations():
    finished = [
        _trial(0, TrialStatus.PRUNED, [0.1]),
        _trial(1, TrialStatus.PRUNED, [0.2, 0.3, 0.35]),
        _trial(2, TrialStatus.COMPLETED, [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9, 0.95, 0.97]),
        _trial(3, TrialStatus.FAILED, []),
    ]
    pending = [
        _trial(4, TrialStatus.PAUSED, [0.4, 0.45, 0.5]),
        _trial(5, TrialStatus.RUNNING, [0.2]),
    ]
    history = History(SPACE, "acc", "max", finished, pending)
    projected = project_history(history, [1, 3, 9], min_points=3)
    # budget 9 has one observation, budget 3 has three (trials 1, 2 and the paused 4)
    completed = {t.number: (t.value, t.budget, len(t.reports)) for t in projected.completed()}
    assert completed == {1: (0.35, 3, 3), 2: (0.6, 3, 3), 4: (0.5, 3, 3)}
    assert [t.number for t in projected.finished if t.status is TrialStatus.FAILED] == [3]
    assert [t.number for t in projected.pending] == [5]
    # with fewer required points the top budget is used
    top = project_history(history, [1, 3, 9], min_points=1)
    assert [(t.number, t.value) for t in top.completed()] == [(2, 0.97)]
    # with too many required, nothing has a value: a model-based searcher draws at random
    none = project_history(history, [1, 3, 9], min_points=10)
    assert none.completed() == [] and {t.number for t in none.pending} == {4, 5}


class Recording(RandomSearcher):
    """Random search that records what completed trials each suggestion was shown."""

    name = "recording"
    seen: ClassVar[list[list[tuple[int, int | None, float | None]]]] = []

    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        Recording.seen.append([(t.number, t.budget, t.value) for t in history.completed()])
        return super().suggest(history, n)


def test_the_study_searcher_is_asked_with_the_projected_history(run_curves):
    Recording.seen = []
    scheduler = {"name": "bohb", "max_epochs": 9, "min_points": 3, "random_fraction": 0.0}
    iteration = sum(sh.epochs for sh in hyperband_shapes(1, 9, 3))
    run = run_curves(scheduler, searcher=Recording(seed=0), max_epochs=2 * iteration)
    trials = run.trials_by_number()
    assert len(Recording.seen) == len(trials)
    chosen = []
    for seen in Recording.seen:
        budgets = {b for _, b, _ in seen}
        assert len(budgets) <= 1  # one budget at a time
        if seen:
            (budget,) = budgets
            chosen.append(budget)
            assert len(seen) >= 3
            for number, _, value in seen:
                assert value == value_at(trials[number], "val_accuracy", budget)
    assert Recording.seen[0] == []  # nothing to fit at first
    assert chosen == sorted(chosen)  # observations only accumulate
    assert chosen[-1] == 9  # the second iteration fits on full-budget results
    assert no_epoch_twice(run.task.trained)


def test_random_fraction_hides_every_observation(run_curves):
    Recording.seen = []
    scheduler = {"name": "bohb", "max_epochs": 9, "random_fraction": 1.0, "seed": 0}
    run_curves(scheduler, searcher=Recording(seed=0), max_epochs=60)
    assert Recording.seen and all(seen == [] for seen in Recording.seen)


def test_bohb_with_sobol_runs_the_hyperband_plan(run_curves):
    scheduler = {"name": "bohb", "max_epochs": 9, "seed": 1}
    plan = BOHBScheduler(max_epochs=9).plan(Budget(max_epochs=100))
    run = run_curves(scheduler, searcher=SobolSearcher(seed=0), max_epochs=100)
    assert run.usage.epochs == plan.total_epochs
    assert len(run.study.trials) == plan.total_trials


def test_bohb_with_tpe_fits_tpe_once_its_initial_design_is_done(run_curves):
    run = run_curves({"name": "bohb", "max_epochs": 9, "seed": 0}, searcher="tpe", max_epochs=120)
    assert run.usage.epochs <= 120 and no_epoch_twice(run.task.trained)
    trials = run.study.trials
    n_initial = run.study.searcher.initial_design_size(SpaceEncoding(run.study.space))
    assert all("sobol_index" in t.meta for t in trials[:n_initial])
    # A proposal of the fitted model carries its score; the design's carry a Sobol index.
    modelled = [t.number for t in trials if "log_l_over_g" in t.meta]
    assert len(modelled) >= 3 and min(modelled) >= n_initial


def test_state_round_trip():
    a = BOHBScheduler(max_epochs=9, seed=3)
    a.rng_.random()
    b = BOHBScheduler(max_epochs=9)
    b.load_state_dict(a.state_dict())
    assert a.rng_.random() == b.rng_.random()
