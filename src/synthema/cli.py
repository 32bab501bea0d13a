"""The ``synthema`` command line: thin Typer wrappers around library functions.

Every command catches :class:`synthema.errors.SynthemaError` and prints
``error: ...`` / ``fix: ...`` without a traceback (exit status 2). Commands are
documented in docs/cli.md.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from synthema.errors import SynthemaError

app = typer.Typer(
    name="synthema",
    help="Harmonise, validate and simulate rare blood disease data (AML, SCD).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dictionary_app = typer.Typer(help="Show and draft data dictionaries.", no_args_is_help=True)
app.add_typer(dictionary_app, name="dictionary")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into a two-line message and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SynthemaError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True)
            if exc.fix:
                err_console.print(f"[bold]fix:[/] {exc.fix}", soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper


# ---- commands -------------------------------------------------------------------------------


@dictionary_app.command("show")
@_friendly
def dictionary_show(
    dictionary: Annotated[str, typer.Argument(help="Built-in name (aml, scd) or YAML path.")],
    group: Annotated[str | None, typer.Option(help="Show only this group.")] = None,
) -> None:
    """Print a dictionary as a table: variables, types, units, bounds or categories."""
    from rich.table import Table

    from synthema.schema import load_dictionary

    d = load_dictionary(dictionary)
    table = Table(title=f"{d.name} v{d.version}: {d.title or d.description}", title_justify="left")
    for col in ("variable", "type", "unit", "range / categories", "group", "OMOP", "label"):
        table.add_column(col, overflow="fold")
    for v in d.variables:
        if group and v.group != group:
            continue
        if v.categories:
            rng = ", ".join(v.categories)
        elif v.min is not None or v.max is not None:
            rng = f"{_fmt(v.min)} .. {_fmt(v.max)}"
        else:
            rng = ""
        req = " *" if v.required else ""
        table.add_row(v.name + req, v.type.value, v.unit or "", rng, v.group,
                      str(v.omop_concept_id or ""), v.label)
    console.print(table)
    pid = f"patient id column: {d.patient_id}; " if d.patient_id else ""
    console.print(
        f"{len(d)} variables ({', '.join(f'{g}: {sum(v.group == g for v in d.variables)}' for g in d.groups)}); "
        f"{pid}{len(d.survival)} survival pair(s); {len(d.rules)} rules; * = required"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dictionary_app.command("draft")
@_friendly
def dictionary_draft(
    data: Annotated[Path, typer.Argument(help="CSV, TSV, Excel or Parquet file.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the draft YAML.")],
    name: Annotated[str | None, typer.Option(help="Dictionary name (default: file stem).")] = None,
) -> None:
    """Draft a dictionary from a data file; bounds and categories must then be reviewed."""
    from synthema.harmonize.io import read_table
    from synthema.schema.draft import draft_dictionary

    frame = read_table(data)
    d, warnings = draft_dictionary(frame, name=name or data.stem)
    header = "".join(f"# REVIEW: {w}\n" for w in warnings)
    out.write_text(header + d.to_yaml(), encoding="utf-8")
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    console.print(f"drafted {len(d)} variables from {len(frame)} rows -> {out}")


@app.command("simulate")
@_friendly
def simulate_cmd(
    disease: Annotated[str, typer.Option(help="aml or scd.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    sites: Annotated[int, typer.Option(help="Number of hospitals.")] = 3,
    patients: Annotated[int, typer.Option(help="Patients in all sites together.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same cohort).")] = 0,
    raw: Annotated[bool, typer.Option("--raw", help="Also write hospital-style exports.")] = False,
) -> None:
    """Simulate a multi-site cohort: clean site files, and raw exports with mappings."""
    from synthema.cohorts.simulate import simulate, write_cohort

    with console.status(f"simulating {patients} {disease.upper()} patients at {sites} sites"):
        cohorts = simulate(disease, sites=sites, patients=patients, seed=seed)
        paths = write_cohort(cohorts, out, disease=disease, raw=raw, seed=seed)
    for c in cohorts:
        console.print(f"{c.name}: {len(c.data)} patients")
    console.print(f"wrote {len(paths)} files to {out}")


@app.command("summary")
@_friendly
def summary_cmd(
    files: Annotated[list[Path], typer.Argument(help="Clean data files (one per site).")],
    dictionary: Annotated[str, typer.Option(help="Built-in name or YAML path.")],
) -> None:
    """Print a short cohort summary per file: patients, age, sex, missingness, outcomes."""
    from rich.table import Table

    from synthema.harmonize.io import read_table
    from synthema.schema import load_dictionary
    from synthema.schema.summary import summarize

    d = load_dictionary(dictionary)
    rows = [summarize(read_table(f), d, name=f.name) for f in files]
    table = Table(title=f"{d.name} cohort summary", title_justify="left")
    for key in rows[0]:
        table.add_column(key, overflow="fold")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
