"""Request states are named once (docs/approvals.md#lifecycle).

Outside ``approvals/lifecycle/states.py`` (the enum and the named sets) and ``approvals/models/``
(the
database's own lists), code says ``RequestState.APPROVED`` or ``HOLDS_FUNDS``, never ``"approved"``:
a new state then shows up wherever the sets are read, and a renamed one cannot be missed.

A string is taken as a request state when it is a state's value and is used as one: compared
with something whose name says state (``request.state``, ``Decision.to_state``), passed to
``.in_``/``.not_in`` of such a thing, given as a ``*state*`` argument or assigned to one, or put
in a literal collection of strings at least two of which are states. The same words in other
senses (a ledger phase "pending", a step "cancelled", a policy "draft") are not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from approvals.lifecycle.states import RequestState

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger", "approvals", "reports", "web", "demo")
OWNERS = (ROOT / "approvals" / "lifecycle" / "states.py", ROOT / "approvals" / "models")
STATES = frozenset(state.value for state in RequestState)


def _says_state(node: ast.AST) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return "state" in name.lower()


def _state(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and node.value in STATES:
        return str(node.value)
    return None


def _states_in(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for s in map(_state, node.elts) if s]
    found = _state(node)
    return [found] if found else []


def literals_in(source: str) -> list[tuple[int, str]]:
    """(line, state) of every state literal used as a request state in ``source``."""
    hits: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_says_state(side) for side in sides):
                hits += [(node.lineno, s) for side in sides for s in _states_in(side)]
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("in_", "not_in")
                and _says_state(func.value)
            ):
                hits += [(node.lineno, s) for arg in node.args for s in _states_in(arg)]
            hits += [
                (node.lineno, s)
                for keyword in node.keywords
                if keyword.arg and "state" in keyword.arg.lower()
                for s in _states_in(keyword.value)
            ]
        elif isinstance(node, ast.Assign):
            if any(_says_state(target) for target in node.targets):
                hits += [(node.lineno, s) for s in _states_in(node.value)]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            strings = [e for e in node.elts if isinstance(e, ast.Constant)]
            states = _states_in(node)
            if len(states) >= 2 and len(strings) == len(node.elts):
                hits += [(node.lineno, s) for s in states]
    return sorted(set(hits))


def _sources() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if not any(path == owner or owner in path.parents for owner in OWNERS)
    ]


def test_no_request_state_is_spelled_out_in_code() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {state!r}"
        for path in _sources()
        for line, state in literals_in(path.read_text(encoding="utf-8"))
    ]
    assert found == [], (
        "use RequestState or a named set of approvals/lifecycle/states.py:\n" + "\n".join(found)
    )


_TEMPLATE_COMPARISON = re.compile(
    r"state\s*(?:==|!=|in|not in)\s*\(?\s*['\"](" + "|".join(sorted(STATES)) + r")['\"]"
)


def test_templates_are_given_flags_not_state_names() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sorted((ROOT / "web" / "templates").rglob("*.html"))
        for match in _TEMPLATE_COMPARISON.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_rule_sees_states_and_only_states() -> None:
    used = """
x = request.state == "approved"
q = FundRequest.state.in_(("approved", "part_paid"))
Decision(to_state="paid")
request.state = "draft"
COUNTED = ("pending", "info_requested")
"""
    assert [state for _, state in literals_in(used)] == [
        "approved",
        "approved",
        "part_paid",
        "paid",
        "draft",
        "info_requested",
        "pending",
    ]
    other = """
check.add("pending", "a transfer's phase")
transfers.c.phase == "pending"
step.status = "cancelled"
if policy.status != "draft": pass
moved = dict.fromkeys(("received", "refunds", "returned", "other"), 0)
"""
    assert literals_in(other) == []
