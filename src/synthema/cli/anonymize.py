"""``synthema anonymize``: a release and its report, summarised in a few lines.

The library call is :func:`synthema.anonymize.files.anonymize_file`; this module only turns
its report into the lines a privacy officer reads first (the full report is in
``anonymization.json`` and ``anonymization.html``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from synthema.cli._output import friendly, say


def _risk_lines(risk: dict[str, Any]) -> list[str]:
    out = [f"re-identification risk ({risk['population']}; threshold {risk['threshold']}):"]
    for model in ("prosecutor", "journalist"):
        r = risk[model]
        out.append(f"  {model:<10} highest {r['highest']:.4g}, average {r['average']:.4g}, "
                   f"records above threshold {r['above_threshold']:.2%}")
    out.append(f"  {'marketer':<10} average {risk['marketer']['average']:.4g}")
    return out


def _released_lines(rep: dict[str, Any]) -> list[str]:
    """Risk over every released column, pseudonym scope and the report's warnings."""
    rc = rep["risk"]["released_columns"]
    lines = [f"risk over all released columns (pseudonyms aside): {rc['unique_records']} of "
             f"{rc['records']} records unique ({rc['unique_share']:.2%}), prosecutor highest "
             f"{rc['prosecutor']['highest']:.4g}, average {rc['prosecutor']['average']:.4g}"]
    if rep.get("pseudonym"):
        lines.append(f"pseudonyms: scope {rep['pseudonym']['scope']}")
    return lines + [f"warning: {w}" for w in rep.get("warnings", [])]


def _cost_line(util: dict[str, Any]) -> str:
    """The utility lost, original input vs release, in one line."""
    c = util.get("input_vs_release")
    if not c or c.get("mean_tvd") is None:
        return "utility lost (input vs release): not computed"
    lost = {s: sum(r["status"] == s for r in c["columns"]) for s in ("removed", "withheld")}
    figures = (f"{c['mean_tvd']:.4g} over all {c['mean_over']} input columns "
               f"({lost['removed']} removed, {lost['withheld']} withheld)")
    if c.get("purpose_mean_tvd") is not None:
        figures = (f"{c['purpose_mean_tvd']:.4g} over the {c['purpose_over']} columns the "
                   f"policy names; {figures}")
    return f"utility lost (mean TVD, original input vs release; 1 = column gone): {figures}"


def _utility_line(util: dict[str, Any]) -> str:
    shown = ", ".join(
        f"{m['name']} {'—' if m['value'] is None else format(m['value'], '.4g')} ({m['status']}"
        + (f": {m['error']}" if m.get("error") else "") + ")"
        for m in util.get("metrics", []))
    return "utility (synthema.evaluate, input generalised as released vs release): " + (
        shown or util.get("note", "not computed"))


def _models_line(rep: dict[str, Any]) -> str:
    ach, m = rep["achieved"], rep["models"]
    need = [f"k={m['k']}"]
    if m["l"] is not None:
        need.append(f"{'entropy-' if m['l_variant'] == 'entropy' else ''}l={m['l']}")
    if m["t"] is not None:
        need.append(f"t={m['t']}")
    got = f"achieved k={ach['k']}"
    if ach["l_distinct"] is not None:
        got += (f" l={ach['l_distinct']} entropy-l={ach['l_entropy']:.4g} "
                f"t={ach['t']:.4g}")
    return f"{got} (required {' '.join(need)})"


def _generalisation_line(rep: dict[str, Any]) -> str:
    loss = rep["information_loss"]
    levels = "; ".join(f"{c} {v['shows']}, level {v['level']} of {v['highest']}"
                       for c, v in rep["generalisation_levels"].items())
    return (f"suppressed {loss['suppressed_records']} records "
            f"({loss['suppression_rate']:.2%}); generalisation: {levels or 'none'}")


def _raw_lines(rep: dict[str, Any], h: dict[str, Any]) -> list[str]:
    """The raw export's lines; ``h`` is the site-internal harmonisation detail."""
    lines = [f"harmonised {h['file']} with {h['mapping']}: {h['rows_out']} of {h['rows_in']} "
             f"rows kept, {h['dropped_total']} values dropped, {h['repaired_total']} repaired"]
    for i in rep["identifiers"]:
        bad = sum(i.get("dropped", {}).values())
        note = f"; {bad} not dates, set to missing" if bad else ""
        lines.append(f"identifier {i['source']} ({i['role'].replace('_', ' ')}, "
                     f"{i['values']} values): {i['action']}{note}")
    return lines


def summary_lines(rep: dict[str, Any], *, out: Path, report_paths: tuple[Path, ...],
                  harmonization: dict[str, Any] | None = None) -> list[str]:
    """The terminal summary of a release's report (its JSON form) for the site's operator.

    ``harmonization`` (a raw export's per-column counts) is site-internal: the terminal may
    show it, the published report does not.
    """
    return [
        *(_raw_lines(rep, harmonization) if harmonization is not None else []),
        f"wrote {out} ({rep['records_out']} of {rep['records_in']} records, "
        f"{len(rep['columns_out'])} columns)",
        _models_line(rep),
        _generalisation_line(rep),
        *_risk_lines(rep["risk"]["after"]),
        *_released_lines(rep),
        _cost_line(rep["utility"]),
        _utility_line(rep["utility"]),
        "report: " + ", ".join(str(p) for p in report_paths),
    ]


@friendly
def anonymize_cmd(
    file: Annotated[Path, typer.Argument(help="Input table: .csv, .tsv, .xlsx or .parquet.")],
    policy: Annotated[str, typer.Option(help="Policy YAML path, or a built-in: aml, scd.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv, .tsv, .parquet.")],
    report: Annotated[Path, typer.Option(help="Folder for anonymization.json/.html.")],
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", "-m", help="FILE is a raw site export: its mapping YAML.")] = None,
) -> None:
    """Remove identifiers, pseudonymise, generalise to k/l/t and report risk and utility."""
    from synthema.anonymize.files import anonymize_file

    done = anonymize_file(file, policy=policy, out=out, report_dir=report, mapping=mapping)
    harm = done.result.report.harmonization
    for line in summary_lines(done.result.report.to_dict(), out=done.out,
                              report_paths=done.report_paths,
                              harmonization=None if harm is None else asdict(harm)):
        say(line)
