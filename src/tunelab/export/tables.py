"""Trials as tables: a pandas DataFrame, CSV and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from tunelab.space import Space
from tunelab.storage.base import TrialRow
from tunelab.trial import TrialRecord

if TYPE_CHECKING:
    import pandas as pd

TRIAL_COLUMNS = (
    "number",
    "status",
    "value",
    "epochs",
    "started_at",
    "ended_at",
    "duration_s",
    "failure",
    "error",
    "retry_of",
)


def trial_row(t: TrialRecord, param_names: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "number": t.number,
        "status": t.status.value,
        "value": t.value,
        "epochs": t.steps_trained,
        "started_at": t.started_at,
        "ended_at": t.ended_at,
        "duration_s": t.duration,
        "failure": t.failure.value if t.failure else None,
        "error": t.error,
        "retry_of": t.retry_of,
    }
    for name in param_names:
        row[f"params_{name}"] = t.params.get(name)
    for name, value in sorted(t.metrics.items()):
        row[f"metrics_{name}"] = value
    return row


def trials_dataframe(trials: Sequence[TrialRecord], space: Space) -> pd.DataFrame:
    """One row per trial; ``params_*`` columns follow the space's order, then ``metrics_*``."""
    return rows_dataframe([TrialRow.of(t) for t in trials], space)


def rows_dataframe(rows: Sequence[TrialRow], space: Space) -> pd.DataFrame:
    """:func:`trials_dataframe` from a storage's trial table, built column by column."""
    import pandas as pd

    names = list(space.names)
    known = set(names)
    metric_names: list[str] = []
    seen_metrics: set[str] = set()
    for r in rows:
        for n in r.params:
            if n not in known:
                known.add(n)
                names.append(n)
        for n in sorted(r.metrics):
            if n not in seen_metrics:
                seen_metrics.add(n)
                metric_names.append(n)
    if not rows:
        frame = pd.DataFrame(columns=[*TRIAL_COLUMNS, *(f"params_{n}" for n in names)])
    else:
        columns: dict[str, list[Any]] = {
            name: [r[i] for r in rows] for i, name in enumerate(TRIAL_COLUMNS[:4])
        }
        columns["started_at"] = [r.started_at for r in rows]
        columns["ended_at"] = [r.ended_at for r in rows]
        columns["duration_s"] = [
            None
            if r.started_at is None
            else (r.started_at if r.ended_at is None else r.ended_at) - r.started_at
            for r in rows
        ]
        columns["failure"] = [r.failure for r in rows]
        columns["error"] = [r.error for r in rows]
        columns["retry_of"] = [r.retry_of for r in rows]
        for n in names:
            columns[f"params_{n}"] = [r.params.get(n) for r in rows]
        nan = float("nan")
        for n in metric_names:
            columns[f"metrics_{n}"] = [r.metrics.get(n, nan) for r in rows]
        frame = pd.DataFrame(columns)
    for column in ("started_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame


def trials_json(trials: Sequence[TrialRecord]) -> str:
    """Every field of every trial, reports included, as a JSON array."""
    out = []
    for t in trials:
        item = asdict(t)
        item["status"] = t.status.value
        item["failure"] = t.failure.value if t.failure else None
        out.append(item)
    return json.dumps(out, indent=2)
