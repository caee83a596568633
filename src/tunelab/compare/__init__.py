"""The comparison harness: which tuning strategy wins at equal budget, over repeats.

``compare(...)`` (or ``tunelab compare CONFIG.yaml``) runs every strategy ``repeats``
times on one task with one budget, each run a study in one shared storage;
``load_comparison`` reads it all back without running anything, for
:func:`tunelab.report.write_report`.
"""

from __future__ import annotations

from tunelab.compare.components import Availability, check_strategy, resolve_task
from tunelab.compare.config import (
    ComparisonBudget,
    ComparisonConfig,
    ReportSettings,
    Strategy,
    load_compare_config,
    study_name,
)
from tunelab.compare.harness import ComparisonRunner, compare, run_comparison
from tunelab.compare.results import (
    ComparisonResults,
    RunResult,
    StrategyResult,
    comparison_names,
    load_comparison,
)
from tunelab.compare.trace import AnytimeTrace, Session, anytime_trace
from tunelab.errors import ConsecutiveFailuresError
from tunelab.executors.fail_fast import FailFastExecutor

__all__ = [
    "AnytimeTrace",
    "Availability",
    "ComparisonBudget",
    "ComparisonConfig",
    "ComparisonResults",
    "ComparisonRunner",
    "ConsecutiveFailuresError",
    "FailFastExecutor",
    "ReportSettings",
    "RunResult",
    "Session",
    "Strategy",
    "StrategyResult",
    "anytime_trace",
    "check_strategy",
    "compare",
    "comparison_names",
    "load_compare_config",
    "load_comparison",
    "resolve_task",
    "run_comparison",
    "study_name",
]
