"""The account a harmonisation gives of itself: what was converted, repaired and dropped.

Every value that leaves the source file without reaching the harmonised frame is counted
here, per column and reason, with example rows (spreadsheet numbering: header row 1).
Dictionary variables the mapping does not fill, source columns it ignores, rows with no
mapped value and rows breaking a clinical rule are listed too. The CLI prints
:meth:`HarmonizeSummary.table_rows`; ``docs/harmonize.md`` explains each line.

>>> s = HarmonizeSummary(file="x.csv", rows_in=3, rows_out=3, columns=(
...     ColumnReport("hb", "Hb_mmol", "mmol/L -> g/dL (x 1.6114)", present=3, carried=2,
...                  dropped={"out of range": 1}, examples={"out of range": ((4, "99"),)}),))
>>> s.dropped_total
1
>>> print(s.lines()[1])
hb <- Hb_mmol: mmol/L -> g/dL (x 1.6114); 2 of 3 values carried; dropped: 1 out of range (row 4: 99)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXAMPLES = 3
CODED_MISSING = "coded as missing (mapping)"
WITHHELD = "left missing (when)"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 row``, ``2 rows`` (``words`` when the plural is not ``word + 's'``)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def examples_text(examples: tuple[tuple[int, str], ...]) -> str:
    shown = ", ".join(f"{v}" if r is None else f"row {r}: {v}" for r, v in examples[:EXAMPLES])
    return f" ({shown})" if shown else ""


@dataclass(frozen=True)
class ColumnReport:
    """One mapped column: how its values were converted and which did not make it.

    ``present`` counts source cells holding a value (not a missing marker, not a code the
    mapping declares as missing, not a value its ``when`` condition leaves missing:
    ``withheld``); ``carried`` the values in the harmonised column. ``suggestion`` is the
    likely fix when every present value was dropped; ``notes`` are warnings about a column
    that kept some values (a date format in doubt, values rounding to 0); ``kept_markers``
    the missing markers read as values here (they are categories or codes).
    """

    target: str
    source: str
    conversion: str
    present: int
    carried: int
    declared_missing: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    examples: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    suggestion: str = ""
    withheld: int = 0
    condition: str = ""
    notes: tuple[str, ...] = ()
    kept_markers: tuple[str, ...] = ()

    @property
    def dropped_total(self) -> int:
        """Values of this column that were dropped, all reasons together."""
        return sum(self.dropped.values())

    @property
    def all_dropped(self) -> bool:
        """True when the column held values and none of them reached the output."""
        return self.present > 0 and self.carried == 0 and self.dropped_total > 0

    def coded_missing_text(self) -> str:
        """``K coded as missing (mapping)`` with example rows ('' when there are none)."""
        if not self.declared_missing:
            return ""
        return (f"{self.declared_missing} {CODED_MISSING}"
                + examples_text(self.examples.get(CODED_MISSING, ())))

    def withheld_text(self) -> str:
        """``K left missing (kept only where C)`` with example rows ('' when none)."""
        if not self.withheld:
            return ""
        return (f"{self.withheld} left missing (kept only where {self.condition})"
                + examples_text(self.examples.get(WITHHELD, ())))

    def column_warnings(self) -> list[str]:
        """``warning:`` lines of this column: all values lost, or its notes."""
        head = f"warning: column {self.target} <- {self.source}: "
        return ([self.warning()] if self.all_dropped else []) + [head + n for n in self.notes]

    def warning(self) -> str:
        """The ``warning:`` line of a column that lost every value ('' otherwise)."""
        if not self.all_dropped:
            return ""
        reasons = ", ".join(f"{n} {r}" for r, n in self.dropped.items())
        fix = f"; {self.suggestion}" if self.suggestion else ""
        return (f"warning: column {self.target} <- {self.source}: all {self.present} values "
                f"dropped ({reasons}){fix}")

    def kept_markers_text(self) -> str:
        """The mapping's missing markers this column reads as values (categories or codes)."""
        return ("read as values, not missing: "
                + ", ".join(f"'{m}'" for m in self.kept_markers))

    def line(self) -> str:
        """One line of text describing the column."""
        parts = [
            f"{self.target} <- {self.source}: {self.conversion or 'copied'}",
            f"{self.carried} of {self.present} values carried",
        ]
        if self.declared_missing:
            parts.append(self.coded_missing_text())
        if self.withheld:
            parts.append(self.withheld_text())
        if self.kept_markers:
            parts.append(self.kept_markers_text())
        for title, counts in (("repaired", self.repaired), ("dropped", self.dropped)):
            if counts:
                parts.append(f"{title}: " + ", ".join(
                    f"{n} {reason}{examples_text(self.examples.get(reason, ()))}"
                    for reason, n in counts.items()
                ))
        return "; ".join(parts)


def _is_plain(c: ColumnReport) -> bool:
    """Copied or recoded, nothing repaired, dropped or declared missing."""
    conv = c.conversion or "copied"
    recoded = conv == "copied" or conv == "patient id" or conv.endswith(" codes")
    return recoded and not (c.repaired or c.dropped or c.declared_missing or c.withheld
                            or c.notes or c.kept_markers)


@dataclass(frozen=True)
class HarmonizeSummary:
    """Everything a harmonisation did to a file, for the user and for ``--strict``."""

    file: str
    rows_in: int
    rows_out: int
    columns: tuple[ColumnReport, ...] = ()
    missing_variables: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    dropped_columns: tuple[str, ...] = ()
    empty_rows: tuple[int, ...] = ()
    missing_ids: tuple[int, ...] = ()
    duplicate_ids: tuple[tuple[int, str], ...] = ()
    duplicate_rows: tuple[tuple[int, int], ...] = ()
    rule_violations: dict[str, tuple[int, ...]] = field(default_factory=dict)
    read: str = ""
    absent_columns: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    control_cells: tuple[tuple[int, str, str], ...] = ()

    @property
    def dropped_total(self) -> int:
        """Values dropped in all columns together (what ``--strict`` refuses)."""
        return sum(c.dropped_total for c in self.columns)

    @property
    def dropped_by_column(self) -> dict[str, dict[str, int]]:
        """Dropped counts per target column and reason (columns with none left out)."""
        return {c.target: dict(c.dropped) for c in self.columns if c.dropped}

    @property
    def all_dropped_columns(self) -> tuple[str, ...]:
        """Target columns whose every present value was dropped."""
        return tuple(c.target for c in self.columns if c.all_dropped)

    def warnings(self) -> list[str]:
        """``warning:`` lines: columns that lost every value or need a look, file notes."""
        return [w for c in self.columns for w in c.column_warnings()] + [
            f"warning: {n}" for n in self.notes]

    def lines(self) -> list[str]:
        """The summary as plain text lines (also used in error messages and logs)."""
        return [self.header(), *(c.line() for c in self.columns), *self.file_lines(),
                self.total_line(), *self.warnings()]

    def header(self) -> str:
        """The first line: the file, how it was read, rows read and written."""
        how = f" [{self.read}]" if self.read else ""
        return f"{self.file}: {self.rows_in} rows read{how}, {self.rows_out} rows written"

    def total_line(self) -> str:
        """``values dropped in all: N``."""
        return f"values dropped in all: {self.dropped_total}"

    def file_lines(self) -> list[str]:
        """Findings about rows and columns as a whole (after the per-column lines)."""
        out = []
        if self.empty_rows:
            out.append(f"rows with no mapped value (not written): {len(self.empty_rows)}"
                       + examples_text(tuple((None, str(r)) for r in self.empty_rows)))
        if self.missing_ids:
            out.append(f"rows without a patient id: {len(self.missing_ids)}"
                       + examples_text(tuple((None, str(r)) for r in self.missing_ids)))
        if self.duplicate_ids:
            out.append(f"rows repeating a patient id: {len(self.duplicate_ids)}"
                       + examples_text(self.duplicate_ids))
        if self.duplicate_rows:
            out.append("rows repeating an earlier row in every harmonised value (kept): "
                       f"{len(self.duplicate_rows)}"
                       + examples_text(tuple((None, f"row {r} = row {f}")
                                              for r, f in self.duplicate_rows)))
        if self.absent_columns:
            out.append("mapped columns not in the file (missing_columns: allow; all missing): "
                       + ", ".join(f"{t} <- {s}" for t, s in self.absent_columns))
        if self.missing_variables:
            out.append("dictionary variables not in the mapping (all missing): "
                       + ", ".join(self.missing_variables))
        if self.ignored_columns:
            out.append("source columns ignored (neither mapped nor dropped): "
                       + ", ".join(self.ignored_columns))
        if self.dropped_columns:
            out.append("source columns dropped by the mapping: " + ", ".join(self.dropped_columns))
        for rule, rows in self.rule_violations.items():
            out.append(f"rule {rule} violated in {plural(len(rows), 'row')} (kept)"
                       + examples_text(tuple((None, str(r)) for r in rows)))
        return out

    def table_rows(self, *, details: bool = True) -> list[dict[str, str]]:
        """One row per column (then per file-level finding) for a printed table.

        Without ``details``, columns copied or recoded with every value carried are folded
        into one line, so the table shows only what a reviewer must look at: unit and date
        conversions, repairs, drops, missing variables and rule violations.
        """
        rows = []
        plain = [c for c in self.columns if _is_plain(c)]
        for c in self.columns:
            if not details and _is_plain(c):
                continue
            rows.append({
                "variable": c.target,
                "source": c.source,
                "conversion": c.conversion or "copied",
                "carried": f"{c.carried}/{c.present}",
                "repaired": "; ".join([f"{n} {r}" for r, n in c.repaired.items()]
                                      + ([c.kept_markers_text()] if c.kept_markers else [])),
                "dropped": "; ".join(
                    [f"{n} {r}{examples_text(c.examples.get(r, ()))}"
                     for r, n in c.dropped.items()]
                    + ([c.coded_missing_text()] if c.declared_missing else [])
                    + ([c.withheld_text()] if c.withheld else [])
                ),
            })
        if not details and plain:
            carried = sum(c.carried for c in plain)
            rows.append({"variable": f"{len(plain)} more columns", "source": "",
                         "conversion": "copied or recoded", "carried": f"{carried} values",
                         "repaired": "", "dropped": "none (--details lists them)"})
        if self.absent_columns and details:
            for target, source in self.absent_columns:
                rows.append({"variable": target, "source": source,
                             "conversion": "not in the file", "carried": "0/0",
                             "repaired": "", "dropped": "all missing"})
        elif self.absent_columns:
            rows.append({"variable": plural(len(self.absent_columns), "mapped column"),
                         "source": "", "conversion": "not in the file", "carried": "0/0",
                         "repaired": "", "dropped": "all missing (listed below)"})
        for name in self.missing_variables:
            rows.append({"variable": name, "source": "-", "conversion": "not in mapping",
                         "carried": "0/0", "repaired": "", "dropped": "all missing"})
        for rule, found in self.rule_violations.items():
            rows.append({"variable": f"rule {rule}", "source": "", "conversion": "",
                         "carried": "", "repaired": "",
                         "dropped": (f"{len(found)} row violates it (kept)" if len(found) == 1
                                     else f"{len(found)} rows violate it (kept)")
                         + examples_text(tuple((None, str(r)) for r in found))})
        return rows

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the summary."""
        return {
            "file": self.file,
            "read": self.read,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped_total": self.dropped_total,
            "columns": [
                {
                    "target": c.target, "source": c.source, "conversion": c.conversion,
                    "present": c.present, "carried": c.carried,
                    "declared_missing": c.declared_missing, "withheld": c.withheld,
                    "condition": c.condition, "kept_markers": list(c.kept_markers),
                    "repaired": dict(c.repaired),
                    "all_values_dropped": c.all_dropped,
                    "dropped": dict(c.dropped),
                    "examples": {k: [list(e) for e in v] for k, v in c.examples.items()},
                }
                for c in self.columns
            ],
            "all_values_dropped": list(self.all_dropped_columns),
            "warnings": self.warnings(),
            "absent_columns": [{"target": t, "source": s} for t, s in self.absent_columns],
            "missing_variables": list(self.missing_variables),
            "ignored_columns": list(self.ignored_columns),
            "dropped_columns": list(self.dropped_columns),
            "empty_rows": list(self.empty_rows),
            "missing_ids": list(self.missing_ids),
            "duplicate_ids": [list(d) for d in self.duplicate_ids],
            "duplicate_rows": [{"row": r, "repeats_row": f} for r, f in self.duplicate_rows],
            "control_characters": [{"row": r, "column": c, "cell": v}
                                   for r, c, v in self.control_cells],
            "rule_violations": {k: list(v) for k, v in self.rule_violations.items()},
        }
