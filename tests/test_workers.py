"""Several workers on one study, leases, ask/tell, retries and crashes (real processes)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunelab as tl
from tunelab.errors import ConfigError, StudyExhaustedError
from tunelab.storage import make_storage

OBJECTIVE = """
import time

def objective(trial):
    x = trial.hp.Float("x", -5.0, 10.0)
    kind = trial.hp.Choice("kind", ["a", "b", "c"])
    for epoch in range(1, 4):
        time.sleep({sleep})
        trial.report(epoch, loss=(x - 2) ** 2 + 1 / epoch)
    return (x - 2) ** 2 + (kind == "b")
"""


def write_objective(tmp_path: Path, sleep: float = 0.02) -> Path:
    path = tmp_path / "obj.py"
    path.write_text(OBJECTIVE.format(sleep=sleep))
    return path


def storages(tmp_path: Path) -> dict[str, str]:
    out = {"sqlite": f"sqlite:///{tmp_path / 'shared.db'}"}
    if os.environ.get("TUNELAB_TEST_POSTGRES_URL"):
        out["postgresql"] = os.environ["TUNELAB_TEST_POSTGRES_URL"]
    return out


def tunelab_process(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tunelab.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("n_workers", [2, 4])
def test_concurrent_workers_finish_exactly_the_budget(tmp_path, backend, n_workers):
    urls = storages(tmp_path)
    if backend not in urls:
        pytest.skip("postgresql needs TUNELAB_TEST_POSTGRES_URL (scripts/test.sh starts one)")
    url = urls[backend]
    name = f"shared-{backend}-{n_workers}-{os.getpid()}-{time.monotonic_ns()}"
    objective = write_objective(tmp_path)
    tl.create_study(name, metric="loss", searcher="sobol", seed=0, storage=url)
    budget = 6 * n_workers
    workers = [
        tunelab_process(
            "worker",
            "--study",
            name,
            "--storage",
            url,
            "--objective",
            f"{objective}:objective",
            "--max-trials",
            str(budget),
            "-q",
            cwd=tmp_path,
        )
        for _ in range(n_workers)
    ]
    for w in workers:
        _, err = w.communicate(timeout=240)
        assert w.returncode == 0, err
    study = tl.load_study(name, storage=url)
    trials = study.trials
    assert [t.number for t in trials] == list(range(budget))  # dense, no duplicates
    assert all(t.status is tl.TrialStatus.COMPLETED for t in trials)
    assert all([r.step for r in t.reports] == [1, 2, 3] for t in trials)  # no lost reports
    assert len({t.worker for t in trials}) >= 2  # the work was shared
    # Sobol's categorical balance holds across workers: the searcher state is shared.
    kinds = [t.params["kind"] for t in trials]
    assert max(kinds.count(k) for k in "abc") - min(kinds.count(k) for k in "abc") <= n_workers
    configs = [(t.params["x"], t.params["kind"]) for t in trials]
    assert len(set(configs)) == budget  # no configuration handed out twice
    if backend == "postgresql":
        make_storage(url).delete_study(name)


def test_worker_uses_the_objective_and_budget_stored_with_the_study(tmp_path):
    write_objective(tmp_path)
    (tmp_path / "run.yaml").write_text(
        "study: joined\nobjective: obj.py:objective\nmetric: loss\nsearcher: random\nseed: 1\n"
        "budget: {max_trials: 3}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "tunelab.cli", "run", "run.yaml", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    more = subprocess.run(
        [
            sys.executable,
            "-m",
            "tunelab.cli",
            "worker",
            "--study",
            "joined",
            "--max-trials",
            "5",
            "-q",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert more.returncode == 0, more.stderr
    study = tl.load_study("joined", storage=tmp_path / "tunelab.db")
    assert len(study.trials) == 5


def test_worker_without_a_stored_objective_is_a_clear_error(tmp_path):
    storage = tmp_path / "lambda.db"
    study = tl.create_study("lam", storage=storage)
    study.optimize(lambda t: t.hp.Float("x", 0.0, 1.0), max_trials=1, quiet=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tunelab.cli",
            "worker",
            "--study",
            "lam",
            "--storage",
            str(storage),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "has no stored objective" in result.stderr


def _stale_running_trial(storage_path: Path, name: str) -> tl.Study:
    """A study with one trial left RUNNING by a worker on another machine."""
    study = tl.create_study(name, metric="loss", storage=storage_path, searcher="random", seed=0)
    study.storage.create_trial(
        study.study_id, proposal={"x": 0.5}, meta={}, budget=None, worker="elsewhere:4242:1"
    )
    return study


def quick(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.report(1, loss=x)
    return x


def test_an_expired_lease_is_requeued_by_default(tmp_path):
    study = _stale_running_trial(tmp_path / "lease.db", "lease")
    time.sleep(0.6)
    study.optimize(quick, max_trials=3, lease_seconds=0.5, quiet=True)
    trials = study.trials
    lost = trials[0]
    assert lost.status is tl.TrialStatus.FAILED
    assert lost.failure is tl.FailureKind.INTERRUPTED
    assert "lease expired: no heartbeat from worker elsewhere:4242:1" in (lost.error or "")
    retry = next(t for t in trials if t.retry_of == 0)
    assert retry.status is tl.TrialStatus.COMPLETED and retry.params == {"x": 0.5}
    assert sum(t.status is tl.TrialStatus.COMPLETED for t in trials) == 3


def test_an_expired_lease_can_fail_the_trial_instead(tmp_path):
    study = _stale_running_trial(tmp_path / "fail.db", "fail")
    time.sleep(0.6)
    study.optimize(quick, max_trials=3, lease_seconds=0.5, lease_expired="fail", quiet=True)
    trials = study.trials
    assert trials[0].failure is tl.FailureKind.WORKER_LOST
    assert not any(t.retry_of == 0 for t in trials)
    assert len(trials) == 3  # the failure counts toward max_trials


def test_a_long_silent_trial_keeps_its_lease(tmp_path):
    seen: list[list[tl.TrialRecord]] = []

    # The heartbeat renews the lease every lease / 4 = 0.5 s, so a renewal may come up to
    # 1.5 s late (on a loaded machine) before the lease would lapse.
    lease = 2.0

    def silent(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        silent_until = time.monotonic() + 2.5 * lease  # no report all that time
        while time.monotonic() < silent_until:
            time.sleep(0.1)
            seen.append(study.storage.expired_trials(study.study_id, lease))
        return x

    study = tl.create_study("silent", storage=tmp_path / "silent.db")
    study.optimize(silent, max_trials=1, lease_seconds=lease, quiet=True)
    assert len(seen) >= 10 and all(expired == [] for expired in seen)


def test_ask_and_tell(tmp_path):
    storage = tmp_path / "asktell.db"
    study = tl.create_study("at", metric="loss", storage=storage, searcher="sobol", seed=0)
    trial = study.ask()
    x = trial.hp.Float("x", -5.0, 10.0)
    trial.report(1, loss=(x - 2) ** 2 + 1)
    record = study.tell(trial, (x - 2) ** 2)
    assert record.status is tl.TrialStatus.COMPLETED and record.value == (x - 2) ** 2
    assert [r.step for r in record.reports] == [1] and record.params == {"x": x}

    failing = study.ask()
    failing.hp.Float("x", -5.0, 10.0)
    assert study.tell(failing, error=RuntimeError("diverged")).error == "RuntimeError: diverged"

    pruned = study.ask()
    pruned.hp.Float("x", -5.0, 10.0)
    pruned.report(1, loss=3.0)
    pruned.report(2, loss=2.5)
    assert study.tell(pruned, state=tl.TrialStatus.PRUNED).value == 2.5

    # Another process (here: another Study object) asks; this one tells by number.
    other = tl.load_study("at", storage=storage)
    elsewhere = other.ask()
    elsewhere.hp.Float("x", -5.0, 10.0)
    elsewhere.report(1, loss=0.25)
    told = study.tell(elsewhere.number)
    assert told.status is tl.TrialStatus.COMPLETED and told.value == 0.25

    # ask/tell and optimize share the study: numbers stay unique.
    study.optimize(quick_loss, max_trials=6, quiet=True)
    numbers = [t.number for t in study.trials]
    assert numbers == sorted(set(numbers)) and len(numbers) == 6
    with pytest.raises(ValueError, match="cannot be told"):
        study.tell(0, 1.0)


def quick_loss(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", -5.0, 10.0)
    trial.report(1, loss=x)
    return x


def test_ask_on_an_exhausted_grid_raises():
    study = tl.create_study(searcher="grid", storage=":memory:", space={"a": ["x", "y"]})
    for _ in range(2):
        study.tell(study.ask(), 0.0)
    with pytest.raises(StudyExhaustedError):
        study.ask()


def checkpointed(trial: tl.Trial) -> float:
    """Trains 5 'epochs'; the first attempt fails at epoch 3 (a node lost, say)."""
    state = trial.load_checkpoint() or {"epoch": 0, "w": 0.0}
    trial.set_user_attr("started_at_epoch", state["epoch"])
    w = state["w"]
    for epoch in range(state["epoch"] + 1, 6):
        if epoch == 3 and state["epoch"] == 0:
            raise RuntimeError("node lost")
        w += 1.0
        trial.report(epoch, loss=10.0 - w, checkpoint=lambda e=epoch, w=w: {"epoch": e, "w": w})
    return 10.0 - w


def test_max_retries_reruns_a_failed_trial_from_its_last_checkpoint(tmp_path):
    study = tl.create_study("retry", metric="loss", storage=tmp_path / "retry.db")
    study.optimize(checkpointed, max_trials=1, max_retries=1, quiet=True)
    first, retry = study.trials
    assert first.status is tl.TrialStatus.FAILED and "node lost" in (first.error or "")
    assert [r.step for r in first.reports] == [1, 2]
    assert retry.retry_of == 0 and retry.status is tl.TrialStatus.COMPLETED
    assert retry.user_attrs["started_at_epoch"] == 2
    assert [r.step for r in retry.reports] == [3, 4, 5]  # no epoch trained twice
    assert retry.value == 5.0 and retry.params == first.params
    assert study.budget_used().trials == 1  # the retried attempt does not count


def test_without_retries_a_failure_stays_a_failure(tmp_path):
    study = tl.create_study("noretry", metric="loss", storage=tmp_path / "n.db")
    study.optimize(checkpointed, max_trials=2, quiet=True)
    assert [t.status for t in study.trials] == [tl.TrialStatus.FAILED] * 2
    with pytest.raises(ConfigError, match="max_retries must be a non-negative integer"):
        study.optimize(checkpointed, max_trials=2, max_retries=-1)


def test_sigkill_of_a_driver_with_process_workers_then_resume(tmp_path):
    write_objective(tmp_path, sleep=0.15)
    (tmp_path / "run.yaml").write_text(
        "study: crash\nobjective: obj.py:objective\nmetric: loss\nsearcher: sobol\nseed: 0\n"
        "budget: {max_trials: 12}\nexecutor: processes\nn_workers: 2\n"
    )
    db = tmp_path / "tunelab.db"
    driver = tunelab_process("run", "run.yaml", "-q", cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            with sqlite3.connect(db) as conn:
                done = conn.execute(
                    "select count(*) from tunelab_trials where status = 'completed'"
                ).fetchone()[0]
                running = conn.execute(
                    "select count(*) from tunelab_trials where status = 'running'"
                ).fetchone()[0]
        except sqlite3.OperationalError:
            continue
        if done >= 3 and running >= 1:
            break
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    study = tl.load_study("crash", storage=db)
    completed_before = {
        t.number: t.ended_at for t in study.trials if t.status is tl.TrialStatus.COMPLETED
    }
    interrupted = [t.number for t in study.trials if t.status is tl.TrialStatus.RUNNING]
    assert completed_before and interrupted

    again = subprocess.run(
        [sys.executable, "-m", "tunelab.cli", "run", "run.yaml", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    trials = tl.load_study("crash", storage=db).trials
    completed = [t for t in trials if t.status is tl.TrialStatus.COMPLETED]
    assert len(completed) == 12
    for number, ended_at in completed_before.items():  # nothing recorded twice or rerun
        assert next(t for t in trials if t.number == number).ended_at == ended_at
    for number in interrupted:
        t = next(t for t in trials if t.number == number)
        assert t.failure is tl.FailureKind.INTERRUPTED
        assert any(r.retry_of == number for r in trials)
    assert all(len(t.reports) == 3 for t in completed)
