"""A trial's life in the loop: started, paused, resumed, pruned or ended, each step stored.

A trial's result and the searcher and scheduler state it produced are committed
together. A paused trial keeps its checkpoint in the study's artifact store and is
resumed from it or ended; when the study ends cleanly every trial still paused is ended
as PRUNED with its best reported value. The end time stored is :func:`tunelab.clock.now`.
"""

from __future__ import annotations

from dataclasses import replace

from tunelab import clock
from tunelab.errors import EnvironmentFault, StorageError
from tunelab.executors.base import TrialEnded, TrialJob
from tunelab.progress import ProgressDisplay
from tunelab.runner.candidates import CandidateList
from tunelab.runner.handle import StudyHandle
from tunelab.runner.recovery import Recovery
from tunelab.runner.shared import SharedState
from tunelab.runner.text import RunText
from tunelab.runner.view import TrialView
from tunelab.schedulers.base import META_KEY, Resume, Start, best_value
from tunelab.space import Config
from tunelab.storage.artifacts import ArtifactStore, CheckpointRef
from tunelab.storage.base import FinishedTrialError, TrialOutcome
from tunelab.trial import FailureKind, TrialRecord, TrialStatus


class TrialLifecycle:
    """Starts, pauses, resumes, prunes and ends ``study``'s trials for this worker."""

    def __init__(
        self,
        study: StudyHandle,
        view: TrialView,
        shared: SharedState,
        recovery: Recovery,
        text: RunText,
        artifacts: ArtifactStore,
        progress: ProgressDisplay,
        worker: str,
        candidates: CandidateList | None = None,
    ) -> None:
        self.study = study
        self.candidates = candidates
        self.view = view
        self.shared = shared
        self.recovery = recovery
        self.text = text
        self.artifacts = artifacts
        self.progress = progress
        self.worker = worker
        self.ended_here: list[int] = []
        self._warned_no_checkpoint = False

    def job(self, record: TrialRecord, restore: CheckpointRef | None) -> TrialJob:
        """What an executor needs to run ``record`` (from ``restore``, if given)."""
        return TrialJob(
            study_name=self.study.name,
            metric=self.study.metric,
            mode=self.study.mode,
            number=record.number,
            trial_id=record.trial_id,
            # A resumed trial keeps the values it drew for parameters the proposal lacked.
            proposal={**record.proposal, **record.params},
            budget=record.budget,
            space=self.study.space.copy(),
            declared=frozenset(self.study.declared),
            artifact_dir=str(self.artifacts.directory),
            restore=restore,
        )

    def begin(self, action: Start) -> tuple[TrialRecord | None, CheckpointRef | None]:
        """Start the next queued trial, or a new configuration (the scheduler's, else the
        searcher's proposal). Returns the record (None: the searcher is exhausted) and
        the checkpoint to start from. Raises StaleStateError when another worker wrote."""
        storage, study_id = self.study.storage, self.study.study_id
        scheduler_meta = {META_KEY: dict(action.meta)} if action.meta else {}
        restore = action.restore
        record = None
        if self.view.waiting() and action.config is None:
            update = self.shared.update()
            record = storage.start_waiting_trial(
                study_id,
                worker=self.worker,
                budget=action.budget,
                meta=scheduler_meta or None,
                update=update,
            )
            if record is not None:
                self.shared.written(update)
                if record.retry_of is not None and restore is None:
                    restore = self.recovery.latest_checkpoint(record)
            else:
                self.shared.refresh()
        if record is None:
            if action.config is not None:
                config, meta = dict(action.config), scheduler_meta
            else:
                history = self.study.scheduler.project_history(self.view.history())
                proposals = self.study.searcher.suggest(history, 1)
                if not proposals:
                    return None, None
                config, meta = proposals[0].config, {**proposals[0].meta, **scheduler_meta}
                if self.candidates is not None:
                    candidate = self.candidates.take(config)
                    if candidate is None:  # every candidate ran: the search is exhausted
                        return None, None
                    config = candidate
            self.study.space.validate(config)
            update = self.shared.update()
            record = storage.create_trial(
                study_id,
                proposal=config,
                meta=meta,
                budget=action.budget,
                worker=self.worker,
                update=update,
            )
            self.shared.written(update)
        if restore is not None and not self.artifacts.exists(restore):
            self.progress.message(
                f"trial {record.number}: trial {restore.trial} saved no checkpoint at step "
                f"{restore.step}; it starts from scratch"
            )
            restore = None
        return record, restore

    def resume(self, action: Resume) -> tuple[TrialRecord, CheckpointRef | None] | None:
        """Take a paused trial back to run it from its latest checkpoint (None: another
        worker resumed or ended it first)."""
        paused = self.view.paused[action.trial_number]
        update = self.shared.update()
        try:
            record = self.study.storage.resume_trial(
                paused.trial_id, budget=action.budget, worker=self.worker, update=update
            )
        except ValueError:  # another worker resumed or ended it first
            self.shared.refresh()
            return None
        self.shared.written(update)
        self.view.paused.pop(action.trial_number)
        return record, self.artifacts.latest(record.number)

    def pause(self, record: TrialRecord, params: Config) -> None:
        storage = self.study.storage
        self.shared.versioned(
            lambda u: storage.pause_trial(record.trial_id, params=params, update=u), lambda: None
        )
        paused = replace(record, status=TrialStatus.PAUSED, params=params)
        self.view.paused[record.number] = paused
        self.view.trials[record.number] = paused
        last = record.reports[-1].step if record.reports else None
        if (
            not self._warned_no_checkpoint
            and last is not None
            and not self.artifacts.exists(CheckpointRef(record.number, last))
        ):
            self._warned_no_checkpoint = True
            self.progress.message(
                f"trial {record.number} was paused at step {last} without a checkpoint (the "
                "objective passes no checkpoint= to trial.report): paused trials restart "
                "from scratch when resumed"
            )

    def prune(self, number: int) -> None:
        """End a paused trial as PRUNED with its best reported value."""
        paused = self.view.paused.pop(number)
        value = best_value(paused, self.study.metric, self.study.mode)
        outcome = TrialOutcome(
            TrialStatus.PRUNED,
            value=value,
            metrics={self.study.metric: value} if value is not None else {},
        )
        try:
            self.finish(paused, outcome, paused.params)
        except FinishedTrialError:  # another worker ended it first
            self.shared.refresh()

    def end_paused(self) -> None:
        """The study ended cleanly: prune what is still paused, keep one checkpoint each."""
        for number in sorted(self.view.paused):
            if number in self.view.paused:
                self.prune(number)
        if self.artifacts.directory.is_dir():  # else no trial saved a checkpoint
            for number in self.ended_here:
                self.artifacts.keep_latest(number)

    def finish(
        self, record: TrialRecord, outcome: TrialOutcome, params: Config, *, retry: bool = False
    ) -> TrialRecord:
        """Write a trial's end, with what it taught the searcher and the scheduler."""
        local = record.evolve(
            status=outcome.status,
            params=params,
            value=outcome.value,
            metrics=outcome.metrics,
            error=outcome.error,
            failure=outcome.failure,
            ended_at=clock.now(),
        )

        def decide() -> None:
            if local.counts_toward_budget and not retry:
                self.study.searcher.observe(local, self.view.history())
            self.study.scheduler.on_finish(local, self.view.scheduler_view())

        stored = self.shared.versioned(
            lambda u: self.study.storage.finish_trial(
                record.trial_id, outcome, params=params, update=u
            ),
            decide,
            elapsed=True,
        )
        self.view.trials[stored.number] = stored
        self.view.set_steps(stored.number, stored.steps_trained)
        self.view.add_finished(stored)
        self.ended_here.append(stored.number)
        if retry:
            self.view.mark_retried(stored.number)
        self.text.show_progress(stored)
        return stored

    def on_ended(self, event: TrialEnded) -> None:
        """Store what a trial this worker ran ended with, and queue its retry if due."""
        running = self.view.running.pop(event.number)
        if running.taken_over:
            self.progress.message(
                f"trial {event.number} was ended by another worker after its lease expired; "
                "its result is dropped"
            )
            return
        if event.paused:
            self.pause(running.record, event.params)
            return
        outcome = event.outcome
        assert outcome is not None
        retry = self.recovery.should_retry(running.record, outcome)
        try:
            record = self.finish(running.record, outcome, event.params, retry=retry)
        except FinishedTrialError:
            self.progress.message(f"trial {event.number} was ended by another worker")
            return
        except StorageError:
            # The trial stays RUNNING in storage and is recovered as interrupted later;
            # its own error is the reason the study stops.
            if isinstance(event.fatal, EnvironmentFault):
                raise event.fatal from None
            raise
        if retry:
            queued = self.recovery.queue_retry(record)
            if outcome.failure is FailureKind.ENVIRONMENT_ERROR:
                self.progress.message(
                    f"trial {record.number} is not charged (not its configuration's fault); "
                    f"its configuration runs again as trial {queued.number} when the study "
                    "continues"
                )
            elif outcome.failure is not FailureKind.INTERRUPTED:
                self.progress.message(
                    f"trial {record.number} failed ({record.error}); retrying it as trial "
                    f"{queued.number} from its last checkpoint"
                )
        elif record.status is TrialStatus.FAILED:
            self.progress.message(f"trial {record.number} failed: {record.error}")
        if event.fatal is not None:
            raise event.fatal
