"""Reading dates in a site's declared format, and noticing when the format is wrong.

A wrong day/month order does not fail loudly: ``%d/%m/%Y`` reads ``03/04/2015`` from a US
file as 3 April instead of 4 March, and fails only on days above 12. So when some values
fail the declared format, the common format that reads most of them is weighed against
the declared one on the dates only one of the two reads (a day above 12 shows the order;
cells no common format reads, such as ``k.A.``, are no evidence either way). When at
least 1 in 10 of those dates follow the other format (:data:`DOUBT_SHARE`), about that
share of the dates readable both ways would be swapped too: the format is in doubt, and
the values read both ways (to different dates) are at risk, refused unless the mapping
confirms the format (``confirm_date_format: true``). Below that share the other-format
values are strays (``13/02/2015`` among US dates): they are dropped and named, and the
column is kept.

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
SHIFTED_MIDNIGHT = ("evening date-time at one clock time (a local midnight stored in UTC? "
                    "the date may be a day early)")
_UTC = ("Z", "00:00", "0000")  # UTC, or no zone (a local time zone keeps its own date)
_SHIFT_MINUTES = ("00", "30", "45")  # time zones are whole, half or quarter hours off UTC


def shown_format(fmt: str) -> str:
    """``%d.%m.%Y`` as people read it: ``DD.MM.YYYY``."""
    return (fmt.replace("%Y", "YYYY").replace("%y", "YY").replace("%m", "MM")
            .replace("%d", "DD"))


DOUBT_SHARE = 0.1
"""The share of order-revealing dates (read by only one of the two formats) that must
follow the other format for the declared one to be in doubt. The share of dates with a day
above 12 written the other way estimates the share of those with a day up to 12 written
that way too; at 1 in 10 or more, keeping the ambiguous ones would swap that many silently.
One stray date among ten or more that only the declared format reads stays a stray."""


@dataclass(frozen=True)
class OtherFormat:
    """Another common format that reads dates the declared format fails.

    ``reads``: the failed cells it reads; ``against``: cells only the declared format
    reads (evidence for it); ``unreadable``: failed cells no common format reads (no
    evidence); ``in_doubt``: the other format's share of the order-revealing cells is at
    least :data:`DOUBT_SHARE`; ``at_risk``: cells the declared format read that it reads
    as another date (day and month swapped), refused when ``in_doubt``.
    """

    fmt: str
    reads: np.ndarray
    against: int
    unreadable: int
    in_doubt: bool
    at_risk: np.ndarray

    @property
    def count(self) -> int:
        """Failed cells the other format reads."""
        return int(self.reads.sum())

    @property
    def likely(self) -> bool:
        """True when the other format reads at least as many order-revealing cells."""
        return self.count >= self.against


@dataclass(frozen=True)
class DateRead:
    """Dates read from text, with what was done beyond the declared format.

    ``time_dropped`` / ``midnight``: ISO date-times whose date was taken (the time was not
    midnight / was midnight, possibly with a zone). ``failed``: present cells read as no
    date. ``other``: the common format reading most failed cells (None when none reads
    any), weighed against the declared one.
    """

    values: pd.Series
    time_dropped: np.ndarray
    midnight: np.ndarray
    failed: np.ndarray
    other: OtherFormat | None = None
    shifted: np.ndarray | None = None


def _shifted_midnights(times: dict[int, tuple[str, str, str]], n: int) -> np.ndarray | None:
    """Date-times that look like local midnights of a zone ahead of UTC stored in UTC.

    Midnight in Berlin is 23:00 UTC the day before (22:00 in summer): a column whose every
    date-time is at one or two evening clock times, on a time-zone step, in UTC or with no
    zone, has had its dates moved a day back by the export; taking their date would be
    wrong. A local time with its zone (23:30-05:00) keeps its own date. At least 3 such
    cells are needed (one or two evening times are just times).
    """
    shown = set(times.values())
    if len(times) < 3 or len(shown) > 2:
        return None
    if not all(int(h) >= 12 and m in _SHIFT_MINUTES and sec == "00" for h, m, sec in shown):
        return None
    mask = np.zeros(n, dtype=bool)
    mask[list(times)] = True
    return mask


def read_dates(texts: pd.Series, fmt: str) -> DateRead:
    """Dates of ``texts`` in ``fmt`` (see the module docstring for date-times and doubt).

    >>> us = ["02/13/2015", "03/04/2015", "12/25/2019", "k.A."]
    >>> o = read_dates(pd.Series(us, dtype="string"), "%d/%m/%Y").other
    >>> o.fmt, o.count, o.unreadable, o.in_doubt, o.at_risk.tolist()
    ('%m/%d/%Y', 2, 1, True, [False, True, False, False])
    """
    texts = texts.astype("string")
    present = texts.notna().to_numpy(dtype=bool)
    parsed = pd.to_datetime(texts, format=fmt, errors="coerce")
    values = parsed.dt.normalize().astype("datetime64[ns]")
    unread = present & values.isna().to_numpy(dtype=bool)
    time_dropped = np.zeros(len(texts), dtype=bool)
    midnight = np.zeros(len(texts), dtype=bool)
    times: dict[int, tuple[str, str, str]] = {}
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
        if not at_midnight and (found.group(5) or "Z").lstrip("+-") in _UTC:
            times[int(i)] = (found.group(2), found.group(3), found.group(4) or "00")
    failed = present & values.isna().to_numpy(dtype=bool)
    carried = present & ~failed & ~time_dropped & ~midnight
    other = _other_format(texts, fmt, values, failed, carried) if failed.any() else None
    return DateRead(values, time_dropped, midnight, failed, other,
                    _shifted_midnights(times, len(texts)))


def _other_format(texts: pd.Series, fmt: str, values: pd.Series, failed: np.ndarray,
                  carried: np.ndarray) -> OtherFormat | None:
    """The common format reading most of the ``failed`` cells, weighed against ``fmt``."""
    best: tuple[int, str, pd.Series] | None = None
    readable = np.zeros(len(texts), dtype=bool)
    for candidate in DATE_FORMATS:
        if candidate == fmt:
            continue
        dates = pd.to_datetime(texts, format=candidate, errors="coerce").dt.normalize()
        reads = dates.notna().to_numpy(dtype=bool)
        readable |= failed & reads
        n = int((failed & reads).sum())
        if n and (best is None or n > best[0]):
            best = (n, candidate, dates)
    if best is None:
        return None
    n, other, dates = best
    reads = dates.notna().to_numpy(dtype=bool)
    against = int((carried & ~reads).sum())
    differs = (dates.astype("datetime64[ns]") != values).fillna(False).to_numpy(dtype=bool)
    return OtherFormat(
        fmt=other, reads=failed & reads, against=against,
        unreadable=int((failed & ~readable).sum()),
        in_doubt=n >= DOUBT_SHARE * (n + against),
        at_risk=carried & reads & differs,
    )


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
