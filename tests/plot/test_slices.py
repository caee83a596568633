"""plot_slice and plot_contour: one point per trial where the parameters were active,
log axes for log parameters, choices as ticks for categorical ones."""

from __future__ import annotations

import numpy as np
import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.plot import plot_contour, plot_slice


def _valued(study: tl.Study, *names: str) -> list[tl.TrialRecord]:
    return [t for t in study.trials if t.value is not None and all(n in t.params for n in names)]


def test_one_panel_per_parameter_with_its_active_trials(hyperband: tl.Study):
    figure = plot_slice(hyperband)
    panels = {ax.get_xlabel().split(" ")[0]: ax for ax in figure.axes if ax.get_visible()}
    assert set(panels) == {"optimizer", "lr", "width", "momentum"}
    for name, ax in panels.items():
        (points,) = [c for c in ax.collections if c.get_gid() == f"slice:{name}"]
        trials = _valued(hyperband, name)
        assert len(points.get_offsets()) == len(trials)
        assert sorted(np.asarray(points.get_offsets())[:, 1]) == sorted(t.value for t in trials)
    # momentum only where optimizer was sgd: fewer points than trials with a value.
    assert len(_valued(hyperband, "momentum")) < len(_valued(hyperband))
    assert panels["lr"].get_xscale() == "log" and panels["width"].get_xscale() == "log"
    assert panels["momentum"].get_xscale() == "linear"
    assert [t.get_text() for t in panels["optimizer"].get_xticklabels()] == ["sgd", "adam"]
    figure.canvas.draw()


def test_contour_of_two_log_parameters_fills_between_the_trials(hyperband: tl.Study):
    figure = plot_contour(hyperband, "lr", "width")
    ax = figure.axes[0]
    (points,) = [c for c in ax.collections if c.get_gid() == "contour:points"]
    trials = _valued(hyperband, "lr", "width")
    assert sorted(map(tuple, points.get_offsets())) == sorted(
        (t.params["lr"], t.params["width"]) for t in trials
    )
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.collections) > 1  # the filled contour under the points
    figure.canvas.draw()


def test_contour_with_a_conditional_parameter_keeps_only_trials_where_it_is_active(
    hyperband: tl.Study,
):
    ax = plot_contour(hyperband, "momentum", "optimizer").axes[0]
    (points,) = [c for c in ax.collections if c.get_gid() == "contour:points"]
    assert len(points.get_offsets()) == len(_valued(hyperband, "momentum"))
    assert set(np.asarray(points.get_offsets())[:, 1]) == {0.0}  # all at "sgd"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sgd", "adam"]


def test_contour_defaults_to_numeric_parameters_and_refuses_unknown_ones(hyperband: tl.Study):
    ax = plot_contour(hyperband).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("lr", "width")
    with pytest.raises(ConfigError, match="no parameter 'depth'"):
        plot_contour(hyperband, "lr", "depth")
