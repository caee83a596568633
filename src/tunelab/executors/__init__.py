"""Executors run trials: inline (this process), in local processes, on a Ray cluster, or on
simulated workers with a simulated clock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.configurable import build_from_spec
from tunelab.executors.base import Executor, Objective, TrialEnded, TrialJob, run_trial

EXECUTORS: dict[str, str] = {
    "inline": "tunelab.executors.inline:InlineExecutor",
    "processes": "tunelab.executors.processes:ProcessExecutor",
    "ray": "tunelab.executors.ray:RayExecutor",
    "simulated": "tunelab.executors.simulated:SimulatedExecutor",
}
"""Registry: name -> "module:class", imported on first use."""

__all__ = [
    "EXECUTORS",
    "Executor",
    "Objective",
    "TrialEnded",
    "TrialJob",
    "make_executor",
    "run_trial",
]


def make_executor(spec: str | Executor | Mapping[str, Any], **options: Any) -> Executor:
    """An executor from a name (with ``options``), a mapping or an instance."""
    if isinstance(spec, Executor):
        return spec
    if isinstance(spec, str) and options:
        spec = {"name": spec, "options": options}
    executor: Executor = build_from_spec(spec, EXECUTORS, "executor")
    return executor
