"""Strict YAML, shared by every loader (dictionaries, mappings, policies) so they fail alike.

Unknown keys are errors with a did-you-mean (:func:`check_keys`); a file that is not UTF-8
or not YAML is an error naming the line and column (:func:`read_yaml`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from synthema.errors import DictionaryError, SynthemaError


def check_keys(
    obj: Mapping[str, Any],
    allowed: Mapping[str, str],
    where: str,
    src: str,
    *,
    error: type[SynthemaError] = DictionaryError,
) -> None:
    """Raise ``error`` for the first key of ``obj`` not in ``allowed``, with a did-you-mean.

    Shared by every strict YAML loader (dictionaries, mappings) so they fail alike.
    """
    for key in obj:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
            raise error(
                f"{src}: unknown key '{key}' in {where}",
                fix=f"remove or rename it ({hint})",
            )


def read_yaml(
    path: Path,
    *,
    loader: type[yaml.SafeLoader] = yaml.SafeLoader,
    error: type[SynthemaError] = DictionaryError,
) -> Any:
    """Parse a UTF-8 YAML file; encoding and syntax errors become ``error`` with the position."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text", fix="save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise error(
            f"{path}:{where} {problem}", fix="correct the YAML syntax at that position"
        ) from None
