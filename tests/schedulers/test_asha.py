"""ASHA: Li et al. (2020) promotions, replayed independently, and no waiting for rungs."""

from __future__ import annotations

import pytest

from tests.schedulers.helpers import make_record, no_epoch_twice
from tunelab.errors import ConfigError
from tunelab.schedulers import Resume, SchedulerView, Start
from tunelab.schedulers.asha import ASHAScheduler
from tunelab.trial import TrialRecord, TrialStatus


def replay_asha(values: dict[int, dict[int, float]], rungs: list[int], eta: int, epochs: int):
    """Li et al. 2020, Algorithm 2 (get_job), one worker, written independently: the
    (trial, epoch) pairs trained, in order, for the first ``epochs`` epochs."""
    recorded: list[list[tuple[float, int]]] = [[] for _ in rungs]
    promoted: list[set[int]] = [set() for _ in rungs]
    log: list[tuple[int, int]] = []
    new = 0
    while len(log) < epochs:
        job = None
        for k in range(len(rungs) - 2, -1, -1):
            top = sorted(recorded[k], key=lambda vn: (-vn[0], vn[1]))[: len(recorded[k]) // eta]
            promotable = [n for _, n in top if n not in promoted[k]]
            if promotable:
                job = (promotable[0], k + 1)
                promoted[k].add(promotable[0])
                break
        if job is None:
            job, new = (new, 0), new + 1
        number, k = job
        start = rungs[k - 1] if k else 0
        log += [(number, e) for e in range(start + 1, rungs[k] + 1)]
        if rungs[k] in values.get(number, {}):
            recorded[k].append((values[number][rungs[k]], number))
    return log[:epochs]


def assert_replayed(run, replay, max_epochs: int, eta: int, budget: int) -> None:
    """The study trained exactly the epochs ``replay`` computes from its reported values."""
    rungs = ASHAScheduler(max_epochs=max_epochs, eta=eta).rungs
    values = {
        t.number: {r.step: r.metrics["val_accuracy"] for r in t.reports} for t in run.study.trials
    }
    assert run.task.trained == replay(values, rungs, eta, budget)
    assert no_epoch_twice(run.task.trained)
    assert run.usage.epochs == budget


@pytest.mark.parametrize(("max_epochs", "eta", "budget"), [(9, 3, 120), (27, 3, 300), (8, 2, 100)])
def test_promotions_follow_li_et_al(run_curves, max_epochs, eta, budget):
    run = run_curves({"name": "asha", "max_epochs": max_epochs, "eta": eta}, max_epochs=budget)
    assert_replayed(run, replay_asha, max_epochs, eta, budget)
    # Promoted trials went past the first rung long before the study ended.
    first_promotion = next(i for i, (_, epoch) in enumerate(run.task.trained) if epoch == 2)
    assert first_promotion == eta  # right after eta trials were recorded at rung 0


def _trial(number: int, status: TrialStatus, budget: int, values: list[float]) -> TrialRecord:
    return make_record(number, status, values, budget=budget, metric="loss")


def test_a_free_worker_is_never_kept_waiting():
    scheduler = ASHAScheduler(max_epochs=9, eta=3)
    # Seven trials still run at the bottom rung; three have finished it.
    running = [_trial(i, TrialStatus.RUNNING, 1, []) for i in range(3, 10)]
    paused = [_trial(i, TrialStatus.PAUSED, 1, [v]) for i, v in enumerate([0.5, 0.2, 0.9])]
    view = SchedulerView("loss", "min", [], running, paused)
    assert scheduler.next(view) == Resume(1, budget=3)  # promoted at once (lowest loss)
    promoted = _trial(1, TrialStatus.RUNNING, 3, [0.2])
    view = SchedulerView("loss", "min", [], [*running, promoted], [paused[0], paused[2]])
    assert scheduler.next(view) == Start(budget=1)  # nothing to promote


def test_rungs():
    assert ASHAScheduler(max_epochs=27).rungs == [1, 3, 9, 27]
    assert ASHAScheduler(max_epochs=10).rungs == [1, 3, 9, 10]
    assert ASHAScheduler(max_epochs=16, min_epochs=2, eta=2).rungs == [2, 4, 8, 16]
    assert ASHAScheduler(max_epochs=1).rungs == [1]


def test_plan_estimates_the_trials_per_rung():
    from tunelab.budget import Budget

    plan = ASHAScheduler(max_epochs=27).plan(Budget(max_epochs=400))
    assert not plan.exact and plan.total_epochs == 400
    assert [r.epochs for r in plan.brackets[0].rungs] == [1, 3, 9, 27]
    assert "about" in str(plan)


def replay_stopping(values: dict[int, dict[int, float]], rungs: list[int], eta: int, epochs: int):
    """Stopping-type ASHA on one worker, written independently: trials start in number
    order and train on; at a rung a trial goes on only if its value is among the best
    ceil(n / eta) of the n values recorded there so far (its own included)."""
    recorded: dict[int, list[tuple[float, int]]] = {r: [] for r in rungs[:-1]}
    log: list[tuple[int, int]] = []
    number = 0
    while len(log) < epochs:
        for epoch in range(1, min(rungs[-1], epochs - len(log)) + 1):
            log.append((number, epoch))
            if len(log) == epochs or epoch not in recorded:
                continue
            here = recorded[epoch]
            here.append((values[number][epoch], number))
            ranked = sorted(here, key=lambda vn: (-vn[0], vn[1]))
            if ranked.index((values[number][epoch], number)) >= -(-len(here) // eta):
                break
        number += 1
    return log[:epochs]


@pytest.mark.parametrize(("max_epochs", "eta", "budget"), [(9, 3, 120), (27, 3, 300)])
def test_stopping_type_follows_the_rule(run_curves, max_epochs, eta, budget):
    scheduler = {"name": "asha", "max_epochs": max_epochs, "eta": eta, "type": "stopping"}
    run = run_curves(scheduler, max_epochs=budget)
    assert_replayed(run, replay_stopping, max_epochs, eta, budget)
    statuses = {t.status for t in run.study.trials}
    assert TrialStatus.PAUSED not in statuses  # nothing waits for a promotion
    assert TrialStatus.PRUNED in statuses and TrialStatus.COMPLETED in statuses


def test_stopping_type_without_a_change_log_ranks_from_the_lists():
    scheduler = ASHAScheduler(max_epochs=9, eta=3, type="stopping")
    done = [_trial(i, TrialStatus.COMPLETED, 9, [v] * 9) for i, v in enumerate([0.5, 0.2, 0.9])]
    view = SchedulerView("loss", "min", done, [], [])
    assert scheduler.next(view) == Start(budget=9)
    # At rung 1 with three recorded: only the best ceil(4/3) = 2 of four go on.
    second = _trial(3, TrialStatus.RUNNING, 9, [0.3])
    assert scheduler.on_report(second, 1, {"loss": 0.3}, view).value == "continue"
    worse = _trial(4, TrialStatus.RUNNING, 9, [0.6])
    assert scheduler.on_report(worse, 1, {"loss": 0.6}, view).value == "stop"
    assert scheduler.on_report(worse, 2, {"loss": 0.6}, view).value == "continue"  # no rung


def test_type_is_checked():
    with pytest.raises(ConfigError, match="type must be 'promotion' or 'stopping'"):
        ASHAScheduler(max_epochs=9, type="halving")
