"""The documentation: the API reference names every public name, and README.md stays
short and links only to files that exist (mkdocs build --strict checks the site itself)."""

from __future__ import annotations

import re
from pathlib import Path

import tunelab

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
README = ROOT / "README.md"
# [text](target) and ![alt](target), without a title; the target may carry an #anchor.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def relative_targets(markdown: str) -> list[str]:
    targets = [m.group(1) for m in LINK.finditer(markdown)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def test_every_public_name_appears_in_the_reference() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in REFERENCE.rglob("*.md"))
    missing = [n for n in tunelab.__all__ if not re.search(rf"\btunelab\.{re.escape(n)}\b", text)]
    assert not missing, f"not in docs/reference: {missing}"


def test_readme_has_at_most_200_lines() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_readme_links_only_to_files_that_exist() -> None:
    targets = relative_targets(README.read_text(encoding="utf-8"))
    assert targets, "README.md links to no page"
    missing = [t for t in targets if not (ROOT / t.split("#", 1)[0]).is_file()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_readme_links_to_the_sites_pages_relatively() -> None:
    targets = relative_targets(README.read_text(encoding="utf-8"))
    assert any(t.startswith("docs/") and t.endswith(".md") for t in targets)
    assert not [t for t in targets if t.startswith(("/", "../"))]


def test_relative_targets_skips_urls_and_anchors() -> None:
    text = "[a](docs/x.md#y) ![b](docs/p.png) [c](https://e.org) [d](#top) [e](mailto:x@y)"
    assert relative_targets(text) == ["docs/x.md#y", "docs/p.png"]
