"""plot_intermediate: every trial's learning curve, pruned trials marked at their end."""

from __future__ import annotations

from typing import Any

import tunelab as tl
from tunelab.plot import plot_intermediate


def _by_gid(ax, prefix: str) -> dict[str, Any]:
    return {c.get_gid(): c for c in ax.collections if str(c.get_gid()).startswith(prefix)}


def test_one_curve_per_trial_with_its_reports_and_pruned_ends_marked(hyperband: tl.Study):
    trials = hyperband.trials
    figure = plot_intermediate(hyperband)
    ax = figure.axes[0]
    curves = _by_gid(ax, "curves:")
    assert sum(len(c.get_segments()) for c in curves.values()) == len(trials)
    completed = [t for t in trials if t.status is tl.TrialStatus.COMPLETED]
    for t, segment in zip(completed, curves["curves:completed"].get_segments(), strict=True):
        assert [tuple(p) for p in segment] == [(r.step, r.metrics["loss"]) for r in t.reports]
    pruned = [t for t in trials if t.status is tl.TrialStatus.PRUNED]
    ends = _by_gid(ax, "ends:")["ends:pruned"].get_offsets()
    assert [tuple(p) for p in ends] == [
        (t.reports[-1].step, t.reports[-1].metrics["loss"]) for t in pruned
    ]
    figure.canvas.draw()


def test_max_points_downsamples_each_curve_keeping_its_ends(hyperband: tl.Study):
    ax = plot_intermediate(hyperband, max_points=3).axes[0]
    completed: Any = _by_gid(ax, "curves:")["curves:completed"]
    for segment in completed.get_segments():
        assert len(segment) == 3
        assert segment[0][0] == 1 and segment[-1][0] == 9


def test_paused_trials_of_an_interrupted_study_are_marked_at_their_last_report(studies):
    study: tl.Study = studies["interrupted"]
    trials = study.trials
    paused = [t for t in trials if t.status is tl.TrialStatus.PAUSED]
    assert paused and any(t.status is tl.TrialStatus.FAILED for t in trials)
    ax = plot_intermediate(study).axes[0]
    ends = _by_gid(ax, "ends:")["ends:paused"].get_offsets()
    assert [tuple(p) for p in ends] == [
        (t.reports[-1].step, t.reports[-1].metrics["loss"]) for t in paused
    ]
    curves = _by_gid(ax, "curves:")
    assert set(curves) == {"curves:paused"}  # the interrupted trial never reported
