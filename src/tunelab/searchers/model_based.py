"""What the model-based searchers (bayes, tpe) share: design, duplicates, state.

A :class:`ModelBasedSearcher` proposes scrambled Sobol points (through
:class:`~tunelab.searchers.sobol.SobolSearcher`, so categoricals are balanced) until
its initial design is complete, then asks its model. Either way it never proposes a
configuration that a finished (completed, pruned or failed) or pending trial already
stands for, nor one it proposed earlier in the same call; when a small discrete space
has nothing new left, it proposes fewer (the study then ends as exhausted).

Counting the design: completed trials plus pending ones plus proposals of this call;
failed trials do not count, so a design point whose trial failed is replaced.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from tunelab.errors import ConfigError
from tunelab.searchers.base import ConfigKey, History, Proposal, Searcher, config_key, used_config
from tunelab.searchers.encoding import SpaceEncoding
from tunelab.searchers.sobol import SobolSearcher
from tunelab.space import Config, Param, Space, Value
from tunelab.trial import TrialRecord

_DESIGN_RETRIES = 20


class ModelProposer:
    """A model fitted for one ``suggest`` call; proposes one configuration at a time."""

    @abstractmethod
    def propose(self, earlier: list[Proposal], taken: set[ConfigKey]) -> Proposal | None:
        """The best configuration whose key is not in ``taken`` (None: nothing new).

        ``earlier`` are the proposals already made in this call: treat them as pending.
        """


class ModelBasedSearcher(Searcher):
    """Sobol design first, then a model; subclasses implement :meth:`_model`."""

    def __init__(self, *, n_initial: int | None = None, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        if n_initial is not None:
            check_positive_int(self.name, "n_initial", n_initial)
        self.n_initial = n_initial
        if seed is None:
            # Fixed now so that the design and the model are the same after a resume.
            self.seed = int(self.rng_.integers(2**31))
        self.design_ = SobolSearcher(seed=self.seed)
        # Finished trials' configurations, keys and points, by trial id: they never change,
        # and every suggestion reads all of them (valid while the space keeps its size).
        self._rows: dict[int, tuple[ConfigKey, np.ndarray, np.ndarray]] = {}
        self._rows_space = -1

    @abstractmethod
    def default_initial_design(self, encoding: SpaceEncoding) -> int:
        """Design size when ``n_initial`` is not given."""

    def initial_design_size(self, encoding: SpaceEncoding) -> int:
        return (
            self.n_initial if self.n_initial is not None else self.default_initial_design(encoding)
        )

    @abstractmethod
    def _model(
        self, encoding: SpaceEncoding, completed: list[TrialRecord], history: History
    ) -> ModelProposer:
        """Fit the model to ``completed`` (at least 2 trials) for this call."""

    def _row(
        self, trial: TrialRecord, space: Space, encoding: SpaceEncoding
    ) -> tuple[ConfigKey, np.ndarray, np.ndarray]:
        """The key of ``trial``'s configuration, its point and active mask (cached once
        the trial has finished)."""
        if self._rows_space != len(space):
            self._rows, self._rows_space = {}, len(space)
        row = self._rows.get(trial.trial_id)
        if row is None:
            config = used_config(trial, space)
            x, active = encoding.encode_with_mask([config])
            row = (config_key(config), x[0], active[0])
            if trial.status.is_finished:
                self._rows[trial.trial_id] = row
        return row

    def encode_trials(
        self, trials: Sequence[TrialRecord], space: Space, encoding: SpaceEncoding
    ) -> tuple[np.ndarray, np.ndarray]:
        """The points of ``trials``' configurations and their active masks, as
        :meth:`SpaceEncoding.encode_with_mask` returns them."""
        if not trials:
            return encoding.encode_with_mask([])
        rows = [self._row(t, space, encoding) for t in trials]
        return np.array([r[1] for r in rows]), np.array([r[2] for r in rows])

    # -- the searcher contract ----------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Proposal]:
        space = history.space
        encoding = SpaceEncoding(space)
        completed = history.completed()
        taken: set[ConfigKey] = {
            self._row(t, space, encoding)[0] for t in (*history.finished, *history.pending)
        }
        out: list[Proposal] = []
        model: ModelProposer | None = None
        for _ in range(n):
            issued = len(completed) + len(history.pending) + len(out)
            proposal = None
            if (
                encoding.dims
                and len(completed) >= 2
                and issued >= self.initial_design_size(encoding)
            ):
                if model is None:
                    model = self._model(encoding, completed, history)
                proposal = model.propose(out, taken)
            if proposal is None:
                proposal = self._design_proposal(history, taken)
            key = config_key(proposal.config)
            if encoding.dims and key in taken:
                break  # a small discrete space has nothing new left
            taken.add(key)
            out.append(proposal)
        return out

    def _design_proposal(self, history: History, taken: set[ConfigKey]) -> Proposal:
        proposal = self.design_.suggest(history, 1)[0]
        for _ in range(_DESIGN_RETRIES):
            if config_key(proposal.config) not in taken:
                break
            proposal = self.design_.suggest(history, 1)[0]
        return proposal

    def suggest_param(
        self, param: Param, config: Config, trial: TrialRecord, history: History
    ) -> Value:
        if "sobol_index" in trial.meta:
            return self.design_.suggest_param(param, config, trial, history)
        return super().suggest_param(param, config, trial, history)

    def observe(self, trial: TrialRecord, history: History) -> None:
        self.design_.observe(trial, history)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["design"] = self.design_.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "design" in state:
            self.design_.load_state_dict(state["design"])


def check_positive_int(searcher: str, name: str, value: object, minimum: int = 1) -> None:
    """Raise ConfigError unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{searcher}: {name} must be an integer >= {minimum}, got {value!r}")
