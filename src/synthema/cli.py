"""The ``synthema`` command line: thin Typer wrappers around library functions.

Every command catches :class:`synthema.errors.SynthemaError` and prints
``error: ...`` / ``fix: ...`` without a traceback (exit status 2). Commands are
documented in docs/cli.md.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

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
synth_app = typer.Typer(
    help="Fit synthetic-data generators (differentially private) and sample from them.",
    no_args_is_help=True,
)
app.add_typer(synth_app, name="synth")

# Tables stay readable when output is piped or captured (Rich would assume 80 columns).
_WIDTH = None if sys.stdout.isatty() else 140
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=_WIDTH)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into a two-line message and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SynthemaError as exc:
            _print_error(exc.message, exc.fix)
            raise typer.Exit(code=2) from None
        except OSError as exc:  # unwritable output, missing folder, a directory for a file
            where = f"{exc.filename}: " if exc.filename else ""
            _print_error(
                f"{where}{exc.strerror or exc}",
                "check the path exists and is writable (and is a file, not a folder)",
            )
            raise typer.Exit(code=2) from None

    return wrapper


def _print_error(message: str, fix: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if fix:
        err_console.print(f"[bold]fix:[/] {escape(fix)}", soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"synthema {version('synthema')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Harmonise, validate and simulate rare blood disease data (AML, SCD)."""


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
    if group is not None and group not in d.groups:
        raise SynthemaError(
            f"dictionary '{d.name}' has no group '{group}'",
            fix=f"use one of: {', '.join(g or '(none)' for g in d.groups)}",
        )
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
        table.add_row(
            v.name + req,
            v.type.value,
            v.unit or "",
            rng,
            v.group,
            str(v.omop_concept_id or ""),
            v.label,
        )
    console.print(table)
    pid = f"patient id column: {d.patient_id}; " if d.patient_id else ""
    counts = ", ".join(
        f"{g or 'no group'}: {sum(v.group == g for v in d.variables)}" for g in d.groups
    )
    console.print(
        f"{len(d)} variables ({counts}); {pid}{len(d.survival)} survival pair(s); "
        f"{len(d.rules)} rules; * = required"
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
    delimiter: Annotated[str | None, typer.Option(help="Field separator (default: found).")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: UTF-8).")] = None,
    decimal: Annotated[str | None, typer.Option(help="Decimal mark: '.' or ','.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet (default: the first).")] = None,
) -> None:
    """Draft a dictionary from a data file; bounds and categories must then be reviewed."""
    from synthema.schema.draft import draft_dictionary
    from synthema.tables import read_table

    if out.exists() and out.is_dir():
        raise SynthemaError(f"--out {out} is a directory", fix="give a file name, e.g. dict.yaml")
    frame = read_table(data, delimiter=delimiter, encoding=encoding, decimal=decimal, sheet=sheet)
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
    seed: Annotated[int, typer.Option(min=0, help="Random seed (same seed, same cohort).")] = 0,
    raw: Annotated[bool, typer.Option("--raw", help="Also write hospital-style exports.")] = False,
) -> None:
    """Simulate a multi-site cohort: clean site files, and raw exports with mappings."""
    from synthema.cohorts.simulate import simulate, write_cohort

    disease = disease.lower()
    if out.exists() and not out.is_dir():
        raise SynthemaError(f"--out {out} is a file", fix="give a folder for the site files")
    with console.status(f"simulating {patients} {disease.upper()} patients at {sites} sites"):
        cohorts = simulate(disease, sites=sites, patients=patients, seed=seed)
        paths = write_cohort(cohorts, out, disease=disease, raw=raw, seed=seed)
    for c in cohorts:
        console.print(f"{c.name}: {len(c.data)} patient{'s' if len(c.data) != 1 else ''}")
    console.print(f"wrote {len(paths)} files to {out}")


@app.command("summary")
@_friendly
def summary_cmd(
    files: Annotated[list[Path], typer.Argument(help="Clean data files (one per site).")],
    dictionary: Annotated[str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")],
) -> None:
    """Print a short cohort summary per file: patients, age, sex, missingness, outcomes."""
    from rich.table import Table

    from synthema.harmonize.validate import validate_frame
    from synthema.schema import load_dictionary
    from synthema.schema.summary import summarize
    from synthema.tables import read_table

    d = load_dictionary(dictionary)
    rows = []
    for f in files:
        raw = read_table(f)
        typed = validate_frame(raw, d, file=str(f)).data if set(d.columns) <= set(raw) else None
        rows.append(summarize(raw, d, name=f.name, typed=typed))
    table = Table(title=f"{d.name} cohort summary", title_justify="left")
    table.add_column("")
    for row in rows:
        table.add_column(row["file"], justify="right")
    for key in rows[0]:
        if key != "file":
            table.add_row(key, *(row.get(key, "") for row in rows))
    console.print(table)
    for f, row in zip(files, rows, strict=True):
        bad = int(row.get("invalid cells (read as missing)", "0"))
        if bad:
            console.print(f"note: {f}: {bad} invalid cell(s) were read as missing; the figures "
                          f"leave them out. See them with: synthema validate --dictionary "
                          f"{dictionary} {f}", markup=False, soft_wrap=True)  # fmt: skip


def _rows_table(title: str, rows: list[dict[str, str]]) -> None:
    """Print dict rows (same keys) as one Rich table."""
    from rich.markup import escape
    from rich.table import Table

    if not rows:
        return
    table = Table(title=escape(title), title_justify="left")
    for key in rows[0]:
        table.add_column(key, overflow="fold")
    for row in rows:
        table.add_row(*(escape(str(v)) for v in row.values()))
    console.print(table)


@app.command("validate")
@_friendly
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Data files: .csv .tsv .txt .xlsx .parquet.")],
    dictionary: Annotated[str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")],
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
    opts = {"delimiter": delimiter, "encoding": encoding, "sheet": sheet}
    reports = []
    unreadable = []
    for f in files:
        try:  # one unreadable file must not hide the results of the others
            r = validate_file(f, d, **opts)
        except DataFileError as exc:
            unreadable.append(f)
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
            if exc.fix:
                err_console.print(f"[bold]fix:[/] {escape(exc.fix)}", soft_wrap=True)
            continue
        reports.append(r)
        _rows_table(
            f"{r.file}: problems",
            [
                {
                    "kind": g.kind,
                    "column": g.column or "",
                    "count": str(g.count),
                    "rows": ", ".join(map(str, g.rows)) + (" ..." if g.count > len(g.rows) else ""),
                    "first": g.message,
                    "fix": g.fix,
                }
                for g in r.groups(max_rows_shown)
            ],
        )
        console.print(r.totals_line(), soft_wrap=True, markup=False)
    bad = sum(len(r.problems) for r in reports)
    tail = f", {len(unreadable)} unreadable" if unreadable else ""
    console.print(f"{len(files)} file(s), {bad} problem(s){tail}", soft_wrap=True)
    if unreadable:
        raise typer.Exit(code=2)
    if bad:
        raise typer.Exit(code=1)


@app.command("harmonize")
@_friendly
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
    from synthema.errors import DataFileError
    from synthema.harmonize import dictionary_for, harmonize_file, load_mapping
    from synthema.schema import load_dictionary
    from synthema.tables import check_output_path, write_table

    check_output_path(out)  # refuse a bad output before any work is done
    if report is not None and report.is_dir():
        raise DataFileError(f"{report}: is a folder", fix="name a file, e.g. summary.json")
    m = load_mapping(mapping)
    source = file if file is not None else m.data_path()
    if source is not None and out.resolve() == Path(source).resolve():
        raise DataFileError(f"{out}: is the input file; harmonize never overwrites the export",
                            fix=f"write to another file, e.g. {out.stem}_harmonised{out.suffix}")
    d = load_dictionary(dictionary) if dictionary else dictionary_for(m)
    result = harmonize_file(file, m, dictionary=d, strict=strict)
    s = result.summary
    lines = s.lines()
    console.print(lines[0], soft_wrap=True, markup=False)
    _rows_table(f"{s.file} -> {d.name}", s.table_rows(details=details))
    for line in lines[len(s.columns) + 1 :]:
        if line.startswith("warning: "):
            console.print(f"[bold yellow]warning:[/] {escape(line[9:])}", soft_wrap=True)
        else:
            console.print(line, soft_wrap=True, markup=False)
    write_table(result.data, out, dictionary=d)
    if report is not None:
        import json

        try:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(json.dumps(s.to_dict(), indent=2), encoding="utf-8")
        except OSError as exc:
            raise DataFileError(f"{report}: cannot be written ({exc.strerror or exc})",
                                fix="choose a folder you can write to") from None
        console.print(f"wrote {report}", markup=False)
    console.print(
        f"wrote {out} ({len(result.data)} rows, {result.data.shape[1]} columns)", markup=False
    )


# ---- synthetic data -------------------------------------------------------------------------

SYNTH_METHODS = ("mst", "aim", "independent", "copula")
_SYNTH_FIX = "fit one first: synthema synth fit --dictionary D --epsilon 1 FILE... --out MODEL"


def _num(value: Any) -> str:
    """A privacy parameter as people read it: 1, 0.5, 1e-06, inf."""
    if value is None:
        return "-"
    return f"{float(value):.4g}"


def _print_privacy(synth: Any) -> None:
    """What the model cost: (ε, δ) and ρ, or a NOT PRIVATE label nobody can miss."""
    spent, method = synth.privacy_spent_, synth.method
    eps, delta, rho = (_num(spent.get(k)) for k in ("epsilon", "delta", "rho"))
    if spent.get("private") and synth.private:  # a non-private class is never labelled private
        console.print(
            f"privacy spent: ε = {eps}, δ = {delta} (ρ = {rho} zCDP); method {method}, "
            + spent.get("mode", "central mode (one trusted site held the pooled files)"),
            soft_wrap=True,
        )
        return
    if not synth.private:
        why, eps, rho = f"{method} is a non-private baseline", "inf", "inf"
    else:
        why = "ε = inf adds no noise to the statistics"
    console.print(
        f"[bold red]NOT PRIVATE[/]: {why} (method {method}, ε = {eps}, ρ = {rho}); the model "
        "and its samples may reveal real patients: keep them where the real data are",
        soft_wrap=True,
    )


@synth_app.command("fit")
@_friendly
def synth_fit(
    files: Annotated[list[Path], typer.Argument(help="Clean site files, pooled for the fit.")],
    dictionary: Annotated[str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model.")],
    epsilon: Annotated[
        float | None,
        typer.Option(help="Privacy budget ε > 0 (smaller: more private); inf: NOT PRIVATE."),
    ] = None,
    delta: Annotated[float, typer.Option(help="δ of (ε, δ)-DP, between 0 and 1.")] = 1e-6,
    method: Annotated[
        str, typer.Option(help="mst, aim, independent, or copula (not private).")
    ] = "mst",
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Seed of the public choices and of sampling. The DP noise comes from the "
            "operating system and never from the seed, so the same seed gives the same model "
            "only with --epsilon inf.",
        ),
    ] = None,
) -> None:
    """Fit a synthesizer on validated site files pooled at one trusted site; save the model."""
    import math
    import time

    import pandas as pd

    from synthema.errors import ValidationFailed
    from synthema.harmonize.validate import validate_frame
    from synthema.schema import load_dictionary
    from synthema.tables import read_table

    method = method.lower()
    if method not in SYNTH_METHODS:
        raise SynthemaError(
            f"unknown method '{method}'", fix=f"use one of: {', '.join(SYNTH_METHODS)}"
        )
    if epsilon is None and method != "copula":
        raise SynthemaError(
            "--epsilon is missing",
            fix="give the privacy budget, e.g. --epsilon 1 (smaller is more private; "
            "--epsilon inf adds no noise and is NOT PRIVATE)",
        )
    if epsilon is not None and (math.isnan(epsilon) or epsilon <= 0):
        raise SynthemaError(
            f"--epsilon is {epsilon:g}: it must be greater than 0",
            fix="use a positive budget such as 1 (or inf for no noise, NOT PRIVATE)",
        )
    if not 0 < delta < 1:  # also refuses NaN
        raise SynthemaError(
            f"--delta is {delta:g}: it must lie strictly between 0 and 1",
            fix="use a small δ, below 1/patients, e.g. --delta 1e-6",
        )
    if out.is_dir():
        raise SynthemaError(f"--out {out} is a folder", fix="name the model file, e.g. model.synth")
    if any(out.resolve() == f.resolve() for f in files):
        raise SynthemaError(f"--out {out} is one of the data files", fix="save the model elsewhere")

    d = load_dictionary(dictionary)
    frames = []
    for f in files:
        report = validate_frame(read_table(f), d, file=str(f))
        if not report.ok:
            raise ValidationFailed(
                report.totals_line(),
                fix=f"run `synthema validate --dictionary {dictionary} {f}` and fix what it "
                "lists: models are fitted on clean files only",
                problems=list(report.problems),
            )
        frames.append(report.data)
        console.print(f"{f}: {len(report.data)} patients, no problems", markup=False)
    data = pd.concat(frames, ignore_index=True)

    from synthema.synth import create_synthesizer

    budget = {} if epsilon is None else {"epsilon": epsilon}
    synth = create_synthesizer(method, dictionary=d, delta=delta, random_state=seed, **budget)
    what = f"ε = {_num(epsilon)}" if epsilon is not None else "no privacy budget"
    start = time.perf_counter()
    with console.status(f"fitting {method} ({what}) on {len(data)} patients, {len(d)} variables"):
        synth.fit(data)
    console.print(
        f"fitted {method} on {len(data)} patients from {len(files)} file(s), "
        f"{len(d)} variables, in {time.perf_counter() - start:.1f} s",
        soft_wrap=True,
    )
    _print_privacy(synth)
    out.parent.mkdir(parents=True, exist_ok=True)
    synth.save(out)
    console.print(f"wrote {out}", markup=False)


def _rules_report(report: Any, max_rules: int) -> None:
    """Print what rule enforcement took: rows redrawn/resampled/repaired per rule, or nothing."""
    rules = (report or {}).get("rules", {})
    broken = {name: c for name, c in rules.items() if c.get("violated")}
    if not broken:
        console.print("clinical rules: no rule violations to repair")
        return
    outcomes = ("redrawn", "resampled", "repaired", "rejected")
    console.print(
        f"clinical rules: {len(broken)} of {len(rules)} rules were broken by some of the "
        f"{report.get('rows_drawn', 0)} rows drawn; all {report.get('rows', 0)} rows written "
        "satisfy every rule",
        soft_wrap=True,
    )
    order = sorted(broken.items(), key=lambda kv: -kv[1]["violated"])
    _rows_table(
        "rows per rule",
        [
            {"rule": name, "violated": str(c["violated"])}
            | {k: str(c.get(k, 0) or "") for k in outcomes}
            for name, c in order[:max_rules]
        ],
    )
    if len(order) > max_rules:
        console.print(f"... and {len(order) - max_rules} more rule(s) (--max-rules-shown)")
    console.print(
        "violated: rows drawn that broke the rule; how the rows written were fixed: redrawn "
        "(values redrawn within their bins), resampled (row drawn again), repaired (a value "
        "redrawn from the model), rejected (replaced by a copy of a valid row)",
        soft_wrap=True,
    )
    totals = ", ".join(f"{report.get(f'rows_{k}', 0)} {k}" for k in outcomes)
    console.print(f"rows written: {totals}", markup=False)


@synth_app.command("sample")
@_friendly
def synth_sample(
    model: Annotated[Path, typer.Argument(help="A model saved by `synthema synth fit`.")],
    rows: Annotated[int, typer.Option("--rows", "-n", help="Synthetic patients to draw.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv, .tsv or .parquet.")],
    seed: Annotated[
        int | None, typer.Option(min=0, help="Random seed (same seed, same rows).")
    ] = None,
    max_rules_shown: Annotated[int, typer.Option(min=1, help="Rules listed in the report.")] = 15,
) -> None:
    """Draw synthetic patients from a saved model; clinical rules are enforced and reported."""
    from synthema.tables import check_output_path, write_table

    if rows < 1:
        raise SynthemaError(f"--rows is {rows}", fix="ask for at least 1 row, e.g. --rows 1000")
    check_output_path(out)  # refuse a bad output before any work is done
    if not model.exists():
        raise SynthemaError(f"{model}: no such model file", fix=_SYNTH_FIX)
    if model.is_dir():
        raise SynthemaError(f"{model}: is a folder, not a model file", fix=_SYNTH_FIX)

    from synthema.synth import load_synthesizer

    synth = load_synthesizer(model)
    with console.status(f"sampling {rows} rows from {synth.method}"):
        df = synth.sample(rows, random_state=seed)
    write_table(df, out, dictionary=synth.dictionary_)
    console.print(f"wrote {out} ({len(df)} rows, {df.shape[1]} columns)", markup=False)
    _print_privacy(synth)
    _rules_report(synth.sampling_report_, max_rules_shown)


@app.command("anonymize")
@_friendly
def anonymize_cmd(
    file: Annotated[Path, typer.Argument(help="Input table: .csv, .tsv, .xlsx or .parquet.")],
    policy: Annotated[str, typer.Option(help="Policy YAML path, or a built-in: aml, scd.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv, .tsv, .parquet.")],
    report: Annotated[Path, typer.Option(help="Folder for anonymization.json/.html.")],
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", "-m", help="FILE is a raw site export: its mapping YAML.")] = None,
) -> None:
    """Remove identifiers, pseudonymise, generalise to k/l/t and report risk and utility."""
    from synthema.anonymize.cli import run_anonymize

    for line in run_anonymize(file, policy=policy, out=out, report_dir=report, mapping=mapping):
        console.print(line, markup=False, soft_wrap=True)


@app.command("evaluate")
@_friendly
def evaluate_cmd(
    dictionary: Annotated[str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")],
    real: Annotated[list[Path], typer.Option(
        help="Real rows the generator was trained on (repeat for several site files).")],
    synthetic: Annotated[Path, typer.Option(help="Synthetic rows to evaluate.")],
    out: Annotated[Path, typer.Option(help="Folder for report.json and report.html.")],
    holdout: Annotated[list[Path] | None, typer.Option(
        help="Real rows never used for training (repeatable).")] = None,
    target: Annotated[str | None, typer.Option(help="Classification target (default: cr).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of samples, splits and models.")] = 0,
) -> None:
    """Score synthetic data: fidelity, utility, privacy attacks, clinical rules (JSON + HTML)."""
    from synthema.evaluate.command import run_evaluate

    folder = run_evaluate(dictionary=dictionary, real=real, holdout=holdout or None,
                          synthetic=synthetic, out=out, progress=True, target=target,
                          random_state=seed)  # fmt: skip
    result = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    for group, g in result.get("groups", {}).items():
        score = "-" if g.get("score") is None else f"{g['score']:.2f}"
        console.print(f"{group:<9} score {score}: {g['pass']} pass, {g['warn']} warn, "
                      f"{g['fail']} fail, {g['error']} error", markup=False)  # fmt: skip
    errors = [m for m in result.get("metrics", {}).values() if m.get("status") == "error"]
    for m in errors:
        console.print(f"  {m['name']}: error: {m.get('error')}", markup=False, soft_wrap=True)
    console.print(f"wrote {folder / 'report.json'} and {folder / 'report.html'}", markup=False)


# Registered last: these modules import helpers defined above.
from synthema.cli_federate import budget_app, federate_app  # noqa: E402

app.add_typer(federate_app, name="federate")
app.add_typer(budget_app, name="budget")
