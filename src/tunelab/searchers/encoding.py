"""The vector form of configurations that model-based searchers (bayes, tpe) share.

:class:`SpaceEncoding` maps a configuration of a :class:`~tunelab.space.Space` to a point
of ``[0, 1]^D`` and back:

- a numeric parameter (Int, Float, linear or log, stepped or not) and an *ordered*
  Choice take one coordinate, its unit value from the space's own transform
  (``Param.to_unit``), so log sampling and steps mean the same as everywhere else;
- an unordered Choice (strings, booleans) takes one coordinate per value, one-hot, so
  a model sees distinct choices as distinct and equally far apart;
- a Fixed parameter takes none.

Discrete coordinates hold the centre of their value's cell, and :meth:`project` maps any
point of the cube to the point of the configuration it decodes to (ints and steps
rounded, one-hot blocks to their largest entry). A searcher that evaluates its model
only at projected points therefore scores exactly the configuration it will propose.

Inactive conditional parameters: a parameter whose conditions do not hold (or that a
trial never defined) is encoded as a fixed *fill* value: 0.5 for a numeric coordinate
and all zeros for a one-hot block. Every inactive occurrence looks the same, so two
trials that both lack a parameter do not differ in it, the parent's own coordinate(s)
tell active from inactive, and no made-up value of the parameter enters the model.
:meth:`project` applies the same rule to candidate points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tunelab.space import Choice, Config, Fixed, Int, Param, Space, Value, _value_in

INACTIVE_NUMERIC = 0.5
"""Coordinate of an inactive numeric parameter (an inactive one-hot block is all zeros)."""


@dataclass(frozen=True)
class Block:
    """The coordinates of one parameter: ``width`` columns starting at ``start``."""

    param: Param
    start: int
    width: int
    one_hot: bool
    levels: int | None  # number of values of a discrete coordinate; None if continuous

    @property
    def stop(self) -> int:
        return self.start + self.width


class SpaceEncoding:
    """Configurations of ``space`` <-> points of ``[0, 1]^dims`` (see the module doc)."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.blocks: list[Block] = []
        start = 0
        for p in space:
            if isinstance(p, Fixed):
                continue
            one_hot = isinstance(p, Choice) and not p.ordered
            width = p.cardinality if one_hot else 1
            assert width is not None
            levels = None if one_hot else p.cardinality
            self.blocks.append(Block(p, start, width, one_hot, levels))
            start += width
        self.dims = start
        self._by_name = {b.param.name: b for b in self.blocks}
        self._log_int_edges = {
            b.param.name: _log_int_edges(b.param)
            for b in self.blocks
            if isinstance(b.param, Int) and b.param.step is None and b.param.sampling == "log"
        }
        self.is_conditional = any(p.conditions for p in space)

    def block(self, name: str) -> Block:
        return self._by_name[name]

    # -- masks the optimisers need ----------------------------------------------------------
    @property
    def continuous(self) -> np.ndarray:
        """Boolean mask of coordinates that take any value in [0, 1] (unstepped floats)."""
        mask = np.zeros(self.dims, dtype=bool)
        for b in self.blocks:
            if not b.one_hot and b.levels is None:
                mask[b.start] = True
        return mask

    @property
    def param_dims(self) -> int:
        """Number of parameters that take coordinates (the space's dimension)."""
        return len(self.blocks)

    def cell_bounds(self, block: Block, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The part of [0, 1] that decodes to the same value as each ``u`` (discrete params)."""
        assert block.levels is not None
        edges = self._log_int_edges.get(block.param.name)
        if edges is None:
            k = block.levels
            idx = np.minimum((np.clip(u, 0.0, 1.0) * k).astype(int), k - 1)
            return idx / k, (idx + 1) / k
        inner = edges[0]
        idx = np.searchsorted(inner, u, side="right")
        return np.concatenate([[0.0], inner])[idx], np.concatenate([inner, [1.0]])[idx]

    def level_centres(self, block: Block) -> np.ndarray:
        """The unit values of every value of a discrete, non-one-hot parameter."""
        assert block.levels is not None
        edges = self._log_int_edges.get(block.param.name)
        if edges is not None:
            return edges[1]
        return (np.arange(block.levels) + 0.5) / block.levels

    # -- configuration <-> vector -------------------------------------------------------------
    def encode(self, config: Mapping[str, Value]) -> np.ndarray:
        """The point of an (active) configuration; absent parameters get the fill value."""
        return self._encode(config)[0]

    def _encode(self, config: Mapping[str, Value]) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros(self.dims)
        active = np.zeros(len(self.blocks), dtype=bool)
        for i, b in enumerate(self.blocks):
            value = config.get(b.param.name)
            if value is None or not b.param.contains(value):
                _fill(x, b)
                continue
            active[i] = True
            if b.one_hot:
                assert isinstance(b.param, Choice)
                x[b.start + b.param.index(value)] = 1.0
            else:
                x[b.start] = b.param.to_unit(value)
        return x, active

    def encode_many(self, configs: Sequence[Mapping[str, Value]]) -> np.ndarray:
        """Points of several configurations, shape ``(n, dims)``."""
        return self.encode_with_mask(configs)[0]

    def encode_with_mask(
        self, configs: Sequence[Mapping[str, Value]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points, and which parameters (blocks) each configuration has, ``(n, blocks)``."""
        if not configs:
            return np.zeros((0, self.dims)), np.zeros((0, len(self.blocks)), dtype=bool)
        rows = [self._encode(c) for c in configs]
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])

    def decode(self, x: np.ndarray) -> Config:
        """The active configuration a point stands for (definition order, conditions applied)."""
        config: Config = {}
        for p in self.space:
            if not all(c.holds(config) for c in p.conditions):
                continue
            if isinstance(p, Fixed):
                config[p.name] = p.value
                continue
            b = self._by_name[p.name]
            if b.one_hot:
                assert isinstance(p, Choice)
                config[p.name] = p.values[int(np.argmax(x[b.start : b.stop]))]
            else:
                config[p.name] = p.from_unit(float(x[b.start]))
        return config

    # -- projection ------------------------------------------------------------------------------
    def from_unit_coordinates(self, u: np.ndarray) -> np.ndarray:
        """Points from one uniform coordinate per parameter (shape ``(n, param_dims)``).

        Used to turn Sobol or uniform draws into candidates: a one-hot block takes the
        value whose cell of [0, 1] holds its coordinate. The result is projected.
        """
        n = u.shape[0]
        x = np.zeros((n, self.dims))
        for j, b in enumerate(self.blocks):
            if b.one_hot:
                k = b.width
                idx = np.minimum((np.clip(u[:, j], 0.0, 1.0) * k).astype(int), k - 1)
                x[np.arange(n), b.start + idx] = 1.0
            else:
                x[:, b.start] = u[:, j]
        return self.project(x)

    def project(self, x: np.ndarray) -> np.ndarray:
        """Each row moved to the point of the configuration it decodes to.

        Equals ``encode(decode(row))`` row by row (tests check it), vectorised.
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        out = np.empty_like(x)
        levels: dict[str, np.ndarray] = {}
        for b in self.blocks:
            cols = x[:, b.start : b.stop]
            if b.one_hot:
                idx = np.argmax(cols, axis=1)
                out[:, b.start : b.stop] = 0.0
                out[np.arange(len(x)), b.start + idx] = 1.0
                levels[b.param.name] = idx
            else:
                u = np.clip(cols[:, 0], 0.0, 1.0)
                centre, idx = self._snap(b, u)
                out[:, b.start] = centre
                if idx is not None:
                    levels[b.param.name] = idx
        if self.is_conditional:
            active = self.active_mask(out, levels)
            for b in self.blocks:
                inactive = ~active[b.param.name]
                if inactive.any():
                    out[inactive, b.start : b.stop] = 0.0 if b.one_hot else INACTIVE_NUMERIC
        return out

    def _snap(self, b: Block, u: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Unit values of the nearest representable values, and their level indices."""
        p = b.param
        if b.levels is None:  # a continuous float
            return u, None
        k = b.levels
        edges = self._log_int_edges.get(p.name)
        if edges is None:
            # Every other discrete numeric parameter splits [0, 1] into k equal cells.
            idx = np.minimum((u * k).astype(int), k - 1)
            return (idx + 0.5) / k, idx
        inner, centres = edges
        idx = np.searchsorted(inner, u, side="right")
        return centres[idx], idx

    def active_mask(
        self, x: np.ndarray, levels: Mapping[str, np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """For each parameter with coordinates, which rows of projected ``x`` activate it."""
        n = len(x)
        levels = dict(levels or {})
        active: dict[str, np.ndarray] = {}
        for p in self.space:
            mask = np.ones(n, dtype=bool)
            for cond in p.conditions:
                parent = self.space[cond.parent]
                mask &= active.get(cond.parent, np.ones(n, dtype=bool))
                mask &= self._condition_holds(parent, cond.values, x, levels)
            active[p.name] = mask
        return active

    def _condition_holds(
        self,
        parent: Param,
        values: tuple[Value, ...],
        x: np.ndarray,
        levels: dict[str, np.ndarray],
    ) -> np.ndarray:
        if isinstance(parent, Fixed):
            return np.full(len(x), _value_in(parent.value, values))
        b = self._by_name[parent.name]
        if b.one_hot or b.levels is not None:
            if parent.name not in levels:
                levels[parent.name] = (
                    np.argmax(x[:, b.start : b.stop], axis=1)
                    if b.one_hot
                    else self._snap(b, np.clip(x[:, b.start], 0.0, 1.0))[1]  # type: ignore[assignment]
                )
            allowed = np.array([_value_in(v, values) for v in _values_of(parent)])
            return allowed[levels[parent.name]]
        # A condition on a continuous float: rare enough to decode row by row.
        return np.array([_value_in(parent.from_unit(float(u)), values) for u in x[:, b.start]])


def nearest_point(points: np.ndarray, point: np.ndarray, allowed: np.ndarray | None = None) -> int:
    """The row of ``points`` nearest to ``point`` (Euclidean, ties to the first), among the
    rows ``allowed`` marks when given (at least one must be)."""
    distances = ((points - point) ** 2).sum(axis=1)
    if allowed is not None:
        distances[~allowed] = np.inf
    return int(np.argmin(distances))


def _fill(x: np.ndarray, b: Block) -> None:
    if b.one_hot:
        x[b.start : b.stop] = 0.0
    else:
        x[b.start] = INACTIVE_NUMERIC


def _values_of(p: Param) -> list[Value]:
    """All values of a discrete parameter in level order."""
    if isinstance(p, Choice):
        return list(p.values)
    k = p.cardinality
    assert k is not None
    return [p.from_unit((i + 0.5) / k) for i in range(k)] if not _is_log_int(p) else _log_ints(p)


def _is_log_int(p: Param) -> bool:
    return isinstance(p, Int) and p.step is None and p.sampling == "log"


def _log_ints(p: Param) -> list[Value]:
    assert isinstance(p, Int)
    return list(range(int(p.min_value), int(p.max_value) + 1))


@lru_cache(maxsize=256)
def _log_int_edges(p: Param) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges and centres of an unstepped log-sampled Int in its unit encoding.

    ``Int.from_unit`` rounds ``exp(a + u (b - a))``, so value ``v`` owns the cell up to
    ``(log(v + 0.5) - a) / (b - a)``; its centre is ``Int.to_unit(v)``. Cached (read-only
    arrays): a model-based searcher encodes the space at every suggestion, and a range
    such as 16-1024 costs a thousand ``to_unit`` calls.
    """
    assert isinstance(p, Int)
    lo, hi = int(p.min_value), int(p.max_value)
    if hi == lo:
        inner, centres = np.zeros(0), np.array([p.to_unit(lo)])
    else:
        a = math.log(lo - 0.5) if lo > 0.5 else math.log(0.5)
        b = math.log(hi + 0.5)
        inner = np.array([(math.log(v + 0.5) - a) / (b - a) for v in range(lo, hi)])
        centres = np.array([p.to_unit(v) for v in range(lo, hi + 1)])
    inner.flags.writeable = False
    centres.flags.writeable = False
    return inner, centres


__all__ = [
    "INACTIVE_NUMERIC",
    "Block",
    "SpaceEncoding",
    "nearest_point",
]
