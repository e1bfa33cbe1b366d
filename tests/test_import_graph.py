"""The apps' import graph, read from the source (every import, module level or inside a function).

The shape it holds (CONTRIBUTING.md, "Layout"):
- ``scrapers`` is plain Python: it imports no Django and no other app;
- ``accounts`` reaches ``actors`` only through the sending interface
  (``actors.queues``, ``actors.errors``, ``actors.sending``);
- no import cycle runs through modules of two different apps.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("site_config", "accounts", "actors", "scrapers")
ACTORS_INTERFACE = {"actors.queues", "actors.errors", "actors.sending"}


def project_modules(root: Path) -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest project module ``name`` is or lies in (``a.b.func`` → ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module → the project modules it imports."""
    modules = project_modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                target = _resolve(name, modules)
                if target and target != module:
                    targets.add(target)
        graph[module] = targets
    return graph


def _app(module: str) -> str:
    return module.split(".")[0]


def cross_app_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan) that hold modules of more than one app."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len({_app(m) for m in component}) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def external_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


GRAPH = import_graph()


def test_the_graph_sees_every_app():
    assert {_app(m) for m in GRAPH} == set(APPS)
    assert "actors.sending" in GRAPH["accounts.services.cedulas"]  # a function-free import is seen
    assert "accounts.services.cedulas" in GRAPH["actors.lookups"]


def test_no_import_cycle_runs_through_two_apps():
    assert cross_app_cycles(GRAPH) == []


def test_the_cycle_finder_does_find_a_cross_app_cycle():
    # Positive control: the check above must be able to fail.
    graph = {k: set(v) for k, v in GRAPH.items()}
    graph["actors.sending"].add("accounts.services.cedulas")
    cycles = cross_app_cycles(graph)
    assert any({"actors.sending", "accounts.services.cedulas"} <= set(c) for c in cycles)


def test_accounts_reaches_actors_only_through_the_sending_interface():
    used = {
        t for m, targets in GRAPH.items() if _app(m) == "accounts" for t in targets if _app(t) == "actors"
    }
    assert used <= ACTORS_INTERFACE, used - ACTORS_INTERFACE


@pytest.mark.parametrize("module", sorted(m for m in ACTORS_INTERFACE if m != "actors.sending"))
def test_the_interface_leaves_import_no_other_project_module(module):
    assert GRAPH[module] == set()


def test_scrapers_import_no_other_app_and_no_django():
    for module, targets in GRAPH.items():
        if _app(module) != "scrapers":
            continue
        assert {_app(t) for t in targets} <= {"scrapers"}, (module, targets)
        assert "django" not in external_imports(project_modules(ROOT)[module]), module


def test_no_app_imports_the_project_package_but_site_config_itself():
    offenders = {
        (m, t)
        for m, targets in GRAPH.items()
        for t in targets
        if _app(t) == "site_config" and _app(m) != "site_config"
    }
    assert offenders == set()
