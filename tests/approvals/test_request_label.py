"""A request has one name, ``R-0042``, formatted in one place."""

from __future__ import annotations

import re
from pathlib import Path

from approvals.lifecycle.requests import request_label
from approvals.models import FundRequest

ROOT = Path(__file__).resolve().parents[2]
# a hand-made label: R- followed by a zero-padded number, in Python or in a template
COPY = re.compile(r"""R-\{[^}]*:04d\}|R-\{\{ *'%04d'""")


def test_a_request_is_named_by_its_number() -> None:
    assert request_label(FundRequest(number=42)) == "R-0042"
    assert request_label(7) == "R-0007"
    assert request_label(12345) == "R-12345"


def test_no_other_module_or_template_formats_the_label_itself() -> None:
    found = [
        str(path.relative_to(ROOT))
        for package in ("ledger", "approvals", "reports", "web")
        for path in (ROOT / package).rglob("*")
        if path.suffix in (".py", ".html", ".txt")
        and path != ROOT / "approvals" / "lifecycle" / "requests.py"
        and COPY.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
