"""The code's shape, measured: the largest production modules and the longest functions.

Not a speed benchmark: the figures docs/architecture.md aims at (no production module over 400
lines) are printed, never asserted. Production means the five packages, not tests/ or
migrations/.

    .venv/bin/python -m bench.code_shape            # this checkout
    .venv/bin/python -m bench.code_shape /some/tree  # another checkout, e.g. an older commit
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = ("ledger", "approvals", "reports", "web", "demo")
MODULE_LIMIT = 400
FUNCTION_LIMIT = 60


def measure(root: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(lines, module) and (lines, module:function), each longest first."""
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            name = str(path.relative_to(root))
            modules.append((text.count("\n"), name))
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    functions.append((length, f"{name}:{node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    modules, functions = measure(Path(args[0] if args else "."))
    over = sum(1 for lines, _ in modules if lines > MODULE_LIMIT)
    print(f"modules: {len(modules)}, over {MODULE_LIMIT} lines: {over}")
    for lines, name in modules[:8]:
        print(f"  {lines:5d}  {name}")
    long = sum(1 for lines, _ in functions if lines > FUNCTION_LIMIT)
    print(f"functions over {FUNCTION_LIMIT} lines: {long}")
    for lines, name in functions[:8]:
        print(f"  {lines:5d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
