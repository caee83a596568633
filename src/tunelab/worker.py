"""Workers that join a study: ``tunelab worker --study NAME --storage URL``.

Whoever runs a study first stores how to run it (the objective as an importable
reference, or a built-in task with its options, and the budget) with the study. Any
number of workers, started at any time on any machine that reaches the storage, load
that and optimize the same study together: they share its searcher and scheduler
state through the storage and never run the same trial (see :mod:`tunelab.runner`).

The Python equivalent is ``tl.load_study(name, storage=url).optimize(objective, ...)``
in each worker, or :func:`run_worker`.
"""

from __future__ import annotations

from typing import Any

from tunelab.budget import BudgetUsage
from tunelab.errors import ConfigError
from tunelab.executors import Objective
from tunelab.stored_run import RUN_KEY, load_objective, objective_reference, run_spec

__all__ = ["RUN_KEY", "load_objective", "objective_reference", "run_spec", "run_worker"]


def run_worker(
    study: str,
    *,
    storage: str | None = None,
    objective: Objective | str | None = None,
    max_trials: int | None = None,
    max_epochs: int | None = None,
    max_seconds: float | None = None,
    **optimize_options: Any,
) -> BudgetUsage:
    """Join study ``study`` as one more worker until its budget is used.

    The objective and budget come from the study unless given here.
    """
    from tunelab.study import load_study

    st = load_study(study, storage=storage)
    spec: dict[str, Any] = st.user_attrs.get(RUN_KEY) or {}
    if objective is None:
        if not spec.get("objective"):
            raise ConfigError(
                f"study {study!r} has no stored objective (it was run with a lambda, or with "
                "an objective defined interactively, in python -c or in a script read from "
                "stdin); give one: --objective module:function"
            )
        objective = load_objective(spec["objective"])
    elif isinstance(objective, str):
        objective = load_objective(objective)
    stored = spec.get("budget") or {}
    return st.optimize(
        objective,
        max_trials=max_trials if max_trials is not None else stored.get("max_trials"),
        max_epochs=max_epochs if max_epochs is not None else stored.get("max_epochs"),
        max_seconds=max_seconds if max_seconds is not None else stored.get("max_seconds"),
        **optimize_options,
    )
