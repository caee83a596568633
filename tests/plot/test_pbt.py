"""plot_lineage: the PBT population over steps, who copied whom, and a schedule."""

from __future__ import annotations

import pytest

import tunelab as tl
from tunelab.lineage import final_members
from tunelab.plot import data, plot_lineage


def _gid(ax, gid: str):
    (collection,) = [c for c in ax.collections if c.get_gid() == gid]
    return collection


def test_each_trial_is_a_bar_and_each_copy_an_arrow_from_its_parent(pbt: tl.Study):
    trials = {t.number: t for t in pbt.trials}
    assert any(t.status is tl.TrialStatus.PRUNED for t in trials.values())
    edges = data.lineage(pbt)
    assert [e.child for e in edges] == sorted(trials)
    copies = [e for e in edges if e.parent is not None]
    assert copies
    member = {e.child: e.member for e in edges}
    for e in copies:
        meta = trials[e.child].meta["scheduler"]
        assert (e.parent, e.step) == (meta["parent"], meta["step"])
        assert e.changed == {
            k: (meta["parent_params"].get(k), trials[e.child].params.get(k))
            for k in set(meta["parent_params"]) | set(trials[e.child].params)
            if meta["parent_params"].get(k) != trials[e.child].params.get(k)
        }
    figure = plot_lineage(pbt)
    tree, schedule = figure.axes[:2]
    bars = _gid(tree, "lineage:trials").get_segments()
    assert len(bars) == len(trials)
    for e, bar in zip(edges, bars, strict=True):
        assert [tuple(p) for p in bar] == [
            (e.first_step - 1, e.member),
            (e.last_step, e.member),
        ]
    arrows = _gid(tree, "lineage:copies").get_segments()
    assert [tuple(map(tuple, a)) for a in arrows] == [
        ((e.step, member[e.parent]), (e.step, e.member)) for e in copies
    ]
    # The schedule panel: one stepped line per final member, for a parameter a copy changed.
    changed = next(name for e in copies for name in e.changed)
    assert schedule.get_title() == f"PBT schedule of {changed}"
    stepped = [line for line in schedule.get_lines() if line.get_drawstyle() == "steps-post"]
    assert len(stepped) == len(final_members(pbt))
    figure.canvas.draw()


def test_the_schedule_of_a_chosen_parameter_and_a_study_without_lineage(pbt, hyperband):
    figure = plot_lineage(pbt, param="width")
    assert figure.axes[1].get_title() == "PBT schedule of width"
    assert figure.axes[1].get_yscale() == "log"
    assert data.lineage(hyperband) == []
    assert "not a PBT study" in plot_lineage(hyperband).axes[0].texts[0].get_text()
    with pytest.raises(tl.ConfigError):
        plot_lineage(pbt, param="depth")
