"""The numbers behind every plot of a study, as plain data (no matplotlib here).

Each function reads the study's trials once (``study.trials``, one storage read) and
returns dataclasses whose ``to_dict()`` gives JSON-able dicts and lists: the matplotlib
figures of :mod:`tunelab.plot` draw from them, and the dashboard serves them as JSON.
Non-finite numbers become None in ``to_dict()``.

- :func:`history`: every trial's value and the best so far, by trial number and by time.
- :func:`intermediate`: every trial's learning curve (the study metric per step).
- :func:`parallel`: the parameters and value of every trial, inactive parameters None.
- :func:`slices` / :func:`contour`: value against one parameter / two parameters.
- :func:`importances`: how much each parameter explains of the value.
- :func:`rungs`: Hyperband/ASHA: which trial was promoted or stopped at which rung.
- :func:`lineage`: PBT: which trial copied which, at which step, changing what.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tunelab.errors import ConfigError
from tunelab.plot.plain import PlainData
from tunelab.plot.scheduler_data import (
    LineageEdge,
    RungOutcome,
    RungRow,
    lineage,
    rungs,
)
from tunelab.space import Boolean, Choice, Fixed, Float, Int, Param, Space, Value
from tunelab.trial import TrialRecord, TrialStatus

if TYPE_CHECKING:
    from tunelab.study import Study

ColumnKind = Literal["float", "int", "categorical", "bool"]

__all__ = [
    "IMPORTANCE_MAX_TRIALS",
    "INACTIVE",
    "Column",
    "ColumnKind",
    "Contour",
    "Curve",
    "History",
    "HistoryPoint",
    "LineageEdge",
    "Parallel",
    "Row",
    "RungOutcome",
    "RungRow",
    "Slice",
    "contour",
    "history",
    "importances",
    "intermediate",
    "lineage",
    "parallel",
    "rungs",
    "slices",
]

IMPORTANCE_MAX_TRIALS = 1000
"""Importances are fitted on at most this many completed trials (a seeded sample)."""


def _space(study: Study) -> Space:
    """The study's space as stored now (a define-by-run study registers parameters as
    trials define them, also in other processes), with any the object knows beyond it."""
    space = Space.from_dict(study.storage.get_study(study.name).space)
    for p in study.space:
        if p.name not in space:
            space.add(p)
    return space


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# -- history ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryPoint(PlainData):
    """One trial: its value (None while running or when failed), the best value of the
    completed trials up to and including it by number, and when it ended (seconds since
    the first trial started; its last report or start while it runs)."""

    number: int
    state: str
    value: float | None
    best_so_far: float | None
    elapsed: float | None


@dataclass(frozen=True)
class History(PlainData):
    """Every trial in number order, and the best value against time (``best_by_time``:
    ``[elapsed, best]`` at each completed trial that improved it, in order of ending)."""

    metric: str
    mode: str
    points: list[HistoryPoint]
    best_by_time: list[tuple[float, float]]


def history(study: Study) -> History:
    """Every trial's value and the best so far. The best counts completed trials only:
    a pruned trial's value was measured on a smaller budget (it is still drawn)."""
    trials = study.trials
    starts = [t.started_at for t in trials if t.started_at is not None]
    origin = min(starts) if starts else None
    better = _better(study.mode)
    points: list[HistoryPoint] = []
    best: float | None = None
    for t in trials:
        value = t.value if t.status is not TrialStatus.FAILED and _finite(t.value) else None
        if t.status is TrialStatus.COMPLETED and value is not None and better(value, best):
            best = value
        points.append(HistoryPoint(t.number, t.status.value, value, best, _elapsed(t, origin)))
    timed = sorted(
        (p for p in points if p.state == "completed" and p.value is not None and p.elapsed),
        key=lambda p: (p.elapsed, p.number),
    )
    by_time: list[tuple[float, float]] = []
    for p in timed:
        assert p.value is not None and p.elapsed is not None
        if not by_time or better(p.value, by_time[-1][1]):
            by_time.append((p.elapsed, p.value))
    return History(study.metric, study.mode, points, by_time)


def _better(mode: str) -> Any:
    def better(a: float, b: float | None) -> bool:
        return b is None or (a > b if mode == "max" else a < b)

    return better


def _elapsed(t: TrialRecord, origin: float | None) -> float | None:
    if origin is None:
        return None
    end = t.ended_at
    if end is None:
        end = t.reports[-1].time if t.reports else t.started_at
    return None if end is None else max(0.0, end - origin)


# -- intermediate values ---------------------------------------------------------------------
@dataclass(frozen=True)
class Curve(PlainData):
    """One trial's study metric at each step it reported (downsampled when asked)."""

    number: int
    state: str
    steps: list[int]
    values: list[float]


def intermediate(study: Study, max_points: int | None = None) -> list[Curve]:
    """Every trial's learning curve, trials without a report of the study metric left
    out. ``max_points`` keeps at most that many points per curve, evenly spread, the
    first and last always among them."""
    if max_points is not None and (isinstance(max_points, bool) or max_points < 2):
        raise ConfigError(f"max_points must be an integer >= 2, got {max_points!r}")
    metric = study.metric
    curves: list[Curve] = []
    for t in study.trials:
        steps = [r.step for r in t.reports if metric in r.metrics]
        if not steps:
            continue
        values = [r.metrics[metric] for r in t.reports if metric in r.metrics]
        if max_points is not None and len(steps) > max_points:
            keep = np.unique(np.linspace(0, len(steps) - 1, max_points).round().astype(int))
            steps = [steps[i] for i in keep]
            values = [values[i] for i in keep]
        curves.append(Curve(t.number, t.status.value, steps, values))
    return curves


# -- parameters ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column(PlainData):
    """One parameter's axis: ``kind``, log scale, the choices of a categorical one (in
    the space's order) and the range of a numeric one; ``conditional`` when it can be
    inactive (its value is then None)."""

    name: str
    kind: ColumnKind
    log: bool = False
    choices: list[Value] | None = None
    low: float | None = None
    high: float | None = None
    conditional: bool = False


@dataclass(frozen=True)
class Row(PlainData):
    number: int
    state: str
    value: float | None
    params: dict[str, Value | None]


@dataclass(frozen=True)
class Parallel(PlainData):
    """Parallel coordinates: one column per parameter (fixed ones left out), one row per
    trial, with None where a parameter was inactive."""

    metric: str
    mode: str
    columns: list[Column]
    rows: list[Row]


def _column(p: Param) -> Column:
    conditional = bool(p.conditions)
    if isinstance(p, Boolean):
        return Column(p.name, "bool", choices=[False, True], conditional=conditional)
    if isinstance(p, Choice):
        return Column(p.name, "categorical", choices=list(p.values), conditional=conditional)
    if isinstance(p, Int | Float):
        return Column(
            p.name,
            "int" if isinstance(p, Int) else "float",
            log=p.sampling == "log",
            low=float(p.min_value),
            high=float(p.max_value),
            conditional=conditional,
        )
    raise TypeError(f"no column for {p.describe()}")


def _guess_column(name: str, values: Iterable[Value]) -> Column:
    """A column for a parameter the space does not know (a study from an old version)."""
    seen = list(dict.fromkeys(values))
    if seen and all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen):
        numbers = [float(v) for v in seen]
        kind: ColumnKind = "int" if all(isinstance(v, int) for v in seen) else "float"
        return Column(name, kind, low=min(numbers), high=max(numbers), conditional=True)
    return Column(name, "categorical", choices=seen, conditional=True)


def _columns(space: Space, trials: Sequence[TrialRecord]) -> list[Column]:
    columns = [_column(p) for p in space if not isinstance(p, Fixed)]
    known = {c.name for c in columns} | set(space.names)
    extra: dict[str, list[Value]] = {}
    for t in trials:
        for name, v in t.params.items():
            if name not in known:
                extra.setdefault(name, []).append(v)
    return columns + [_guess_column(n, vs) for n, vs in extra.items()]


def _row(t: TrialRecord, names: Sequence[str]) -> Row:
    value = t.value if t.status is not TrialStatus.FAILED and _finite(t.value) else None
    return Row(t.number, t.status.value, value, {n: t.params.get(n) for n in names})


def parallel(study: Study) -> Parallel:
    """Every trial's parameters and value (None while running or when failed)."""
    trials = study.trials
    columns = _columns(_space(study), trials)
    names = [c.name for c in columns]
    return Parallel(study.metric, study.mode, columns, [_row(t, names) for t in trials])


@dataclass(frozen=True)
class Slice(PlainData):
    """The value against one parameter, over the trials with a value where it was
    active."""

    column: Column
    x: list[Value]
    y: list[float]
    numbers: list[int]
    states: list[str]


def slices(study: Study) -> list[Slice]:
    """One slice per parameter (fixed ones left out)."""
    table = parallel(study)
    out = []
    for c in table.columns:
        rows = [r for r in table.rows if r.value is not None and r.params[c.name] is not None]
        out.append(
            Slice(
                c,
                [r.params[c.name] for r in rows],  # type: ignore[misc]
                [r.value for r in rows],  # type: ignore[misc]
                [r.number for r in rows],
                [r.state for r in rows],
            )
        )
    return out


@dataclass(frozen=True)
class Contour(PlainData):
    """The value over two parameters: ``points`` are ``(x, y, value, number)`` of the
    trials with a value where both were active."""

    x: Column
    y: Column
    metric: str
    mode: str
    points: list[tuple[Value, Value, float, int]]


def contour(study: Study, x: str, y: str) -> Contour:
    """The value over parameters ``x`` and ``y``."""
    if x == y:
        raise ConfigError(f"contour needs two different parameters, got {x!r} twice")
    table = parallel(study)
    by_name = {c.name: c for c in table.columns}
    for name in (x, y):
        if name not in by_name:
            raise ConfigError(
                f"study {study.name!r} has no parameter {name!r} to plot "
                f"(it has {', '.join(by_name) or 'none'})"
            )
    points = [
        (r.params[x], r.params[y], r.value, r.number)
        for r in table.rows
        if r.value is not None and r.params[x] is not None and r.params[y] is not None
    ]
    return Contour(by_name[x], by_name[y], study.metric, study.mode, points)  # type: ignore[arg-type]


# -- importances -----------------------------------------------------------------------------
INACTIVE = -1.0
"""Where an inactive parameter sits in the encoding the importance forest is fitted on
(every active value is in [0, 1])."""


def importances(study: Study, seed: int = 0) -> dict[str, float]:
    """Each parameter's share of the importance, summing to 1, largest first.

    Method: scikit-learn's permutation importance
    (:func:`sklearn.inspection.permutation_importance`, 5 repeats) of a
    :class:`~sklearn.ensemble.RandomForestRegressor` (64 trees, at least 3 trials per
    leaf) fitted to the completed trials: each parameter's importance is how much the
    forest's R^2 drops when its column is shuffled; negative drops count as 0. Parameters are
    encoded in the space's unit interval (log scales and categorical order as the
    searchers see them), an inactive conditional parameter as -1. At most
    ``IMPORTANCE_MAX_TRIALS`` trials are used (a sample drawn with ``seed``).
    With fewer than 2 completed trials, or values that do not vary, it raises
    ConfigError; parameters that never vary get 0; if no parameter explains anything,
    all get an equal share."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    trials = [t for t in study.trials if t.status is TrialStatus.COMPLETED and _finite(t.value)]
    if len(trials) > IMPORTANCE_MAX_TRIALS:
        pick = np.random.default_rng(seed).choice(len(trials), IMPORTANCE_MAX_TRIALS, False)
        trials = [trials[i] for i in sorted(pick)]
    space = _space(study)
    params = [p for p in space if not isinstance(p, Fixed)]
    if len(trials) < 2:
        raise ConfigError(
            f"study {study.name!r} needs at least 2 completed trials for importances, "
            f"has {len(trials)}"
        )
    if not params:
        raise ConfigError(f"study {study.name!r} has no parameter that varies")
    features = np.array([[_encode(p, t.params.get(p.name)) for p in params] for t in trials])
    y = np.array([float(t.value) for t in trials])  # type: ignore[arg-type]
    if np.ptp(y) == 0:
        raise ConfigError(
            f"study {study.name!r}: every completed trial has the same value, "
            "so no parameter explains it"
        )
    varies = np.ptp(features, axis=0) > 0
    scores = np.zeros(len(params))
    if varies.any():
        forest = RandomForestRegressor(n_estimators=64, min_samples_leaf=3, random_state=seed)
        forest.fit(features[:, varies], y)
        result = permutation_importance(
            forest, features[:, varies], y, n_repeats=5, random_state=seed
        )
        scores[varies] = np.clip(result.importances_mean, 0.0, None)
    total = float(scores.sum())
    shares = scores / total if total > 0 else np.full(len(params), 1.0 / len(params))
    order = sorted(range(len(params)), key=lambda i: (-shares[i], params[i].name))
    return {params[i].name: float(shares[i]) for i in order}


def _encode(p: Param, value: Value | None) -> float:
    if value is None or not p.contains(value):
        return INACTIVE
    return float(p.to_unit(value))
