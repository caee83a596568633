"""Studies: create or load one, optimise it, read its results.

A study is a name in a storage with a metric and mode, a searcher, a scheduler and a
search space (declared up front, discovered by a define-by-run objective, or both).
``optimize`` runs trials until its budget is used; calling it again, in this process
or after a crash in another, continues the same study.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tunelab.budget import Budget, BudgetUsage
from tunelab.errors import ConfigError, DuplicateStudyError, TunelabError
from tunelab.executors import Executor, Objective, make_executor
from tunelab.progress import ProgressDisplay
from tunelab.schedulers import Scheduler, make_scheduler
from tunelab.searchers import Searcher, make_searcher
from tunelab.searchers.grid import GridSearcher
from tunelab.space import Config, Space, Value
from tunelab.storage import Storage, StudyRecord, make_storage
from tunelab.storage.artifacts import ArtifactStore, default_artifact_root, safe_folder_name
from tunelab.trial import Trial, TrialRecord, TrialStatus

if TYPE_CHECKING:
    import pandas as pd

    from tunelab.runner import StudyRunner
    from tunelab.schedulers.plan import Plan

_DECLARED_KEY = "tunelab.declared_params"
_ARTIFACT_ROOT_KEY = "tunelab.artifact_root"
_ARTIFACT_FOLDER_KEY = "tunelab.artifact_folder"


class Study:
    """A tuning study bound to its storage. Use :func:`create_study` or :func:`load_study`."""

    def __init__(
        self,
        record: StudyRecord,
        storage: Storage,
        searcher: Searcher,
        scheduler: Scheduler,
        artifacts: str | Path | None = None,
    ) -> None:
        self.study_id = record.study_id
        self.name = record.name
        self.metric = record.metric
        self.mode: Literal["min", "max"] = "max" if record.mode == "max" else "min"
        self.storage = storage
        self._session: StudyRunner | None = None
        self.searcher = searcher
        self.scheduler = scheduler
        self.space = Space.from_dict(record.space)
        self.declared: tuple[str, ...] = tuple(record.user_attrs.get(_DECLARED_KEY, ()))
        self.user_attrs = dict(record.user_attrs)
        self._artifact_root = artifacts
        if record.searcher_state:
            searcher.load_state_dict(record.searcher_state)
        if record.scheduler_state:
            scheduler.load_state_dict(record.scheduler_state)

    def __repr__(self) -> str:
        return (
            f"Study({self.name!r}, metric={self.metric!r}, mode={self.mode!r}, "
            f"searcher={self.searcher.name!r}, storage={self.storage.url!r})"
        )

    def is_better(self, a: float, b: float | None) -> bool:
        """Whether value ``a`` beats ``b`` for this study's mode."""
        if b is None:
            return True
        return a > b if self.mode == "max" else a < b

    # -- checkpoints -----------------------------------------------------------------------
    @property
    def artifacts(self) -> ArtifactStore:
        """The study's checkpoint store (see :mod:`tunelab.storage.artifacts` for where)."""
        root = self._artifact_root or self.user_attrs.get(_ARTIFACT_ROOT_KEY)
        base = Path(root) if root else default_artifact_root(self.storage)
        folder = self.user_attrs.get(_ARTIFACT_FOLDER_KEY) or (
            f"{safe_folder_name(self.name)}-{self.study_id}"
        )
        return ArtifactStore(base / str(folder))

    def checkpoint(self, number: int) -> Any | None:
        """Trial ``number``'s latest checkpoint (None if it saved none): the weights of a
        trial that was paused, for instance."""
        store = self.artifacts
        ref = store.latest(number)
        return None if ref is None else store.load(ref)

    # -- running ---------------------------------------------------------------------------
    def plan(
        self,
        *,
        max_trials: int | None = None,
        max_epochs: int | None = None,
        max_seconds: float | None = None,
    ) -> Plan:
        """What the scheduler will run from a fresh start under this budget: for
        Hyperband, each bracket's trials and epochs per rung and the total epochs.
        ``print(study.plan(max_epochs=800))`` shows it as a table."""
        budget = Budget(max_trials=max_trials, max_epochs=max_epochs, max_seconds=max_seconds)
        return make_scheduler(self.scheduler.spec()).plan(budget)

    def optimize(
        self,
        objective: Objective,
        *,
        max_trials: int | None = None,
        max_epochs: int | None = None,
        max_seconds: float | None = None,
        executor: str | Executor = "inline",
        n_workers: int | None = None,
        max_retries: int = 0,
        lease_seconds: float = 60.0,
        lease_expired: str = "requeue",
        max_consecutive_failures: int | None = 10,
        candidates: Sequence[Mapping[str, Value]] | None = None,
        quiet: bool = False,
    ) -> BudgetUsage:
        """Run trials until a limit is reached, the searcher is exhausted or the scheduler is done.

        Limits are totals for the study, not for this call: a study with 20 finished
        trials and ``max_trials=30`` runs 10 more. Trials failed by the objective count;
        trials interrupted by a crash or Ctrl-C do not, and are run again.
        KeyboardInterrupt stops the study after recording the running trial.
        ``max_seconds`` is a hard limit: trials still running when it passes are ended
        (process workers and Ray actors killed, an inline objective interrupted in the
        main thread, elsewhere at its next report), as PRUNED with their best reported
        value when they reported, else as interrupted (not counted, run again later).
        An error that is not the configuration's fault
        (:class:`~tunelab.errors.EnvironmentFault`: a dataset that cannot be read or
        fails its checksum, storage unavailable or locked past its wait) stops the study
        at once and is raised; the trial is stored as failed with failure
        ``environment_error``, not counted, and its configuration runs first when the
        study continues.
        ``executor`` is "inline" (this process, the default), "processes" (``n_workers``
        local processes) or "ray" (``n_workers`` Ray actors), or an Executor instance
        with its own options (threads or GPUs per trial, a Ray address).

        Any number of processes, on any machines that reach the storage, can optimize
        the same study at once (``tunelab worker`` starts one): they share the searcher
        and scheduler state, never run the same trial, and keep to one budget.
        ``max_retries`` runs a trial that failed (its objective raised, or its worker
        died) again, up to that many times, from its last checkpoint (the objective's
        ``checkpoint=`` is then saved every report). A running trial holds a lease its
        worker renews; one not renewed for ``lease_seconds`` (worker or machine gone) is
        failed, or queued again (``lease_expired="requeue"``, the default).
        After ``max_consecutive_failures`` failed trials in a row (None: no limit) the
        study stops with ConsecutiveFailuresError: something is broken, and an epoch
        budget would never run out on an objective that fails before reporting.
        Trials a scheduler paused are resumed from their checkpoints; those still paused
        when the study ends cleanly are pruned (after Ctrl-C they stay paused and the
        next call resumes them). ``candidates`` restricts the study to a list of
        configurations of its space (given up front): each proposal is replaced by the
        nearest candidate not used yet, so each runs at most once, and the search is
        exhausted when none is left (what tabular benchmarks need; see
        :mod:`tunelab.runner.candidates`). Returns the budget used so far.
        """
        if isinstance(executor, Executor) and n_workers is not None:
            raise ConfigError("give n_workers to the Executor instance, not to optimize()")
        if not callable(objective):
            raise ConfigError(f"objective must be callable, got {objective!r}")
        budget = Budget(max_trials=max_trials, max_epochs=max_epochs, max_seconds=max_seconds)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if not isinstance(lease_seconds, int | float) or not lease_seconds > 0:
            raise ConfigError(f"lease_seconds must be a positive number, got {lease_seconds!r}")
        if lease_expired not in ("fail", "requeue"):
            raise ConfigError(f"lease_expired must be 'fail' or 'requeue', got {lease_expired!r}")
        if max_consecutive_failures is not None and (
            isinstance(max_consecutive_failures, bool)
            or not isinstance(max_consecutive_failures, int)
            or max_consecutive_failures < 1
        ):
            raise ConfigError(
                "max_consecutive_failures must be a positive integer or None, "
                f"got {max_consecutive_failures!r}"
            )
        if (
            not budget.is_bounded
            and candidates is None
            and not isinstance(self.searcher, GridSearcher)
        ):
            raise ConfigError(
                "optimize() needs a budget: max_trials, max_epochs or max_seconds "
                "(only grid search and a list of candidates end on their own)"
            )
        from tunelab.runner import StudyRunner
        from tunelab.runner.candidates import CandidateList

        allowed = None if candidates is None else CandidateList(self.space, candidates)
        runner = StudyRunner(
            self,
            objective,
            budget,
            _guarded(
                make_executor(executor, **({} if n_workers is None else {"n_workers": n_workers})),
                max_consecutive_failures,
            ),
            ProgressDisplay(quiet=quiet),
            lease_seconds=float(lease_seconds),
            lease_expired=lease_expired,  # type: ignore[arg-type]
            max_retries=max_retries,
            candidates=allowed,
        )
        self._remember_run(objective, budget)
        return runner.run()

    def _remember_run(self, objective: Objective, budget: Budget) -> None:
        """Store what a ``tunelab worker`` needs to join: the objective and the budget."""
        from tunelab.stored_run import RUN_KEY, run_spec

        spec = run_spec(objective, budget)
        if self.user_attrs.get(RUN_KEY) != spec:
            self.storage.set_study_user_attr(self.study_id, RUN_KEY, spec)
            self.user_attrs[RUN_KEY] = spec

    # -- ask and tell ----------------------------------------------------------------------
    def ask(self, *, budget: int | None = None) -> Trial:
        """Start a trial for a loop tunelab does not drive: define parameters through
        ``trial.hp``, report with ``trial.report`` as usual, then ``study.tell`` it.

        The trial holds a lease renewed while this Study object lives; it shares the
        study with every other worker (the searcher sees all their trials).
        """
        return self._ask_tell_session().ask(budget)

    def tell(
        self,
        trial: Trial | int,
        result: Any = None,
        *,
        state: TrialStatus | None = None,
        error: str | BaseException | None = None,
    ) -> TrialRecord:
        """End a trial from :meth:`ask` (a Trial, or its number when another process asked
        it). ``result`` is what an objective would return (a number, a dict of metrics,
        or None for its best report); ``state=TrialStatus.PRUNED`` or ``error=...``
        end it as pruned or failed. Returns the stored record."""
        return self._ask_tell_session().tell(trial, result, state=state, error=error)

    def _ask_tell_session(self) -> StudyRunner:
        from tunelab.runner import StudyRunner

        if self._session is None:
            self._session = StudyRunner(self, None, Budget(), None, ProgressDisplay(quiet=True))
        return self._session

    def enqueue(self, params: Mapping[str, Value]) -> TrialRecord:
        """Queue a configuration to run before the searcher's next proposals."""
        config = dict(params)
        known = {k: v for k, v in config.items() if k in self.space}
        for name, value in known.items():
            if not self.space[name].contains(value):
                raise ConfigError(
                    f"enqueue: {name}={value!r} is not a value of {self.space[name].describe()}"
                )
        return self.storage.create_trial(
            self.study_id, proposal=config, meta={}, budget=None, status=TrialStatus.WAITING
        )

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable attribute on the study (kept in its storage)."""
        self.storage.set_study_user_attr(self.study_id, key, value)
        self.user_attrs[key] = self.storage.get_study(self.name).user_attrs[key]

    # -- results ---------------------------------------------------------------------------
    @property
    def trials(self) -> list[TrialRecord]:
        """All trials in number order, with their reports."""
        return self.storage.get_trials(self.study_id)

    def get_trials(self, statuses: tuple[TrialStatus, ...] | None = None) -> list[TrialRecord]:
        return self.storage.get_trials(self.study_id, statuses=statuses)

    @property
    def best_trial(self) -> TrialRecord:
        """The completed trial with the best value (earliest on ties). A study that no
        trial completed, ended by its time or epoch limit after trials reported, gives
        its best pruned trial: the best value reported stands."""
        best = self.storage.best_trial(self.study_id, self.mode)
        if best is not None:
            return best
        raise TunelabError(f"study {self.name!r} has no completed trial yet")

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_params(self) -> Config:
        return self.best_trial.params

    def budget_used(self) -> BudgetUsage:
        record = self.storage.get_study(self.name)
        snapshot = self.storage.snapshot(self.study_id)
        return BudgetUsage(
            trials=snapshot.counted,
            epochs=snapshot.finished_steps + sum(t.steps_trained for t in snapshot.live),
            seconds=record.elapsed_seconds,
        )

    def dataframe(self) -> pd.DataFrame:
        """One row per trial: number, status, value, ``params_*``, ``metrics_*``, timings, error."""
        from tunelab.export.tables import rows_dataframe

        return rows_dataframe(self.storage.trial_table(self.study_id), self.space)


def _guarded(executor: Executor, limit: int | None) -> Executor:
    from tunelab.executors.fail_fast import FailFastExecutor

    return executor if limit is None else FailFastExecutor(executor, limit)


def _as_space(space: Space | Mapping[str, Any] | str | Path | None) -> Space:
    if space is None:
        return Space()
    if isinstance(space, Space):
        return space.copy()
    if isinstance(space, Mapping):
        return Space.from_dict(space)
    return Space.from_yaml(space)


def create_study(
    name: str | None = None,
    *,
    metric: str = "value",
    mode: str = "min",
    searcher: str | Searcher | Mapping[str, Any] = "random",
    scheduler: str | Scheduler | Mapping[str, Any] | None = None,
    storage: str | Path | Storage | None = None,
    seed: int | None = None,
    space: Space | Mapping[str, Any] | str | Path | None = None,
    load_if_exists: bool = False,
    user_attrs: Mapping[str, Any] | None = None,
    artifacts: str | Path | None = None,
) -> Study:
    """Create a study (or load it with ``load_if_exists=True``).

    ``storage`` defaults to ``tunelab.db`` in the working directory; ``":memory:"``
    keeps everything in this process. ``space`` declares parameters up front (a
    Space, a dict in the YAML form, or a YAML file); the objective may define more.
    ``artifacts`` is the folder for checkpoints (default: ``<file>.artifacts`` beside a
    SQLite file, a temporary folder for ``":memory:"``, else ``$TUNELAB_ARTIFACTS`` or
    ``./tunelab-artifacts``); give a shared folder when workers on several machines
    share a PostgreSQL study. The storage is opened (a SQLite file created) only once
    the study's definition is valid.
    """
    if mode not in ("min", "max"):
        raise ConfigError(f"mode must be 'min' or 'max', got {mode!r}")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"metric must be a non-empty name, got {metric!r}")
    name = name or f"study-{uuid.uuid4().hex[:8]}"
    declared_space = _as_space(space)
    search = make_searcher(searcher, seed=seed)
    schedule = make_scheduler(scheduler)
    if isinstance(search, GridSearcher) and len(declared_space):
        search.check(declared_space)
    store = make_storage(storage)  # only now: a refused definition leaves no file behind
    attrs = dict(user_attrs or {})
    attrs[_DECLARED_KEY] = declared_space.names
    attrs[_ARTIFACT_FOLDER_KEY] = f"{safe_folder_name(name)}-{uuid.uuid4().hex[:8]}"
    if artifacts is not None:
        attrs[_ARTIFACT_ROOT_KEY] = str(Path(artifacts).expanduser().resolve())
    try:
        record = store.create_study(
            name,
            metric=metric,
            mode=mode,
            searcher=search.spec(),
            scheduler=schedule.spec(),
            space=declared_space.to_dict(),
            user_attrs=attrs,
        )
    except DuplicateStudyError:
        if not load_if_exists:
            raise DuplicateStudyError(
                f"a study named {name!r} already exists in {store.url}; "
                "use load_study() or create_study(..., load_if_exists=True)"
            ) from None
        study = load_study(name, storage=store, artifacts=artifacts)
        if study.metric != metric or study.mode != mode:
            raise ConfigError(
                f"study {name!r} exists with metric {study.metric!r} ({study.mode}), "
                f"not {metric!r} ({mode})"
            ) from None
        return study
    return Study(record, store, search, schedule)


def load_study(
    name: str,
    *,
    storage: str | Path | Storage | None = None,
    artifacts: str | Path | None = None,
    read_only: bool = False,
) -> Study:
    """Open an existing study with its searcher and scheduler as they were stored.

    Opening takes no write lock, so it never waits for a process writing the study.
    ``read_only=True`` opens the storage for reading only (see
    :func:`~tunelab.storage.make_storage`); a SQLite file on a location this process
    cannot write is opened so anyway, and writing to it raises StorageReadOnlyError.
    ``artifacts`` overrides the checkpoint root the study was created with (a shared
    folder mounted elsewhere on this machine, say)."""
    store = make_storage(storage, read_only=read_only)
    record = store.get_study(name)
    search = make_searcher(record.searcher)
    schedule = make_scheduler(record.scheduler)
    root = Path(artifacts).expanduser().resolve() if artifacts is not None else None
    return Study(record, store, search, schedule, artifacts=root)
