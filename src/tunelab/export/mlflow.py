"""A study as MLflow runs: a parent run for the study, one nested run per trial.

Each trial's run (``trial-3``, tagged ``mlflow.parentRunId``) holds its parameters
(inactive conditional ones left out), every report's metrics at that report's step and
time, its final metrics as ``final/NAME`` (``final/<study metric>`` is the trial's
value), its state as the tag ``tunelab.state``, and its end as the run's status:
FINISHED (completed), KILLED (pruned), FAILED (failed); a running or paused trial's run
stays RUNNING. The parent run holds the study's metric, mode, searcher and scheduler as
tags, and ``best/<metric>`` and ``trials_finished`` as metrics.

Syncing is incremental and idempotent: the parent run is found again by a tag that
identifies the study (a digest of its storage URL and id, never the URL itself), and a
sync adds only what is new (trials, reports, ends). So :func:`export_mlflow` can be run
again on a study that grew, and :class:`MlflowLogger` syncs every few seconds while a
study optimizes. Needs the ``mlflow`` extra (``mlflow-skinny`` and, for ``sqlite:``
tracking URIs, ``alembic``).
"""

from __future__ import annotations

import hashlib
import math
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab.errors import TunelabError
from tunelab.trial import TrialRecord, TrialStatus

if TYPE_CHECKING:
    from types import TracebackType

    from tunelab.study import Study

FINAL = "final/"
STUDY_KEY_TAG = "tunelab.study_key"
TRIAL_TAG = "tunelab.trial"
STATE_TAG = "tunelab.state"
REPORTS_TAG = "tunelab.reports_logged"
PARENT_TAG = "mlflow.parentRunId"

_END_STATUS = {
    TrialStatus.COMPLETED: "FINISHED",
    TrialStatus.PRUNED: "KILLED",
    TrialStatus.FAILED: "FAILED",
}
_MAX_METRICS, _MAX_PARAMS = 1000, 100  # MLflow's limits for one log_batch call


def _client(tracking_uri: str | None) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise TunelabError(
            "MLflow export needs the mlflow package: pip install 'tunelab[mlflow]'"
        ) from None
    return MlflowClient(tracking_uri=tracking_uri)


def study_key(study: Study) -> str:
    """What identifies the study across syncs, without revealing its storage URL."""
    raw = f"{study.storage.url}\0{study.study_id}\0{study.name}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


@dataclass(frozen=True)
class SyncResult:
    experiment_id: str
    parent_run_id: str
    trial_runs: dict[int, str]  # trial number -> run id


class MlflowLogger:
    """Keeps an MLflow experiment in step with a study.

    ``sync()`` logs what is new once. Used as a context manager around ``optimize`` it
    also syncs every ``every`` seconds from a background thread, and once more on exit::

        with MlflowLogger(study, tracking_uri="sqlite:///mlflow.db"):
            study.optimize(objective, max_trials=50)

    A sync that fails in the background is reported on stderr and retried at the next
    beat; the final sync on exit raises, unless the study itself raised (then its error
    is the one that propagates). ``experiment``: the MLflow experiment's name
    (default: the study's name; created when missing).
    """

    def __init__(
        self,
        study: Study,
        *,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        every: float = 10.0,
    ) -> None:
        self.study = study
        self.client = _client(tracking_uri)
        self.experiment = experiment or study.name
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- syncing ---------------------------------------------------------------------------
    def sync(self) -> SyncResult:
        with self._lock:
            return self._sync()

    def _sync(self) -> SyncResult:
        experiment_id = self._experiment_id()
        parent = self._parent(experiment_id)
        runs = {
            int(run.data.tags[TRIAL_TAG]): run
            for run in self._search(experiment_id, f"tags.`{PARENT_TAG}` = '{parent.info.run_id}'")
            if TRIAL_TAG in run.data.tags
        }
        trials = [t for t in self.study.trials if t.status is not TrialStatus.WAITING]
        ids = {}
        for t in trials:
            run = runs.get(t.number)
            if run is None:
                run = self.client.create_run(
                    experiment_id,
                    start_time=_ms(t.started_at if t.started_at is not None else t.created_at),
                    tags={PARENT_TAG: parent.info.run_id, TRIAL_TAG: str(t.number)},
                    run_name=f"trial-{t.number}",
                )
            ids[t.number] = run.info.run_id
            if run.info.status == "RUNNING":
                self._log_trial(run, t)
        self._log_study(parent, trials)
        return SyncResult(experiment_id, parent.info.run_id, ids)

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return str(found.experiment_id)
        return str(self.client.create_experiment(self.experiment))

    def _search(self, experiment_id: str, filter_string: str) -> Iterator[Any]:
        token = None
        while True:
            page = self.client.search_runs(
                [experiment_id], filter_string=filter_string, max_results=1000, page_token=token
            )
            yield from page
            token = page.token
            if not token:
                return

    def _parent(self, experiment_id: str) -> Any:
        key = study_key(self.study)
        for run in self._search(experiment_id, f"tags.`{STUDY_KEY_TAG}` = '{key}'"):
            return run
        study = self.study
        trials = study.trials
        return self.client.create_run(
            experiment_id,
            start_time=_ms(min((t.created_at for t in trials), default=None)),
            tags={
                STUDY_KEY_TAG: key,
                "tunelab.study": study.name,
                "tunelab.metric": study.metric,
                "tunelab.mode": study.mode,
                "tunelab.searcher": study.searcher.name,
                "tunelab.scheduler": study.scheduler.name,
            },
            run_name=study.name,
        )

    def _log_trial(self, run: Any, t: TrialRecord) -> None:
        from mlflow.entities import Metric, Param, RunTag

        run_id = run.info.run_id
        logged = set(run.data.params)
        params = [
            Param(name, str(value))
            for name, value in t.params.items()
            if value is not None and name not in logged
        ]
        done = int(run.data.tags.get(REPORTS_TAG, "0"))
        metrics = [
            Metric(name, float(value), _ms(report.time) or 0, report.step)
            for report in t.reports[done:]
            for name, value in report.metrics.items()
        ]
        if t.status.is_finished:
            finals = dict(t.metrics)
            if t.value is not None:
                finals[self.study.metric] = t.value
            step = t.reports[-1].step if t.reports else 0
            at = _ms(t.ended_at) or 0
            metrics += [Metric(FINAL + n, float(v), at, step) for n, v in sorted(finals.items())]
        tags = [RunTag(REPORTS_TAG, str(len(t.reports))), RunTag(STATE_TAG, t.status.value)]
        for chunk in _chunks(params, _MAX_PARAMS):
            self.client.log_batch(run_id, params=chunk)
        for chunk in _chunks(metrics, _MAX_METRICS):
            self.client.log_batch(run_id, metrics=chunk)
        self.client.log_batch(run_id, tags=tags)
        status = _END_STATUS.get(t.status)
        if status is not None:
            self.client.set_terminated(run_id, status, end_time=_ms(t.ended_at))

    def _log_study(self, parent: Any, trials: Sequence[TrialRecord]) -> None:
        from mlflow.entities import Metric

        finished = [t for t in trials if t.status.is_finished]
        n_logged = parent.data.metrics.get("trials_finished")
        now = int(time.time() * 1000)
        if n_logged is None or n_logged != len(finished):
            metrics = [Metric("trials_finished", len(finished), now, len(finished))]
            best = self._best(finished)
            if best is not None:
                metrics.append(Metric(f"best/{self.study.metric}", best, now, len(finished)))
            self.client.log_batch(parent.info.run_id, metrics=metrics)
        if len(finished) == len(trials) and trials:
            ended = max(t.ended_at or 0.0 for t in finished)
            self.client.set_terminated(parent.info.run_id, "FINISHED", end_time=_ms(ended))
        elif parent.info.status != "RUNNING":  # the study was continued
            self.client.update_run(parent.info.run_id, status="RUNNING")

    def _best(self, finished: Sequence[TrialRecord]) -> float | None:
        """The best value, as Study.best_trial chooses: completed trials, else pruned."""
        for status in (TrialStatus.COMPLETED, TrialStatus.PRUNED):
            values = [
                t.value
                for t in finished
                if t.status is status and t.value is not None and not math.isnan(t.value)
            ]
            if values:
                return max(values) if self.study.mode == "max" else min(values)
        return None

    # -- while optimizing ------------------------------------------------------------------
    def __enter__(self) -> MlflowLogger:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="tunelab-mlflow", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if exc is None:
            self.sync()
            return
        try:  # log what the failed or interrupted study left, without hiding its error
            self.sync()
        except Exception as failed:
            print(f"tunelab: MLflow sync failed: {failed}", file=sys.stderr)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.sync()
            except Exception as exc:  # the study goes on; the next beat retries
                print(f"tunelab: MLflow sync failed (retried): {exc}", file=sys.stderr)


def export_mlflow(
    study: Study, *, tracking_uri: str | None = None, experiment: str | None = None
) -> SyncResult:
    """Log ``study`` to MLflow (see the module docstring); run again to add what is new."""
    return MlflowLogger(study, tracking_uri=tracking_uri, experiment=experiment).sync()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
