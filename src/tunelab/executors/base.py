"""The Executor contract: where trials run.

The study loop is the same for every executor: ``submit`` a job when ``capacity()``
is positive, then ``poll`` for the trials that ended. While a trial runs, its reports
and parameter requests reach the study through the :class:`~tunelab.trial.TrialChannel`
given with the job (directly for inline execution, over a connection otherwise).

:func:`run_trial` is what every executor runs for one job, wherever it runs: it calls
the objective and turns its return value or exception into a :class:`TrialEnded`.

At the study's time limit (``max_seconds``) running trials are ended, not awaited:
executors that run them elsewhere end their workers (:meth:`Executor.end_running`),
and one that runs them in the study's own thread interrupts the objective at the
deadline it was given (:meth:`Executor.set_deadline`).
"""

from __future__ import annotations

import math
import traceback as tb
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from tunelab.clock import Clock
from tunelab.configurable import Configurable
from tunelab.errors import AbortStudy, EnvironmentFault, SpaceError
from tunelab.executors.time_limit import Interruption, TimeLimitReached
from tunelab.space import Config, Space
from tunelab.storage.artifacts import ArtifactStore, CheckpointRef, TrialCheckpoints
from tunelab.storage.base import TrialOutcome
from tunelab.trial import (
    EpochBudgetSpent,
    FailureKind,
    Trial,
    TrialChannel,
    TrialPaused,
    TrialPruned,
    TrialStatus,
)

Objective = Callable[[Trial], Any]


@dataclass(frozen=True)
class TrialJob:
    """Everything needed to run one trial, as plain (picklable) data.

    ``artifact_dir`` is the study's checkpoint folder (None: no checkpoints) and
    ``restore`` the checkpoint the trial starts from (its own when resumed, the donor's
    when cloned by PBT).
    """

    study_name: str
    metric: str
    mode: Literal["min", "max"]
    number: int
    trial_id: int
    proposal: Config
    budget: int | None
    space: Space
    declared: frozenset[str] = frozenset()
    artifact_dir: str | None = None
    restore: CheckpointRef | None = None

    def trial(self, channel: TrialChannel) -> Trial:
        """The handle the objective sees, talking to the study through ``channel``."""
        return Trial(
            self.number,
            self.proposal,
            self.space,
            channel,
            budget=self.budget,
            study_name=self.study_name,
            metric=self.metric,
            mode=self.mode,
            declared=self.declared,
            checkpoints=(
                TrialCheckpoints(ArtifactStore(self.artifact_dir), self.number, self.restore)
                if self.artifact_dir is not None
                else None
            ),
        )


@dataclass(frozen=True)
class TrialEnded:
    """A trial stopped running: finished with ``outcome``, or paused (outcome None).

    ``fatal`` carries an exception that must stop the whole study after the trial is
    recorded (a conflicting parameter definition, KeyboardInterrupt).
    """

    number: int
    outcome: TrialOutcome | None
    params: Config = field(default_factory=dict)
    fatal: BaseException | None = None

    @property
    def paused(self) -> bool:
        return self.outcome is None


class Executor(Configurable, ABC):
    """Runs trials. Subclasses set ``name``."""

    name: ClassVar[str]

    @abstractmethod
    def capacity(self) -> int:
        """How many more jobs can be submitted now."""

    @abstractmethod
    def submit(self, job: TrialJob, objective: Objective, channel: TrialChannel) -> None:
        """Start (or queue) a job."""

    @abstractmethod
    def poll(self, timeout: float | None = None) -> list[TrialEnded]:
        """Trials that ended since the last poll; waits up to ``timeout`` for one."""

    @abstractmethod
    def running(self) -> int:
        """Jobs submitted and not yet returned by poll."""

    def shutdown(self) -> None:
        """Stop workers and release resources."""

    def end_running(self) -> list[int]:
        """End every running trial now (the study's time limit passed): stop their
        workers. Returns the numbers of the trials ended; ``poll`` does not return them.
        Executors that run trials in the study's own thread have none running between
        polls, and interrupt them at the deadline instead (:meth:`set_deadline`)."""
        return []

    def set_deadline(self, deadline: float | None) -> None:
        """When a trial runs in the study's own thread (inside ``poll``): interrupt it
        if it still runs at ``deadline`` (a ``time.monotonic()`` value; None: never)."""

    def clock(self) -> Clock | None:
        """The clock the study reads for the whole run (stored times, elapsed time and
        the time limit), when the executor keeps its own (a simulated one); None: the
        real clocks."""
        return None


def run_trial(
    objective: Objective, job: TrialJob, channel: TrialChannel, *, deadline: float | None = None
) -> TrialEnded:
    """Run one trial to its end and describe how it ended (never raises for the objective).

    ``deadline`` (a ``time.monotonic()`` value) interrupts the objective if it still runs
    then, when it runs in the main thread (see :mod:`tunelab.executors.time_limit`).
    """
    interruption = None
    if deadline is not None and Interruption.possible():
        interruption = Interruption(deadline)
        channel = interruption.channel(channel)
    trial = job.trial(channel)
    try:
        if interruption is None:
            result = objective(trial)
        else:
            result = interruption.run(lambda: objective(trial))
    except TimeLimitReached:
        reported = bool(trial.last_metrics())
        outcome = time_limit_outcome(reported, trial.best_reported(), job.metric)
        return TrialEnded(job.number, outcome, trial.params)
    except EpochBudgetSpent:
        reported = bool(trial.last_metrics())
        outcome = epoch_limit_outcome(reported, trial.best_reported(), job.metric)
        return TrialEnded(job.number, outcome, trial.params)
    except TrialPruned:
        value = trial.best_reported()
        outcome = TrialOutcome(
            TrialStatus.PRUNED,
            value=value,
            metrics={job.metric: value} if value is not None else {},
        )
        return TrialEnded(job.number, outcome, trial.params)
    except TrialPaused:
        return TrialEnded(job.number, None, trial.params)
    except KeyboardInterrupt as exc:
        outcome = TrialOutcome(
            TrialStatus.FAILED,
            error="interrupted: KeyboardInterrupt while the trial ran",
            failure=FailureKind.INTERRUPTED,
        )
        return TrialEnded(job.number, outcome, trial.params, fatal=exc)
    except EnvironmentFault as exc:
        # Unreadable data or unavailable storage would fail every configuration alike:
        # stop the study with the reason, and charge nothing to this configuration.
        return TrialEnded(job.number, environment_fault_outcome(exc), trial.params, fatal=exc)
    except Exception as exc:
        outcome = TrialOutcome(
            TrialStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            traceback=tb.format_exc(),
            failure=FailureKind.OBJECTIVE_ERROR,
        )
        # A parameter defined two ways is a bug in the objective, not bad luck: every
        # later trial would fail the same way, so stop the study (and when asked to).
        fatal = exc if isinstance(exc, SpaceError | AbortStudy) else None
        return TrialEnded(job.number, outcome, trial.params, fatal=fatal)
    return TrialEnded(job.number, outcome_from_result(result, trial, job.metric), trial.params)


def environment_fault_outcome(exc: BaseException) -> TrialOutcome:
    """A trial stopped by an error that is not its configuration's fault (see
    :class:`~tunelab.errors.EnvironmentFault`): not charged, run again on the next run."""
    return TrialOutcome(
        TrialStatus.FAILED,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(tb.format_exception(exc)) if exc.__traceback__ else None,
        failure=FailureKind.ENVIRONMENT_ERROR,
    )


def epoch_limit_outcome(reported: bool, value: float | None, metric: str) -> TrialOutcome:
    """A trial whose report the study refused because other trials used up the epoch
    budget meanwhile: PRUNED with its best stored value once one of its reports was
    stored, else interrupted (not charged; it runs again when the study continues)."""
    if reported:
        return time_limit_outcome(reported, value, metric)
    return TrialOutcome(
        TrialStatus.FAILED,
        error="interrupted: the study's epoch budget (max_epochs) was used up before its "
        "first report",
        failure=FailureKind.INTERRUPTED,
    )


def time_limit_outcome(reported: bool, value: float | None, metric: str) -> TrialOutcome:
    """A trial ended by the study's time limit: PRUNED with its best reported value once
    it has reported (like a trial stopped by the epoch limit), else interrupted (not
    charged; its configuration runs again when the study continues)."""
    if reported:
        metrics = {metric: value} if value is not None else {}
        return TrialOutcome(TrialStatus.PRUNED, value=value, metrics=metrics)
    return TrialOutcome(
        TrialStatus.FAILED,
        error="interrupted: the study's time limit (max_seconds) passed before it reported",
        failure=FailureKind.INTERRUPTED,
    )


class ReportedValues(Protocol):
    """What interpreting a result needs from a trial: its reported values."""

    def best_reported(self) -> float | None: ...

    def last_metrics(self) -> Mapping[str, float]: ...


def outcome_from_result(result: Any, trial: ReportedValues, metric: str) -> TrialOutcome:
    """Interpret an objective's return value.

    A number is the study metric; a mapping must contain it; None means "the best
    value I reported". NaN, inf, a missing metric or another type fail the trial with
    the reason.
    """

    def invalid(reason: str) -> TrialOutcome:
        return TrialOutcome(TrialStatus.FAILED, error=reason, failure=FailureKind.INVALID_VALUE)

    metrics: dict[str, float] = {}
    if result is None:
        value = trial.best_reported()
        if value is None:
            return invalid(
                f"objective returned None and reported no {metric!r}; return a number or "
                f"a dict with {metric!r}"
            )
        metrics = dict(trial.last_metrics())
        metrics[metric] = value
    elif isinstance(result, Mapping):
        if metric not in result:
            return invalid(
                f"objective returned a dict without the study metric {metric!r} "
                f"(keys: {sorted(map(str, result))})"
            )
        for key, raw in result.items():
            number = _as_float(raw)
            if number is None:
                return invalid(f"objective returned {key}={raw!r}, which is not a number")
            metrics[str(key)] = number
        value = metrics[metric]
    else:
        number = _as_float(result)
        if number is None:
            return invalid(
                f"objective returned {type(result).__name__} {result!r}; return a number or "
                f"a dict with {metric!r}"
            )
        value = number
        metrics = {metric: value}
    if not math.isfinite(value):
        return invalid(f"objective returned {value} for {metric!r}")
    return TrialOutcome(TrialStatus.COMPLETED, value=value, metrics=metrics)


def _as_float(raw: Any) -> float | None:
    if isinstance(raw, bool | str | bytes):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None
