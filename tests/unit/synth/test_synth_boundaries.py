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


def test_only_the_neural_module_imports_torch_and_opacus():
    # Run: every module of the package, not only synth/ (issue 16: torch stays in one room)
    package = ROOM.parent
    users = {
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if any(n.split(".")[0] in ("torch", "opacus") for n in _imports(p))
    }

    # Assert
    assert users == {"synth/_neural.py"}


def test_importing_synthema_does_not_import_torch():
    # Setup
    import subprocess
    import sys

    script = ("import sys, synthema, synthema.synth, synthema.cli\n"
              "print(sorted(m for m in ('torch', 'opacus') if m in sys.modules))")

    # Run
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=True)

    # Assert
    assert done.stdout.strip().splitlines()[-1] == "[]"
