"""A study restricted to a list of configurations (``optimize(candidates=...)``).

Every configuration the searcher proposes is replaced by the nearest candidate not used
yet (Euclidean distance in the space's unit encoding, the one model-based searchers
fit in), so each candidate runs at most once and the study ends, like an exhausted
grid, when none is left. This is what tabular benchmarks need (Syne Tune calls it
``restrict_configurations``): there, a configuration between two recorded ones is
answered by the nearest recorded one, so a searcher that keeps proposing near its best
so far would spend its budget replaying one learning curve, and its score would measure
that artefact rather than the search. Configurations a scheduler makes itself (PBT's
perturbed copies) are not restricted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from tunelab.errors import ConfigError, SpaceError
from tunelab.searchers.base import ConfigKey, config_key
from tunelab.searchers.encoding import SpaceEncoding, nearest_point
from tunelab.space import Config, Space, Value


class CandidateList:
    """The candidates of one run and which of them the study has used."""

    def __init__(self, space: Space, candidates: Iterable[Mapping[str, Value]]) -> None:
        candidates = list(candidates)
        if len(space) == 0:
            raise ConfigError(
                "candidates need the study's search space up front (create_study(space=...))"
            )
        if len(candidates) == 0:
            raise ConfigError("candidates is empty: give at least one configuration")
        self.space = space
        self.configs: list[Config] = []
        self._index: dict[ConfigKey, int] = {}
        repeats: list[int] = []
        for i, candidate in enumerate(candidates):
            if not isinstance(candidate, Mapping):
                raise ConfigError(f"candidate {i} is not a mapping of names to values")
            try:
                space.validate(candidate)
            except SpaceError as exc:
                raise ConfigError(f"candidate {i}: {exc}") from None
            active = space.active(candidate)
            self.configs.append(active)
            if self._index.setdefault(config_key(active), i) != i:
                repeats.append(i)  # a repeat of an earlier candidate runs once, as that one
        self._encoding = SpaceEncoding(space)
        self._points = self._encoding.encode_many(self.configs)
        self._free = np.ones(len(self.configs), dtype=bool)
        self._free[repeats] = False

    @property
    def remaining(self) -> int:
        return int(self._free.sum())

    def index(self, config: Mapping[str, Value]) -> int | None:
        """The candidate ``config`` is (its active part), else None."""
        return self._index.get(config_key(self.space.active(config)))

    def mark_used(self, configs: Iterable[Mapping[str, Value]]) -> None:
        """Record that these configurations ran (those not in the list are ignored)."""
        for config in configs:
            found = self.index(config)
            if found is not None:
                self._free[found] = False

    def take(self, proposal: Mapping[str, Value]) -> Config | None:
        """The unused candidate nearest to ``proposal``, now used (None: all are used)."""
        if not self._free.any():
            return None
        found = self.index(proposal)
        if found is None or not self._free[found]:
            point = self._encoding.encode(self.space.active(proposal))
            found = nearest_point(self._points, point, self._free)
        self._free[found] = False
        return dict(self.configs[found])
