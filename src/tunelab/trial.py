"""Trials: the stored :class:`TrialRecord` and the :class:`Trial` handle an objective sees.

An objective receives a :class:`Trial`; it defines parameters through ``trial.hp``,
reports per-step metrics with ``trial.report(step, ...)`` (each report is stored before
the call returns) and returns its final metrics. Everything that crosses a process
boundary is plain data, so the same handle serves inline, process and Ray execution.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from tunelab.errors import ConfigError
from tunelab.hyperparameters import HyperParameters
from tunelab.space import Config, Param, Space, Value


class TrialStatus(str, Enum):
    """Where a trial is in its life."""

    WAITING = "waiting"  # queued (enqueued by the user, or a retry), not started yet
    RUNNING = "running"
    PAUSED = "paused"  # stopped by a scheduler with a checkpoint; may be resumed
    COMPLETED = "completed"
    PRUNED = "pruned"  # stopped early by a scheduler; its last value still counts
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        return self in (TrialStatus.COMPLETED, TrialStatus.PRUNED, TrialStatus.FAILED)


class FailureKind(str, Enum):
    """Why a trial failed.

    Failures of the trial itself use up the trial budget (a configuration that crashes
    its worker would crash it again). Failures that are not its configuration's fault do
    not, and the configuration runs again on the next run: an interruption of the study
    (Ctrl-C, the driver killed, the time limit reached before the trial reported) and an
    error of its environment (:class:`~tunelab.errors.EnvironmentFault`: unreadable
    data, unavailable storage), which also stops the study.
    """

    OBJECTIVE_ERROR = "objective_error"  # the objective raised
    INVALID_VALUE = "invalid_value"  # NaN, inf, wrong type, or missing study metric
    WORKER_LOST = "worker_lost"  # its worker process died (segfault, os._exit, out of memory)
    INTERRUPTED = "interrupted"  # the study was stopped or its driver killed
    ENVIRONMENT_ERROR = "environment_error"  # the data or the storage failed, not the trial

    @property
    def counts_toward_budget(self) -> bool:
        return self not in (FailureKind.INTERRUPTED, FailureKind.ENVIRONMENT_ERROR)


class Decision(str, Enum):
    """A scheduler's answer to a report.

    CHECKPOINT means "continue, but save a checkpoint at this step first" (the study
    retries failed trials from their last checkpoint); the objective sees CONTINUE.
    REFUSED means "not stored: the study's epoch budget was used up while this step
    trained" (by other trials' reports, with parallel workers); the trial stops.
    """

    CONTINUE = "continue"
    CHECKPOINT = "checkpoint"
    PAUSE = "pause"
    STOP = "stop"
    REFUSED = "refused"


class TrialPruned(Exception):  # noqa: N818 - the name people know from Optuna
    """Raised by ``trial.report`` when the scheduler stops the trial; let it propagate."""


class EpochBudgetSpent(TrialPruned):
    """Raised by ``trial.report`` when the report was not stored because other trials
    used up the study's epoch budget while this step trained; let it propagate. The
    trial ends with the reports stored before (PRUNED), or, when none was, as
    interrupted: not counted, its configuration runs again when the study continues."""


class TrialPaused(Exception):  # noqa: N818
    """Raised by ``trial.report`` when the scheduler pauses the trial; let it propagate."""


@dataclass(frozen=True)
class Report:
    """Metrics reported at one step (usually an epoch)."""

    step: int
    metrics: dict[str, float]
    time: float


@dataclass(frozen=True)
class TrialRecord:
    """A trial as stored: an immutable snapshot (a finished trial never changes)."""

    study_id: int
    trial_id: int
    number: int
    status: TrialStatus
    params: Config
    proposal: Config
    meta: dict[str, Any]
    budget: int | None
    value: float | None
    metrics: dict[str, float]
    reports: tuple[Report, ...]
    created_at: float
    started_at: float | None
    ended_at: float | None
    error: str | None = None
    traceback: str | None = None
    failure: FailureKind | None = None
    worker: str | None = None
    retry_of: int | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at if self.ended_at is not None else self.started_at) - self.started_at

    @property
    def steps_trained(self) -> int:
        """Number of reports, i.e. epochs trained when the objective reports once per epoch."""
        return len(self.reports)

    @property
    def counts_toward_budget(self) -> bool:
        if self.status in (TrialStatus.COMPLETED, TrialStatus.PRUNED):
            return True
        return self.status is TrialStatus.FAILED and (
            self.failure is None or self.failure.counts_toward_budget
        )

    def metric_history(self, metric: str) -> list[tuple[int, float]]:
        return [(r.step, r.metrics[metric]) for r in self.reports if metric in r.metrics]

    def evolve(self, **changes: Any) -> TrialRecord:
        """A copy with ``changes`` applied: ``dataclasses.replace`` without its per-field
        work (the engine copies records several times per trial). Names must be fields."""
        unknown = changes.keys() - _TRIAL_FIELDS
        if unknown:
            raise TypeError(f"TrialRecord has no field(s) {sorted(unknown)}")
        new = object.__new__(TrialRecord)
        state = new.__dict__
        state.update(self.__dict__)
        state.update(changes)
        return new


_TRIAL_FIELDS = frozenset(TrialRecord.__dataclass_fields__)


class Checkpoints(Protocol):
    """What a running trial may do with checkpoints: save its own at a step, load the one
    it was given (None: it starts from scratch). ``tunelab.storage.artifacts`` provides
    it, so that trials import no storage module."""

    def save(self, step: int, state: Any) -> object: ...

    def load(self) -> Any | None: ...


class TrialChannel(ABC):
    """How a running trial talks to the study that owns it.

    Inline execution calls the study loop directly; process and Ray executors pass the
    same calls over a connection. Every method is called from the trial's own thread.
    """

    @abstractmethod
    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        """Register ``param`` if the study does not know it, and choose its value for
        trial ``number`` (a parameter the searcher's proposal did not cover)."""

    @abstractmethod
    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        """Store a report (committed before returning) and return the scheduler's decision."""

    @abstractmethod
    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        """Store a user attribute on the trial."""


class Trial:
    """The handle an objective receives.

    ``trial.hp`` defines and reads hyperparameters; ``trial.report(step, metric=value)``
    stores per-step metrics; ``trial.budget`` is how many steps (epochs) the scheduler
    gives this trial (None: the objective's own choice).

    Checkpoints: pass ``checkpoint=`` to ``report`` (a function returning the state, or
    the state) and start from ``trial.load_checkpoint()``; a trial that is resumed, or
    cloned by PBT, gets the state to continue from there and trains epochs
    ``state_epoch + 1 .. trial.budget``.
    """

    def __init__(
        self,
        number: int,
        proposal: Mapping[str, Value],
        space: Space,
        channel: TrialChannel,
        *,
        budget: int | None = None,
        study_name: str = "",
        metric: str = "value",
        mode: str = "min",
        declared: frozenset[str] = frozenset(),
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.number = number
        self.budget = budget
        self.study_name = study_name
        self.metric = metric
        self.mode = mode
        self._reported: list[float] = []
        self._last_metrics: dict[str, float] = {}
        self._proposal = dict(proposal)
        self._channel = channel
        self._decision = Decision.CONTINUE
        self._last_step: int | None = None
        self._checkpoints = checkpoints
        self.hp = HyperParameters(resolver=self._resolve, space=space)
        # Declared parameters (given to the study up front) are active from the start,
        # so trial.params holds them even if the objective reads them with hp.get.
        for name in space.names:
            if name in declared and name in self._proposal:
                self.hp.get(name)

    # -- parameters -------------------------------------------------------------------
    @property
    def params(self) -> Config:
        """The active parameters' values so far."""
        return self.hp.values

    def _resolve(self, param: Param, config: Config) -> Value:
        if param.name not in self._proposal:
            return self._channel.resolve_param(self.number, param, config)
        proposed = self._proposal[param.name]
        if not param.contains(proposed):
            raise ConfigError(
                f"trial {self.number}: the proposed {param.name}={proposed!r} is not a value "
                f"of {param.describe()}"
            )
        return proposed

    # -- reporting --------------------------------------------------------------------
    def report(
        self,
        step: int,
        metrics: Mapping[str, Any] | None = None,
        *,
        checkpoint: Any = None,
        last: bool = False,
        **kwargs: Any,
    ) -> Decision:
        """Store ``metrics`` for ``step``; raises TrialPruned/TrialPaused when told to stop.

        Steps must increase. Values must be finite numbers; a NaN is stored as reported
        but the study metric is checked when the trial ends.

        ``checkpoint`` is a zero-argument function returning the state to save (or the
        state itself). It is called only when tunelab needs the state at this step (the
        scheduler pauses the trial, to resume or clone it later), and the state is stored
        before ``report`` returns or raises. Without one, a paused trial restarts from
        scratch when it is resumed.

        ``last=True`` says this is the objective's final step (like Ray Tune's ``done``). A
        stop decision then does not raise: the objective returns and the trial completes.
        Without it a trial that has no epoch budget of its own cannot be told apart from
        one with steps to go, so when the study's budget runs out at its final report it
        would be stored as pruned although it trained every step.
        """
        values: dict[str, Any] = dict(metrics or {})
        values.update(kwargs)
        if not values:
            raise ValueError("trial.report() needs at least one metric")
        if isinstance(step, bool) or not isinstance(step, int | float) or step != int(step):
            raise TypeError(f"trial.report(): step must be an integer, got {step!r}")
        step = int(step)
        if self._last_step is not None and step <= self._last_step:
            raise ValueError(
                f"trial.report(): step {step} does not follow step {self._last_step}; "
                "steps must increase"
            )
        clean = {k: _to_float(k, v) for k, v in values.items()}
        # A decision may arrive as plain text from another process.
        self._decision = Decision(self._channel.report(self.number, step, clean, self.params))
        if self._decision is Decision.REFUSED:
            raise EpochBudgetSpent(
                f"trial {self.number}: step {step} not stored, the study's epoch budget "
                "was used up while it trained"
            )
        if (
            self._decision in (Decision.PAUSE, Decision.CHECKPOINT)
            and checkpoint is not None
            and self._checkpoints is not None
        ):
            state = checkpoint() if callable(checkpoint) else checkpoint
            self._checkpoints.save(step, state)
        if self._decision is Decision.CHECKPOINT:
            self._decision = Decision.CONTINUE
        self._last_step = step
        self._last_metrics = clean
        if self.metric in clean and math.isfinite(clean[self.metric]):
            self._reported.append(clean[self.metric])
        if self._decision is Decision.STOP and not last:
            raise TrialPruned(f"trial {self.number} stopped by the scheduler at step {step}")
        if self._decision is Decision.PAUSE:
            raise TrialPaused(f"trial {self.number} paused by the scheduler at step {step}")
        return self._decision

    def load_checkpoint(self) -> Any | None:
        """The state to start from: this trial's own last checkpoint when it is resumed,
        the donor's checkpoint when PBT cloned it, None when it starts from scratch."""
        return None if self._checkpoints is None else self._checkpoints.load()

    def best_reported(self) -> float | None:
        """The best finite value of the study metric reported so far (None if none)."""
        if not self._reported:
            return None
        return max(self._reported) if self.mode == "max" else min(self._reported)

    def last_metrics(self) -> dict[str, float]:
        """The metrics of the latest report."""
        return dict(self._last_metrics)

    @property
    def should_stop(self) -> bool:
        return self._decision is not Decision.CONTINUE

    def set_user_attr(self, key: str, value: Any) -> None:
        self._channel.set_user_attr(self.number, key, value)


def _to_float(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {name!r} must be a number, got {value!r}") from None
    return out


def is_finite_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
