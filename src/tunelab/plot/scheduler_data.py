"""The data of the scheduler plots: Hyperband/ASHA rungs and PBT lineage (re-exported by
:mod:`tunelab.plot.data`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tunelab.plot.plain import PlainData
from tunelab.schedulers.base import scheduler_meta, value_at
from tunelab.space import Value
from tunelab.trial import TrialRecord, TrialStatus

if TYPE_CHECKING:
    from tunelab.study import Study


# -- Hyperband / ASHA rungs ------------------------------------------------------------------
RungOutcome = Literal["promoted", "stopped", "completed", "paused", "running", "failed"]


@dataclass(frozen=True)
class RungRow(PlainData):
    """Trial ``trial`` reached rung ``rung`` (``epochs`` epochs) of bracket ``bracket``
    (0 for ASHA) with ``value`` there; ``outcome``: ``promoted`` (resumed past it),
    ``stopped`` (pruned there), ``completed`` (ended there, the last rung or its own
    end), ``paused`` (waiting for the scheduler's decision), ``running`` or ``failed``.
    A trial that ended on its way to a rung (the study's budget ran out, it failed)
    has a last row for that rung with the epochs it trained instead of the rung's."""

    trial: int
    bracket: int
    rung: int
    epochs: int
    value: float | None
    outcome: RungOutcome


def _rung_epochs(study: Study, trial: TrialRecord) -> list[int] | None:
    """The epochs of the rungs ``trial`` climbs, from the study's scheduler."""
    scheduler = study.scheduler
    shapes = getattr(scheduler, "shapes", None)
    if callable(shapes):  # halving, hyperband, bohb: the bracket's shape
        s = scheduler_meta(trial).get("s")
        if "bracket" not in scheduler_meta(trial):
            return None
        for shape in shapes():
            if s is None or shape.s == s:
                return [r for _, r in shape.rungs]
        return None
    if scheduler.name == "asha":
        return list(scheduler.rungs)  # type: ignore[attr-defined]
    return None


def rungs(study: Study) -> list[RungRow]:
    """One row per (trial, rung it reached) for a Hyperband, BOHB, successive-halving or
    ASHA study; empty for other schedulers. A trial's rungs are those it trained to; it
    was promoted from every rung below its budget. Rungs come from the study's
    scheduler: a bracket's shape (``meta["scheduler"]["s"]``), or ASHA's rung list."""
    out: list[RungRow] = []
    metric = study.metric
    for t in study.trials:
        epochs = _rung_epochs(study, t)
        if not epochs:
            continue
        bracket = scheduler_meta(t).get("bracket", 0)
        trained = max((r.step for r in t.reports), default=0)
        budget = t.budget if t.budget is not None else trained
        reached = [i for i, r in enumerate(epochs) if r <= trained]
        for i in reached:
            outcome: RungOutcome = "promoted" if budget > epochs[i] else _final_outcome(t.status)
            value = value_at(t, metric, epochs[i])
            out.append(RungRow(t.number, int(bracket), i, epochs[i], value, outcome))
        if t.status.is_finished and trained and (not reached or budget > epochs[reached[-1]]):
            # It ended on its way to the next rung: the study's budget ran out, it failed.
            value = value_at(t, metric, trained)
            out.append(
                RungRow(
                    t.number, int(bracket), len(reached), trained, value, _final_outcome(t.status)
                )
            )
    return out


def _final_outcome(status: TrialStatus) -> RungOutcome:
    return {
        TrialStatus.COMPLETED: "completed",
        TrialStatus.PRUNED: "stopped",
        TrialStatus.PAUSED: "paused",
        TrialStatus.FAILED: "failed",
    }.get(status, "running")  # type: ignore[return-value]


# -- PBT lineage -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LineageEdge(PlainData):
    """Trial ``child`` of population slot ``member`` copied trial ``parent`` (None: a
    first-generation trial, no parent) at step ``step`` and trained steps
    ``first_step..last_step``; ``changed`` maps each parameter whose value differs from
    the parent's to ``[parent's value, child's value]``."""

    child: int
    parent: int | None
    member: int | None
    step: int
    first_step: int
    last_step: int
    state: str
    value: float | None
    changed: dict[str, tuple[Value | None, Value | None]] = field(default_factory=dict)


def lineage(study: Study) -> list[LineageEdge]:
    """One edge per trial of a PBT study (empty for other schedulers), read through
    :func:`tunelab.lineage.lineage`."""
    from tunelab.lineage import lineage as lineage_table

    trials = [t for t in study.trials if "pbt_member" in scheduler_meta(t)]
    if not trials:
        return []
    table = lineage_table(trials)
    records = {t.number: t for t in trials}
    out = []
    for row in table.to_dict("records"):
        parent = _int_or_none(row.get("parent"))
        child = records[int(row["trial"])]
        changed: dict[str, tuple[Value | None, Value | None]] = {}
        if parent is not None:
            # From the records, not the table: its columns turn ints with gaps into floats.
            before = dict(scheduler_meta(child).get("parent_params", {}))
            for n in sorted(set(before) | set(child.params)):
                if before.get(n) != child.params.get(n):
                    changed[n] = (before.get(n), child.params.get(n))
        out.append(
            LineageEdge(
                child=int(row["trial"]),
                parent=parent,
                member=_int_or_none(row.get("member")),
                step=int(row["step"]),
                first_step=int(row["first_step"]),
                last_step=int(row["last_step"]),
                state=str(row["status"]),
                value=_na(row.get("value")),
                changed=changed,
            )
        )
    return out


def _na(value: Any) -> Any:
    """None for pandas' missing markers; plain Python scalars otherwise."""
    if value is None:
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value.item() if isinstance(value, np.generic) else value


def _int_or_none(value: Any) -> int | None:
    value = _na(value)
    return None if value is None else int(value)
