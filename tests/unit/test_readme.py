"""The README is a newcomer's first stop: every relative link in it opens a file of this
repository (a link outside the checkout is dead for anyone who cloned only the project)."""

from __future__ import annotations

import re

from core.settings import PROJECT_ROOT

# Inline links `[text](target)` and reference definitions `[name]: target`.
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)


def relative_links(markdown: str) -> list[str]:
    targets = [inline or reference for inline, reference in LINK.findall(markdown)]
    return [
        t.split("#", 1)[0]
        for t in targets
        if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE) and not t.startswith("#")
    ]


def test_relative_links_are_found() -> None:
    text = "[a](docs/A.md) [b](https://x.org/b) [c](#top) [d](../e.md#s)\n[f]: g/h.md\n"
    assert relative_links(text) == ["docs/A.md", "../e.md", "g/h.md"]


def test_every_relative_readme_link_is_a_file_in_the_repository() -> None:
    links = relative_links((PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
    assert links, "the README links the domain rules at least"
    root = PROJECT_ROOT.resolve()
    for link in links:
        target = (root / link).resolve()
        assert target.is_relative_to(root), f"{link} leaves the repository"
        assert target.exists(), f"{link} does not exist"
