"""``web/`` has no import cycle, not even through a package's ``__init__``.

The import-linter contract (``pyproject.toml``) keeps sibling packages from importing each other
in a circle; it does not see a page importing its own parent package (``from web import ...``)
while that package imports the page. This test walks every import inside ``web`` instead.
"""

from __future__ import annotations

import grimp


def _cycles(package: str) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan, iteratively)."""
    graph = grimp.build_graph(package)
    modules = sorted(graph.modules)
    edges = {
        m: sorted(n for n in graph.find_modules_directly_imported_by(m) if n in graph.modules)
        for m in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if child < len(edges[node]):
                work.append((node, child + 1))
                nxt = edges[node][child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_web_has_no_import_cycle() -> None:
    assert _cycles("web") == []
