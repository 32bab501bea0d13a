"""Public bin edges for numeric and date variables, derived from the dictionary alone.

A marginal-based synthesizer counts patients in cells, so every numeric variable needs bins.
Bins built from the data (quantiles, observed min/max) would leak the data before any noise is
added, so the edges here depend only on what the dictionary declares: ``min``, ``max``,
``cut_points`` and ``decimals`` (rules in ``docs/statistics.md``):

1. Base edges are ``min``, every clinical cut point, and ``max``. Cut points are never dropped,
   even if there are more of them than ``max_bins``.
2. Values lie on a grid: whole numbers for integers and durations without decimals, steps of
   ``10**-decimals`` when decimals are declared, the real line otherwise. Edges are snapped onto
   the grid, so every bin holds at least one value the dictionary allows, and bin ``[a, b)``
   holds the grid values ``a <= v < b``.
3. While there are fewer than ``max_bins`` bins, the base bin with the largest width per piece
   is cut into one more equal piece (D'Hondt allocation; ties go to the lower bin). Widths are
   measured on a log scale when the variable is strictly positive and ``max / min >= 100`` (at
   least two decades, e.g. ferritin 1-20000), linearly otherwise. A bin is never cut finer than
   its grid allows, so an integer with a small range (ECOG 0-4) gets one bin per value.

>>> from synthema.schema import Variable, VariableType
>>> ecog = Variable("ecog", VariableType.INTEGER, min=0, max=4)
>>> numeric_edges(ecog, max_bins=16)
((0.0, 1.0, 2.0, 3.0, 4.0, 5.0), 0)
>>> age = Variable("age", VariableType.INTEGER, min=18, max=100, cut_points=(65.0,))
>>> numeric_edges(age, max_bins=4)
((18.0, 41.0, 65.0, 83.0, 101.0), 0)
"""

from __future__ import annotations

import datetime as dt
import math

from synthema.errors import DictionaryError, ParameterError
from synthema.schema import Variable, VariableType

DEFAULT_MAX_BINS = 16
LOG_SCALE_RATIO = 100.0  # max / min at which a strictly positive variable is binned on a log scale


def grid_decimals(var: Variable) -> int | None:
    """Decimals of the grid a numeric variable's values lie on (None: the real line).

    >>> from synthema.schema import Variable, VariableType
    >>> grid_decimals(Variable("hb", VariableType.CONTINUOUS, decimals=1))
    1
    >>> grid_decimals(Variable("os_days", VariableType.DURATION))
    0
    """
    if var.is_whole_number:
        return 0
    return var.decimals


def uses_log_scale(var: Variable) -> bool:
    """Whether refinement cuts are spaced evenly on a log scale (see the module docstring)."""
    if not var.type.is_numeric or var.min is None or var.max is None:
        return False
    lo, hi = float(var.min), float(var.max)  # type: ignore[arg-type]
    return lo > 0 and hi / lo >= LOG_SCALE_RATIO


def _bounds(var: Variable) -> tuple[float, float]:
    missing = [key for key in ("min", "max") if getattr(var, key) is None]
    if missing:
        raise DictionaryError(
            f"variable '{var.name}' ({var.type.value}) has no public {' or '.join(missing)}",
            fix=f"set min and max for '{var.name}' in the dictionary from clinical knowledge "
            "(never from the data): the privacy domain is built from them",
        )
    return float(var.min), float(var.max)  # type: ignore[arg-type]


def _up(x: float, decimals: int) -> float:
    """Smallest grid value >= x (tolerant of binary floating point)."""
    scale = 10**decimals
    return round(math.ceil(round(x * scale, 6)) / scale, decimals)


def _down(x: float, decimals: int) -> float:
    """Largest grid value <= x."""
    scale = 10**decimals
    return round(math.floor(round(x * scale, 6)) / scale, decimals)


def _check_max_bins(max_bins: int) -> None:
    if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 1:
        raise ParameterError(f"max_bins must be a positive integer, got {max_bins!r}",
                             fix="use e.g. max_bins=32")


def _allocate(widths: list[float], capacities: list[float], max_bins: int) -> list[int]:
    """Pieces per base bin: D'Hondt on width, bounded by each bin's capacity."""
    pieces = [1] * len(widths)
    while sum(pieces) < max_bins:
        best, best_score = -1, 0.0
        for i, (w, n) in enumerate(zip(widths, pieces, strict=True)):
            if n < capacities[i] and w / n > best_score:
                best, best_score = i, w / n
        if best < 0:
            break
        pieces[best] += 1
    return pieces


def _split(a: float, b: float, n: int, *, log: bool, decimals: int | None) -> list[float]:
    """Interior edges cutting bin [a, b) into n pieces of even width.

    On a grid, linear pieces hold equal numbers of allowed values (later pieces may hold one
    more), and log pieces span equal ratios of the bin's allowed values; edges are snapped to
    the grid.
    """
    if decimals is None:
        points = [a * (b / a) ** (j / n) if log else a + (b - a) * j / n for j in range(1, n)]
        return [p for p in points if a < p < b]
    step = 10.0**-decimals
    n_values = round((b - a) / step)
    last = b - step
    if log:
        points = [round(a * (last / a) ** (j / n), decimals) for j in range(1, n)]
    else:
        points = [round(a + step * (j * n_values // n), decimals) for j in range(1, n)]
    return sorted({p for p in points if a < p < b})


def numeric_edges(
    var: Variable, *, max_bins: int = DEFAULT_MAX_BINS
) -> tuple[tuple[float, ...], int | None]:
    """Bin edges of a numeric variable and the decimals of its value grid.

    Args:
        var: an integer, continuous or duration variable with public ``min`` and ``max``.
        max_bins: the number of bins refinement stops at (cut points may exceed it).

    Returns:
        ``(edges, decimals)``. Bin ``i`` is ``[edges[i], edges[i + 1])``. With a grid
        (``decimals`` not None) the last edge is one grid step above the largest allowed value;
        on the real line it is ``max`` and the last bin is closed.

    Raises:
        DictionaryError: the variable has no ``min`` or ``max``, or no grid value between them.
    """
    _check_max_bins(max_bins)
    if not var.type.is_numeric:
        raise ValueError(f"variable '{var.name}' is {var.type.value}, not numeric")
    lo, hi = _bounds(var)
    decimals = grid_decimals(var)
    log = uses_log_scale(var)
    if decimals is None:
        if lo == hi:
            return (lo, hi), None
        base = [lo, *var.cut_points, hi]
        capacities = [math.inf] * (len(base) - 1)
    else:
        step = 10.0**-decimals
        lo_g, hi_g = _up(lo, decimals), _down(hi, decimals)
        if lo_g > hi_g:
            raise DictionaryError(
                f"variable '{var.name}' allows no value with {decimals} decimals "
                f"between min {lo:g} and max {hi:g}",
                fix=f"widen the bounds of '{var.name}' or declare more decimals",
            )
        top = round(hi_g + step, decimals)
        base = sorted({lo_g, *(_up(c, decimals) for c in var.cut_points), top})
        base = [e for e in base if lo_g <= e <= top]
        capacities = [round((b - a) / step) for a, b in zip(base, base[1:], strict=False)]
    if log:
        widths = [math.log(b / a) for a, b in zip(base, base[1:], strict=False)]
    else:
        widths = [b - a for a, b in zip(base, base[1:], strict=False)]
    pieces = _allocate(widths, capacities, max_bins)
    edges = [base[0]]
    for (a, b), n in zip(zip(base, base[1:], strict=False), pieces, strict=True):
        edges.extend(_split(a, b, n, log=log, decimals=decimals))
        edges.append(b)
    return tuple(float(e) for e in edges), decimals


def date_edges(var: Variable, *, max_bins: int = DEFAULT_MAX_BINS) -> tuple[dt.date, ...]:
    """Bin edges of a date variable: calendar periods of whole years between min and max.

    The period is the smallest number of years that keeps the bins within ``max_bins``; periods
    start on 1 January, counted from the year of ``min``. The first edge is ``min`` and the last
    is the day after ``max``, so bin ``i`` is ``[edges[i], edges[i + 1])``.

    >>> from synthema.schema import Variable, VariableType
    >>> v = Variable("d", VariableType.DATE, min=dt.date(2000, 3, 1), max=dt.date(2004, 12, 31))
    >>> [e.isoformat() for e in date_edges(v, max_bins=3)]
    ['2000-03-01', '2002-01-01', '2004-01-01', '2005-01-01']

    Raises:
        DictionaryError: the variable has no ``min`` or ``max``.
    """
    _check_max_bins(max_bins)
    if var.type is not VariableType.DATE:
        raise ValueError(f"variable '{var.name}' is {var.type.value}, not a date")
    if not isinstance(var.min, dt.date) or not isinstance(var.max, dt.date):
        _bounds(var)  # raises the missing-bounds error
        raise ValueError(f"variable '{var.name}' has non-date bounds")
    lo, hi = var.min, var.max
    years = hi.year - lo.year + 1
    period = math.ceil(years / max_bins)
    inner = [dt.date(y, 1, 1) for y in range(lo.year + period, hi.year + 1, period)]
    return (lo, *inner, hi + dt.timedelta(days=1))
