"""``synthema validate`` and ``synthema summary``: clean files checked against a dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthema.cli._output import console, friendly, print_error, rows_table, say

DictionaryOption = Annotated[str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")]


@friendly
def summary_cmd(
    files: Annotated[list[Path], typer.Argument(help="Clean data files (one per site).")],
    dictionary: DictionaryOption,
) -> None:
    """Print a short cohort summary per file: patients, age, sex, missingness, outcomes."""
    from rich.table import Table

    from synthema.harmonize.validate import summarize_file
    from synthema.schema import load_dictionary

    d = load_dictionary(dictionary)
    rows = [summarize_file(f, d) for f in files]
    table = Table(title=f"{d.name} cohort summary", title_justify="left")
    table.add_column("")
    for row in rows:
        table.add_column(row["file"], justify="right")
    for key in rows[0]:
        if key != "file":
            table.add_row(key, *(row.get(key, "") for row in rows))
    console.print(table)
    for f, row in zip(files, rows, strict=True):
        if int(row.get("invalid cells (read as missing)", "0")):
            say(f"note: {f}: {row['invalid cells (read as missing)']} invalid cell(s) were read "
                f"as missing; the figures leave them out. See them with: synthema validate "
                f"--dictionary {dictionary} {f}")  # fmt: skip


def _problem_rows(report, max_rows: int) -> list[dict[str, str]]:
    return [
        {
            "kind": g.kind,
            "column": g.column or "",
            "count": str(g.count),
            "rows": ", ".join(map(str, g.rows)) + (" ..." if g.count > len(g.rows) else ""),
            "first": g.message,
            "fix": g.fix,
        }
        for g in report.groups(max_rows)
    ]


@friendly
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Data files: .csv .tsv .txt .xlsx .parquet.")],
    dictionary: DictionaryOption,
    delimiter: Annotated[str | None, typer.Option(help="Field separator (default: found).")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: UTF-8).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet (default: the first).")] = None,
    max_rows_shown: Annotated[int, typer.Option(min=1, help="Rows listed per column/kind.")] = 5,
) -> None:
    """Check files against a dictionary: exit 0 when clean, 1 when anything is wrong."""
    from synthema.errors import DataFileError
    from synthema.harmonize.validate import validate_file
    from synthema.schema import load_dictionary

    d = load_dictionary(dictionary)
    reports, unreadable = [], []
    for f in files:
        try:  # one unreadable file must not hide the results of the others
            r = validate_file(f, d, delimiter=delimiter, encoding=encoding, sheet=sheet)
        except DataFileError as exc:
            unreadable.append(f)
            print_error(exc)
            continue
        reports.append(r)
        rows_table(f"{r.file}: problems", _problem_rows(r, max_rows_shown))
        say(r.totals_line())
    bad = sum(len(r.problems) for r in reports)
    tail = f", {len(unreadable)} unreadable" if unreadable else ""
    console.print(f"{len(files)} file(s), {bad} problem(s){tail}", soft_wrap=True)
    if unreadable:
        raise typer.Exit(code=2)
    if bad:
        raise typer.Exit(code=1)
