"""``synthema evaluate`` as one library call: read the files, run every metric, write the report.

Files are read and checked like ``synthema validate`` does
(:func:`synthema.harmonize.validate_file`): cells that break their variable's type, range or
category become missing in the typed frame. In the synthetic file they are counted by the
``impossible_values`` metric; in the real files they are logged and listed in the report's
``meta.loader``. :func:`evaluate_files` returns the report (the JSON form, as written) and
the paths of ``report.json`` and ``report.html``.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthema import installed_version
from synthema.errors import ParameterError
from synthema.evaluate.report import EvaluationReport, Progress
from synthema.evaluate.verdict import verdict_of
from synthema.harmonize.validate import Problem, validate_file
from synthema.schema import Dictionary, load_dictionary
from synthema.tables import provenance_path

_LOG = logging.getLogger(__name__)
_CELL_KINDS = ("type", "range", "category")

Paths = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class EvaluatedFiles:
    """The report as written to ``report.json`` (a JSON-ready dict) and both files' paths."""

    report: dict[str, Any]
    json_path: Path
    html_path: Path

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The metrics that failed (each with its error message)."""
        return [m for m in self.report.get("metrics", {}).values() if m.get("status") == "error"]


@dataclass(frozen=True)
class LoadedFile:
    """A typed frame, its impossible cells (spreadsheet rows) and a summary for the report."""

    data: pd.DataFrame
    cells: tuple[Problem, ...]
    summary: dict[str, Any] | list[dict[str, Any]]


def load_typed(path: str | Path, dictionary: Dictionary) -> LoadedFile:
    """Typed frame of a file, its impossible cells and a summary for the report."""
    report = validate_file(path, dictionary)
    cells = tuple(p for p in report.problems if p.kind in _CELL_KINDS and p.row is not None)
    counts: dict[str, int] = {}
    for p in report.problems:
        if p.kind == "missing_column" and p.column == dictionary.patient_id:
            continue  # synthetic rows are nobody's: no patient id is expected
        counts[p.kind] = counts.get(p.kind, 0) + 1
    return LoadedFile(report.data, cells,
                      {"file": str(path), "rows": report.rows, "problems": counts})


def load_pooled(paths: Paths, dictionary: Dictionary) -> LoadedFile:
    """:func:`load_typed` of one file, or of several site files pooled in order.

    Impossible cells keep their file and row; the summary is one per file.
    """
    if isinstance(paths, str | Path):
        return load_typed(paths, dictionary)
    loaded = [load_typed(path, dictionary) for path in paths]
    if len(loaded) == 1:
        return loaded[0]
    return LoadedFile(pd.concat([f.data for f in loaded], ignore_index=True),
                      tuple(p for f in loaded for p in f.cells),
                      [f.summary for f in loaded])  # fmt: skip


def check_target(target: str | None, dictionary: Dictionary) -> None:
    """A misspelt ``target`` stops the run before any file is read (did-you-mean).

    Raises:
        ParameterError: ``target`` is not a variable of the dictionary.
    """
    if target is None or target in dictionary.names:
        return
    close = difflib.get_close_matches(target, list(dictionary.names), n=1)
    raise ParameterError(
        f"target {target!r} is not a variable of dictionary {dictionary.name!r}",
        fix=f"did you mean {close[0]!r}?" if close else
        f"name a variable of the dictionary (synthema dictionary show {dictionary.name})",
    )


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ParameterError(f"output folder {out} is a file",
                             fix="give a folder for report.json/html")


def evaluate_files(
    *,
    dictionary: str | Path | Dictionary,
    real: Paths,
    holdout: Paths | None,
    synthetic: str | Path,
    out: str | Path,
    progress: Progress | None = None,
    target: str | None = None,
    random_state: int = 0,
    generator: dict[str, Any] | None = None,
) -> EvaluatedFiles:
    """Evaluate ``synthetic`` against ``real`` (training) and ``holdout``; write the report.

    ``real`` and ``holdout`` may each be several site files, pooled in order.
    ``progress(done, total, step)`` is called before each step (reading, each metric,
    writing). ``generator`` says how the synthetic rows were made (the provenance of
    ``synthema evaluate --model``); without it the sidecar ``synth sample`` wrote next to the
    synthetic file is read, if there is one (:func:`generator_of`).

    Raises:
        ParameterError: a misspelt target or an output that is a file (before any file is read).
        DataFileError: a file cannot be read.
    """
    out = Path(out)
    _check_out(out)
    d = load_dictionary(dictionary)
    check_target(target, d)
    step = progress or (lambda done, total, name: None)
    loaded = _load(d, {"real": real, "holdout": holdout, "synthetic": synthetic}, step)
    report = EvaluationReport(
        d, holdout=loaded["holdout"].data if "holdout" in loaded else None,
        target=target, random_state=random_state, problems=loaded["synthetic"].cells)
    report.generate(loaded["real"].data, loaded["synthetic"].data,
                    progress=lambda i, n, m: step(i + 3, n + 4, m))
    n = len(report.metrics)
    step(n + 3, n + 4, "writing report")
    result = report.to_dict()
    result["meta"]["loader"] = {k: v.summary for k, v in loaded.items()}
    result["meta"]["synthema_version"] = installed_version()
    result["meta"]["generator"] = generator_of(synthetic, d, len(loaded["synthetic"].data),
                                               given=generator)
    result["verdict"] = verdict_of(result).to_dict()
    written = _write(result, out)
    step(n + 4, n + 4, "done")
    return written


def generator_of(synthetic: str | Path, dictionary: Dictionary, rows: int, *,
                 given: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """How the synthetic rows were made: ``given`` (from ``--model``), else the file's
    provenance sidecar, else None (the page then says it is not known).

    Mismatches a reader should know of are listed under ``warnings``: a model of another
    dictionary, or a sidecar counting other rows than the file has (the file was edited).
    """
    source = "the model given (--model)"
    info = given
    if info is None:
        path = provenance_path(synthetic)
        if not path.is_file():
            return None
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _LOG.warning("%s: unreadable provenance sidecar (%s)", path, exc)
            return None
        source = f"the sidecar {path.name} written by synth sample"
    out = dict(info) | {"source": source, "warnings": []}
    name = (info.get("dictionary") or {}).get("name")
    if name and name != dictionary.name:
        out["warnings"].append(f"the model was fitted on dictionary '{name}', the evaluation "
                               f"uses '{dictionary.name}'")
    if given is None and info.get("rows") not in (None, rows):
        out["warnings"].append(f"the sidecar counts {info['rows']} rows, the file has {rows}: "
                               "the file was changed after sampling")
    return out


def _load(d: Dictionary, files: dict[str, Paths | None], step: Progress) -> dict[str, LoadedFile]:
    """Every file given, typed; impossible cells in the real files are logged."""
    loaded: dict[str, LoadedFile] = {}
    for i, (name, path) in enumerate(files.items()):
        step(i, 3, f"reading {name}")
        if path is not None and (isinstance(path, str | Path) or len(path)):
            loaded[name] = load_pooled(path, d)
    for name in ("real", "holdout"):
        if name in loaded and loaded[name].cells:
            _LOG.warning("%s: %d impossible cell(s) read as missing", files[name],
                         len(loaded[name].cells))
    return loaded


def _write(result: dict[str, Any], out: Path) -> EvaluatedFiles:
    from synthema.evaluate.html import render_html

    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(json.dumps(result, indent=1, allow_nan=False), encoding="utf-8")
    html_path.write_text(render_html(result, version=result["meta"]["synthema_version"]),
                         encoding="utf-8")
    return EvaluatedFiles(result, json_path, html_path)
