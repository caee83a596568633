"""What a study stores so that workers can join it: its objective and budget.

Whoever runs a study first stores how to run it (the objective as an importable
reference, or a built-in task with its options, and the budget) under :data:`RUN_KEY`;
a worker rebuilds the objective with :func:`load_objective`. The study facade writes it
and the worker entry point reads it, so this module imports neither.
"""

from __future__ import annotations

import importlib.machinery
import sys
from pathlib import Path
from typing import Any

from tunelab.budget import Budget
from tunelab.errors import ConfigError
from tunelab.executors import Objective

RUN_KEY = "tunelab.run"
"""The study attribute holding the run specification."""


def objective_reference(objective: Objective) -> dict[str, Any] | None:
    """How another process can rebuild ``objective``; None when it cannot (a lambda)."""
    from tunelab.tasks import TASKS
    from tunelab.tasks.base import Task

    if isinstance(objective, Task):
        if getattr(objective, "name", None) in TASKS:
            return {"task": objective.name, "options": objective.options()}
        return None
    module_name = getattr(objective, "__module__", None)
    qualname = getattr(objective, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname:
        return None
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if file and not Path(file).is_file():  # a script read from stdin ("<stdin>")
        file = None
    # The file path lets a worker started from another folder find a script's module.
    located = {"file": f"{Path(file).resolve()}:{qualname}"} if file else {}
    if module_name != "__main__" and _on_path(module_name):
        return {"objective": f"{module_name}:{qualname}", **located}
    if located:
        return {"objective": located["file"]}
    return None


def _on_path(module_name: str) -> bool:
    """Whether another process can import the module by name (a module loaded from a
    file under a made-up name is in sys.modules but not on the path)."""
    top = module_name.split(".", maxsplit=1)[0]
    return importlib.machinery.PathFinder.find_spec(top) is not None


def run_spec(objective: Objective, budget: Budget) -> dict[str, Any]:
    """What is stored with a study so that workers can join it."""
    return {
        "objective": objective_reference(objective),
        "budget": {
            "max_trials": budget.max_trials,
            "max_epochs": budget.max_epochs,
            "max_seconds": budget.max_seconds,
        },
    }


def load_objective(reference: dict[str, Any] | str) -> Objective:
    """Rebuild an objective from :func:`objective_reference`'s form or a "module:function"."""
    from tunelab.config import import_objective
    from tunelab.tasks import make_task

    if isinstance(reference, str):
        return import_objective(reference)
    if "task" in reference:
        task: Objective = make_task(reference["task"], **dict(reference.get("options") or {}))
        return task
    try:
        return import_objective(str(reference["objective"]))
    except ConfigError:
        if "file" not in reference:
            raise
        return import_objective(str(reference["file"]))
