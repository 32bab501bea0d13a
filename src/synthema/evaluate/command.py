"""``synthema evaluate``: read three files, run every metric, write report.json and report.html.

Files are read and checked like ``synthema validate`` does (:func:`validate_frame`): cells that
break their variable's type, range or category become missing in the typed frame. In the
synthetic file they are counted by the ``impossible_values`` metric; in the real files they
are logged and listed in the report's ``meta.loader``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from synthema.evaluate.context import Problem
from synthema.evaluate.report import EvaluationReport, Progress

_LOG = logging.getLogger(__name__)
_CELL_KINDS = ("type", "range", "category")


def load_typed(path: str | Path, dictionary) -> tuple[pd.DataFrame, list[Problem], dict]:
    """Typed frame of a file, its impossible cells (0-based rows) and a summary for the report."""
    from synthema.harmonize.validate import validate_frame
    from synthema.tables import read_table

    report = validate_frame(read_table(path), dictionary, file=str(path))
    cells = [Problem(p.row - 2, p.column or "", p.kind) for p in report.problems
             if p.kind in _CELL_KINDS and p.row is not None]
    counts: dict[str, int] = {}
    for p in report.problems:
        if p.kind == "missing_column" and p.column == dictionary.patient_id:
            continue  # synthetic rows are nobody's: no patient id is expected
        counts[p.kind] = counts.get(p.kind, 0) + 1
    return report.data, cells, {"file": str(path), "rows": report.rows, "problems": counts}


def load_pooled(paths, dictionary) -> tuple[pd.DataFrame, list[Problem], dict | list[dict]]:
    """:func:`load_typed` of one file, or of several site files pooled in order.

    Impossible cells keep their row in the pooled frame; the summary is one per file.
    """
    if isinstance(paths, str | Path):
        return load_typed(paths, dictionary)
    frames, cells, summaries, offset = [], [], [], 0
    for path in paths:
        frame, problems, summary = load_typed(path, dictionary)
        frames.append(frame)
        cells += [Problem(p.row + offset, p.column, p.kind) for p in problems]
        summaries.append(summary)
        offset += len(frame)
    if len(frames) == 1:
        return frames[0], cells, summaries[0]
    return pd.concat(frames, ignore_index=True), cells, summaries


def check_target(target: str | None, dictionary) -> None:
    """A misspelt ``--target`` stops the run before any file is read (did-you-mean)."""
    if target is None or target in dictionary.names:
        return
    import difflib

    from synthema.errors import SynthemaError

    close = difflib.get_close_matches(target, list(dictionary.names), n=1)
    raise SynthemaError(
        f"--target {target!r} is not a variable of dictionary {dictionary.name!r}",
        fix=f"did you mean {close[0]!r}?" if close else
        f"name a variable of the dictionary (synthema dictionary show {dictionary.name})",
    )


def run_evaluate(
    *,
    dictionary: str | Path,
    real: str | Path | list,
    holdout: str | Path | list | None,
    synthetic: str | Path,
    out: str | Path,
    progress: bool | Progress = False,
    target: str | None = None,
    random_state: int = 0,
) -> Path:
    """Evaluate ``synthetic`` against ``real`` (training) and ``holdout``; return ``out``.

    ``real`` and ``holdout`` may each be several site files, pooled in order.
    ``progress`` is True for a Rich progress bar on stderr, or a callback
    ``(done, total, step)``.
    """
    from synthema.evaluate.html import render_html
    from synthema.schema import load_dictionary

    version = _version()
    out = Path(out)
    if out.exists() and not out.is_dir():
        from synthema.errors import SynthemaError

        raise SynthemaError(f"--out {out} is a file", fix="give a folder for report.json/html")
    d = load_dictionary(dictionary)
    check_target(target, d)
    with _ProgressBar(progress) as step:
        files = {"real": real, "holdout": holdout, "synthetic": synthetic}
        loaded: dict[str, tuple] = {}
        for i, (name, path) in enumerate(files.items()):
            step(i, 3, f"reading {name}")
            if path is not None and (isinstance(path, str | Path) or len(path)):
                loaded[name] = load_pooled(path, d)
        for name in ("real", "holdout"):
            if name in loaded and loaded[name][1]:
                _LOG.warning("%s: %d impossible cell(s) read as missing", files[name],
                             len(loaded[name][1]))
        report = EvaluationReport(
            d, holdout=loaded["holdout"][0] if "holdout" in loaded else None,
            target=target, random_state=random_state, problems=loaded["synthetic"][1])
        report.generate(loaded["real"][0], loaded["synthetic"][0],
                        progress=lambda i, n, m: step(i + 3, n + 4, m))
        step(len(report.metrics) + 3, len(report.metrics) + 4, "writing report")
        result = report.to_dict()
        result["meta"]["loader"] = {k: v[2] for k, v in loaded.items()}
        result["meta"]["synthema_version"] = version
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(result, indent=1, allow_nan=False),
                                         encoding="utf-8")
        (out / "report.html").write_text(render_html(result, version=version), encoding="utf-8")
        step(len(report.metrics) + 4, len(report.metrics) + 4, "done")
    return out


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("synthema")
    except PackageNotFoundError:
        return "unknown"


class _ProgressBar:
    """A Rich progress bar (or a caller's callback, or nothing) as a ``step`` function."""

    def __init__(self, progress: bool | Progress) -> None:
        self._callback: Callable[[int, int, str], None] | None = None
        self._bar = None
        if callable(progress):
            self._callback = progress
        elif progress:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<28}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TimeElapsedColumn(), console=Console(stderr=True),
                                 transient=False)
            self._task = None

    def __enter__(self) -> Callable[[int, int, str], None]:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("evaluating", total=1)
        return self._step

    def _step(self, done: int, total: int, name: str) -> None:
        if self._callback is not None:
            self._callback(done, total, name)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total, description=name)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
