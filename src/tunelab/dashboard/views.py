"""The JSON the pages draw: studies, comparisons, one study's trials, one trial.

Every function here takes snapshots (:mod:`tunelab.dashboard.snapshots`) and returns
plain JSON-able dicts. Times are seconds since the epoch; the browser formats them.
Non-finite floats become None (JSON has no NaN).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from tunelab.compare.results import RESULT_KEY, RUN_KEY
from tunelab.dashboard.images import trial_images
from tunelab.dashboard.snapshots import StudySnapshot, last_activity
from tunelab.trial import TrialRecord

MAX_PAGE = 500
"""The most trials one page of the trials table holds."""

LONG_TEXT = 2000
"""User attribute strings longer than this (base64 images, say) are shown shortened."""

Order = Literal["number", "-number", "value", "-value", "best"]


def finite(value: Any) -> Any:
    """``value`` with non-finite floats (anywhere inside lists and dicts) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def comparison_of(snapshot: StudySnapshot) -> str | None:
    """The comparison this study is a run of (None for a study of its own)."""
    run = snapshot.record.user_attrs.get(RUN_KEY)
    return str(run["comparison"]) if isinstance(run, Mapping) and "comparison" in run else None


def study_row(snapshot: StudySnapshot, now: float) -> dict[str, Any]:
    """One line of the studies table."""
    record = snapshot.record
    best = snapshot.best()
    return finite(
        {
            "name": record.name,
            "metric": record.metric,
            "mode": record.mode,
            "status": snapshot.status(now),
            "trials": len(snapshot.trials),
            "counts": snapshot.counts(),
            "best_value": best.value if best else None,
            "best_trial": best.number if best else None,
            "created_at": record.created_at,
            "last_activity": snapshot.activity,
            "comparison": comparison_of(snapshot),
            "version": snapshot.version,
        }
    )


def comparison_rows(snapshots: Sequence[StudySnapshot], now: float) -> list[dict[str, Any]]:
    """One line per comparison: its runs, how many ended, and its last activity."""
    rows: dict[str, dict[str, Any]] = {}
    for snap in snapshots:
        name = comparison_of(snap)
        if name is None:
            continue
        row = rows.setdefault(
            name,
            {"name": name, "runs": 0, "finished": 0, "failed": 0, "running": 0, "trials": 0},
        )
        row["runs"] += 1
        row["trials"] += len(snap.trials)
        result = snap.record.user_attrs.get(RESULT_KEY)
        if isinstance(result, Mapping):
            row["finished" if result.get("status") == "finished" else "failed"] += 1
        elif snap.status(now) == "running":
            row["running"] += 1
        row["last_activity"] = max(row.get("last_activity", 0.0), snap.activity)
    for row in rows.values():
        row["status"] = "running" if row["running"] else "done"
    return list(rows.values())


def comparison_run_row(snapshot: StudySnapshot, now: float) -> dict[str, Any]:
    """One run of a comparison: its study's line, strategy, repeat and how it ended."""
    run = snapshot.record.user_attrs.get(RUN_KEY) or {}
    result = snapshot.record.user_attrs.get(RESULT_KEY) or {}
    return {
        **study_row(snapshot, now),
        "strategy": run.get("strategy"),
        "repeat": run.get("repeat"),
        "result": result.get("status"),
    }


def study_summary(snapshot: StudySnapshot, now: float) -> dict[str, Any]:
    """The head of the study page: the studies-table line plus the study's definition."""
    record = snapshot.record
    names: list[str] = list(record.space)
    for t in snapshot.trials:
        names.extend(n for n in t.params if n not in names)
    return finite(
        {
            **study_row(snapshot, now),
            "searcher": record.searcher.get("name", record.searcher),
            "scheduler": record.scheduler.get("name", record.scheduler),
            "params": names,
            "elapsed_seconds": record.elapsed_seconds,
        }
    )


def _trial_line(t: TrialRecord) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.status.value,
        "value": t.value,
        "steps": t.steps_trained,
        "duration": t.duration,
        "started_at": t.started_at,
        "last_activity": last_activity(t),
        "params": t.params,
    }


def trials_page(
    snapshot: StudySnapshot,
    *,
    offset: int = 0,
    limit: int = 50,
    states: Collection[str] | None = None,
    order: Order = "-number",
) -> dict[str, Any]:
    """One page of the trials table (server-side, so a study of any size opens fast)."""
    selected = [t for t in snapshot.trials if states is None or t.status.value in states]
    if order in ("value", "-value", "best"):
        scored = [t for t in selected if t.value is not None and math.isfinite(t.value)]
        unscored = [t for t in selected if t.value is None or not math.isfinite(t.value)]
        descending = order == "-value" or (order == "best" and snapshot.record.mode == "max")
        scored.sort(key=lambda t: float(t.value or 0.0), reverse=descending)
        selected = scored + unscored
    elif order == "-number":
        selected.reverse()
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    return finite(
        {
            "total": len(selected),
            "offset": offset,
            "limit": limit,
            "version": snapshot.version,
            "rows": [_trial_line(t) for t in selected[offset : offset + limit]],
        }
    )


def _shortened(value: Any) -> Any:
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return value[:80] + f"... ({len(value)} characters)"
    if isinstance(value, Mapping):
        return {str(k): _shortened(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened(v) for v in value]
    return value


def report_series(trial: TrialRecord) -> dict[str, Any]:
    """The trial's reports as curves: ``steps`` and, per metric, values aligned with them
    (None where a report lacks the metric)."""
    names: list[str] = []
    for r in trial.reports:
        names.extend(n for n in r.metrics if n not in names)
    return {
        "steps": [r.step for r in trial.reports],
        "times": [r.time for r in trial.reports],
        "metrics": {n: [r.metrics.get(n) for r in trial.reports] for n in names},
    }


def trial_revision(trial: TrialRecord) -> str:
    """Changes whenever what the trial page shows of ``trial`` changes."""
    attrs = json.dumps(trial.user_attrs, sort_keys=True, default=str)
    params = json.dumps(trial.params, sort_keys=True, default=str)
    digest = hashlib.sha1(f"{attrs}|{params}".encode(), usedforsecurity=False).hexdigest()
    return f"{trial.status.value}:{len(trial.reports)}:{digest[:12]}"


def trial_detail(snapshot: StudySnapshot, trial: TrialRecord) -> dict[str, Any]:
    """Everything the trial page shows; pictures are fetched by their index."""
    images = trial_images(trial)
    return finite(
        {
            "study": snapshot.name,
            "metric": snapshot.record.metric,
            "mode": snapshot.record.mode,
            "version": snapshot.version,
            "revision": trial_revision(trial),
            **_trial_line(trial),
            "finished": trial.status.is_finished,
            "proposal": trial.proposal,
            "budget": trial.budget,
            "metrics": trial.metrics,
            "created_at": trial.created_at,
            "ended_at": trial.ended_at,
            "worker": trial.worker,
            "retry_of": trial.retry_of,
            "error": trial.error,
            "traceback": trial.traceback,
            "failure": trial.failure.value if trial.failure else None,
            "meta": _shortened(trial.meta),
            "user_attrs": _shortened(trial.user_attrs),
            "reports": report_series(trial),
            "images": [{"index": i, "label": im.label} for i, im in enumerate(images)],
        }
    )
