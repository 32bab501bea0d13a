"""``synthema anonymize`` as one library call: a file and a policy in, a release and its report out.

The input is read with :mod:`synthema.tables` (a raw site export with its mapping's read
options), anonymised by :func:`synthema.anonymize.anonymize` or, for a raw export,
:func:`synthema.anonymize.anonymize_export`, and written with the report
(``anonymization.json`` and ``anonymization.html``). The output path is checked before any
work is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from synthema import installed_version
from synthema.anonymize.pipeline import AnonymizationResult, anonymize
from synthema.anonymize.policy import Policy, load_policy
from synthema.anonymize.raw import anonymize_export
from synthema.anonymize.report import write_report


@dataclass(frozen=True)
class AnonymizedFile:
    """The release and its report, where they were written, and whether the input was raw."""

    result: AnonymizationResult
    out: Path
    report_paths: tuple[Path, ...]
    raw_export: bool


def _population(policy: Policy):
    """The policy's population table (journalist and marketer risk), relative to the policy."""
    from synthema.tables import read_table

    if not policy.population:
        return None
    path = Path(policy.population)
    if not path.is_absolute() and policy.source != "<policy>":
        path = Path(policy.source).parent / path
    return read_table(path)


def anonymize_file(file: str | Path, *, policy: str | Path, out: str | Path,
                   report_dir: str | Path, mapping: str | Path | None = None) -> AnonymizedFile:
    """Read ``file``, anonymise it under ``policy``, write the release and the report.

    With ``mapping``, ``file`` is a raw site export: it is read with the mapping's read
    options and harmonised in memory, its identifier columns handled as the policy's
    ``raw:`` section says (:func:`synthema.anonymize.raw.anonymize_export`).

    Raises:
        DataFileError: the input cannot be read, or ``out`` cannot be written.
        AnonymizationError: the policy does not fit the data, or cannot be met.
        MappingError: the mapping does not fit the export.
    """
    from synthema.harmonize import load_mapping
    from synthema.tables import check_output_path, read_table, write_table

    out = check_output_path(out)
    pol = load_policy(policy)
    site = load_mapping(mapping) if mapping is not None else None
    df = read_table(file, **site.read_options()) if site is not None else read_table(file)
    population = _population(pol)
    if site is not None:
        result = anonymize_export(df, pol, mapping=site, population=population, file=str(file))
    else:
        result = anonymize(df, pol, population=population, file=str(file))
    write_table(result.data, out)
    paths = write_report(result.report, report_dir, version=installed_version())
    return AnonymizedFile(result, out, tuple(paths), site is not None)

