"""Hyperband/ASHA rungs: each trial's value at every rung it reached, and its fate there."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from tunelab.plot import data
from tunelab.plot._figure import STATE_COLORS, empty, new_figure, value_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tunelab.study import Study

OUTCOME_STYLE = {
    "promoted": {"marker": "^", "color": "tab:green"},
    "stopped": {"marker": "x", "color": "tab:red"},
    "completed": {"marker": "*", "color": STATE_COLORS["completed"]},
    "paused": {"marker": "s", "color": STATE_COLORS["paused"]},
    "running": {"marker": ">", "color": STATE_COLORS["running"]},
    "failed": {"marker": "X", "color": STATE_COLORS["failed"]},
}


def plot_rungs(study: Study) -> Figure:
    """The study metric of every trial at every rung it reached (x: the rung's epochs,
    log scale), one line per trial through its rungs, one panel per bracket (at most 6,
    the latest), a marker per outcome at each rung (gid ``"rungs:<outcome>"``:
    promoted, stopped, completed, paused, running, failed), and how many trials each
    rung promoted and stopped. For Hyperband, BOHB, successive halving and ASHA."""
    rows = data.rungs(study)
    brackets = sorted({r.bracket for r in rows})[-6:]
    n = max(1, len(brackets))
    cols = min(n, 3)
    figure, axes = new_figure(n, ncols=cols, size=(4.5 * cols, 3.8 * (-(-n // cols))))
    if not rows:
        empty(
            axes[0],
            f"no rungs: the {study.scheduler.name} scheduler does not promote trials by rung",
        )
        return figure
    for ax, bracket in zip(axes, brackets, strict=False):
        group = [r for r in rows if r.bracket == bracket]
        by_trial: dict[int, list[data.RungRow]] = {}
        for r in group:
            by_trial.setdefault(r.trial, []).append(r)
        for path in by_trial.values():
            points = [(r.epochs, r.value) for r in path if r.value is not None]
            if len(points) > 1:
                ax.plot(
                    [e for e, _ in points],
                    [v for _, v in points],
                    color="0.6",
                    linewidth=0.8,
                    zorder=1,
                )
        for outcome, style in OUTCOME_STYLE.items():
            hits = [
                (r.epochs, r.value) for r in group if r.outcome == outcome and r.value is not None
            ]
            if hits:
                ax.scatter(
                    [e for e, _ in hits],
                    [v for _, v in hits],
                    s=30,
                    zorder=2,
                    label=f"{outcome} ({len(hits)})",
                    gid=f"rungs:{outcome}",
                    **style,  # type: ignore[arg-type]
                )
        counts = Counter((r.epochs, r.outcome) for r in group)
        for epochs in sorted({r.epochs for r in group}):
            ax.annotate(
                f"{counts[(epochs, 'promoted')]}↑ {counts[(epochs, 'stopped')]}✕",
                (epochs, 1.0),
                xycoords=("data", "axes fraction"),
                ha="center",
                va="bottom",
                fontsize="x-small",
            )
        ax.set_xscale("log")
        epochs_ticks = sorted({r.epochs for r in group})
        ax.set_xticks(epochs_ticks, [str(e) for e in epochs_ticks])
        ax.minorticks_off()
        ax.set_xlabel("rung (epochs)")
        ax.set_ylabel(value_label(study.metric, study.mode))
        ax.set_title(f"bracket {bracket}", fontsize="medium", pad=14)
        ax.legend(fontsize="x-small")
    figure.suptitle(f"{study.scheduler.name} rungs of {study.name}")
    return figure
