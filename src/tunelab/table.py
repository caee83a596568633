"""A study's trials as a table of named columns, for ``tunelab show``.

Which columns exist (number, state, value, epochs, duration, every parameter, every
other final metric, start time, error), which trials are listed (by state, sorted, the
top N), and each cell both as its raw value (for CSV) and as short text (for the
terminal and plain text). Rendering is :mod:`tunelab.cli_show`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tunelab.errors import TunelabError
from tunelab.trial import TrialRecord, TrialStatus

DEFAULT_FIXED = ("number", "state", "value", "epochs", "duration")
_EXTRA = ("started", "error")
_ALIASES = {"#": "number", "status": "state", "seconds": "duration"}


@dataclass(frozen=True)
class Column:
    key: str  # its name for --columns and --sort, and its CSV header
    header: str  # its header in the terminal and in plain text
    numeric: bool  # right-aligned
    raw: Callable[[TrialRecord], Any]
    text: Callable[[Any], str]
    is_param: bool = False
    csv: Callable[[Any], Any] = lambda value: value  # the raw value as a CSV cell


def format_number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_duration(seconds: float | None) -> str:
    """12.3s, 4m05s, 2h07m."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _format_time(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _iso_time(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp).astimezone().isoformat()


def _one_line(text: Any) -> str:
    return "-" if text is None else " ".join(str(text).split())


def param_names(declared: Sequence[str], trials: Iterable[TrialRecord]) -> list[str]:
    """The space's parameters in its order, then any other a trial has, in first-seen order."""
    names = list(declared)
    seen = set(names)
    for t in trials:
        for name in t.params:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def _param(name: str) -> Callable[[TrialRecord], Any]:
    return lambda t: t.params.get(name)


def _metric(name: str) -> Callable[[TrialRecord], Any]:
    return lambda t: t.metrics.get(name)


def available_columns(
    metric: str, declared: Sequence[str], trials: Sequence[TrialRecord]
) -> dict[str, Column]:
    """Every column the trials can be shown with, keyed by name, in display order: the
    fixed ones, the parameters, the final metrics other than the study's, then the start
    time and the error. A metric named like a parameter is keyed ``metrics_NAME``."""
    columns: dict[str, Column] = {
        "number": Column("number", "#", True, lambda t: t.number, str),
        "state": Column("state", "state", False, lambda t: t.status.value, str),
        "value": Column("value", metric, True, lambda t: t.value, format_number),
        "epochs": Column("epochs", "epochs", True, lambda t: t.steps_trained, str),
        "duration": Column("duration", "duration", True, lambda t: t.duration, format_duration),
    }
    for name in param_names(declared, trials):
        key = name if name not in columns else f"params_{name}"
        numeric = all(
            isinstance(t.params.get(name), (int, float, type(None))) for t in trials
        )  # text choices are left-aligned
        columns[key] = Column(key, name, numeric, _param(name), format_number, is_param=True)
    metrics = sorted({m for t in trials for m in t.metrics} - {metric})
    for name in metrics:
        key = name if name not in columns else f"metrics_{name}"
        columns[key] = Column(key, name, True, _metric(name), format_number)
    columns["started"] = Column(
        "started", "started", False, lambda t: t.started_at, _format_time, csv=_iso_time
    )
    columns["error"] = Column("error", "error", False, lambda t: t.error, _one_line)
    return columns


def resolve(name: str, columns: dict[str, Column], metric: str) -> Column:
    """The column a user's name means (``value`` or the metric's name, ``#``, ``status``)."""
    key = name.strip()
    key = "value" if key == metric and key not in columns else _ALIASES.get(key, key)
    if key not in columns:
        raise TunelabError(f"unknown column {name.strip()!r}; columns: {', '.join(columns)}")
    return columns[key]


def parse_columns(text: str, columns: dict[str, Column], metric: str) -> list[Column]:
    chosen = [resolve(name, columns, metric) for name in text.split(",") if name.strip()]
    if not chosen:
        raise TunelabError("--columns names no column")
    return chosen


def default_columns(columns: dict[str, Column]) -> list[Column]:
    """The fixed columns, then every parameter (the terminal keeps those that fit)."""
    return [columns[k] for k in DEFAULT_FIXED] + [c for c in columns.values() if c.is_param]


def all_columns(columns: dict[str, Column]) -> list[Column]:
    return list(columns.values())


def parse_states(text: str) -> set[TrialStatus]:
    states = set()
    for name in (n.strip().lower() for n in text.split(",")):
        if not name:
            continue
        try:
            states.add(TrialStatus(name))
        except ValueError:
            known = ", ".join(s.value for s in TrialStatus)
            raise TunelabError(f"unknown state {name!r}; states: {known}") from None
    if not states:
        raise TunelabError("--state names no state")
    return states


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _order(value: Any) -> tuple[int, float, str]:
    """Numbers (and booleans) before text, each in its natural order."""
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def select(
    trials: Sequence[TrialRecord],
    *,
    states: set[TrialStatus] | None = None,
    sort: Column | None = None,
    descending: bool = False,
    reverse: bool = False,
    top: int | None = None,
) -> list[TrialRecord]:
    """The trials to list: those in ``states``, sorted by ``sort`` (ascending unless
    ``descending``; ``reverse`` flips either; ties keep number order, trials without a
    value in that column come last either way), then the first ``top``."""
    chosen = [t for t in trials if states is None or t.status in states]
    if sort is not None:
        have = [t for t in chosen if not _missing(sort.raw(t))]
        lack = [t for t in chosen if _missing(sort.raw(t))]
        have.sort(key=lambda t: _order(sort.raw(t)), reverse=descending != reverse)
        chosen = have + lack
    return chosen if top is None else chosen[:top]
