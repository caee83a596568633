"""Real Trials for driving task objectives without a study.

A Trial talks only to its TrialChannel, so a channel that records reports and answers
with a chosen decision exercises an objective exactly as a study would.
:class:`CheckpointTrial` adds the checkpoint API that CONVENTIONS.md fixes (issue 4
implements it in the engine): ``report(..., checkpoint=callable)`` and
``load_checkpoint()``; it pickles each checkpoint as a storage would.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import Any

import torch

from tunelab.space import Config, Param, Space, Value
from tunelab.trial import Decision, Trial, TrialChannel


class RecordingChannel(TrialChannel):
    """Answers unproposed parameters with their default, records reports, says ``decision``
    from step ``stop_at`` on."""

    def __init__(self, decision: Decision = Decision.CONTINUE, stop_at: int | None = None) -> None:
        self.decision = decision
        self.stop_at = stop_at
        self.reports: list[tuple[int, dict[str, float]]] = []
        self.attrs: dict[str, Any] = {}
        self.threads: list[int] = []

    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        return param.default

    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        self.reports.append((step, metrics))
        self.threads.append(torch.get_num_threads())
        if self.stop_at is not None and step >= self.stop_at:
            return self.decision
        return Decision.CONTINUE

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.attrs[key] = value

    def steps(self) -> list[int]:
        return [step for step, _ in self.reports]


class CheckpointTrial(Trial):
    """A Trial with the checkpoint API of CONVENTIONS.md.

    ``resume_from``: what ``load_checkpoint()`` returns. Checkpoints are taken (the
    callable called, the state pickled) at the steps in ``checkpoint_at``, as the
    engine does when a scheduler pauses a trial.
    """

    def __init__(
        self,
        *args: Any,
        resume_from: bytes | None = None,
        checkpoint_at: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.resume_from = resume_from
        self.checkpoint_at = checkpoint_at
        self.saved: dict[int, bytes] = {}

    def report(
        self,
        step: int,
        metrics: Mapping[str, Any] | None = None,
        *,
        checkpoint: Callable[[], Any] | Any = None,
        **kwargs: Any,
    ) -> Decision:
        if step in self.checkpoint_at and checkpoint is not None:
            state = checkpoint() if callable(checkpoint) else checkpoint
            self.saved[step] = pickle.dumps(state)
        return super().report(step, metrics, **kwargs)

    def load_checkpoint(self) -> Any | None:
        return None if self.resume_from is None else pickle.loads(self.resume_from)


def make_trial(
    proposal: Config,
    *,
    number: int = 0,
    budget: int | None = None,
    study_name: str = "",
    **channel: Any,
) -> tuple[Trial, RecordingChannel]:
    recorder = RecordingChannel(**channel)
    trial = Trial(
        number=number,
        proposal=proposal,
        space=Space(),
        channel=recorder,
        budget=budget,
        study_name=study_name,
    )
    return trial, recorder


def make_checkpoint_trial(
    proposal: Config,
    *,
    number: int = 0,
    budget: int | None = None,
    resume_from: bytes | None = None,
    checkpoint_at: tuple[int, ...] = (),
    study_name: str = "",
) -> tuple[CheckpointTrial, RecordingChannel]:
    recorder = RecordingChannel()
    trial = CheckpointTrial(
        number,
        proposal,
        Space(),
        recorder,
        budget=budget,
        study_name=study_name,
        resume_from=resume_from,
        checkpoint_at=checkpoint_at,
    )
    return trial, recorder
