"""Real Trials for driving task objectives without a study.

A Trial talks only to its TrialChannel, so a channel that records reports and answers
with a chosen decision exercises an objective exactly as a study would.
:class:`CheckpointTrial` gives the trial a real checkpoint store and makes the channel
ask for checkpoints at chosen steps, as the engine does.
"""

from __future__ import annotations

import pickle
import tempfile
from typing import Any

import torch

from tunelab.space import Config, Param, Space, Value
from tunelab.storage.artifacts import ArtifactStore, CheckpointRef, TrialCheckpoints
from tunelab.trial import Decision, Trial, TrialChannel


class RecordingChannel(TrialChannel):
    """Answers unproposed parameters with their default, records reports, says ``decision``
    from step ``stop_at`` on."""

    def __init__(self, decision: Decision = Decision.CONTINUE, stop_at: int | None = None) -> None:
        self.decision = decision
        self.stop_at = stop_at
        self.checkpoint_at: tuple[int, ...] = ()
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
        return Decision.CHECKPOINT if step in self.checkpoint_at else Decision.CONTINUE

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.attrs[key] = value

    def steps(self) -> list[int]:
        return [step for step, _ in self.reports]


class CheckpointTrial(Trial):
    """A real Trial with a real checkpoint store, as the engine builds it.

    The channel answers ``Decision.CHECKPOINT`` at the steps in ``checkpoint_at`` (what
    the engine does when it needs the state), so ``report(..., checkpoint=...)`` saves
    through the trial's own code; ``saved[step]`` reads the pickled state back.
    ``resume_from``: a pickled state stored as a donor's checkpoint and given to the
    trial to start from, as for a resumed or cloned trial.
    """

    def __init__(
        self,
        *args: Any,
        resume_from: bytes | None = None,
        checkpoint_at: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> None:
        self.store = ArtifactStore(tempfile.mkdtemp(prefix="tunelab-task-checkpoints-"))
        number = args[0] if args else kwargs["number"]
        restore = None
        if resume_from is not None:
            restore = self.store.save(_DONOR, 0, pickle.loads(resume_from))
        channel = args[3] if len(args) > 3 else kwargs["channel"]
        channel.checkpoint_at = checkpoint_at
        super().__init__(*args, **kwargs, checkpoints=TrialCheckpoints(self.store, number, restore))

    @property
    def saved(self) -> dict[int, bytes]:
        """The checkpoints this trial saved, by step, pickled."""
        return {
            step: pickle.dumps(self.store.load(CheckpointRef(self.number, step)))
            for step in self.store.steps(self.number)
        }


_DONOR = -1  # the trial number a donor's checkpoint is stored under


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
