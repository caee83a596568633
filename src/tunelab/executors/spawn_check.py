"""Whether spawned worker processes can start and load the objective, and what to fix if not.

A worker process started with ``spawn`` first runs the driver's main script again (as
``__mp_main__``) so that what the script defines, such as the objective, can be
unpickled there. A script read from stdin cannot be read again, and a script without an
``if __name__ == "__main__":`` guard would run the study again in every worker (which
dies there: a process may not start processes while it is being imported). Both are
refused before any worker starts; the messages say how to fix them.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import Any

_GUARD = 'if __name__ == "__main__":'


def main_script_problem(executor: str) -> str | None:
    """Why workers spawned now could not start (None: they can), as one line."""
    path = _rerun_main_path()
    if path is None:
        return None
    if not Path(path).is_file():
        # python - < script.py: __file__ is "<stdin>"
        where = "stdin" if Path(path).name == "<stdin>" else f"{path}, which is gone"
        return (
            f"executor {executor!r} cannot run from a script read from {where}: each worker "
            "process it spawns reads the main script again to import what it defines (the "
            "objective), and that cannot be read twice; save the script to a file and put "
            f"the code that runs the study under `{_GUARD}`"
        )
    if not _has_main_guard(path):
        return (
            f"the script {path} has no `{_GUARD}` guard, so each worker process that "
            f"executor {executor!r} spawns would run the study again when it imports the "
            "script's objective; put the code that runs the study under that guard"
        )
    return None


def cannot_load_message(objective: Any, error: str) -> str:
    """The reason a worker could not unpickle ``objective`` (``error``), with the fix."""
    name = _name(objective)
    if _module(objective) == "__main__":
        return (
            f"a worker process cannot load the objective `{name}`: it is defined in __main__ "
            "of a session without a script file (python -c or an interactive interpreter), "
            "which spawned worker processes cannot import; define it in a module (a .py file) "
            f"the workers can import ({error})"
        )
    return (
        f"a worker process cannot load the objective `{name}` ({error}); define it in a "
        "module the workers can import"
    )


def start_failure_message(exit_description: str) -> str:
    """A worker died while starting, before it could load the objective."""
    path = _rerun_main_path()
    where = f"the main script {path} again" if path else "tunelab"
    return (
        f"a worker process died {exit_description} while starting (importing {where}), "
        "before it could load the objective; its error is printed above"
    )


def _rerun_main_path() -> str | None:
    """The file a spawned process runs again as ``__mp_main__`` (as multiprocessing's
    ``spawn.get_preparation_data`` and ``prepare`` decide), or None."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    module = getattr(getattr(main, "__spec__", None), "name", None)
    if module is not None:
        # python -m package runs package/__main__.py, which spawn never runs again.
        return None if module == "__main__" or module.endswith(".__main__") else path
    if path is None or Path(path).stem == "ipython":  # -c, a REPL, IPython's launcher
        return None
    return os.path.normpath(os.path.abspath(path))


def _has_main_guard(path: str) -> bool:
    """Whether the script compares ``__name__`` anywhere (the usual guard, or a variant)."""
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return True  # the script changed since it started: let the worker tell
    return any(
        isinstance(node, ast.Compare)
        and any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(node))
        for node in ast.walk(tree)
    )


def _module(objective: Any) -> str | None:
    module = getattr(objective, "__module__", None)
    return module if isinstance(module, str) else None


def _name(objective: Any) -> str:
    return str(
        getattr(objective, "__qualname__", None) or getattr(type(objective), "__qualname__", "?")
    )
