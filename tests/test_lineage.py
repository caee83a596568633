"""PBT lineage as tables and plots."""

from __future__ import annotations

import matplotlib
import pytest

from tests.schedulers.helpers import PBT
from tunelab.errors import ConfigError
from tunelab.lineage import final_members, lineage, plot_schedule, schedule, schedules

matplotlib.use("Agg")


@pytest.fixture
def pbt_run(run_curves):
    return run_curves(PBT, max_epochs=1000)


def test_lineage_table_says_who_cloned_whom_at_which_step_with_which_values(pbt_run):
    table = lineage(pbt_run.study)
    trials = pbt_run.trials_by_number()
    assert list(table["trial"]) == sorted(trials)
    clones = table[table["parent"].notna()]
    assert len(clones) == 3
    for row in clones.itertuples():
        meta = trials[row.trial].meta["scheduler"]
        assert (row.parent, row.step, row.replaced) == (
            meta["parent"],
            meta["step"],
            meta["replaced"],
        )
        assert row.first_step == row.step + 1
        assert row.params_lr == trials[row.trial].params["lr"]
        assert row.parent_params_lr == trials[row.parent].params["lr"]
    assert set(table["member"]) == {0, 1, 2, 3}


def test_a_clones_schedule_follows_its_ancestors(pbt_run):
    trials = pbt_run.trials_by_number()
    clone = max(
        (t for t in trials.values() if t.meta["scheduler"]["parent"] is not None),
        key=lambda t: t.number,
    )
    table = schedule(pbt_run.study, clone.number)
    step = clone.meta["scheduler"]["step"]
    parent = clone.meta["scheduler"]["parent"]
    assert list(table.index) == list(range(1, 13))
    assert set(table.loc[step + 1 :, "trained_by"]) == {clone.number}
    assert table.loc[step + 1, "lr"] == clone.params["lr"]
    assert table.loc[step, "trained_by"] == parent  # the donor trained the copy step itself
    assert table.loc[step, "lr"] == trials[parent].params["lr"]
    long = schedules(pbt_run.study)
    assert set(long["trial"]) == set(trials)
    assert len(long[long["trial"] == clone.number]) == 12


def test_plot_schedule_draws_one_line_per_final_member(pbt_run):
    members = final_members(pbt_run.study)
    assert len(members) == 4
    ax = plot_schedule(pbt_run.study, "lr")
    assert len(ax.get_legend().get_texts()) == 4
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step (epoch)"
    with pytest.raises(ConfigError, match="no parameter 'depth'"):
        plot_schedule(pbt_run.study, "depth")
    with pytest.raises(ConfigError, match="no trial 999"):
        schedule(pbt_run.study, 999)
