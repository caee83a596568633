"""The engine reads the time from :mod:`tunelab.clock`: a study run under an installed
clock stores that clock's times and counts its elapsed time on it."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunelab as tl
from tunelab import clock
from tunelab.storage import make_storage

START = 1_000_000.0  # 1970-01-12: far from any real time this test could run at
EPOCH_SECONDS = 5.0


class ManualClock(clock.Clock):
    """A clock that moves only when told to."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.offset = 0.0

    def now(self) -> float:
        return self.start + self.offset

    def monotonic(self) -> float:
        return self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def test_the_real_clocks_are_read_when_none_is_installed() -> None:
    fixed = ManualClock(START)
    with clock.use(fixed):
        assert clock.now() == START
        assert clock.monotonic() == 0.0
    assert clock.now() > START


def test_a_study_run_under_a_clock_stores_its_times_on_sqlite(tmp_path: Path) -> None:
    manual = ManualClock(START)

    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        for epoch in range(1, 3):
            manual.advance(EPOCH_SECONDS)
            trial.report(epoch, value=x + epoch)
        return x

    url = f"sqlite:///{tmp_path / 'clock.db'}"
    with clock.use(manual):
        study = tl.create_study("clocked", storage=url, seed=0)
        study.optimize(objective, max_trials=3, quiet=True)

    storage = make_storage(url, read_only=True)
    record = storage.get_study("clocked")
    assert record.created_at == START
    trials = storage.get_trials(record.study_id)
    assert [t.status for t in trials] == [tl.TrialStatus.COMPLETED] * 3
    for i, t in enumerate(trials):
        began = START + 2 * EPOCH_SECONDS * i
        assert (t.created_at, t.started_at) == (began, began)
        assert [r.time for r in t.reports] == [began + EPOCH_SECONDS, began + 2 * EPOCH_SECONDS]
        assert t.ended_at == began + 2 * EPOCH_SECONDS
    # The study's elapsed time is the installed clock's, not the seconds the test took.
    assert record.elapsed_seconds == pytest.approx(6 * EPOCH_SECONDS)
