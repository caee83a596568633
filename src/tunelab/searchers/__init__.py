"""Searchers decide which configuration to try next; look one up by name here.

Adding a searcher: one module with a :class:`Searcher` subclass, one test module, and
one line in ``SEARCHERS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.configurable import build_from_spec, load_registered
from tunelab.searchers.base import History, Proposal, Searcher

SEARCHERS: dict[str, str] = {
    "bayes": "tunelab.searchers.bayes:BayesSearcher",
    "grid": "tunelab.searchers.grid:GridSearcher",
    "random": "tunelab.searchers.random:RandomSearcher",
    "sobol": "tunelab.searchers.sobol:SobolSearcher",
    "tpe": "tunelab.searchers.tpe:TPESearcher",
}
"""Registry: name -> "module:class", imported on first use."""

__all__ = ["SEARCHERS", "History", "Proposal", "Searcher", "make_searcher", "searcher_class"]


def searcher_class(name: str) -> type[Searcher]:
    cls: type[Searcher] = load_registered(SEARCHERS, name, "searcher")
    return cls


def make_searcher(spec: str | Searcher | Mapping[str, Any], *, seed: int | None = None) -> Searcher:
    """A searcher from a name, an instance, or ``{"name": ..., "options": {...}}``.

    ``seed`` is used when the spec does not set one itself.
    """
    if isinstance(spec, Searcher):
        return spec
    searcher: Searcher = build_from_spec(spec, SEARCHERS, "searcher", {"seed": seed})
    return searcher
