"""What ``synthema anonymize`` does, kept out of cli.py so the command stays a thin wrapper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthema.anonymize.pipeline import anonymize
from synthema.anonymize.policy import load_policy
from synthema.anonymize.raw import anonymize_export
from synthema.anonymize.report import write_report


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


def _raw_lines(rep: dict[str, Any]) -> list[str]:
    h = rep["harmonization"]
    lines = [f"harmonised {h['file']} with {h['mapping']}: {h['rows_out']} of {h['rows_in']} "
             f"rows kept, {h['dropped_total']} values dropped, {h['repaired_total']} repaired"]
    for i in rep["identifiers"]:
        bad = sum(i.get("dropped", {}).values())
        note = f"; {bad} not dates, set to missing" if bad else ""
        lines.append(f"identifier {i['source']} ({i['role'].replace('_', ' ')}, "
                     f"{i['values']} values): {i['action']}{note}")
    return lines


def run_anonymize(file: Path, *, policy: str, out: Path, report_dir: Path,
                  mapping: Path | None = None) -> list[str]:
    """Read ``file``, anonymise it under ``policy``, write the release and the report.

    With ``mapping``, ``file`` is a raw site export: it is read with the mapping's read
    options and harmonised in memory, its identifier columns handled as the policy's
    ``raw:`` section says (:func:`synthema.anonymize.raw.anonymize_export`).

    Returns:
        Summary lines for the terminal.
    """
    from synthema.harmonize import load_mapping
    from synthema.tables import check_output_path, read_table, write_table

    check_output_path(out)
    pol = load_policy(policy)
    site = load_mapping(mapping) if mapping is not None else None
    df = read_table(file, **site.read_options()) if site is not None else read_table(file)
    population = None
    if pol.population:
        pop_path = Path(pol.population)
        if not pop_path.is_absolute() and pol.source != "<policy>":
            pop_path = Path(pol.source).parent / pop_path
        population = read_table(pop_path)
    if site is not None:
        result = anonymize_export(df, pol, mapping=site, population=population, file=str(file))
    else:
        result = anonymize(df, pol, population=population, file=str(file))
    write_table(result.data, out)
    paths = write_report(result.report, report_dir, version=_version())
    rep = result.report
    lines = _raw_lines(rep) if site is not None else []
    return lines + [
        f"wrote {out} ({rep['records_out']} of {rep['records_in']} records, "
        f"{len(rep['columns_out'])} columns)",
        _models_line(rep),
        _generalisation_line(rep),
        *_risk_lines(rep["risk"]["after"]),
        *_released_lines(rep),
        _utility_line(rep["utility"]),
        "report: " + ", ".join(str(p) for p in paths),
    ]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("synthema")
    except PackageNotFoundError:
        return "unknown"
