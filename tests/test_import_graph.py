"""No import circles among archviz's modules (issue 20, item 16): the import graph, read from the
source with ast, is acyclic. Every import counts, those inside functions included (a lazy import
is still a dependency); only imports under `if TYPE_CHECKING:` (annotations) are left out. The
data flows one way: record -> render, catalog -> files, dashboard pages -> widgets."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "archviz"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(current: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    base = current.split(".") if is_package else current.split(".")[:-1]
    if node.level:
        base = base[:len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    names = [f"{prefix}.{a.name}" for a in node.names]
    return [prefix, *names]


class Imports(ast.NodeVisitor):
    def __init__(self, current: str, is_package: bool, known: set[str]) -> None:
        self.current, self.is_package, self.known, self.found = current, is_package, known, set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found |= {a.name for a in node.names if a.name in self.known}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for name in resolve(self.current, self.is_package, node):
            if name in self.known:
                self.found.add(name)


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        visitor = Imports(name, path.name == "__init__.py", set(files))
        visitor.visit(ast.parse(path.read_text()))
        # a package's own __init__ is imported by any of its modules: not an edge of the code's design
        graph[name] = {m for m in visitor.found if m != name and not name.startswith(m + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_three_named_circles_are_gone():
    g = import_graph()
    assert "archviz.record" not in {m for m in g if m.startswith("archviz.render")} and not any(
        "archviz.record" in g[m] for m in g if m.startswith("archviz.render"))
    assert "archviz.dashboard.app" not in g["archviz.dashboard.atlas"]
    assert "archviz.store" not in g["archviz.catalog"]


def test_no_import_circles():
    assert cycles(import_graph()) == []
