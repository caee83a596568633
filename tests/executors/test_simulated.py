"""The simulated executor: trials on simulated workers, times on a simulated clock."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import tunelab as tl
from tunelab import clock
from tunelab.errors import ConfigError
from tunelab.executors import make_executor
from tunelab.executors.simulated import SimulatedClock, SimulatedExecutor
from tunelab.schedulers.asha import ASHAScheduler
from tunelab.tasks.curves import LearningCurves


class CurveTable:
    """A stand-in for a recorded learning-curve table: the loss of ``x`` after ``epoch``
    epochs is ``(x - 0.3)**2 + 1/epoch``, and every epoch of ``x`` takes ``2 + 8x``
    seconds (reported as ``epoch_seconds``, as the tabular tasks do). Checkpoints hold the
    epoch reached, so paused trials continue where they stopped."""

    def __init__(self, epochs: int = 9) -> None:
        self.epochs = epochs
        self.trained: list[tuple[int, int]] = []

    @staticmethod
    def seconds(x: float) -> float:
        return 2.0 + 8.0 * x

    def __call__(self, trial: tl.Trial) -> None:
        x = trial.hp.Float("x", 0.0, 1.0)
        state = trial.load_checkpoint()
        start = 0 if state is None else int(state)
        budget = self.epochs if trial.budget is None else trial.budget
        for epoch in range(start + 1, budget + 1):
            self.trained.append((trial.number, epoch))
            loss = (x - 0.3) ** 2 + 1.0 / epoch
            trial.report(epoch, loss=loss, epoch_seconds=self.seconds(x), checkpoint=epoch)


def _study(**kw: Any) -> tl.Study:
    return tl.create_study(metric="loss", mode="min", storage=":memory:", seed=0, **kw)


def _run(study: tl.Study, objective: Any, executor: SimulatedExecutor, **kw: Any) -> Any:
    # No clock installed here: the runner installs the executor's own for the run.
    return study.optimize(objective, executor=executor, quiet=True, **kw)


def _elapsed(t: tl.TrialRecord, start: float = 0.0) -> tuple[float, float]:
    assert t.started_at is not None and t.ended_at is not None
    return t.started_at - start, t.ended_at - start


def test_a_two_worker_study_stores_the_simulated_times_computed_by_hand():
    seconds = {0: 10.0, 1: 4.0, 2: 5.0}

    def objective(trial: tl.Trial) -> None:
        trial.hp.Float("x", 0.0, 1.0)
        for epoch in (1, 2, 3):
            trial.report(epoch, loss=1.0 / epoch, epoch_seconds=seconds[trial.number])

    study = _study()
    executor = SimulatedExecutor(n_workers=2, start=0.0)
    usage = _run(study, objective, executor, max_trials=3)
    t0, t1, t2 = study.trials
    # Trial 1 frees its worker at 12 s; trial 2 starts then and ends 3 x 5 s later;
    # trial 0 runs 3 x 10 s from 0 and ends the study at 30 s.
    assert [_elapsed(t) for t in (t0, t1, t2)] == [(0.0, 30.0), (0.0, 12.0), (12.0, 27.0)]
    assert [t.created_at for t in (t0, t1, t2)] == [0.0, 0.0, 12.0]
    assert [r.time for r in t0.reports] == [10.0, 20.0, 30.0]
    assert [r.time for r in t1.reports] == [4.0, 8.0, 12.0]
    assert [r.time for r in t2.reports] == [17.0, 22.0, 27.0]
    assert usage.seconds == 30.0
    assert executor.clock().monotonic() == 30.0


def test_the_clock_starts_at_the_given_time_or_now():
    assert SimulatedClock(start=1000.0).now() == 1000.0
    executor = SimulatedExecutor(n_workers=1)
    assert abs(executor.clock().now() - clock.now()) < 60.0
    assert executor.clock().monotonic() == 0.0


def test_reports_without_epoch_seconds_take_one_simulated_second():
    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        for epoch in range(1, 5):
            trial.report(epoch, loss=x / epoch)
        return x

    study = _study()
    _run(study, objective, SimulatedExecutor(start=0.0), max_trials=2)
    assert [_elapsed(t) for t in study.trials] == [(0.0, 4.0), (4.0, 8.0)]


def test_n_workers_trials_overlap_in_simulated_time_and_never_more():
    table = CurveTable(epochs=5)
    study = _study()
    _run(study, table, SimulatedExecutor(n_workers=4, start=0.0), max_trials=30)
    intervals = [_elapsed(t) for t in study.trials]
    assert len(intervals) == 30
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    running, most = 0, 0
    for _, change in events:  # at a tie an end comes first (-1 < 1): the worker is free
        running += change
        most = max(most, running)
    assert most == 4
    # The first four start together; each later trial starts when another ends.
    assert [a for a, _ in intervals[:4]] == [0.0] * 4
    ends = {b for _, b in intervals}
    assert all(a in ends for a, _ in intervals[4:])


class TimeOrderASHA(ASHAScheduler):
    """ASHA that notes the simulated time and trial of every report it is given."""

    def on_report(self, trial: Any, step: int, metrics: Any, view: Any) -> Any:
        self.__dict__.setdefault("seen", []).append((clock.monotonic(), trial.number, step))
        return super().on_report(trial, step, metrics, view)


def test_reports_reach_the_scheduler_in_simulated_time_order_and_asha_decides():
    table = CurveTable(epochs=9)
    scheduler = TimeOrderASHA(max_epochs=9, eta=3)
    study = _study(scheduler=scheduler)
    _run(study, table, SimulatedExecutor(n_workers=8, start=0.0), max_trials=40)
    seen = study.scheduler.__dict__["seen"]
    times = [at for at, _, _ in seen]
    assert len(seen) > 40 and times == sorted(times)
    # Each report reached the scheduler at the time it was stored with.
    stored = {(t.number, r.step): r.time for t in study.trials for r in t.reports}
    assert all(stored[number, step] == at for at, number, step in seen)
    # ASHA promoted some trials past the first rung and left others there.
    epochs = Counter(len(t.reports) for t in study.trials)
    assert epochs[1] > 0 and max(epochs) == 9
    assert max(Counter(table.trained).values()) == 1  # resumed from checkpoints


def test_a_pruned_trial_stops_using_simulated_time_and_frees_its_worker():
    table = CurveTable(epochs=9)
    study = _study(scheduler={"name": "median", "min_trials": 3})
    executor = SimulatedExecutor(n_workers=3, start=0.0)
    _run(study, table, executor, max_trials=20)
    pruned = [t for t in study.trials if t.status is tl.TrialStatus.PRUNED]
    assert pruned and any(len(t.reports) < 9 for t in pruned)
    starts = [t.started_at for t in study.trials]
    for t in pruned:
        assert t.ended_at == t.reports[-1].time  # no simulated time after the last report
        if t.number < 17:  # trials were still to start: one took its worker at once
            assert t.ended_at in starts


def test_pbt_pauses_resumes_and_clones_on_simulated_workers():
    task = LearningCurves(seed=0)
    pbt = {"name": "pbt", "max_epochs": 12, "perturbation_interval": 3, "population_size": 4}
    study = tl.create_study(
        metric="val_accuracy",
        mode="max",
        storage=":memory:",
        seed=0,
        scheduler={**pbt, "seed": 0},
        space=task.space(),
    )
    executor = SimulatedExecutor(n_workers=4, start=0.0)
    usage = _run(study, task, executor, max_epochs=1000)
    clones = [t for t in study.trials if t.meta["scheduler"]["parent"] is not None]
    assert len(clones) == 3
    loaded = {r.trial: r for r in task.restores if r.source != r.trial}
    assert set(loaded) == {t.number for t in clones}
    assert max(Counter(task.trained).values()) == 1  # every epoch trained once
    assert usage.epochs == 4 * 12
    # Four members on four workers, one simulated second per epoch: 12 epochs in 12 s.
    assert usage.seconds == 12.0
    for t in study.trials:
        times = [r.time for r in t.reports]
        assert times == sorted(times)


def test_max_seconds_is_a_simulated_time_limit():
    def slow(trial: tl.Trial) -> None:
        trial.hp.Float("x", 0.0, 1.0)
        for epoch in range(1, 101):
            trial.report(epoch, loss=1.0 / epoch, epoch_seconds=10.0)

    study = _study()
    executor = SimulatedExecutor(n_workers=2, start=0.0)
    usage = _run(study, slow, executor, max_seconds=35.0)
    assert usage.seconds == 35.0 and usage.epochs == 6
    assert [t.status for t in study.trials] == [tl.TrialStatus.PRUNED] * 2
    assert [_elapsed(t) for t in study.trials] == [(0.0, 35.0), (0.0, 35.0)]
    assert [len(t.reports) for t in study.trials] == [3, 3]


def test_a_bad_epoch_seconds_fails_the_trial_with_the_reason():
    def objective(trial: tl.Trial) -> None:
        trial.hp.Float("x", 0.0, 1.0)
        trial.report(1, loss=1.0, epoch_seconds=-1.0)

    study = _study()
    _run(study, objective, SimulatedExecutor(), max_trials=1)
    (t,) = study.trials
    assert t.status is tl.TrialStatus.FAILED
    assert "epoch_seconds must be a finite number >= 0" in (t.error or "")


@pytest.mark.parametrize(
    ("n_workers", "message"),
    [
        (0, "simulated: n_workers must be from 1 to 1000, got 0"),
        (1001, "simulated: n_workers must be from 1 to 1000, got 1001"),
        (2.5, "simulated: n_workers must be an integer from 1 to 1000, got 2.5"),
        (True, "simulated: n_workers must be an integer from 1 to 1000, got True"),
    ],
)
def test_a_bad_n_workers_is_a_one_line_error(n_workers: Any, message: str):
    with pytest.raises(ConfigError) as caught:
        make_executor("simulated", n_workers=n_workers)
    assert str(caught.value) == message
    study = _study()
    with pytest.raises(ConfigError, match="n_workers must be"):
        study.optimize(CurveTable(), max_trials=1, executor="simulated", n_workers=n_workers)


def test_a_thousand_workers_run_at_once():
    table = CurveTable(epochs=2)
    study = _study()
    executor = SimulatedExecutor(n_workers=1000, start=0.0)
    _run(study, table, executor, max_trials=1000)
    assert all(t.started_at == 0.0 for t in study.trials)
    assert len(study.trials) == 1000


def test_the_time_limit_ends_running_trials_and_leaves_no_thread():
    import threading

    study = _study()
    executor = SimulatedExecutor(n_workers=5, start=0.0)
    _run(study, CurveTable(epochs=50), executor, max_seconds=20.0)
    assert executor.running() == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("tunelab-simulated")]


def test_stopping_asha_decides_each_rung_on_the_reports_seen_before():
    table = CurveTable(epochs=9)
    scheduler = TimeOrderASHA(max_epochs=9, eta=3, type="stopping")
    study = _study(scheduler=scheduler)
    _run(study, table, SimulatedExecutor(n_workers=8, start=0.0), max_trials=40)
    values = {(t.number, r.step): r.metrics["loss"] for t in study.trials for r in t.reports}
    last = {t.number: len(t.reports) for t in study.trials}
    recorded: dict[int, list[tuple[float, int]]] = {1: [], 3: []}
    for _, number, step in study.scheduler.__dict__["seen"]:
        if step not in recorded:
            continue
        here = recorded[step]
        here.append((values[number, step], number))
        goes_on = sorted(here).index((values[number, step], number)) < -(-len(here) // 3)
        assert (last[number] > step) == goes_on, (number, step)
    assert all(t.status is not tl.TrialStatus.PAUSED for t in study.trials)
    assert max(Counter(table.trained).values()) == 1
