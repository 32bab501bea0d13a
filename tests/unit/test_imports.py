"""Every module of synthema imports on its own (issue 12): no import cycles, no module that
works only when another was imported first.

One fresh interpreter imports each module after removing every ``synthema`` module from
``sys.modules`` (third-party packages stay loaded, so the test takes seconds, not minutes).
Before issue 12, ``synthema.cli_federate`` imported alone failed with a partially initialised
``synthema.cli``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import synthema

PACKAGE = Path(synthema.__file__).parent

_SCRIPT = r"""
import importlib, json, sys, traceback
failed = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "synthema" or m.startswith("synthema.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""


def module_names() -> list[str]:
    """Every module of the package (``__main__`` left out: importing it runs the CLI)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_alone():
    # Setup
    names = module_names()
    assert "synthema.cli.federate" in names and "synthema.tables.read" in names

    # Run
    done = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(names)],
                          capture_output=True, text=True, timeout=600, check=False)

    # Assert
    assert done.returncode == 0, done.stderr[-2000:]
    failed = json.loads(done.stdout.strip().splitlines()[-1])
    assert failed == {}, "\n".join(f"{k}:\n{v}" for k, v in failed.items())
