"""Built-in tasks, by name.

The registry holds import paths rather than classes so that importing tunelab never
imports torch; a task's module is imported when :func:`make_task` builds it.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from tunelab.errors import ConfigError
from tunelab.tasks.base import Task

TASKS: dict[str, str] = {
    "digits_mlp": "tunelab.tasks.mlp:DigitsMLP",
    "mnist_mlp": "tunelab.tasks.mlp:MnistMLP",
    "fashion_mlp": "tunelab.tasks.mlp:FashionMLP",
    "mnist_gan": "tunelab.tasks.gan:MnistGAN",
    "synthetic_curves": "tunelab.tasks.curves:LearningCurves",
    "digits_mlp_table": "tunelab.tasks.tabular:DigitsMLPTable",
    "mnist_mlp_table": "tunelab.tasks.tabular:MnistMLPTable",
    "mnist_gan_table": "tunelab.tasks.tabular:MnistGANTable",
    "tabular": "tunelab.tasks.tabular:TabularTask",
}
"""Task name -> ``"module:ClassName"``."""

__all__ = ["TASKS", "Task", "make_task"]


def make_task(name: str, **options: Any) -> Task:
    """Build the built-in task ``name`` with its constructor ``options``.

    Unknown names and options raise :class:`~tunelab.errors.ConfigError` listing what
    is available, so a typo in a YAML file or on the command line reads clearly.
    """
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; available: {', '.join(sorted(TASKS))}")
    module_name, _, class_name = TASKS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    signature = inspect.signature(cls)
    try:
        signature.bind(**options)
    except TypeError as exc:
        accepted = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        unknown = sorted(set(options) - set(accepted))
        what = f"unknown option(s) {', '.join(map(repr, unknown))}" if unknown else str(exc)
        raise ConfigError(
            f"task {name!r}: {what}; accepted options: {', '.join(accepted)}"
        ) from None
    task: Task = cls(**options)
    return task
