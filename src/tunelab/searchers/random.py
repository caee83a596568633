"""Random search: every active parameter drawn uniformly in its unit encoding, seeded."""

from __future__ import annotations

from tunelab.searchers.base import History, Proposal, Searcher, sample_config


class RandomSearcher(Searcher):
    """Independent uniform draws (log-uniform for log parameters); reproducible with a seed."""

    name = "random"

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)

    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        return [Proposal(sample_config(history.space, self.rng_.random)) for _ in range(n)]
