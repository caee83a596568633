"""PBT lineage: who cloned whom, at which step, with which values; schedules and plots.

PBT stores each clone's ancestry with the trial (``meta["scheduler"]``: member slot,
parent trial, the step it was cloned at, the trial it replaced, the parent's values).
A trial's hyperparameter *schedule* follows that chain back: the clone's own values from
the clone step on, its parent's before, and so on to a first-generation trial. Trials
that were never cloned have a constant schedule.

    from tunelab.lineage import lineage, schedule, plot_schedule
    lineage(study)              # one row per trial of the population
    schedule(study, 17)         # trial 17's values at every step, and who trained it
    plot_schedule(study, "lr")  # the final members' schedules of lr
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigError
from tunelab.schedulers.base import scheduler_meta
from tunelab.trial import TrialRecord, TrialStatus

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from tunelab.study import Study


def _records(source: Study | Iterable[TrialRecord]) -> dict[int, TrialRecord]:
    trials = source.trials if hasattr(source, "trials") else source
    return {t.number: t for t in trials}


def _last_step(trial: TrialRecord) -> int:
    return max((r.step for r in trial.reports), default=0)


def lineage(source: Study | Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per trial: ``trial``, ``member`` (population slot), ``parent`` (the
    trial it copied, NA for the first generation), ``step`` (cloned at), ``replaced``,
    ``first_step``/``last_step`` it trained, ``status``, ``value``, then its values
    (``params_*``) and its parent's values at the copy (``parent_params_*``)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for t in _records(source).values():
        meta = scheduler_meta(t)
        parent = meta.get("parent")
        row: dict[str, Any] = {
            "trial": t.number,
            "member": meta.get("pbt_member"),
            "parent": parent,
            "step": meta.get("step", 0),
            "replaced": meta.get("replaced"),
            "first_step": int(meta.get("step", 0)) + 1,
            "last_step": _last_step(t),
            "status": t.status.value,
            "value": t.value,
        }
        row.update({f"params_{k}": v for k, v in t.params.items()})
        row.update(
            {f"parent_params_{k}": v for k, v in dict(meta.get("parent_params", {})).items()}
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("member", "parent", "replaced"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def schedule(source: Study | Iterable[TrialRecord], trial: int) -> pd.DataFrame:
    """Trial ``trial``'s hyperparameters at every step it has (index ``step``), with
    ``trained_by``: the trial (itself or an ancestor) that trained that step."""
    import pandas as pd

    records = _records(source)
    if trial not in records:
        raise ConfigError(f"no trial {trial} in this study")
    segments: list[tuple[TrialRecord, int, int]] = []
    current: TrialRecord | None = records[trial]
    upto = _last_step(records[trial])
    seen: set[int] = set()
    while current is not None and current.number not in seen:
        seen.add(current.number)
        meta = scheduler_meta(current)
        start = int(meta.get("step", 0))
        segments.append((current, start + 1, upto))
        upto = start
        parent = meta.get("parent")
        current = records.get(parent) if isinstance(parent, int) else None
    rows = []
    for record, first, last in reversed(segments):
        for step in range(first, last + 1):
            rows.append({"step": step, "trained_by": record.number, **record.params})
    return pd.DataFrame(rows).set_index("step") if rows else pd.DataFrame()


def schedules(source: Study | Iterable[TrialRecord]) -> pd.DataFrame:
    """Every trial's schedule in one long table (column ``trial``)."""
    import pandas as pd

    records = _records(source)
    frames = [schedule(records.values(), n).assign(trial=n) for n in records]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames).reset_index() if frames else pd.DataFrame()


def final_members(source: Study | Iterable[TrialRecord]) -> list[int]:
    """The trials the population ended with: one per member slot, the last of each."""
    last: dict[int, TrialRecord] = {}
    for t in _records(source).values():
        slot = scheduler_meta(t).get("pbt_member")
        if isinstance(slot, int) and (slot not in last or t.number > last[slot].number):
            last[slot] = t
    return [t.number for _, t in sorted(last.items()) if t.status is not TrialStatus.FAILED]


def plot_schedule(
    source: Study | Iterable[TrialRecord],
    param: str,
    trials: Sequence[int] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot ``param`` against the step for ``trials`` (default: the final members), one
    stepped line each, with the clone points marked. Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    records = _records(source)
    numbers = list(trials) if trials is not None else final_members(records.values())
    if ax is None:
        _, ax = plt.subplots()
    for number in numbers:
        table = schedule(records.values(), number)
        if param not in table:
            raise ConfigError(f"trial {number} has no parameter {param!r}")
        line = ax.plot(table.index, table[param], drawstyle="steps-post", label=f"trial {number}")
        changes = table.index[table["trained_by"].ne(table["trained_by"].shift())][1:]
        ax.plot(changes, table.loc[changes, param], "o", color=line[0].get_color())
    space = getattr(source, "space", None)
    if space is not None and param in space and getattr(space[param], "sampling", "") == "log":
        ax.set_yscale("log")
    ax.set_xlabel("step (epoch)")
    ax.set_ylabel(param)
    ax.set_title(f"PBT schedule of {param}")
    if numbers:
        ax.legend(fontsize="small")
    return ax
