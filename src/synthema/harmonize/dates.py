"""Reading dates in a site's declared format, and noticing when the format is wrong.

A wrong day/month order does not fail loudly: ``%d/%m/%Y`` reads ``03/04/2015`` from a US
file as 3 April instead of 4 March, and fails only on days above 12. So when some values
fail the declared format and another common format reads every one of them, the format is
in doubt: the values read both ways (to different dates) are at risk, and are refused
unless the mapping confirms the format (``confirm_date_format: true``).

Workbooks and Parquet files hold date-times; :mod:`synthema.tables.sheets` renders
them as ISO text (``2020-03-01 09:15:00``, ``2020-03-01 00:00:00+01:00``). A date variable
takes their date as written (the time of day and the zone are dropped, and counted).
A date written as an Excel serial number (``43891``, a date cell formatted General) is
not guessed: it is dropped with a hint.

>>> read_dates(pd.Series(["2020-03-01 09:15:00", "2020-03-02"], dtype="string"),
...            "%Y-%m-%d").values.dt.strftime("%Y-%m-%d").tolist()
['2020-03-01', '2020-03-02']
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.schema.values import DATE_FORMATS

_ISO_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_SERIAL = re.compile(r"^\d{4,5}(\.0+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_RANGE = (18264, 73051)  # 1950-01-01 .. 2099-12-31 in Excel's 1900 date system
TIME_DROPPED = "date-time read as its date (time of day dropped)"
MIDNIGHT_READ = "date-time at midnight read as its date"


def shown_format(fmt: str) -> str:
    """``%d.%m.%Y`` as people read it: ``DD.MM.YYYY``."""
    return (fmt.replace("%Y", "YYYY").replace("%y", "YY").replace("%m", "MM")
            .replace("%d", "DD"))


@dataclass(frozen=True)
class DateRead:
    """Dates read from text, with what was done beyond the declared format.

    ``time_dropped`` / ``midnight``: ISO date-times whose date was taken (the time was not
    midnight / was midnight, possibly with a zone). ``failed``: present cells read as no
    date. ``doubt``: the other format that reads every failed cell, when there is one;
    ``at_risk``: cells read by both formats to different dates.
    """

    values: pd.Series
    time_dropped: np.ndarray
    midnight: np.ndarray
    failed: np.ndarray
    doubt: str | None
    at_risk: np.ndarray


def read_dates(texts: pd.Series, fmt: str) -> DateRead:
    """Dates of ``texts`` in ``fmt`` (see the module docstring for date-times and doubt)."""
    texts = texts.astype("string")
    present = texts.notna().to_numpy(dtype=bool)
    parsed = pd.to_datetime(texts, format=fmt, errors="coerce")
    values = parsed.dt.normalize().astype("datetime64[ns]")
    unread = present & values.isna().to_numpy(dtype=bool)
    time_dropped = np.zeros(len(texts), dtype=bool)
    midnight = np.zeros(len(texts), dtype=bool)
    for i in np.flatnonzero(unread):
        found = _ISO_DATETIME.match(str(texts.iloc[i]))
        if not found:
            continue
        day = pd.to_datetime(found.group(1), format="%Y-%m-%d", errors="coerce")
        if pd.isna(day):
            continue
        values.iloc[i] = day
        at_midnight = (found.group(2), found.group(3), found.group(4) or "00") == ("00", "00",
                                                                                   "00")
        (midnight if at_midnight else time_dropped)[i] = True
    failed = present & values.isna().to_numpy(dtype=bool)
    carried = present & ~failed & ~time_dropped & ~midnight
    doubt = None
    at_risk = np.zeros(len(texts), dtype=bool)
    if failed.any() and carried.any():
        doubt = guess_date_format(texts[failed])
        if doubt is not None:
            other = pd.to_datetime(texts, format=doubt, errors="coerce").dt.normalize()
            differs = (other.astype("datetime64[ns]") != values).fillna(False)
            at_risk = carried & other.notna().to_numpy(dtype=bool) & differs.to_numpy(
                dtype=bool)
    return DateRead(values, time_dropped, midnight, failed, doubt, at_risk)


def guess_date_format(text: pd.Series) -> str | None:
    """The first common ``strptime`` format that reads every present cell (None: none does).

    >>> guess_date_format(pd.Series(["03.04.2015", "28.02.2019", None], dtype="string"))
    '%d.%m.%Y'
    >>> guess_date_format(pd.Series(["12/31/2020"], dtype="string"))
    '%m/%d/%Y'
    """
    cells = text.astype("string").str.strip().dropna()
    cells = cells[cells != ""]
    if cells.empty:
        return None
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(cells, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None


def excel_serial(text: str) -> dt.date | None:
    """The date an Excel serial number stands for (1950-2099 only; None otherwise).

    >>> excel_serial("43891"), excel_serial("12"), excel_serial("03.04.2015")
    (datetime.date(2020, 3, 1), None, None)
    """
    if not _SERIAL.match(text.strip()):
        return None
    serial = int(float(text))
    if not _SERIAL_RANGE[0] <= serial <= _SERIAL_RANGE[1]:
        return None
    return _EXCEL_EPOCH + dt.timedelta(days=serial)


def serial_hint(texts: pd.Series, failed: np.ndarray) -> str:
    """A hint when dropped dates look like Excel serial numbers ('' when they do not)."""
    for value in texts[failed].dropna():
        day = excel_serial(str(value))
        if day is not None:
            return (f"the values look like Excel date serial numbers ({value} is "
                    f"{day.isoformat()}): format the column as a date in the workbook and "
                    "save it again")
    return ""
