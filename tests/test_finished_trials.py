"""FinishedTrials: number order, and the older trials read once, only when first used."""

from __future__ import annotations

from tunelab.finished_trials import FinishedTrials
from tunelab.trial import TrialRecord, TrialStatus


def record(number: int) -> TrialRecord:
    return TrialRecord(
        study_id=1,
        trial_id=number + 1,
        number=number,
        status=TrialStatus.COMPLETED,
        params={},
        proposal={},
        meta={},
        budget=None,
        value=float(number),
        metrics={},
        reports=(),
        created_at=0.0,
        started_at=0.0,
        ended_at=0.0,
    )


def test_older_trials_are_read_on_first_use_only_and_merged_in_number_order():
    reads: list[int] = []

    def older() -> list[TrialRecord]:
        reads.append(1)
        return [record(0), record(2)]

    trials = FinishedTrials(older)
    trials.add(record(5))
    trials.add(record(1))  # a trial that was live when the study was loaded
    assert reads == [] and not trials.loaded

    assert [t.number for t in trials] == [0, 1, 2, 5]
    assert len(trials) == 4 and trials[-1].number == 5
    assert reads == [1] and trials.loaded


def test_adding_after_the_read_keeps_number_order_and_remove_drops_one():
    trials = FinishedTrials(lambda: [record(0), record(3)])
    assert len(trials) == 2
    trials.add(record(4))
    trials.add(record(1))
    trials.remove_number(3)
    assert [t.number for t in trials] == [0, 1, 4]


def test_without_older_trials_it_is_a_plain_ordered_list():
    trials = FinishedTrials()
    assert trials.loaded and len(trials) == 0
    trials.add(record(2))
    trials.add(record(0))
    assert [t.number for t in trials[:2]] == [0, 2]
