"""The rooms of docs/pipeline.md depend on each other one way only (issue 12).

:data:`ALLOWED` is the layering written down: each room may import the rooms listed, and
nothing imports ``cli``. The command line is the only room that talks to a terminal (Rich,
Typer); the library returns objects.
"""

from __future__ import annotations

import ast
from pathlib import Path

import synthema

PACKAGE = Path(synthema.__file__).parent
ALLOWED = {
    "errors": set(),
    "schema": {"errors"},
    "tables": {"errors", "schema"},
    "privacy": {"errors"},
    "stats": {"errors", "schema", "privacy"},
    "harmonize": {"errors", "schema", "tables"},
    "cohorts": {"errors", "schema", "tables", "harmonize"},
    "evaluate": {"errors", "schema", "tables", "harmonize", "stats"},
    "anonymize": {"errors", "schema", "tables", "harmonize", "evaluate"},
    "synth": {"errors", "schema", "tables", "harmonize", "privacy", "stats"},
    "federation": {"errors", "schema", "tables", "harmonize", "anonymize", "privacy", "stats",
                   "synth"},
    "cli": {"errors", "schema", "tables", "harmonize", "cohorts", "anonymize", "evaluate",
            "privacy", "synth", "federation"},
}


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports_by_room() -> dict[str, set[tuple[str, str]]]:
    """room -> {(imported module, importing file)}, lazy imports inside functions included."""
    out: dict[str, set[tuple[str, str]]] = {}
    for path in PACKAGE.rglob("*.py"):
        found = out.setdefault(_room(path), set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update((a.name, path.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add((node.module, path.name))
    return out


def test_rooms_import_only_the_rooms_below_them():
    # Run
    bad = {
        (room, module, file)
        for room, found in imports_by_room().items() if room in ALLOWED
        for module, file in found
        if module.startswith("synthema.") and (target := module.split(".")[1]) != room
        and target not in ALLOWED[room]
    }

    # Assert
    assert bad == set()


def test_the_layering_has_no_cycle():
    # Run: rooms in an order where each comes after everything it imports
    order: list[str] = []
    while len(order) < len(ALLOWED):
        ready = [r for r in ALLOWED if r not in order and ALLOWED[r] <= set(order)]
        assert ready, f"cycle among {sorted(set(ALLOWED) - set(order))}"
        order += sorted(ready)

    # Assert
    assert order[0] == "errors" and order[-1] == "cli"


def test_only_the_command_line_talks_to_a_terminal():
    # Run
    users = {
        room
        for room, found in imports_by_room().items()
        for module, _ in found
        if module.split(".")[0] in ("rich", "typer")
    }

    # Assert
    assert users == {"cli"}
