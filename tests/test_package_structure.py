"""The package's internal import graph: one responsibility per module, no cycles.

Imports inside functions count: a lazy import is still a dependency.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sklearn_rnn"


def import_graph():
    """{module: set of the package's modules it imports}, "" being the package root."""
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        name = "" if path.stem == "__init__" else path.stem
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module is None:  # from . import x, y
                    imported.update(alias.name for alias in node.names)
                else:
                    imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn_rnn"):
                parts = node.module.split(".")
                imported.add(parts[1] if len(parts) > 1 else "")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("sklearn_rnn"):
                        parts = alias.name.split(".")
                        imported.add(parts[1] if len(parts) > 1 else "")
        graph[name] = imported
    return graph


def find_cycle(graph):
    """A list of modules forming a cycle, or None."""
    state = {}

    def visit(module, path):
        state[module] = "open"
        for dependency in sorted(graph.get(module, ())):
            if state.get(dependency) == "open":
                return path[path.index(dependency) :] + [dependency]
            if dependency not in state:
                cycle = visit(dependency, path + [dependency])
                if cycle:
                    return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [module])
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_cycle():
    assert find_cycle(import_graph()) is None


def test_nothing_inside_the_package_imports_its_root():
    importers = [module for module, imported in import_graph().items() if "" in imported and module]
    assert importers == []


@pytest.mark.parametrize("leaf", ["_persistence", "_modules", "_version", "_callbacks"])
def test_leaves_import_no_estimator_module(leaf):
    estimator_modules = {"", "_base", "_regressor", "_classifier", "_transformer", "_net"}
    assert not import_graph()[leaf] & estimator_modules


def test_estimator_modules_do_not_import_each_other():
    graph = import_graph()
    estimators = {"_regressor", "_classifier", "_transformer"}
    for module in estimators:
        assert not graph[module] & estimators, module


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
