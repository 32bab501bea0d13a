"""No function over 80 lines (issue 12): a long function is a list of steps written inline;
it reads better as named steps.

The limit counts every line of the ``def`` (docstring and decorators' own lines aside from
the body are included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import synthema

MAX_LINES = 80
PACKAGE = Path(synthema.__file__).parent


def long_functions(root: Path = PACKAGE, limit: int = MAX_LINES) -> list[tuple[str, str, int]]:
    """``(file, function, lines)`` of every function of ``root`` longer than ``limit`` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append((path.relative_to(root).as_posix(), node.name, lines))
    return found


def test_no_function_is_longer_than_80_lines():
    # Run
    found = long_functions()

    # Assert
    assert found == []


def test_the_check_finds_a_long_function(tmp_path):
    # Setup: one function of 81 lines, one of 80
    body = "\n".join(f"    x{i} = {i}" for i in range(79))
    (tmp_path / "m.py").write_text(f"def long():\n{body}\n    return 0\n\n\n"
                                   f"def short():\n{body}\n", encoding="utf-8")

    # Run / Assert
    assert long_functions(tmp_path) == [("m.py", "long", 81)]
