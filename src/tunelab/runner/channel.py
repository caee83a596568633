"""The study side of a running trial's calls: new parameters, reports, user attributes.

A report is committed before the objective continues, together with the scheduler state
its decision changed; its time is :func:`tunelab.clock.now`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunelab import clock
from tunelab.runner.handle import StudyHandle
from tunelab.runner.shared import SharedState
from tunelab.runner.text import RunText
from tunelab.runner.view import TrialView
from tunelab.space import Config, Param, Value
from tunelab.storage.base import FinishedTrialError, StaleStateError
from tunelab.trial import Decision, Report, TrialChannel


class RunnerChannel(TrialChannel):
    """Answers the trials this worker runs (``view.running``).

    ``on_limit(reason)`` is called when a report finds the study's epoch or time limit
    reached: the loop then starts no more trials.
    """

    def __init__(
        self,
        study: StudyHandle,
        view: TrialView,
        shared: SharedState,
        text: RunText,
        on_limit: Callable[[str], None],
        *,
        max_retries: int,
    ) -> None:
        self.study = study
        self.view = view
        self.shared = shared
        self.text = text
        self.on_limit = on_limit
        self.max_retries = max_retries

    def resolve_param(self, number: int, param: Param, config: Config) -> Value:
        space = self.study.space
        value: list[Value] = []
        is_new = param.name not in space

        def decide() -> None:
            space.add(param)  # raises SpaceError if it conflicts with the stored definition
            history = self.study.scheduler.project_history(self.view.history())
            value[:] = [
                self.study.searcher.suggest_param(
                    param, config, self.view.running[number].record, history
                )
            ]

        self.shared.versioned(
            lambda u: self.study.storage.update_study(self.study.study_id, u),
            decide,
            space=is_new,
        )
        return value[0]

    def report(self, number: int, step: int, metrics: dict[str, float], params: Config) -> Decision:
        running = self.view.running[number]
        if running.taken_over:
            return Decision.STOP
        if self.shared.epochs_spent():
            # With parallel workers another trial's report may take the last epoch while
            # this one trains: storing this step would exceed the budget, so it is not.
            self.on_limit("max_epochs")
            return Decision.REFUSED
        changed = len(params) != running.params_written
        record = running.record.evolve(
            params=dict(params),
            reports=(*running.record.reports, Report(step, dict(metrics), clock.now())),
        )
        decision = Decision.CONTINUE
        while True:
            decision = self.study.scheduler.on_report(
                record, step, metrics, self.view.scheduler_view()
            )
            update = self.shared.update()
            # Only a change of shared state needs the version check (and moves it on).
            shared = update.searcher_state is not None or update.scheduler_state is not None
            try:
                self.study.storage.add_report(
                    running.record.trial_id,
                    step,
                    metrics,
                    params=params if changed else None,
                    update=update if shared else None,
                )
            except StaleStateError:
                self.shared.refresh()
                continue
            except FinishedTrialError:
                running.taken_over = True
                return Decision.STOP
            if shared:
                self.shared.written(update)
            break
        running.params_written = len(params)
        running.record = record
        self.view.note_report(number)
        self.view.set_steps(number, len(record.reports))
        self.shared.tick()
        self.text.show_progress()
        if decision is Decision.CONTINUE:
            limit = self.shared.limit_reached()
            if limit is not None:
                self.on_limit(limit)
                # A trial at the end of its own budget completes instead of being stopped.
                budget = running.record.budget
                if budget is None or step < budget:
                    decision = Decision.STOP
        if decision is Decision.CONTINUE and self.max_retries > 0:
            decision = Decision.CHECKPOINT  # keep a checkpoint to retry from
        return decision

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.study.storage.set_trial_user_attr(
            self.view.running[number].record.trial_id, key, value
        )
