"""The code cites only the repository's own design docs, and every cited doc and section exists.

Comments and docstrings point a reader at ``docs/...`` (docs/architecture.md). A citation of a
document that is not in the repository, or of a file or heading that was renamed, sends the
reader nowhere; these tests catch both.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED_DIRS = (
    "ledger",
    "approvals",
    "reports",
    "web",
    "demo",
    "migrations",
    "bench",
    "tests",
    "docs",
)
SCANNED_SUFFIXES = (".py", ".md", ".html")

# Documents that live outside the repository: the product notes the project started from.
OUTSIDE = re.compile(r"DESIGN(?:\.md| ?§)|FORMATS\.md|\.\./shared|/work/shared")
CITATION = re.compile(r"(?<![\w/])(?:\.\./)?(docs/[\w./-]+?\.md)(?:#([\w-]+))?")
LINK = re.compile(r"\]\(([\w./-]+?\.md)(?:#([\w-]+))?\)")


def scanned_files() -> list[Path]:
    found = [ROOT / "README.md"]
    for folder in SCANNED_DIRS:
        found += [
            path
            for path in sorted((ROOT / folder).rglob("*"))
            if path.suffix in SCANNED_SUFFIXES and path.is_file()
        ]
    return found


def outside_citations(text: str) -> list[str]:
    return [match.group(0) for match in OUTSIDE.finditer(text)]


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"#{1,6} +(.+?) *#*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_citations(text: str, base: Path) -> list[str]:
    """Every ``docs/...`` citation (from the repo root) and relative ``.md`` link (from ``base``)
    whose file or heading does not exist."""
    targets = [(ROOT / m.group(1), m.group(2), m.group(0)) for m in CITATION.finditer(text)]
    targets += [
        (base / m.group(1), m.group(2), m.group(0))
        for m in LINK.finditer(text)
        if not m.group(1).startswith(("http", "/"))
    ]
    broken = []
    for path, anchor, said in targets:
        if not path.is_file():
            broken.append(f"{said} (no such file)")
        elif anchor and anchor not in anchors(path.read_text(encoding="utf-8")):
            broken.append(f"{said} (no such heading)")
    return broken


def test_nothing_cites_a_document_outside_the_repository() -> None:
    cited = {
        str(path.relative_to(ROOT)): found
        for path in scanned_files()
        if path != Path(__file__).resolve()
        if (found := outside_citations(path.read_text(encoding="utf-8")))
    }
    assert cited == {}


def test_every_cited_doc_and_section_exists() -> None:
    broken = {
        str(path.relative_to(ROOT)): found
        for path in scanned_files()
        if path != Path(__file__).resolve()
        if (found := broken_citations(path.read_text(encoding="utf-8"), path.parent))
    }
    assert broken == {}


def test_the_design_docs_exist_and_the_readme_lists_them() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("architecture", "ledger", "approvals", "exports", "operations", "concurrency"):
        assert (ROOT / "docs" / f"{name}.md").is_file()
        assert f"docs/{name}.md" in readme


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Mapping (DESIGN §2.4) to the chart", ["DESIGN §"]),
        ("a header row exactly as FORMATS.md lists it", ["FORMATS.md"]),
        ("see ../shared/STYLE.md", ["../shared"]),
        ("see DESIGN.md", ["DESIGN.md"]),
        ("see docs/ledger.md#sign-convention", []),
    ],
)
def test_a_citation_of_an_outside_document_is_found(text: str, found: list[str]) -> None:
    assert outside_citations(text) == found


def test_a_missing_doc_or_heading_is_found_and_a_real_one_is_not() -> None:
    docs = ROOT / "docs"
    real = "see docs/ledger.md#sign-convention and docs/concurrency.md"
    assert broken_citations(real, docs) == []
    assert broken_citations("see docs/nowhere.md", docs) == ["docs/nowhere.md (no such file)"]
    assert broken_citations("see docs/ledger.md#no-such-part", docs) == [
        "docs/ledger.md#no-such-part (no such heading)"
    ]
    assert broken_citations("[the ledger](ledger.md#no-such-part)", docs) == [
        "](ledger.md#no-such-part) (no such heading)"
    ]


def test_headings_become_anchors_as_github_makes_them() -> None:
    markdown = (
        "# Title\n## Recipe (brief): add an export kind\n```\n# not a heading\n```\n## Title\n"
    )
    assert anchors(markdown) == {"title", "recipe-brief-add-an-export-kind", "title-1"}
