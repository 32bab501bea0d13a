"""docs/benchmarks.md: each benchmark script owns one section between two HTML comments, and
says where its numbers were taken (:func:`machine`)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

PACKAGES = ("synthema", "numpy", "pandas", "jax", "mbi")


def machine(packages: tuple[str, ...] = PACKAGES) -> dict:
    """Where the numbers were taken (cores, CPU, RAM, Python, package versions): they mean
    little without it."""
    from importlib.metadata import PackageNotFoundError, version

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cores": cores, "cpu": cpu, "ram_gb": round(ram / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "packages": versions}


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
