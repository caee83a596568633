"""Stored trial records built by hand, for tests that read a finished trial."""

from __future__ import annotations

from tunelab.trial import Report, TrialRecord, TrialStatus


def completed_record(reports: list[dict[str, float]], user_attrs: dict[str, object]) -> TrialRecord:
    """A completed trial that reported ``reports`` at steps 1, 2, ... and set ``user_attrs``."""
    return TrialRecord(
        study_id=1,
        trial_id=1,
        number=0,
        status=TrialStatus.COMPLETED,
        params={},
        proposal={},
        meta={},
        budget=None,
        value=1.0,
        metrics={},
        reports=tuple(Report(i + 1, m, float(i)) for i, m in enumerate(reports)),
        created_at=0.0,
        started_at=0.0,
        ended_at=1.0,
        user_attrs=user_attrs,
    )
