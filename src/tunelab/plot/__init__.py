"""Plots of one study, each a matplotlib Figure (``pip install 'tunelab[plot]'``).

    import tunelab.plot as tp
    tp.plot_history(study)        # every trial's value and the best so far, by trial and time
    tp.plot_intermediate(study)   # learning curves, pruned and paused trials marked
    tp.plot_parallel(study)       # parallel coordinates, inactive parameters shown as such
    tp.plot_slice(study)          # the value against each parameter
    tp.plot_contour(study, "lr", "width")
    tp.plot_importances(study)    # permutation importance of a random forest (scikit-learn)
    tp.plot_rungs(study)          # Hyperband/ASHA: promoted or stopped at which rung
    tp.plot_lineage(study)        # PBT: who copied whom, and the schedules it made
    tp.plot_history(study).savefig("history.png")

The numbers behind each plot come from :mod:`tunelab.plot.data` (plain, JSON-able data;
the dashboard draws the same). matplotlib is imported only when a plot is drawn, and no
plot touches pyplot's global state.
"""

from tunelab.plot.history import plot_history
from tunelab.plot.importances import plot_importances
from tunelab.plot.intermediate import plot_intermediate
from tunelab.plot.parallel import plot_parallel
from tunelab.plot.pbt import plot_lineage
from tunelab.plot.rungs import plot_rungs
from tunelab.plot.slices import plot_contour, plot_slice

__all__ = [
    "plot_contour",
    "plot_history",
    "plot_importances",
    "plot_intermediate",
    "plot_lineage",
    "plot_parallel",
    "plot_rungs",
    "plot_slice",
]
