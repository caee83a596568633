"""Trials as tables: a pandas DataFrame, CSV and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from tunelab.space import Space
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
    import pandas as pd

    names = list(space.names)
    for t in trials:
        names.extend(n for n in t.params if n not in names)
    rows = [trial_row(t, names) for t in trials]
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=[*TRIAL_COLUMNS, *(f"params_{n}" for n in names)])
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
