"""A date format in doubt (issue 27, second review, D1): judged by shares, not by unanimity.

The first fix suspected a format only when one other format read *every* failed cell, so
one junk cell in a column of swapped dates turned the check off, and one stray European
date in a correct US column condemned every ambiguous date. Here both are attacked.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from synthema.harmonize import harmonize_file
from synthema.harmonize.dates import read_dates
from synthema.harmonize.mapping import dump_mapping

AMBIGUOUS = "day/month ambiguous, date format in doubt"


def _dates(n: int, seed: int) -> list[dt.date]:
    rng = np.random.default_rng(seed)
    start = dt.date(2012, 1, 1)
    return [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 3000, size=n)]


def _site(tmp_path, cells: list[str], fmt: str) -> object:
    data = tmp_path / "site.csv"
    pd.DataFrame({"ID": [f"P{i}" for i in range(len(cells))], "DX": cells},
                 dtype="string").to_csv(data, sep=";", index=False)
    path = tmp_path / "site.mapping.yaml"
    path.write_text(dump_mapping({
        "dictionary": "example.yaml", "file": data.name, "read": {"delimiter": ";"},
        "columns": {"patient_id": "ID",
                    "diagnosis_date": {"from": "DX", "date_format": fmt}}}), encoding="utf-8")
    return path


def _col(result, target="diagnosis_date"):
    return next(c for c in result.summary.columns if c.target == target)


@pytest.mark.parametrize("junk", ["k.A.", "unknown", "02/30/2015", "2015-02-01", "02/13/15"])
def test_one_junk_cell_does_not_turn_off_the_day_month_check(tmp_path, dictionary_file, junk):
    # Setup: 59 US dates under a French mapping's %d/%m/%Y, one cell replaced by junk
    dates = _dates(59, 7)
    cells = [d.strftime("%m/%d/%Y") for d in dates]
    cells[5] = junk
    truth = {i: d for i, d in enumerate(dates) if i != 5}
    # Run
    result = harmonize_file(None, _site(tmp_path, cells, "%d/%m/%Y"))
    col = _col(result)
    out = result.data["diagnosis_date"]
    # Assert: no carried date differs from the truth (the swapped ones are refused)
    wrong = [i for i, d in truth.items() if pd.notna(out[i]) and out[i].date() != d]
    assert wrong == []
    refused = sum(d.day <= 12 and d.day != d.month for d in truth.values())
    assert col.dropped[AMBIGUOUS] == refused > 0
    assert col.carried == sum(d.day == d.month for d in truth.values())
    (note,) = col.notes
    assert "but read as MM/DD/YYYY" in note and "the format is likely wrong" in note
    assert 'set date_format: "%m/%d/%Y"' in note


def test_a_stray_european_date_does_not_condemn_a_correct_us_column(tmp_path, dictionary_file):
    # Setup: 24 US dates under the right %m/%d/%Y, one of them typed the European way
    dates = _dates(24, 3)
    cells = [d.strftime("%m/%d/%Y") for d in dates]
    cells[4] = "13/02/2015"
    # Run
    result = harmonize_file(None, _site(tmp_path, cells, "%m/%d/%Y"))
    col = _col(result)
    # Assert: the 23 others are carried as written; the stray is dropped and named
    assert col.dropped == {"not a date (MM/DD/YYYY)": 1}
    assert col.carried == 23
    kept = result.data["diagnosis_date"].drop(index=4).dt.date.tolist()
    assert kept == [d for i, d in enumerate(dates) if i != 4]
    (note,) = col.notes
    assert "1 of 24 dates are not MM/DD/YYYY but read as DD/MM/YYYY (row 6: 13/02/2015)" in note
    assert "likely typed the other way" in note and "the other dates are kept" in note
    assert any("13/02/2015" in w for w in result.summary.warnings())


def test_a_column_mixing_both_orders_refuses_the_ambiguous_dates(tmp_path, dictionary_file):
    # Setup: a French column in which a fifth of the dates were typed the US way
    dates = _dates(60, 11)
    cells = [d.strftime("%m/%d/%Y" if i % 5 == 0 else "%d/%m/%Y") for i, d in enumerate(dates)]
    # Run
    col = _col(harmonize_file(None, _site(tmp_path, cells, "%d/%m/%Y")))
    # Assert: the French format reads more order-revealing dates, yet the mix is material
    assert col.dropped[AMBIGUOUS] > 0
    (note,) = col.notes
    assert "the column mixes DD/MM/YYYY and MM/DD/YYYY" in note


def test_read_dates_ignores_cells_no_format_reads():
    # Setup: two US-only dates, one ambiguous, one junk cell, under %d/%m/%Y
    texts = pd.Series(["02/13/2015", "03/04/2015", "12/25/2019", "k.A.", None], dtype="string")
    # Run
    other = read_dates(texts, "%d/%m/%Y").other
    # Assert
    assert (other.fmt, other.count, other.unreadable, other.against) == ("%m/%d/%Y", 2, 1, 0)
    assert other.in_doubt and other.at_risk.tolist() == [False, True, False, False, False]
