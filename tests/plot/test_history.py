"""plot_history: every trial's value, and the best so far by trial number and by time."""

from __future__ import annotations

import numpy as np

import tunelab as tl
from tunelab.plot import plot_history


def _best_line(ax):
    (line,) = [line for line in ax.get_lines() if line.get_gid() == "best"]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def _points(ax) -> int:
    return sum(
        len(c.get_offsets()) for c in ax.collections if str(c.get_gid()).startswith("values:")
    )


def test_every_trial_with_a_value_is_drawn_and_the_best_never_gets_worse(hyperband: tl.Study):
    trials = hyperband.trials
    valued = [t for t in trials if t.value is not None]
    assert any(t.status is tl.TrialStatus.PRUNED for t in valued)
    figure = plot_history(hyperband)
    by_number, by_time = figure.axes[:2]
    assert _points(by_number) == _points(by_time) == len(valued)
    pruned = [c for c in by_number.collections if c.get_gid() == "values:pruned"]
    assert len(pruned[0].get_offsets()) == sum(t.status is tl.TrialStatus.PRUNED for t in trials)
    xs, ys = _best_line(by_number)
    assert np.all(np.diff(ys) <= 0)  # loss is minimised: the best only goes down
    assert ys[-1] == hyperband.best_value
    assert xs[0] == min(t.number for t in trials if t.status is tl.TrialStatus.COMPLETED)
    times, best = _best_line(by_time)
    assert np.all(np.diff(times) >= 0) and np.all(np.diff(best) <= 0)
    assert best[-1] == hyperband.best_value
    assert by_time.get_xlabel().startswith("seconds")
    figure.canvas.draw()


def test_an_empty_study_draws_a_figure_that_says_so():
    study = tl.create_study("empty", metric="loss", storage=":memory:")
    figure = plot_history(study)
    assert "no trial has a value" in figure.axes[0].texts[0].get_text()


def test_an_interrupted_study_draws_no_best_and_leaves_out_the_failed_trial(studies):
    study: tl.Study = studies["interrupted"]
    table_states = {t.status for t in study.trials}
    assert tl.TrialStatus.FAILED in table_states
    assert tl.TrialStatus.COMPLETED not in table_states
    figure = plot_history(study)
    by_number = figure.axes[0]
    assert not [line for line in by_number.get_lines() if line.get_gid() == "best"]
    assert _points(by_number) == 0  # paused trials have no value yet
