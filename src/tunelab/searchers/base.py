"""The Searcher contract: which configuration to try next.

Rules every searcher keeps (tests/searchers/test_contract.py checks them):
- Configuration lives in the constructor only and is readable back by
  :meth:`Searcher.get_params` (scikit-learn's rule), so a study can rebuild it.
- ``suggest(history, n)`` returns at most ``n`` proposals whose configurations are
  valid for ``history.space`` (active parameters only); fewer, or none, means the
  searcher is exhausted (a finished grid).
- ``suggest_param`` chooses a value for a parameter the objective defined that the
  proposal did not cover (define-by-run discovery).
- ``observe`` is called once for every proposal that reached a verdict.
- Everything that changes as the search goes (random state, counters) is returned by
  ``state_dict`` as plain JSON data and restored by ``load_state_dict``: the same seed
  and the same history give the same proposals, before and after a resume.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from tunelab.configurable import Configurable
from tunelab.space import Config, Param, Space, Value
from tunelab.trial import TrialRecord, TrialStatus


@dataclass(frozen=True)
class Proposal:
    """A configuration to try, with the searcher's own bookkeeping (given back in observe)."""

    config: Config
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    """What a searcher may read about its study when it decides."""

    space: Space
    metric: str
    mode: Literal["min", "max"]
    finished: Sequence[TrialRecord] = ()
    pending: Sequence[TrialRecord] = ()

    def completed(self) -> list[TrialRecord]:
        """Finished trials with a usable value (completed or pruned)."""
        return [
            t
            for t in self.finished
            if t.status in (TrialStatus.COMPLETED, TrialStatus.PRUNED) and t.value is not None
        ]

    def sign(self) -> float:
        """+1 when smaller is better, -1 when larger is: ``sign * value`` is minimised."""
        return 1.0 if self.mode == "min" else -1.0


class Searcher(Configurable, ABC):
    """Chooses configurations. Subclasses set ``name`` and implement :meth:`suggest`."""

    name: ClassVar[str]

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed
        self.rng_ = np.random.default_rng(seed)

    @abstractmethod
    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        """Up to ``n`` new configurations (fewer when exhausted)."""

    def suggest_param(
        self, param: Param, config: Config, trial: TrialRecord, history: History
    ) -> Value:
        """A value for ``param``, defined by trial ``trial`` but absent from its proposal.

        The default draws uniformly in the parameter's unit encoding.
        """
        return param.from_unit(float(self.rng_.random()))

    def observe(self, trial: TrialRecord, history: History) -> None:
        """Called once for every proposal that reached a verdict (completed, pruned, or
        failed by the objective). An interrupted trial is not observed: its proposal is
        run again as a retry, which is."""

    # -- state ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The searcher's changing state as JSON-serialisable data."""
        return {"rng": _rng_state(self.rng_)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if "rng" in state:
            self.rng_.bit_generator.state = state["rng"]


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return dict(rng.bit_generator.state)


def sample_config(space: Space, draw: Any) -> Config:
    """A configuration of the active parameters, each decoded from ``draw()`` in [0, 1)."""
    config: Config = {}
    for p in space:
        if all(c.holds(config) for c in p.conditions):
            config[p.name] = p.from_unit(float(draw()))
    return config


ConfigKey = tuple[tuple[str, str], ...]


def used_config(trial: TrialRecord, space: Space) -> Config:
    """The configuration a trial stands for: what it used, else what it was proposed."""
    merged: Config = dict(trial.proposal)
    merged.update(trial.params)
    return space.active(merged)


def config_key(config: Mapping[str, Value]) -> ConfigKey:
    """A hashable identity of a configuration (for duplicate checks)."""
    return tuple(sorted((n, repr(v)) for n, v in config.items()))


def enumerate_configs(space: Space, values: Callable[[Param], Sequence[Value]]) -> Iterator[Config]:
    """Every configuration of the active parameters, in the space's order.

    ``values(param)`` lists a parameter's values; a parameter only varies where its
    declared conditions hold, so an inactive branch is not repeated.
    """
    params = list(space)

    def walk(i: int, config: Config) -> Iterator[Config]:
        if i == len(params):
            yield dict(config)
            return
        p = params[i]
        if not all(c.holds(config) for c in p.conditions):
            yield from walk(i + 1, config)
            return
        for v in values(p):
            config[p.name] = v
            yield from walk(i + 1, config)
        del config[p.name]

    yield from walk(0, {})


def finite_size_bound(space: Space) -> int | None:
    """An upper bound on the number of configurations, or None when a parameter is continuous."""
    size = 1
    for p in space:
        k = p.cardinality
        if k is None:
            return None
        size *= k
    return size


class TriedConfigs:
    """The configurations a study has tried (finished or pending), for duplicate checks.

    A completed or pruned trial covers every configuration that agrees with it on the
    parameters its objective read (``trial.params``): a define-by-run objective that
    reads the same values takes the same branch, so the parameters it never read (an
    ``if hp.Boolean(...)`` branch not taken) do not make a new configuration. Other
    trials (failed, running, queued) cover exactly the configuration they stand for.
    """

    def __init__(self, history: History) -> None:
        self._exact: set[ConfigKey] = set()
        self._by_names: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for t in history.finished:
            if t.status in (TrialStatus.COMPLETED, TrialStatus.PRUNED) and t.params:
                names = tuple(sorted(t.params))
                self._by_names.setdefault(names, set()).add(_reprs(t.params, names))
            else:
                self.add(used_config(t, history.space))
        for t in history.pending:
            self.add(used_config(t, history.space))

    def add(self, config: Mapping[str, Value]) -> None:
        """Count ``config`` as tried (a proposal handed out in this batch)."""
        self._exact.add(config_key(config))

    def covers(self, config: Mapping[str, Value]) -> bool:
        if config_key(config) in self._exact:
            return True
        return any(
            all(n in config for n in names) and _reprs(config, names) in seen
            for names, seen in self._by_names.items()
        )


def _reprs(config: Mapping[str, Value], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(repr(config[n]) for n in names)
