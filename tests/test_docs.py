"""The README and docs/ send readers only to files that are in the repository, and to headings that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")
# Written alongside the features they describe; remove a name once its file is in the repository.
def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_local_link_points_at_a_file_and_heading_that_exist():
    broken = []
    for document in _documents():
        for target in LINK.findall(document.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto: not checked offline
            file_part, _, anchor = target.partition("#")
            resolved = (document.parent / file_part).resolve() if file_part else document
            if not resolved.exists():
                broken.append(f"{document.name}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{document.name}: {target} (no such heading)")
    assert broken == []


def test_no_document_sends_readers_to_the_internal_notes():
    for document in _documents():
        text = document.read_text()
        assert "SPEC" not in text and "ARCHITECTURE" not in text, document.name
