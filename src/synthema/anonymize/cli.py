"""What ``synthema anonymize`` does, kept out of cli.py so the command stays a thin wrapper."""

from __future__ import annotations

from pathlib import Path

from synthema.anonymize.pipeline import anonymize
from synthema.anonymize.policy import load_policy
from synthema.anonymize.report import write_report


def run_anonymize(file: Path, *, policy: str, out: Path, report_dir: Path) -> list[str]:
    """Read ``file``, anonymise it under ``policy``, write the release and the report.

    Returns:
        Summary lines for the terminal.
    """
    from synthema.harmonize.io import check_output_path, read_table, write_table

    check_output_path(out)
    pol = load_policy(policy)
    df = read_table(file)
    population = None
    if pol.population:
        pop_path = Path(pol.population)
        if not pop_path.is_absolute() and pol.source != "<policy>":
            pop_path = Path(pol.source).parent / pop_path
        population = read_table(pop_path)
    result = anonymize(df, pol, population=population)
    write_table(result.data, out)
    paths = write_report(result.report, report_dir)
    rep = result.report
    ach, after = rep["achieved"], rep["risk"]["after"]
    loss = rep["information_loss"]
    return [
        f"wrote {out} ({rep['records_out']} of {rep['records_in']} records, "
        f"{len(rep['columns_out'])} columns)",
        f"achieved k={ach['k']} l={ach['l_distinct']} entropy-l={ach['l_entropy']} t={ach['t']}",
        f"suppressed {loss['suppressed_records']} records ({loss['suppression_rate']:.2%}); "
        f"generalisation {rep['generalisation']}",
        f"prosecutor risk highest {after['prosecutor']['highest']}, average "
        f"{after['prosecutor']['average']}; records above {after['threshold']}: "
        f"{after['prosecutor']['above_threshold']:.2%}",
        "report: " + ", ".join(str(p) for p in paths),
    ]
