"""The study page's plots as JSON: :mod:`tunelab.plot.data` on a snapshot, trimmed so a
study of any size draws fast, and cached per snapshot version.

Trimming, done here on the server so the browser never receives more than it can draw
quickly: learning curves keep at most ``MAX_CURVE_POINTS`` points each and at most
``MAX_CURVES`` curves (every unfinished trial, the best ones, then an even spread of
the rest); parallel coordinates, slices and contours keep at most ``MAX_ROWS``,
``MAX_SLICE_POINTS`` and ``MAX_CONTOUR_POINTS`` trials the same way. Each payload says
how many trials it shows (``shown``) out of how many (``total``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.dashboard.snapshots import StudySnapshot
from tunelab.errors import ConfigError
from tunelab.schedulers import make_scheduler
from tunelab.searchers import make_searcher
from tunelab.storage import Storage
from tunelab.study import Study
from tunelab.trial import TrialRecord, TrialStatus

MAX_CURVES = 1000
MAX_CURVE_POINTS = 50
MAX_ROWS = 1000
MAX_SLICE_POINTS = 1500
MAX_CONTOUR_POINTS = 3000
KEEP_BEST = 200
"""How many of the best trials a trimmed plot always keeps."""

SLOW_PLOTS = {"importances": 30.0}
"""Plots too costly to redo on every change of a running study: a cached one younger
than this many seconds is served even when the study has changed since."""

PLOTS = ("history", "intermediate", "parallel", "slices", "contour", "importances", "rungs",
         "lineage")  # fmt: skip


class SnapshotStudy(Study):
    """A study whose trials are a snapshot's (the plot functions read ``study.trials``)."""

    def __init__(self, snapshot: StudySnapshot, storage: Storage) -> None:
        record = snapshot.record
        super().__init__(
            record, storage, make_searcher(record.searcher), make_scheduler(record.scheduler)
        )
        self._trials = list(snapshot.trials)

    @property
    def trials(self) -> list[TrialRecord]:
        return list(self._trials)

    def get_trials(self, statuses: tuple[TrialStatus, ...] | None = None) -> list[TrialRecord]:
        return [t for t in self._trials if statuses is None or t.status in statuses]


def _pick(trials: Sequence[TrialRecord], most: int, mode: str) -> set[int]:
    """Numbers of at most ``most`` trials: unfinished ones, the best, an even spread."""
    if len(trials) <= most:
        return {t.number for t in trials}
    keep = {t.number for t in trials if not t.status.is_finished}
    scored = [t for t in trials if t.value is not None]
    scored.sort(key=lambda t: float(t.value or 0.0), reverse=mode == "max")
    keep.update(t.number for t in scored[:KEEP_BEST])
    room = most - len(keep)
    rest = [t.number for t in trials if t.number not in keep]
    if room > 0 and rest:
        stride = max(1, -(-len(rest) // room))
        keep.update(rest[::stride][:room])
    return keep


def _history(study: SnapshotStudy, _: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import history

    out = history(study).to_dict()
    n = len(study.trials)
    return {**out, "shown": n, "total": n}


def _intermediate(study: SnapshotStudy, _: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import intermediate

    trials = study.trials
    keep = _pick(trials, MAX_CURVES, study.mode)
    curves = [c.to_dict() for c in intermediate(study, MAX_CURVE_POINTS) if c.number in keep]
    return {"metric": study.metric, "curves": curves, "shown": len(keep), "total": len(trials)}


def _parallel(study: SnapshotStudy, _: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import parallel

    trials = study.trials
    keep = _pick(trials, MAX_ROWS, study.mode)
    out = parallel(study).to_dict()
    out["rows"] = [r for r in out["rows"] if r["number"] in keep]
    return {**out, "shown": len(keep), "total": len(trials)}


def _slices(study: SnapshotStudy, _: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import slices

    trials = study.trials
    keep = _pick(trials, MAX_SLICE_POINTS, study.mode)
    out = []
    for s in slices(study):
        item = s.to_dict()
        chosen = [i for i, n in enumerate(item["numbers"]) if n in keep]
        for key in ("x", "y", "numbers", "states"):
            item[key] = [item[key][i] for i in chosen]
        out.append(item)
    return {"metric": study.metric, "slices": out, "shown": len(keep), "total": len(trials)}


def _contour(study: SnapshotStudy, args: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import contour

    if not args.get("x") or not args.get("y"):
        raise ConfigError("contour needs two parameters: ?x=NAME&y=NAME")
    trials = study.trials
    keep = _pick(trials, MAX_CONTOUR_POINTS, study.mode)
    out = contour(study, args["x"], args["y"]).to_dict()
    out["points"] = [p for p in out["points"] if p[3] in keep]
    return {**out, "shown": len(keep), "total": len(trials)}


def _importances(study: SnapshotStudy, _: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import importances

    try:
        shares = importances(study)
    except ConfigError as exc:  # too few trials yet: say so instead of failing
        return {"importances": {}, "reason": str(exc)}
    return {"importances": shares, "reason": None}


def _rungs(study: SnapshotStudy, _: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import rungs

    return {"rows": [r.to_dict() for r in rungs(study)]}


def _lineage(study: SnapshotStudy, _: dict[str, str]) -> dict[str, Any]:
    from tunelab.plot.data import lineage

    return {"edges": [e.to_dict() for e in lineage(study)]}


_BUILDERS: dict[str, Callable[[SnapshotStudy, dict[str, str]], dict[str, Any]]] = {
    "history": _history,
    "intermediate": _intermediate,
    "parallel": _parallel,
    "slices": _slices,
    "contour": _contour,
    "importances": _importances,
    "rungs": _rungs,
    "lineage": _lineage,
}


@dataclass(frozen=True)
class _Cached:
    version: int
    made_at: float
    payload: dict[str, Any]


class PlotCache:
    """Plot payloads per (study, plot, arguments), remade when the study changes."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._cache: dict[tuple[str, str, tuple[tuple[str, str], ...]], _Cached] = {}
        self._studies: dict[str, tuple[int, SnapshotStudy]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str, tuple[tuple[str, str], ...]], threading.Lock] = {}

    def _study(self, snapshot: StudySnapshot) -> SnapshotStudy:
        with self._lock:
            held = self._studies.get(snapshot.name)
            if held is not None and held[0] == snapshot.version:
                return held[1]
        study = SnapshotStudy(snapshot, self.storage)
        with self._lock:
            self._studies[snapshot.name] = (snapshot.version, study)
        return study

    def payload(self, snapshot: StudySnapshot, kind: str, args: dict[str, str]) -> dict[str, Any]:
        """The plot's data (ConfigError for an unknown plot or bad arguments)."""
        builder = _BUILDERS.get(kind)
        if builder is None:
            raise ConfigError(f"no plot named {kind!r}; plots: {', '.join(PLOTS)}")
        key = (snapshot.name, kind, tuple(sorted(args.items())))
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # one computation per plot at a time; the others wait for its result
            cached = self._cache.get(key)
            now = time.time()
            if cached is not None and (
                cached.version == snapshot.version
                or now - cached.made_at < SLOW_PLOTS.get(kind, 0.0)
            ):
                return cached.payload
            payload = builder(self._study(snapshot), args)
            payload = {"kind": kind, "version": snapshot.version, **payload}
            self._cache[key] = _Cached(snapshot.version, now, payload)
            return payload
