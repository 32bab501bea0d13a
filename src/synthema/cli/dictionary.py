"""``synthema dictionary show|draft``: a dictionary as a table, or a draft from a data file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synthema.cli._output import console, err_console, friendly

app = typer.Typer(help="Show and draft data dictionaries.", no_args_is_help=True)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _range(v: Any) -> str:
    if v.categories:
        return ", ".join(v.categories)
    if v.min is not None or v.max is not None:
        return f"{_fmt(v.min)} .. {_fmt(v.max)}"
    return ""


@app.command("show")
@friendly
def dictionary_show(
    dictionary: Annotated[str, typer.Argument(help="Built-in name (aml, scd) or YAML path.")],
    group: Annotated[str | None, typer.Option(help="Show only this group.")] = None,
) -> None:
    """Print a dictionary as a table: variables, types, units, bounds or categories."""
    from rich.table import Table

    from synthema.schema import load_dictionary

    d = load_dictionary(dictionary)
    shown = d.in_group(group)
    table = Table(title=f"{d.name} v{d.version}: {d.title or d.description}", title_justify="left")
    for col in ("variable", "type", "unit", "range / categories", "group", "OMOP", "label"):
        table.add_column(col, overflow="fold")
    for v in shown:
        table.add_row(v.name + (" *" if v.required else ""), v.type.value, v.unit or "",
                      _range(v), v.group, str(v.omop_concept_id or ""), v.label)  # fmt: skip
    console.print(table)
    pid = f"patient id column: {d.patient_id}; " if d.patient_id else ""
    counts = ", ".join(
        f"{g or 'no group'}: {sum(v.group == g for v in d.variables)}" for g in d.groups
    )
    targets = f"targets: {', '.join(d.targets)}; " if d.targets else ""
    console.print(
        f"{len(d)} variables ({counts}); {pid}{len(d.survival)} survival pair(s); "
        f"{targets}{len(d.rules)} rules; * = required"
    )


@app.command("draft")
@friendly
def dictionary_draft(
    data: Annotated[Path, typer.Argument(help="CSV, TSV, Excel or Parquet file.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the draft YAML.")],
    name: Annotated[str | None, typer.Option(help="Dictionary name (default: file stem).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field separator (default: found).")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: UTF-8).")] = None,
    decimal: Annotated[str | None, typer.Option(help="Decimal mark: '.' or ','.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet (default: the first).")] = None,
) -> None:
    """Draft a dictionary from a data file; bounds and categories must then be reviewed."""
    from synthema.harmonize.draft import draft_file

    draft = draft_file(data, out=out, name=name, delimiter=delimiter, encoding=encoding,
                       decimal=decimal, sheet=sheet)  # fmt: skip
    for w in draft.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    console.print(f"drafted {len(draft.dictionary)} variables from {draft.rows} rows -> {out}")
