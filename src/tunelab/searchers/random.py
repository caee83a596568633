"""Random search: every active parameter drawn uniformly in its unit encoding, seeded.

In a finite space (only choices, booleans, ints and stepped floats, conditional ones
included) a configuration already tried is not handed out again, and the searcher is
exhausted, which ends the study, once every configuration was tried (Keras Tuner's
RandomSearch does the same). A small space (at most ``ENUMERATION_LIMIT``
configurations) is listed and the draw is uniform among the untried ones; a larger one
is drawn as usual and a repeat is redrawn up to ``MAX_REDRAWS`` times. A space with a
continuous parameter, or an empty one (not revealed yet by a define-by-run objective),
is drawn as before: repeats are improbable there.
"""

from __future__ import annotations

from typing import ClassVar

from tunelab.searchers.base import (
    History,
    Proposal,
    Searcher,
    TriedConfigs,
    enumerate_configs,
    finite_size_bound,
    sample_config,
)
from tunelab.space import Config


class RandomSearcher(Searcher):
    """Independent uniform draws (log-uniform for log parameters); reproducible with a seed."""

    name = "random"

    ENUMERATION_LIMIT: ClassVar[int] = 10_000
    MAX_REDRAWS: ClassVar[int] = 20

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)

    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        space = history.space
        size = finite_size_bound(space)
        # An empty space is one a define-by-run objective has not revealed yet.
        if size is None or not len(space):
            return [Proposal(sample_config(space, self.rng_.random)) for _ in range(n)]
        tried = TriedConfigs(history)
        if size <= self.ENUMERATION_LIMIT:
            return self._from_untried(history, tried, n)
        out = []
        for _ in range(n):
            config = self._redrawn(history, tried)
            tried.add(config)
            out.append(Proposal(config))
        return out

    def _from_untried(self, history: History, tried: TriedConfigs, n: int) -> list[Proposal]:
        untried = [
            c for c in enumerate_configs(history.space, lambda p: p.grid()) if not tried.covers(c)
        ]
        k = min(n, len(untried))
        if k == 0:
            return []
        picks = self.rng_.choice(len(untried), size=k, replace=False)
        return [Proposal(untried[int(i)]) for i in picks]

    def _redrawn(self, history: History, tried: TriedConfigs) -> Config:
        config = sample_config(history.space, self.rng_.random)
        for _ in range(self.MAX_REDRAWS):
            if not tried.covers(config):
                break
            config = sample_config(history.space, self.rng_.random)
        return config
