"""``synthema harmonize``: a site export mapped onto the dictionary, every dropped value shown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthema.cli._output import friendly, rows_table, say, warn


@friendly
def harmonize_cmd(
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="The site's mapping YAML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv or .parquet.")],
    file: Annotated[Path | None, typer.Argument(help="Site export (default: its file:).")] = None,
    dictionary: Annotated[
        str | None, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail rather than drop values or keep repeated rows.")
    ] = False,
    details: Annotated[bool, typer.Option("--details", help="List every column.")] = False,
    report: Annotated[Path | None, typer.Option(help="Also write the summary as JSON.")] = None,
) -> None:
    """Map a site export onto the dictionary; every dropped value is counted and shown."""
    from synthema.harmonize import harmonize_file

    result = harmonize_file(file, mapping, dictionary=dictionary, strict=strict, out=out,
                            report=report)  # fmt: skip
    s = result.summary
    say(s.header())
    rows_table(f"{s.file} -> {result.dictionary.name}", s.table_rows(details=details))
    for line in [*s.file_lines(), s.total_line()]:
        say(line)
    for line in s.warnings():
        warn(line.removeprefix("warning: "))
    if report is not None:
        say(f"wrote {report}")
    say(f"wrote {out} ({len(result.data)} rows, {result.data.shape[1]} columns)")

