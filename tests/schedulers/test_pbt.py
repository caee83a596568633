"""PBT: clones load their donor's checkpoint, explore within the space, keep a lineage."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import tunelab as tl
from tests.schedulers.helpers import PBT, make_record
from tunelab.budget import Budget
from tunelab.errors import ConfigError
from tunelab.schedulers import Prune, Resume, SchedulerView, Start
from tunelab.schedulers.pbt import MEMBER, PBTScheduler, explore
from tunelab.space import Boolean, Choice, Fixed, Float, Int, Space
from tunelab.storage.artifacts import CheckpointRef
from tunelab.trial import TrialRecord, TrialStatus


def test_clones_load_the_donors_checkpoint_at_the_copy_step_not_their_own(run_curves):
    run = run_curves(PBT, max_epochs=1000)
    trials = run.trials_by_number()
    clones = [t for t in trials.values() if t.meta["scheduler"]["parent"] is not None]
    assert len(clones) == 3  # one per generation after the first (quantile 25% of 4)
    loaded = {r.trial: r for r in run.task.restores if r.source != r.trial}
    assert set(loaded) == {t.number for t in clones}
    for clone in clones:
        lineage = clone.meta["scheduler"]
        restore = loaded[clone.number]
        assert (restore.source, restore.epoch) == (lineage["parent"], lineage["step"])
        assert restore.source != clone.number
        # It continued from the donor's epoch: its first report is the next one.
        assert clone.reports[0].step == lineage["step"] + 1
        # The donor trained on past the copy step; the clone still got the state at it.
        donor = trials[lineage["parent"]]
        assert max(r.step for r in donor.reports) > lineage["step"]
        assert lineage["parent_params"] == donor.params
        assert trials[lineage["replaced"]].status is tl.TrialStatus.PRUNED
    # Every (trial, epoch) was trained once; every member slot trained 12 epochs.
    assert max(Counter(run.task.trained).values()) == 1
    assert run.usage.epochs == 4 * 12
    plan = PBTScheduler(**{k: v for k, v in PBT.items() if k != "name"}).plan(Budget())
    assert plan.total_epochs == run.usage.epochs and plan.total_trials == len(trials)


def _clones(run) -> list[TrialRecord]:
    """The trials PBT cloned from a donor; the small PBT makes one per later generation."""
    clones = [t for t in run.study.trials if t.meta["scheduler"]["parent"] is not None]
    assert len(clones) == 3
    return clones


def test_clone_hyperparameters_are_explored_within_the_space(run_curves):
    run = run_curves({**PBT, "resample_probability": 0.0}, max_epochs=1000)
    space = run.study.space
    for t in run.study.trials:
        space.validate(t.params)
    for clone in _clones(run):
        before, after = clone.meta["scheduler"]["parent_params"]["lr"], clone.params["lr"]
        candidates = [min(max(before * f, 1e-4), 1.0) for f in (0.8, 1.2)]
        assert after == pytest.approx(candidates[0]) or after == pytest.approx(candidates[1])
        assert after != pytest.approx(before)
        assert clone.params["activation"] in ("relu", "tanh", "sigmoid")


def test_mutate_limits_exploration_to_the_named_parameters(run_curves):
    run = run_curves({**PBT, "mutate": ["lr"]}, max_epochs=1000)
    for clone in _clones(run):
        donor = clone.meta["scheduler"]["parent_params"]
        assert clone.params["lr"] != pytest.approx(donor["lr"])
        assert clone.params["width"] == donor["width"]
        assert clone.params["activation"] == donor["activation"]


def test_explore_perturbs_clips_snaps_and_resamples():
    space = Space(
        [
            Float("lr", 1e-3, 1.0, sampling="log"),
            Float("dropout", 0.0, 0.5, step=0.1),
            Int("units", 8, 64),
            Choice("act", ("relu", "tanh", "gelu")),
            Boolean("bn"),
            Fixed("seed", 7),
            Float("momentum", 0.5, 0.99, conditions=(tl.Condition("act", ("tanh",)),)),
        ]
    )
    config = {"lr": 0.9, "dropout": 0.3, "units": 10, "act": "relu", "bn": True, "seed": 7}
    rng = np.random.default_rng(0)
    acts: Counter[str] = Counter()
    for _ in range(300):
        new = explore(config, space, rng, resample_probability=0.0)
        space.validate(new)
        assert new["lr"] in (pytest.approx(0.72), 1.0)  # 0.9 * 1.2 clipped to 1.0
        assert new["dropout"] in (pytest.approx(0.2), pytest.approx(0.4))  # 0.24 / 0.36 snapped
        assert new["units"] in (8, 12)  # round(8.0), round(12.0)
        assert new["seed"] == 7
        assert ("momentum" in new) == (new["act"] == "tanh")  # activated child drawn afresh
        acts[new["act"]] += 1
    assert set(acts) == {"relu", "tanh", "gelu"}  # categoricals are resampled
    resampled = [explore(config, space, rng, resample_probability=1.0)["lr"] for _ in range(50)]
    assert len(set(resampled)) == 50 and all(1e-3 <= v <= 1.0 for v in resampled)


def _member(number: int, slot: int, status: TrialStatus, values: list[float]) -> TrialRecord:
    meta = {"scheduler": {MEMBER: slot, "parent": None, "step": 0}}
    return make_record(number, status, values, meta=meta, params={"x": 0.1 * (number + 1)})


def test_the_copied_checkpoint_is_pinned_even_if_the_donor_trains_on_first():
    scheduler = PBTScheduler(max_epochs=9, perturbation_interval=3, population_size=4, seed=0)
    space = Space([Float("x", 0.0, 1.0)])
    members = [_member(i, i, TrialStatus.PAUSED, [0.1 * i] * 3) for i in range(4)]
    view = SchedulerView("acc", "max", [], [], members, space=space)
    assert scheduler.next(view) == Prune(0, reason="pbt: bottom quantile, replaced by a clone")
    # Move the donor's resume before the clone: it trains to step 6 and pauses again.
    scheduler.queue_.sort(key=lambda item: item["kind"] != "resume" or item["trial"] != 3)
    assert scheduler.next(view) == Resume(3, budget=6)
    donor_later = _member(3, 3, TrialStatus.PAUSED, [0.3] * 6)
    pruned = _member(0, 0, TrialStatus.PRUNED, [0.0] * 3)
    view = SchedulerView("acc", "max", [pruned], [], [*members[1:3], donor_later], space=space)
    action = scheduler.next(view)
    assert isinstance(action, Start)
    assert action.restore == CheckpointRef(3, 3)  # not (3, 6): the state it was ranked at
    assert action.budget == 6 and action.meta["parent"] == 3 and action.meta["step"] == 3


def test_plan_and_bad_options():
    plan = PBTScheduler(max_epochs=10, perturbation_interval=4, population_size=8).plan(Budget())
    assert [r.epochs for r in plan.brackets[0].rungs] == [4, 8, 10]
    assert plan.total_epochs == 80 and plan.total_trials == 8 + 2 * 2
    with pytest.raises(ConfigError, match="population_size must be an integer >= 2"):
        PBTScheduler(max_epochs=9, perturbation_interval=3, population_size=1)
    with pytest.raises(ConfigError, match="quantile"):
        PBTScheduler(max_epochs=9, perturbation_interval=3, quantile=0.9)
    with pytest.raises(ConfigError, match="mutate"):
        PBTScheduler(max_epochs=9, perturbation_interval=3, mutate="lr")
