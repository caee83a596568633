"""plot_parallel: inactive parameters at the "inactive" position, log and categorical
axes placed as such."""

from __future__ import annotations

import math

import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.plot import data, plot_parallel
from tunelab.plot.parallel import INACTIVE_Y


def _segments(ax) -> list:
    out = []
    for state in ("completed", "pruned"):
        for c in ax.collections:
            if c.get_gid() == f"trials:{state}":
                out.extend(c.get_segments())
    return out


def test_each_trial_is_a_line_inactive_parameters_drawn_at_inactive(hyperband: tl.Study):
    figure = plot_parallel(hyperband)
    ax = figure.axes[0]
    table = data.parallel(hyperband)
    names = [c.name for c in table.columns]
    assert names == ["optimizer", "lr", "width", "momentum"]
    rows = [r for state in ("completed", "pruned") for r in table.rows if r.state == state]
    segments = _segments(ax)
    assert len(segments) == len(rows) == sum(t.value is not None for t in hyperband.trials)
    m = names.index("momentum")
    inactive = [r for r in rows if r.params["momentum"] is None]
    assert inactive and len(inactive) < len(rows)
    for row, segment in zip(rows, segments, strict=True):
        y = segment[m][1]
        if row.params["momentum"] is None:
            assert y == INACTIVE_Y and row.params["optimizer"] == "adam"
        else:
            assert y == pytest.approx(float(row.params["momentum"]) / 0.99)
        # lr is on a log axis: 1e-4 at the bottom, 1 at the top.
        assert segment[1][1] == pytest.approx((math.log10(float(row.params["lr"])) + 4) / 4)
        assert segment[0][1] == (0.0 if row.params["optimizer"] == "sgd" else 1.0)
    labels = {t.get_text() for t in ax.texts}
    assert {"inactive", "sgd", "adam", "0.0001", "1"} <= labels
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "optimizer",
        "lr (log)",
        "width (log)",
        "momentum",
        "loss",
    ]
    figure.canvas.draw()


def test_params_choose_the_axes_and_an_unknown_name_is_refused(hyperband: tl.Study):
    ax = plot_parallel(hyperband, params=["width", "lr"]).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["width (log)", "lr (log)", "loss"]
    with pytest.raises(ConfigError, match="no parameter 'depth'"):
        plot_parallel(hyperband, params=["depth"])
