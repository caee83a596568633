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
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tunelab.errors import ConfigError
from tunelab.schedulers.base import scheduler_meta, value_at
from tunelab.space import Boolean, Choice, Fixed, Float, Int, Param, Space, Value
from tunelab.trial import TrialRecord, TrialStatus

if TYPE_CHECKING:
    from tunelab.study import Study

ColumnKind = Literal["float", "int", "categorical", "bool"]

IMPORTANCE_MAX_TRIALS = 1000
"""Importances are fitted on at most this many completed trials (a seeded sample)."""


def _clean(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None and tuples by lists (JSON-able)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


class _Data:
    def to_dict(self) -> dict[str, Any]:
        """JSON-able: numbers, strings, booleans, None, lists and dicts only."""
        out: dict[str, Any] = _clean(asdict(self))  # type: ignore[call-overload]
        return out


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
class HistoryPoint(_Data):
    """One trial: its value (None while running or when failed), the best value of the
    completed trials up to and including it by number, and when it ended (seconds since
    the first trial started; its last report or start while it runs)."""

    number: int
    state: str
    value: float | None
    best_so_far: float | None
    elapsed: float | None


@dataclass(frozen=True)
class History(_Data):
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
class Curve(_Data):
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
class Column(_Data):
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
class Row(_Data):
    number: int
    state: str
    value: float | None
    params: dict[str, Value | None]


@dataclass(frozen=True)
class Parallel(_Data):
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
class Slice(_Data):
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
class Contour(_Data):
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


# -- Hyperband / ASHA rungs ------------------------------------------------------------------
RungOutcome = Literal["promoted", "stopped", "completed", "paused", "running", "failed"]


@dataclass(frozen=True)
class RungRow(_Data):
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
class LineageEdge(_Data):
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
