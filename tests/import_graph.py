"""The import graph of a package read from its source (AST), and the cycles in it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edge:
    """One import statement: `source` imports `target` at `line`, at module level or lazily."""

    source: str
    target: str
    line: int
    lazy: bool


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package in folder `root`."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.Module):
    """(import node, lazy) for every import that runs, skipping `if TYPE_CHECKING:` bodies."""
    stack = [(node, False) for node in reversed(tree.body)]
    while stack:
        node, lazy = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, lazy
            continue
        inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        children = list(ast.iter_child_nodes(node))
        if _is_type_checking(node):
            children = list(node.orelse)
        stack += [(child, inner) for child in reversed(children)]


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in: the longest dotted prefix that is a module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        package = package[: len(package) - node.level + (1 if is_package else 0)]
        base = ".".join(package + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names]


def import_edges(root: Path) -> list[Edge]:
    """Every import inside the package at `root` that names another module of the package."""
    modules = module_names(root)
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, lazy in _statements(tree):
            names = _targets(node, module, path.name == "__init__.py")
            found = {_resolve(name, modules) for name in names}
            for target in sorted(t for t in found if t and t != module):
                edges.append(Edge(module, target, node.lineno, lazy))
    return edges


def cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One closed path of edges through each strongly connected group of modules."""
    graph: dict[str, list[Edge]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge)
    found = []
    for group in _strongly_connected(graph):
        if len(group) > 1:
            found.append(_loop_through(min(group), group, graph))
    return found


def _strongly_connected(graph: dict[str, list[Edge]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (a deep package must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph.get(start, [])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            edge = next(children, None)
            if edge is not None:
                child = edge.target
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _loop_through(start: str, group: set[str], graph: dict[str, list[Edge]]) -> list[Edge]:
    """The shortest path of edges inside `group` from `start` back to `start` (breadth first)."""
    came_by: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for edge in graph.get(node, []):
                if edge.target not in group or edge.target in came_by:
                    continue
                came_by[edge.target] = edge
                if edge.target == start:
                    return _walk_back(start, came_by)
                following.append(edge.target)
        frontier = following
    raise AssertionError(f"no loop through {start} in {sorted(group)}")


def _walk_back(start: str, came_by: dict[str, Edge]) -> list[Edge]:
    path = [came_by[start]]
    while path[-1].source != start:
        path.append(came_by[path[-1].source])
    return path[::-1]


def describe(loop: list[Edge]) -> str:
    """`a -> b (line 12, lazy) -> a (line 3)`: the cycle as one line a reader can follow."""
    steps = [loop[0].source]
    for edge in loop:
        how = f"line {edge.line}" + (", lazy" if edge.lazy else "")
        steps.append(f"{edge.target} ({edge.source} {how})")
    return " -> ".join(steps)
