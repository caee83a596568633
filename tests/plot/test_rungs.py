"""plot_rungs: which trial was promoted or stopped at which rung, for Hyperband and ASHA."""

from __future__ import annotations

from collections import Counter

import pytest

import tunelab as tl
from tests.plot.conftest import MAX_EPOCHS
from tunelab.plot import data, plot_rungs


@pytest.mark.parametrize("scheduler", ["hyperband", "asha"])
def test_every_trial_climbs_its_rungs_and_ends_where_it_stopped(studies, scheduler):
    study: tl.Study = studies[scheduler]
    trials = {t.number: t for t in study.trials}
    rows = data.rungs(study)
    assert {r.trial for r in rows} == set(trials)
    for number, t in trials.items():
        path = [r for r in rows if r.trial == number]
        assert [r.rung for r in path] == list(range(len(path)))
        assert all(r.outcome == "promoted" for r in path[:-1])
        last = path[-1]
        assert last.epochs == max(r.step for r in t.reports)
        assert last.value == t.reports[-1].metrics["loss"]
        if t.status is tl.TrialStatus.PRUNED:
            assert last.outcome == "stopped" and last.epochs < MAX_EPOCHS
        else:
            assert last.outcome == "completed" and last.epochs == MAX_EPOCHS
    outcomes = Counter(r.outcome for r in rows)
    assert outcomes["stopped"] == sum(t.status is tl.TrialStatus.PRUNED for t in trials.values())
    assert outcomes["promoted"] > 0


def test_hyperband_rows_follow_each_brackets_shape(hyperband: tl.Study):
    rows = data.rungs(hyperband)
    shapes = {s.s: s.rungs for s in hyperband.scheduler.shapes()}  # type: ignore[attr-defined]
    for t in hyperband.trials:
        meta = t.meta["scheduler"]
        epochs = [r for _, r in shapes[meta["s"]]]
        assert [r.epochs for r in rows if r.trial == t.number] == epochs[
            : len([r for r in rows if r.trial == t.number])
        ]
    first = Counter((r.bracket, r.rung) for r in rows)
    for t in hyperband.trials:
        meta = t.meta["scheduler"]
        for i, (n_i, _) in enumerate(shapes[meta["s"]]):
            assert first[(meta["bracket"], i)] == n_i


@pytest.mark.parametrize("scheduler", ["hyperband", "asha"])
def test_the_figure_marks_each_outcome_once_per_trial_and_rung(studies, scheduler):
    study: tl.Study = studies[scheduler]
    rows = data.rungs(study)
    figure = plot_rungs(study)
    drawn: Counter[str] = Counter()
    for ax in figure.axes:
        for c in ax.collections:
            gid = str(c.get_gid())
            if gid.startswith("rungs:"):
                drawn[gid.split(":")[1]] += len(c.get_offsets())
        assert ax.get_xscale() == "log"
    assert drawn == Counter(r.outcome for r in rows)
    panels = len({r.bracket for r in rows})
    assert len(figure.axes) == panels
    figure.canvas.draw()


def test_a_study_without_rungs_says_so(pbt: tl.Study):
    assert data.rungs(pbt) == []
    figure = plot_rungs(pbt)
    assert "does not promote trials by rung" in figure.axes[0].texts[0].get_text()


def test_an_interrupted_asha_study_shows_its_paused_trials_at_their_rungs(studies):
    study: tl.Study = studies["interrupted"]
    rows = data.rungs(study)
    paused = [t for t in study.trials if t.status is tl.TrialStatus.PAUSED]
    last = {r.trial: r for r in rows}  # the last row of each trial
    assert {n for n, r in last.items() if r.outcome == "paused"} == {t.number for t in paused}
    for t in paused:
        assert last[t.number].epochs == t.budget == t.reports[-1].step
    assert any(r.outcome == "promoted" for r in rows)  # promoted, then paused higher up
    marks = [
        c for ax in plot_rungs(study).axes for c in ax.collections if c.get_gid() == "rungs:paused"
    ]
    assert sum(len(c.get_offsets()) for c in marks) == len(paused)
