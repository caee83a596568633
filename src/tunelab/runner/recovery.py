"""Leases and recovery: trials whose worker is gone are ended, and run again when allowed.

Each worker renews the lease of its running trials from a background thread
(:class:`Heartbeat`). A trial whose lease expired (its worker or machine is gone) is
failed or queued again (``lease_expired="requeue"``, the default) by whichever worker
notices first; a RUNNING trial whose process on this host is gone is queued again when
a worker loads the study. A retry runs the same configuration from the newest
checkpoint along its chain of retried trials. Leases and heartbeats use the real clock:
they are about whether a process is alive.
"""

from __future__ import annotations

import threading
import time

from tunelab.processes import is_alive
from tunelab.progress import ProgressDisplay
from tunelab.runner.handle import LeaseExpiry, StudyHandle
from tunelab.runner.shared import SharedState
from tunelab.runner.view import TrialView
from tunelab.storage.artifacts import ArtifactStore, CheckpointRef
from tunelab.storage.base import FinishedTrialError, TrialOutcome
from tunelab.trial import FailureKind, TrialRecord, TrialStatus

_RETRYABLE = (FailureKind.OBJECTIVE_ERROR, FailureKind.WORKER_LOST)
_NOT_CHARGED = (FailureKind.INTERRUPTED, FailureKind.ENVIRONMENT_ERROR)  # always run again


class Heartbeat(threading.Thread):
    """Renews the leases of the trials in ``view.running`` while this worker works."""

    def __init__(self, study: StudyHandle, view: TrialView, interval: float) -> None:
        super().__init__(name="tunelab-heartbeat", daemon=True)
        self._study = study
        self._view = view
        self._interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            ids = [r.record.trial_id for r in list(self._view.running.values())]
            try:
                self._study.storage.renew_leases(ids)
            except Exception:  # a missed beat is retried; the lease is longer than a beat
                continue

    def stop(self) -> None:
        self._stop_event.set()


class Recovery:
    """Ends trials whose worker is gone, and queues failed trials to run again."""

    def __init__(
        self,
        study: StudyHandle,
        view: TrialView,
        shared: SharedState,
        progress: ProgressDisplay,
        artifacts: ArtifactStore,
        *,
        lease_seconds: float,
        lease_expired: LeaseExpiry,
        max_retries: int,
    ) -> None:
        self.study = study
        self.view = view
        self.shared = shared
        self.progress = progress
        self.artifacts = artifacts
        self.lease_seconds = lease_seconds
        self.lease_expired = lease_expired
        self.max_retries = max_retries
        self._next_lease_check = 0.0

    # -- trials whose worker is gone -------------------------------------------------------
    def recover_interrupted(self) -> None:
        """End the RUNNING trials whose process on this host is gone, and queue them again."""
        for t in self.view.others(TrialStatus.RUNNING):
            if is_alive(t.worker) is not False:
                continue
            pid = t.worker.rsplit(":", 2)[1] if t.worker else "?"
            retry = self._end_foreign(
                t,
                f"interrupted: the process that ran it (pid {pid}) is gone",
                FailureKind.INTERRUPTED,
                requeue=True,
            )
            if retry is not None:
                self.progress.message(
                    f"trial {t.number} was interrupted (process {pid} gone): marked failed, "
                    f"its configuration queued again as trial {retry.number}"
                )

    def expire_leases(self) -> None:
        """End trials whose workers stopped renewing their leases (checked now and then)."""
        now = time.monotonic()
        if now < self._next_lease_check:
            return
        self._next_lease_check = now + self.lease_seconds / 4
        expired = self.study.storage.expired_trials(self.study.study_id, self.lease_seconds)
        for t in expired:
            if t.number in self.view.running:
                continue
            requeue = self.lease_expired == "requeue"
            kind = FailureKind.INTERRUPTED if requeue else FailureKind.WORKER_LOST
            reason = (
                f"lease expired: no heartbeat from worker {t.worker} for more than "
                f"{self.lease_seconds:g} s"
            )
            retry = self._end_foreign(t, reason, kind, requeue=requeue)
            suffix = f", queued again as trial {retry.number}" if retry is not None else ""
            self.progress.message(f"trial {t.number}: {reason}{suffix}")

    def _end_foreign(
        self, t: TrialRecord, reason: str, kind: FailureKind, *, requeue: bool
    ) -> TrialRecord | None:
        """End another worker's trial (gone, or silent too long); its retry when requeued."""
        outcome = TrialOutcome(TrialStatus.FAILED, error=reason, failure=kind)
        try:
            stored = self.shared.versioned(
                lambda u: self.study.storage.finish_trial(t.trial_id, outcome, update=u),
                lambda: None,
            )
        except FinishedTrialError:  # another worker ended it first
            self.shared.refresh()
            return None
        self.view.absorb([stored])
        return self.queue_retry(stored) if requeue else None

    def interrupt_running(self) -> None:
        """After Ctrl-C or an error: trials still running here were interrupted."""
        running_here = self.view.running
        for number in list(running_here):
            running = running_here.pop(number)
            if running.taken_over:
                continue
            outcome = TrialOutcome(
                TrialStatus.FAILED,
                error="interrupted: the study stopped while the trial ran",
                failure=FailureKind.INTERRUPTED,
            )
            try:
                stored = self.study.storage.finish_trial(running.record.trial_id, outcome)
            except FinishedTrialError:
                continue
            self.view.absorb([stored])
            self.queue_retry(stored)

    # -- retries ---------------------------------------------------------------------------
    def should_retry(self, record: TrialRecord, outcome: TrialOutcome) -> bool:
        if outcome.failure in _NOT_CHARGED:
            return True
        return outcome.failure in _RETRYABLE and self._attempts(record) <= self.max_retries

    def queue_retry(self, failed: TrialRecord) -> TrialRecord:
        retry = self.shared.versioned(
            lambda u: self.study.storage.create_trial(
                self.study.study_id,
                proposal={**failed.proposal, **failed.params},
                meta=failed.meta,
                budget=failed.budget,
                status=TrialStatus.WAITING,
                retry_of=failed.number,
                update=u,
            ),
            lambda: None,
        )
        self.view.absorb([retry])
        return retry

    def _attempts(self, t: TrialRecord) -> int:
        """How many times this configuration ran: 1 plus its chain of retries before it."""
        n, current = 1, t
        while current.retry_of is not None:
            previous = self.view.known(current.retry_of)
            if previous is None:
                break
            n += 1
            current = previous
        return n

    def latest_checkpoint(self, t: TrialRecord) -> CheckpointRef | None:
        """The newest checkpoint along a retry chain (the retried trials first)."""
        current: TrialRecord | None = t
        while current is not None:
            ref = self.artifacts.latest(current.number)
            if ref is not None:
                return ref
            current = self.view.known(current.retry_of) if current.retry_of is not None else None
        return None
