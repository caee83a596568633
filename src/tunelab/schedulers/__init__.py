"""Schedulers decide how much budget each trial gets; look one up by name here.

Adding a scheduler: one module with a :class:`Scheduler` subclass, one test module,
and one line in ``SCHEDULERS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.configurable import build_from_spec, load_registered
from tunelab.schedulers.base import (
    Action,
    Done,
    Prune,
    Resume,
    Scheduler,
    SchedulerView,
    Start,
    Wait,
)

SCHEDULERS: dict[str, str] = {
    "asha": "tunelab.schedulers.asha:ASHAScheduler",
    "bohb": "tunelab.schedulers.bohb:BOHBScheduler",
    "fifo": "tunelab.schedulers.fifo:FIFOScheduler",
    "halving": "tunelab.schedulers.halving:HalvingScheduler",
    "hyperband": "tunelab.schedulers.hyperband:HyperbandScheduler",
    "median": "tunelab.schedulers.median:MedianStoppingScheduler",
    "pbt": "tunelab.schedulers.pbt:PBTScheduler",
}
"""Registry: name -> "module:class", imported on first use."""

__all__ = [
    "SCHEDULERS",
    "Action",
    "Done",
    "Prune",
    "Resume",
    "Scheduler",
    "SchedulerView",
    "Start",
    "Wait",
    "make_scheduler",
    "scheduler_class",
]


def scheduler_class(name: str) -> type[Scheduler]:
    cls: type[Scheduler] = load_registered(SCHEDULERS, name, "scheduler")
    return cls


def make_scheduler(spec: str | Scheduler | Mapping[str, Any] | None) -> Scheduler:
    """A scheduler from a name, an instance, ``{"name": ..., "options": {...}}`` or None (fifo)."""
    if isinstance(spec, Scheduler):
        return spec
    scheduler: Scheduler = build_from_spec(spec or "fifo", SCHEDULERS, "scheduler")
    return scheduler
