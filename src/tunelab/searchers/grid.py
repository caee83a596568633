"""Grid search: every combination of the parameters' values, each tried once.

Choices, booleans, ints and stepped floats contribute all their values; a continuous
float needs a number of grid points (``GridSearcher(points={"lr": 5})``, or one number
for all). Conditional parameters only vary where they are active, so a branch is not
repeated for values it never reads. The study ends when the grid is exhausted.

With a define-by-run objective whose space is not declared, the first trial runs the
defaults and reveals the space; the grid then covers what was revealed and skips the
combinations already tried (Keras Tuner does the same). A combination counts as tried
when a completed trial read the same values for every parameter it read, so the
parameters of a branch the objective did not take (``if hp.Boolean("wide"):
hp.Int("units", ...)`` with ``wide`` false) are not varied there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tunelab.errors import SpaceError
from tunelab.searchers.base import History, Proposal, Searcher, TriedConfigs, enumerate_configs
from tunelab.space import Config, Param, Space, Value
from tunelab.trial import TrialRecord


class GridSearcher(Searcher):
    """Exhaustive search in a fixed order (shuffled by ``seed`` when ``shuffle=True``)."""

    name = "grid"

    def __init__(
        self,
        *,
        points: int | Mapping[str, int] | None = None,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.points = dict(points) if isinstance(points, Mapping) else points
        self.shuffle = shuffle

    def _points_for(self, param: Param) -> int | None:
        if isinstance(self.points, dict):
            return self.points.get(param.name)
        return self.points

    def check(self, space: Space) -> None:
        """Raise SpaceError naming any continuous float that has no number of points."""
        for p in space:
            p.grid(self._points_for(p))

    def grid_size(self, space: Space) -> int:
        return sum(1 for _ in self._enumerate(space))

    def _enumerate(self, space: Space) -> Iterator[Config]:
        return enumerate_configs(space, lambda p: p.grid(self._points_for(p)))

    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        space = history.space
        try:
            self.check(space)
        except SpaceError as exc:
            raise SpaceError(f"grid search: {exc}") from None
        tried = TriedConfigs(history)
        out: list[Proposal] = []
        candidates: Iterator[Config] = self._enumerate(space)
        if self.shuffle:
            everything = list(candidates)
            order = self.rng_.permutation(len(everything))
            candidates = iter([everything[int(i)] for i in order])
        for config in candidates:
            if tried.covers(config):
                continue
            tried.add(config)
            out.append(Proposal(config))
            if len(out) == n:
                break
        return out

    def suggest_param(
        self, param: Param, config: Config, trial: TrialRecord, history: History
    ) -> Value:
        return param.default

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict()
