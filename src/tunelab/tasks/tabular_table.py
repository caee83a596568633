"""Recorded learning curves: one table per task, loaded from a compressed ``.npz`` file.

A table holds N configurations drawn once by scrambled Sobol from a task's search space
and, for every configuration and every epoch 1..E, the validation and test metrics the
real task reached and the time the epoch took (``benchmarks/record_tables.py``
records them). The file has three arrays:

- ``meta``: one JSON string: ``format``, ``name``, ``task``, ``task_options``, ``metric``,
  ``mode``, ``max_epochs``, ``space`` (:meth:`Space.to_dict`), ``metric_names``,
  ``configs`` (in recording order) and free-form ``recording`` notes;
- ``values``: float32 of shape (N, E, len(metric_names));
- ``seconds``: float32 of shape (N, E), each epoch's recorded duration.

The tables that ship with tunelab live in ``tunelab/tasks/tables/<name>.npz``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tunelab.errors import ConfigError
from tunelab.space import Config, Space, Value

FORMAT = 1
TABLES_DIR = Path(__file__).resolve().parent / "tables"
"""Where the shipped tables live."""

_CACHE: dict[tuple[str, int], LearningCurveTable] = {}


def shipped_tables() -> list[str]:
    """Names of the tables that ship with tunelab."""
    return sorted(p.stem for p in TABLES_DIR.glob("*.npz"))


def table_path(name: str) -> Path:
    """The file of table ``name``: a shipped table's name, or a path to a ``.npz`` file."""
    if name.endswith(".npz") or "/" in name or "\\" in name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(f"learning-curve table file {str(path)!r} does not exist")
        return path
    path = TABLES_DIR / f"{name}.npz"
    if not path.is_file():
        available = ", ".join(shipped_tables()) or "none"
        raise ConfigError(
            f"unknown learning-curve table {name!r}; shipped tables: {available} "
            "(or give the path of a .npz file that benchmarks/record_tables.py wrote)"
        )
    return path


def _key(config: Mapping[str, Value]) -> tuple[tuple[str, str, Value], ...]:
    # The type is part of the key: True and 1 are different values of a parameter.
    return tuple(sorted((k, type(v).__name__, v) for k, v in config.items()))


@dataclass(eq=False)
class LearningCurveTable:
    """One recorded table (see the module doc for the file).

    ``configs[i]`` is configuration ``i``; :meth:`metrics` and :meth:`seconds` answer
    for its epochs 1..``max_epochs``. Arrays are read-only.
    """

    name: str
    metric: str
    mode: Literal["min", "max"]
    max_epochs: int
    space: Space
    configs: list[Config]
    metric_names: list[str]
    values: np.ndarray = field(repr=False)
    epoch_seconds: np.ndarray = field(repr=False)
    task: str = ""
    task_options: dict[str, Any] = field(default_factory=dict)
    recording: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, e = len(self.configs), self.max_epochs
        k = len(self.metric_names)
        if self.values.shape != (n, e, k) or self.epoch_seconds.shape != (n, e):
            raise ConfigError(
                f"learning-curve table {self.name!r}: arrays of shape {self.values.shape} and "
                f"{self.epoch_seconds.shape} do not fit {n} configurations x {e} epochs x "
                f"{k} metrics"
            )
        if self.metric not in self.metric_names:
            raise ConfigError(
                f"learning-curve table {self.name!r}: metric {self.metric!r} is not recorded "
                f"(recorded: {', '.join(self.metric_names)})"
            )
        if self.mode not in ("min", "max"):
            raise ConfigError(f"learning-curve table {self.name!r}: bad mode {self.mode!r}")
        self.values.setflags(write=False)
        self.epoch_seconds.setflags(write=False)
        self._index = {_key(c): i for i, c in reversed(list(enumerate(self.configs)))}
        self._metric_column = self.metric_names.index(self.metric)
        self._points: np.ndarray | None = None
        self._encoding: Any = None
        # Answers for configurations not recorded: a paused trial asks again when resumed.
        self._nearest: dict[Any, int] = {}

    # -- answering ------------------------------------------------------------------------
    def nearest(self, config: Mapping[str, Value]) -> int:
        """The index of ``config`` when it was recorded, else of the recorded configuration
        nearest to it (Euclidean distance in the space's unit encoding, ties to the
        first recorded). Parameters outside the space, or inactive, are ignored."""
        active = self.space.active(config)
        key = _key(active)
        found = self._index.get(key)
        if found is None:
            found = self._nearest.get(key)
        if found is not None:
            return found
        from tunelab.searchers.encoding import SpaceEncoding, nearest_point

        if self._encoding is None:
            self._encoding = SpaceEncoding(self.space)
            self._points = self._encoding.encode_many(self.configs)
        assert self._points is not None
        found = nearest_point(self._points, self._encoding.encode(active))
        if len(self._nearest) >= 100_000:
            self._nearest.clear()
        self._nearest[key] = found
        return found

    def metrics(self, index: int, epoch: int) -> dict[str, float]:
        """Every recorded metric (validation and test) of configuration ``index`` after
        epoch ``epoch`` (1..max_epochs)."""
        row = self.values[self._check(index, epoch), epoch - 1]
        return dict(zip(self.metric_names, row.tolist(), strict=True))

    def seconds(self, index: int, epoch: int) -> float:
        """The recorded duration of epoch ``epoch`` of configuration ``index``."""
        return float(self.epoch_seconds[self._check(index, epoch), epoch - 1])

    def best(self) -> float:
        """The best final (epoch ``max_epochs``) value of ``metric`` over the table."""
        final = self.values[:, -1, self._metric_column]
        return float(final.max() if self.mode == "max" else final.min())

    def curve(self, index: int, metric: str | None = None) -> np.ndarray:
        """Configuration ``index``'s values of ``metric`` (default: the table's) by epoch."""
        column = self.metric_names.index(metric or self.metric)
        return np.asarray(self.values[self._check(index, 1), :, column], dtype=float)

    def _check(self, index: int, epoch: int) -> int:
        if not 0 <= index < len(self.configs):
            raise IndexError(
                f"learning-curve table {self.name!r} has configurations 0..{len(self.configs) - 1}"
                f", not {index}"
            )
        if not 1 <= epoch <= self.max_epochs:
            raise IndexError(
                f"learning-curve table {self.name!r} has epochs 1..{self.max_epochs}, not {epoch}"
            )
        return index

    # -- files ----------------------------------------------------------------------------
    @classmethod
    def load(cls, name: str) -> LearningCurveTable:
        """A shipped table by name (``digits_mlp``), or a table file by path."""
        path = table_path(name)
        key = (str(path.resolve()), path.stat().st_mtime_ns)
        cached = _CACHE.get(key)
        if cached is None:
            cached = _CACHE[key] = cls.read(path)
        return cached

    @classmethod
    def read(cls, path: str | Path) -> LearningCurveTable:
        """Read a table file (uncached; :meth:`load` caches)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                values = np.asarray(data["values"], dtype=np.float32)
                seconds = np.asarray(data["seconds"], dtype=np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"{str(path)!r} is not a learning-curve table: {type(exc).__name__}: {exc}"
            ) from None
        if meta.get("format") != FORMAT:
            raise ConfigError(
                f"{str(path)!r}: learning-curve table format {meta.get('format')!r}, "
                f"this tunelab reads format {FORMAT}"
            )
        return cls(
            name=str(meta["name"]),
            metric=str(meta["metric"]),
            mode=meta["mode"],
            max_epochs=int(meta["max_epochs"]),
            space=Space.from_dict(meta["space"]),
            configs=[dict(c) for c in meta["configs"]],
            metric_names=[str(m) for m in meta["metric_names"]],
            values=values,
            epoch_seconds=seconds,
            task=str(meta.get("task", "")),
            task_options=dict(meta.get("task_options") or {}),
            recording=dict(meta.get("recording") or {}),
        )

    def save(self, path: str | Path) -> Path:
        """Write the table, compressed; returns the path."""
        return write_table(
            path,
            name=self.name,
            metric=self.metric,
            mode=self.mode,
            space=self.space,
            configs=self.configs,
            metric_names=self.metric_names,
            values=self.values,
            seconds=self.epoch_seconds,
            task=self.task,
            task_options=self.task_options,
            recording=self.recording,
        )


def write_table(
    path: str | Path,
    *,
    name: str,
    metric: str,
    mode: str,
    space: Space,
    configs: Sequence[Mapping[str, Value]],
    metric_names: Sequence[str],
    values: np.ndarray,
    seconds: np.ndarray,
    task: str = "",
    task_options: Mapping[str, Any] | None = None,
    recording: Mapping[str, Any] | None = None,
) -> Path:
    """Write a table file (``np.savez_compressed``, float32 arrays); returns the path."""
    meta = {
        "format": FORMAT,
        "name": name,
        "task": task,
        "task_options": dict(task_options or {}),
        "metric": metric,
        "mode": mode,
        "max_epochs": int(np.shape(seconds)[1]),
        "space": space.to_dict(),
        "metric_names": list(metric_names),
        "configs": [dict(c) for c in configs],
        "recording": dict(recording or {}),
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        meta=np.array(json.dumps(meta)),
        values=np.asarray(values, dtype=np.float32),
        seconds=np.asarray(seconds, dtype=np.float32),
    )
    tmp.replace(out)
    return out
