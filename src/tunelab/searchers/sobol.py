"""Quasi-random search: scrambled Sobol points, with balanced categorical values.

Numeric parameters (ints, floats, stepped or not) take one coordinate each of a
scrambled Sobol sequence (scipy.stats.qmc), decoded through the shared unit transform,
so integers and steps are rounded without bias.

Categorical and boolean parameters do not take a coordinate: a Sobol coordinate is
only balanced over k values when k is a power of two and the number of points is a
multiple of k. Instead each categorical parameter deals its values from a shuffled
deck: occurrence j of the parameter gets value ``perm_b[j % k]`` with a fresh seeded
permutation ``perm_b`` for every block ``b = j // k``. After any number of trials the
counts of its values differ by at most one. Occurrences are counted over the trials
where the parameter is active: a conditional parameter (declared with
``conditional_scope``, or only defined on some branches of the objective) whose slot
was dealt to a trial that never used it gets the slot back when that trial ends.
"""

from __future__ import annotations

import warnings
import zlib
from typing import Any

import numpy as np

from tunelab.searchers.base import History, Proposal, Searcher
from tunelab.space import Choice, Config, Fixed, Param, Space, Value
from tunelab.trial import TrialRecord

_MIN_DIMENSIONS = 32


class SobolSearcher(Searcher):
    """Scrambled Sobol quasi-random search with balanced categoricals."""

    name = "sobol"

    def __init__(self, *, seed: int | None = None, scramble: bool = True) -> None:
        super().__init__(seed=seed)
        self.scramble = scramble
        if seed is None:
            # The scrambling must be the same after a resume, so fix it now.
            self.seed = int(self.rng_.integers(2**31))
        self.index_ = 0
        self.slots_: dict[str, dict[str, Any]] = {}
        self._engine: Any = None
        self._engine_dims = 0
        self._engine_position = 0

    # -- the numeric part --------------------------------------------------------------
    @staticmethod
    def _numeric(space: Space) -> list[Param]:
        return [p for p in space if not p.is_categorical and not isinstance(p, Fixed)]

    def _dims_for(self, n_numeric: int) -> int:
        dims = _MIN_DIMENSIONS
        while dims < n_numeric:
            dims *= 2
        return dims

    def _make_engine(self, dims: int) -> Any:
        from scipy.stats import qmc

        return qmc.Sobol(d=dims, scramble=self.scramble, seed=self.seed)

    def _point(self, index: int, n_numeric: int) -> np.ndarray:
        """Sobol point number ``index`` (coordinates stable while the space grows)."""
        dims = self._dims_for(n_numeric)
        if self._engine is None or dims != self._engine_dims or index < self._engine_position:
            self._engine = self._make_engine(dims)
            self._engine_dims = dims
            self._engine_position = 0
        if index > self._engine_position:
            self._engine.fast_forward(index - self._engine_position)
            self._engine_position = index
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            point = self._engine.random(1)[0]
        self._engine_position += 1
        return np.asarray(point)

    # -- the categorical part ----------------------------------------------------------
    def _take_slot(self, name: str) -> int:
        deck = self.slots_.setdefault(name, {"next": 0, "free": []})
        if deck["free"]:
            return int(deck["free"].pop(0))
        slot = int(deck["next"])
        deck["next"] = slot + 1
        return slot

    def _release_slot(self, name: str, slot: int) -> None:
        deck = self.slots_.setdefault(name, {"next": 0, "free": []})
        free: list[int] = deck["free"]
        if slot not in free and slot < deck["next"]:
            free.append(slot)
            free.sort()

    def _dealt_value(self, param: Choice, slot: int) -> Value:
        k = param.cardinality
        block, position = divmod(slot, k)
        key = [int(self.seed or 0), zlib.crc32(param.name.encode()), block]
        permutation = np.random.default_rng(key).permutation(k)
        return param.values[int(permutation[position])]

    # -- the searcher contract ---------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        space = history.space
        numeric = self._numeric(space)
        coordinate = {p.name: i for i, p in enumerate(numeric)}
        out = []
        for _ in range(n):
            index = self.index_
            self.index_ += 1
            point = self._point(index, len(numeric))
            config: Config = {}
            slots: dict[str, int] = {}
            for p in space:
                if not all(c.holds(config) for c in p.conditions):
                    continue
                if isinstance(p, Choice):
                    slots[p.name] = self._take_slot(p.name)
                    config[p.name] = self._dealt_value(p, slots[p.name])
                elif isinstance(p, Fixed):
                    config[p.name] = p.value
                else:
                    config[p.name] = p.from_unit(float(point[coordinate[p.name]]))
            out.append(Proposal(config, {"sobol_index": index, "slots": slots}))
        return out

    def suggest_param(
        self, param: Param, config: Config, trial: TrialRecord, history: History
    ) -> Value:
        if isinstance(param, Choice):
            return self._dealt_value(param, self._take_slot(param.name))
        if isinstance(param, Fixed):
            return param.value
        numeric = self._numeric(history.space)
        names = [p.name for p in numeric]
        if param.name not in names:
            numeric.append(param)
            names.append(param.name)
        index = int(trial.meta.get("sobol_index", self.index_))
        point = self._point(index, len(numeric))
        return param.from_unit(float(point[names.index(param.name)]))

    def observe(self, trial: TrialRecord, history: History) -> None:
        for name, slot in trial.meta.get("slots", {}).items():
            if name not in trial.params:
                self._release_slot(name, int(slot))

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(index=self.index_, slots=self.slots_)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.index_ = int(state.get("index", 0))
        self.slots_ = {
            name: {"next": int(deck["next"]), "free": [int(s) for s in deck["free"]]}
            for name, deck in state.get("slots", {}).items()
        }
