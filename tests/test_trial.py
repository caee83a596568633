"""The objective's side of checkpoints: trial.report(checkpoint=...) and load_checkpoint()."""

from __future__ import annotations

import tunelab as tl
from tunelab.storage.artifacts import CheckpointRef
from tunelab.trial import TrialChannel


def test_checkpoint_is_taken_only_when_the_trial_is_paused_and_stored_before_report_raises():
    calls: list[tuple[int, int]] = []
    seen: list[tuple[int, object]] = []
    # halving from 1 to 3 epochs, eta 3: three trials train 1 epoch and pause, one resumes.
    study = tl.create_study(
        metric="score",
        mode="max",
        storage=":memory:",
        seed=0,
        scheduler={"name": "halving", "max_epochs": 3, "eta": 3},
    )

    def objective(trial: tl.Trial) -> None:
        x = trial.hp.Float("x", 0.0, 1.0)
        state = trial.load_checkpoint()
        seen.append((trial.number, state))
        start = 0 if state is None else state["epoch"]
        for epoch in range(start + 1, trial.budget + 1):

            def save(epoch: int = epoch, number: int = trial.number) -> dict[str, int]:
                calls.append((number, epoch))
                return {"epoch": epoch}

            try:
                trial.report(epoch, score=x * epoch, checkpoint=save)
            except tl.TrialPaused:
                # Already on disk when report raises.
                assert study.artifacts.exists(CheckpointRef(trial.number, epoch))
                raise

    study.optimize(objective, max_epochs=5, quiet=True)
    assert calls == [(0, 1), (1, 1), (2, 1)]  # never at a step that continued or completed
    fresh = [state for _, state in seen[:3]]
    assert fresh == [None, None, None]
    best = max(study.trials[:3], key=lambda t: t.params["x"]).number
    assert seen[3] == (best, {"epoch": 1})  # the resumed trial got its own state back
    assert all("checkpoint" not in r.metrics for t in study.trials for r in t.reports)


def test_a_plain_state_is_accepted_instead_of_a_function():
    study = tl.create_study(
        metric="score",
        mode="max",
        storage=":memory:",
        seed=1,
        scheduler={"name": "halving", "max_epochs": 3, "eta": 3},
    )
    resumed: list[object] = []

    def objective(trial: tl.Trial) -> None:
        x = trial.hp.Float("x", 0.0, 1.0)
        state = trial.load_checkpoint()
        if state is not None:
            resumed.append(state)
        start = 0 if state is None else state["epoch"]
        for epoch in range(start + 1, trial.budget + 1):
            trial.report(epoch, score=x, checkpoint={"epoch": epoch, "x": x})

    study.optimize(objective, max_epochs=5, quiet=True)
    (state,) = resumed
    assert state["epoch"] == 1
    assert state["x"] == max(t.params["x"] for t in study.trials)


def test_without_a_study_store_load_checkpoint_is_none():
    class Channel(TrialChannel):
        def resolve_param(self, number, param, config):
            raise AssertionError

        def report(self, number, step, metrics, params):
            return tl.Decision.PAUSE

        def set_user_attr(self, number, key, value):
            pass

    trial = tl.Trial(0, {}, tl.Space(), Channel())
    assert trial.load_checkpoint() is None
    try:
        trial.report(1, loss=1.0, checkpoint=lambda: {"epoch": 1})
    except tl.TrialPaused:
        pass
    else:
        raise AssertionError("a paused trial must raise TrialPaused")
