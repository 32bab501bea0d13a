"""What every command shares: the consoles, friendly errors, tables and number formats.

Every command is wrapped in :func:`friendly`: a :class:`synthema.errors.SynthemaError`
(and an unwritable output) becomes ``error: ...`` / ``fix: ...`` on stderr and exit status
2, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synthema.errors import SynthemaError

if TYPE_CHECKING:
    from synthema.synth.progress import Timeline

# Tables stay readable when output is piped or captured (Rich would assume 80 columns).
_WIDTH = None if sys.stdout.isatty() else 140
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=_WIDTH)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into a two-line message and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SynthemaError as exc:
            print_error(exc)
            raise typer.Exit(code=2) from None
        except OSError as exc:  # unwritable output, missing folder, a directory for a file
            where = f"{exc.filename}: " if exc.filename else ""
            print_error(SynthemaError(
                f"{where}{exc.strerror or exc}",
                fix="check the path exists and is writable (and is a file, not a folder)"))
            raise typer.Exit(code=2) from None

    return wrapper


def print_error(exc: SynthemaError) -> None:
    """``error: message`` and ``fix: fix`` on stderr."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if exc.fix:
        err_console.print(f"[bold]fix:[/] {escape(exc.fix)}", soft_wrap=True)


def say(text: str) -> None:
    """One line as it is (no markup, no wrapping)."""
    console.print(text, markup=False, soft_wrap=True)


def warn(text: str) -> None:
    """A ``warning:`` line (``text`` without its ``warning:`` prefix)."""
    console.print(f"[bold yellow]warning:[/] {escape(text)}", soft_wrap=True)


def rows_table(title: str, rows: Iterable[dict[str, str]]) -> None:
    """Print dict rows (same keys) as one Rich table; nothing for no rows."""
    rows = list(rows)
    if not rows:
        return
    table = Table(title=escape(title), title_justify="left")
    for key in rows[0]:
        table.add_column(key, overflow="fold")
    for row in rows:
        table.add_row(*(escape(str(v)) for v in row.values()))
    console.print(table)


def num(value: Any) -> str:
    """A privacy parameter as people read it: 1, 0.5, 1e-06, inf."""
    if value is None:
        return "-"
    return f"{float(value):.4g}"


@contextmanager
def live_progress(title: str) -> Iterator[Timeline]:
    """Show what a fit or a sample is doing (stage, bar, count, time) while it runs.

    The display is live on a terminal and removed at the end (nothing is printed when the
    output is piped); the returned :class:`~synthema.synth.progress.Timeline` keeps each
    stage's duration for :func:`stage_summary`.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from synthema.synth.progress import Timeline, listening

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
    task = bar.add_task(title, total=None)

    def show(event) -> None:
        bar.update(task, description=f"{title}: {event.stage}", total=event.total,
                   completed=event.done or 0)

    timeline = Timeline(forward=show)
    with bar, listening(timeline):
        yield timeline
    timeline.close()


#: how :func:`stage_summary` names each kind of stage ({stages}: how many, {done}: units done)
_KIND_TEXT = {
    "measure": "measuring {stages} batch(es) of marginals",
    "compile": "compiling the estimation + its first 50 iterations",
    "estimate": "mirror descent to {done} iterations",
    "sample": "sampling",
    "repair": "repairing",
    "other": "other",
}


def stage_summary(timeline: Timeline) -> str | None:
    """One line: the seconds spent measuring, compiling, iterating, sampling and repairing."""
    seconds = timeline.seconds_by_kind()
    if not seconds:
        return None
    parts = []
    for kind, s in seconds.items():
        stages, done = timeline.count(kind)
        parts.append(f"{_KIND_TEXT[kind].format(stages=stages, done=done)} {s:.1f} s")
    return "time: " + ", ".join(parts)
