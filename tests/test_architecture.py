"""The shape of the tree (docs/architecture.md): imports go one way, modules stay small enough
to hold in one's head, and a view fits on a screen.

Read from the source with `ast`, without importing anything: an import inside a function
counts as much as one at the top of a module (hiding a cycle in a function is still a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("forum", "realtime", "moderation")
MODULE_LINES_MAX = 600
VIEW_LINES_MAX = 60


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the packages (migrations apart: Django writes
    them and they import nothing of ours that imports them back)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The project modules an import statement loads (`from a import b` may load a.b)."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = {prefix} | {f"{prefix}.{alias.name}" for alias in node.names}
    return {name for name in names if name in MODULES and name != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in its body."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _targets(module, path.name == "__init__.py", node)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), plus any module
    that imports itself: each is an import cycle."""
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
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _is_views_module(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] == "views" or parts[-1].endswith("_views") or "views" in parts[:-1]


def views() -> list[tuple[str, str, int]]:
    """(module, function, lines) for every view of forum/: the top-level functions of its
    views modules, and any function anywhere in forum/ that takes the request first."""
    found = []
    for module, path in MODULES.items():
        if not module.startswith("forum"):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        in_views = _is_views_module(module)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            args = node.args.posonlyargs + node.args.args
            takes_request = bool(args) and args[0].arg == "request"
            if in_views or takes_request:
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                found.append((module, node.name, node.end_lineno - start + 1))
    return found


def test_the_graph_sees_imports_inside_functions_too():
    # The walk itself: a function-level import is an edge like any other.
    tree = ast.parse("def f():\n    from forum.models import Seat\n")
    [node] = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert _targets("forum.selectors", False, node) == {"forum.models"}
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycle_among_forum_realtime_and_moderation():
    assert len(MODULES) > 50, "the walk found too few modules to mean anything"
    assert cycles(import_graph()) == []


def test_no_module_in_forum_is_over_600_lines():
    long = {
        module: lines
        for module, path in MODULES.items()
        if module.startswith("forum")
        and (lines := len(path.read_text().splitlines())) > MODULE_LINES_MAX
    }
    assert long == {}


def test_no_view_is_over_a_screen():
    found = views()
    assert {name for _, name, _ in found} >= {"room", "join", "minutes_export", "room_detail"}
    long = {f"{module}.{name}": lines for module, name, lines in found if lines > VIEW_LINES_MAX}
    assert long == {}
