"""docs/benchmarks.md: each benchmark script owns one section between two HTML comments."""

from __future__ import annotations

from pathlib import Path


def write_section(text: str, *, start: str, end: str, heading: str, path: Path) -> None:
    """Replace the text between ``start`` and ``end`` (``text`` holds both markers).

    Without the markers (or without the page) the section is appended under ``## heading``.
    """
    page = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in page and end in page:
        head, rest = page.split(start, 1)
        page = head + text + rest.split(end, 1)[1]
    else:
        page = page.rstrip("\n") + f"\n\n## {heading}\n\n" + text + "\n"
    path.write_text(page, encoding="utf-8")
