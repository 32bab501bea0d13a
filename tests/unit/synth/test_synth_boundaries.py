"""Room boundaries: only synth/_mbi.py imports mbi or JAX; synth never imports federation."""

from __future__ import annotations

import ast
from pathlib import Path

import synthema.synth

ROOM = Path(synthema.synth.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_adapter_imports_mbi_and_jax():
    # Run
    users = {
        p.name
        for p in ROOM.glob("*.py")
        if any(n.split(".")[0] in ("mbi", "jax", "jaxlib") for n in _imports(p))
    }

    # Assert
    assert users == {"_mbi.py"}


def test_synth_never_imports_flower_or_federation():
    # Run
    bad = {
        p.name: n
        for p in ROOM.glob("*.py")
        for n in _imports(p)
        if n.split(".")[0] == "flwr" or n.startswith("synthema.federation")
    }

    # Assert
    assert bad == {}
