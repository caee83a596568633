"""Parameter importances as a bar chart (the method: :func:`tunelab.plot.data.importances`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunelab.plot import data
from tunelab.plot._figure import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tunelab.study import Study

METHOD = "permutation importance of a random forest (scikit-learn)"


def plot_importances(study: Study, seed: int = 0) -> Figure:
    """One horizontal bar per parameter (gid ``"importances"``), the most important on
    top, its length the parameter's share: scikit-learn's permutation importance of a
    random forest fitted to the completed trials (see
    :func:`tunelab.plot.data.importances`)."""
    shares = data.importances(study, seed=seed)
    names = list(shares)
    figure, (ax,) = new_figure(size=(6.5, max(2.5, 0.45 * len(names) + 1.2)))
    ax.barh(range(len(names)), [shares[n] for n in names], color="tab:blue", gid="importances")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    for i, n in enumerate(names):
        ax.text(shares[n], i, f" {shares[n]:.2f}", va="center", fontsize="small")
    ax.set_xlim(0, min(1.0, max(shares.values()) * 1.2 + 0.05))
    ax.set_xlabel(f"share of importance for {study.metric}")
    ax.set_title(f"Parameter importances of {study.name}\n{METHOD}", fontsize="medium")
    return figure
