"""The layout of ``src/tunelab``: no import cycles, small files, layers that point one way.

The graph is built statically with :mod:`ast` from every ``import`` statement in every
module: module level, inside functions and under ``if TYPE_CHECKING:`` alike, since a
lazy or type-only import still ties two modules together. Relative imports are resolved
against the importing module, and ``from pkg import name`` points at ``pkg.name`` when
``name`` is a submodule, else at ``pkg`` itself.

An import names only the module it names: ``import tunelab.storage.sql`` is an edge to
``tunelab.storage.sql``, not to ``tunelab`` and ``tunelab.storage``, even though Python
also runs those packages' ``__init__``. Counting those implicit edges would make every
package ``__init__`` that re-exports its submodules a cycle with each of them, and a
package's ``__init__`` importing its own submodules is the normal facade. A submodule
that imports its parent package explicitly (``from tunelab.storage import X`` inside
``tunelab.storage.sql``) is an ordinary edge, so together with the ``__init__``'s
re-export it *is* reported as a cycle: it works only through import order, and the fix is
to import ``X`` from the module that defines it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "tunelab"
MAX_LINES = 500
SOURCE_SUFFIXES = {".py", ".js", ".css", ".html"}

Graph = Mapping[str, frozenset[str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve_base(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    # A package's own name is the anchor of its level-1 relative imports.
    anchor = importer.split(".") if is_package else importer.split(".")[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def _imported(tree: ast.AST, importer: str, is_package: bool, known: set[str]) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_base(node, importer, is_package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in known else base


@cache
def import_graph() -> Graph:
    """Each tunelab module mapped to the tunelab modules it imports."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = _imported(tree, name, path.name == "__init__.py", known)
        graph[name] = frozenset(t for t in targets if t in known and t != name)
    return graph


def find_cycles(graph: Graph) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan): the sets of
    modules that import each other, directly or around a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components, key=min)


def describe(graph: Graph, component: set[str]) -> str:
    """One concrete cycle through a component, and the component's other members."""
    cycle = _cycle_through(graph, component)
    others = sorted(component - set(cycle))
    return " -> ".join(cycle) + (f"  (same knot: {', '.join(others)})" if others else "")


def _cycle_through(graph: Graph, component: set[str]) -> list[str]:
    """A shortest cycle from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def reachable(graph: Graph, start: str) -> dict[str, list[str]]:
    """Every module ``start`` imports directly or through others, with one import chain."""
    chains = {start: [start]}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt not in chains:
                    chains[nxt] = [*chains[node], nxt]
                    following.append(nxt)
        frontier = following
    del chains[start]
    return chains


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_the_graph_covers_every_module_of_the_package() -> None:
    graph = import_graph()
    assert set(graph) == set(_modules())
    assert {"tunelab", "tunelab.space", "tunelab.space.params", "tunelab.plot.data"} <= set(graph)
    assert "tunelab.study" in graph["tunelab"]


def test_imports_resolve_relative_lazy_type_only_and_submodule_forms() -> None:
    known = {"pkg", "pkg.sub", "pkg.sub.a", "pkg.sub.b", "pkg.c", "pkg.d", "pkg.e"}
    source = """
from typing import TYPE_CHECKING
from . import b
from .. import c
from ..sub import a as alias
import pkg.e
if TYPE_CHECKING:
    from pkg.sub.a import Thing
def later():
    from pkg import d, helper
"""
    found = set(_imported(ast.parse(source), "pkg.sub.b", False, known))
    assert found == {"typing", "pkg.sub.b", "pkg.c", "pkg.sub.a", "pkg.e", "pkg.d", "pkg"}
    # In a package's __init__, "." is the package itself.
    assert set(_imported(ast.parse("from . import a"), "pkg.sub", True, known)) == {"pkg.sub.a"}


def test_find_cycles_names_each_cycle_as_a_chain() -> None:
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a"}),
        "d": frozenset({"a"}),
        "e": frozenset({"f"}),
        "f": frozenset({"e"}),
    }
    cycles = find_cycles(graph)
    assert cycles == [{"a", "b", "c"}, {"e", "f"}]
    assert [describe(graph, cycle) for cycle in cycles] == ["a -> b -> c -> a", "e -> f -> e"]
    assert find_cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


def test_describe_names_the_rest_of_a_knot() -> None:
    graph = {"a": frozenset({"b", "c"}), "b": frozenset({"a"}), "c": frozenset({"a"})}
    assert describe(graph, {"a", "b", "c"}) == "a -> b -> a  (same knot: c)"


def _cycles_message(graph: Graph, cycles: list[set[str]]) -> str:
    return "import cycles among tunelab's modules:\n" + "\n".join(
        "  " + describe(graph, cycle) for cycle in cycles
    )


def test_tunelab_has_no_import_cycle() -> None:
    graph = import_graph()
    cycles = find_cycles(graph)
    if cycles:
        pytest.fail(_cycles_message(graph, cycles), pytrace=False)


def _long_files() -> dict[str, int]:
    files = [
        path
        for path in sorted((SRC / PACKAGE).rglob("*"))
        if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts
    ]
    assert files
    return {
        module_name(path) if path.suffix == ".py" else str(path.relative_to(SRC)): count
        for path in files
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }


def test_no_source_file_under_src_is_over_500_lines() -> None:
    long = _long_files()
    if long:
        pytest.fail(f"files over {MAX_LINES} lines: {long}", pytrace=False)


def _reached(importer: str, package: str) -> dict[str, list[str]]:
    """The modules of ``package`` that importing ``importer`` loads, directly or not."""
    return {
        module: chain
        for module, chain in reachable(import_graph(), importer).items()
        if _in_package(module, package)
    }


def _chains(found: Mapping[str, list[str]]) -> str:
    return "\n".join("  " + " -> ".join(chain) for chain in found.values())


def test_trial_records_import_no_storage_module() -> None:
    found = _reached("tunelab.trial", "tunelab.storage")
    if found:
        pytest.fail("tunelab.trial reaches storage:\n" + _chains(found), pytrace=False)


def test_the_runner_does_not_import_the_study_facade() -> None:
    runner = [name for name in import_graph() if _in_package(name, "tunelab.runner")]
    assert runner
    found = {
        key: chain for name in runner for key, chain in _reached(name, "tunelab.study").items()
    }
    if found:
        pytest.fail("the runner reaches the study facade:\n" + _chains(found), pytrace=False)


def test_the_worker_entry_point_sits_above_the_study_and_its_loop() -> None:
    reached = reachable(import_graph(), "tunelab.worker")
    assert {"tunelab.study", "tunelab.runner"} <= set(reached)
