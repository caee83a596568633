"""PBT lineage: who copied whom at which step, and the schedules it made."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunelab.errors import ConfigError
from tunelab.plot import data
from tunelab.plot._figure import colormap, empty, mappable, new_figure, value_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tunelab.study import Study


def plot_lineage(study: Study, param: str | None = None) -> Figure:
    """Two panels. Top: the population over steps, a member slot per row; each trial is
    a bar over the steps it trained (a LineCollection, gid ``"lineage:trials"``,
    coloured by value) and each copy an arrow from the parent's row to the child's at
    the step it copied (gid ``"lineage:copies"``). Bottom: ``param``'s schedule (default:
    the first parameter a copy changed) for the final members, drawn by
    :func:`tunelab.lineage.plot_schedule`."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    from tunelab.lineage import plot_schedule

    edges = data.lineage(study)
    figure, (tree, sched) = new_figure(2, ncols=1, size=(8.0, 7.5))
    if not edges:
        empty(tree, f"no lineage: {study.name} is not a PBT study")
        sched.set_visible(False)
        return figure
    values = [e.value for e in edges if e.value is not None]
    norm = Normalize(min(values, default=0.0), max(values, default=1.0))
    cmap = colormap("viridis" if study.mode == "max" else "viridis_r")
    members = {e.child: e.member if e.member is not None else -1 for e in edges}
    tree.add_collection(
        LineCollection(
            [
                [(e.first_step - 1, members[e.child]), (e.last_step, members[e.child])]
                for e in edges
            ],
            colors=[cmap(norm(e.value)) if e.value is not None else "0.7" for e in edges],
            linewidths=6,
            gid="lineage:trials",
        )
    )
    for e in edges:
        tree.text(e.first_step - 1, members[e.child] + 0.18, str(e.child), fontsize="x-small")
    copies = [e for e in edges if e.parent is not None and e.parent in members]
    tree.add_collection(
        LineCollection(
            [[(e.step, members[e.parent]), (e.step, members[e.child])] for e in copies],  # type: ignore[index]
            colors="black",
            linewidths=1.0,
            linestyles="dotted",
            gid="lineage:copies",
        )
    )
    for e in copies:
        tree.annotate(
            "",
            (e.step, members[e.child]),
            (e.step, members[e.parent]),  # type: ignore[index]
            arrowprops={"arrowstyle": "->", "color": "black"},
        )
    tree.autoscale_view()
    slots = sorted(set(members.values()))
    tree.set_yticks(slots, [f"member {s}" for s in slots])
    tree.set_ylim(min(slots) - 0.6, max(slots) + 0.6)
    tree.set_xlabel("step (epoch)")
    tree.set_title(f"PBT lineage of {study.name} (arrows: copied from)")
    figure.colorbar(mappable(cmap, norm), ax=tree, label=value_label(study.metric, study.mode))
    name = param or next((n for e in copies for n in e.changed), None)
    if name is None:
        name = next(iter(study.space.names), None)
    if name is None:
        empty(sched, "no parameter to show a schedule of")
        return figure
    try:
        plot_schedule(study, name, ax=sched)
    except ConfigError:
        raise ConfigError(f"study {study.name!r}: no trial has a parameter {name!r}") from None
    return figure
