"""Column codecs: typed values to integer codes of a public attribute, and back.

One pair of functions per attribute kind, dispatched with ``match``. Codes ``0 .. k-1`` are the
attribute's categories or bins; code ``k`` is *missing*, so missingness is a value the model
learns like any other. Encoding never drops a value silently: numbers and dates outside the
dictionary's bounds go to the first or last bin and are counted (``n_clipped``); a category the
dictionary does not list is an error, because no bin can stand in for it.

Decoding draws within the bin: a uniformly chosen allowed value (whole numbers, values with the
declared decimals, calendar days), so decoded values always respect the dictionary's bounds.

>>> import numpy as np, pandas as pd
>>> from synthema.stats.domain import Attribute
>>> from synthema.schema import VariableType
>>> ecog = Attribute("ecog", VariableType.INTEGER, "Int64", edges=(0, 1, 2, 3, 4, 5),
...                  low=0, high=4, decimals=0)
>>> codes, n_clipped = encode_column(pd.Series([0, 4, None, 7], dtype="Int64"), ecog)
>>> codes.tolist(), n_clipped
([0, 4, 5, 4], 1)
>>> decode_column(codes, ecog, rng=np.random.default_rng(0)).tolist()
[0, 4, <NA>, 4]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synthema.errors import SynthemaError
from synthema.schema import VariableType

if TYPE_CHECKING:
    from synthema.stats.domain import Attribute

_EPOCH = dt.date(1970, 1, 1)


def _days(value: dt.date) -> int:
    return (value - _EPOCH).days


def _not_typed(series: pd.Series, attr: Attribute, exc: Exception) -> SynthemaError:
    return SynthemaError(
        f"column '{attr.name}' has dtype {series.dtype} and cannot be read as "
        f"{attr.kind.value} ({exc})",
        fix="parse the file against its dictionary first (synthema.schema.typed_frame or "
        "synthema validate)",
    )


def _numeric_grid(attr: Attribute) -> tuple[np.ndarray, float, float]:
    """Edges, low and high of a numeric or date attribute as floats (days for dates)."""
    if attr.kind is VariableType.DATE:
        edges = np.array([_days(e) for e in attr.edges], dtype=float)
        return edges, float(_days(attr.low)), float(_days(attr.high))
    return np.asarray(attr.edges, dtype=float), float(attr.low), float(attr.high)


def _bin(x: np.ndarray, attr: Attribute) -> tuple[np.ndarray, int]:
    """Codes of float values (NaN = missing) and how many were clipped into the end bins."""
    edges, low, high = _numeric_grid(attr)
    missing = np.isnan(x)
    # on a grid, a value belongs to the bin its rounded value falls in
    half = 0.5 * 10.0**-attr.decimals if attr.decimals is not None else 0.0
    codes = np.searchsorted(edges[1:-1] - half, x, side="right").astype(np.int64)
    clipped = ~missing & ((x < low) | (x > high))
    codes[missing] = attr.missing_code
    return codes, int(clipped.sum())


def encode_column(series: pd.Series, attr: Attribute) -> tuple[np.ndarray, int]:
    """Codes of one typed column and the number of values clipped into an end bin.

    Raises:
        SynthemaError: the column is not typed as the attribute expects, or holds a category
            the dictionary does not list.
    """
    try:
        match attr.kind:
            case VariableType.CATEGORICAL | VariableType.ORDINAL:
                text = series.astype("string")
                codes = pd.Categorical(text, categories=list(attr.categories)).codes
                codes = codes.astype(np.int64)
                missing = text.isna().to_numpy(dtype=bool)
                unknown = (codes < 0) & ~missing
                if unknown.any():
                    bad = sorted(set(text[unknown].tolist()))[:5]
                    raise SynthemaError(
                        f"column '{attr.name}' has {int(unknown.sum())} value(s) that are not "
                        f"categories of the dictionary, e.g. {bad}",
                        fix="map them onto the dictionary's categories (synthema harmonize) "
                        "or blank them",
                    )
                codes[missing] = attr.missing_code
                return codes, 0
            case VariableType.BOOLEAN:
                flags = series.astype("boolean")
                missing = flags.isna().to_numpy(dtype=bool)
                codes = flags.fillna(False).to_numpy(dtype=bool).astype(np.int64)
                codes[missing] = attr.missing_code
                return codes, 0
            case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
                x = pd.to_numeric(series).astype("Float64").to_numpy(float, na_value=np.nan)
                return _bin(x, attr)
            case VariableType.DATE:
                when = pd.to_datetime(series)
                missing = when.isna().to_numpy(dtype=bool)
                days = when.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
                x = days.astype(np.int64).astype(float)
                x[missing] = np.nan
                return _bin(x, attr)
            case _:
                raise ValueError(f"unknown attribute kind {attr.kind!r}")
    except (TypeError, ValueError) as exc:
        raise _not_typed(series, attr, exc) from None


def _grid_bounds(attr: Attribute) -> tuple[np.ndarray, np.ndarray, int]:
    """Per bin, the smallest and largest allowed value in grid units, and the grid scale."""
    edges, low, high = _numeric_grid(attr)
    decimals = 0 if attr.kind is VariableType.DATE else attr.decimals
    scale = 10**decimals
    k = np.rint(edges * scale).astype(np.int64)
    k_low = int(np.ceil(round(low * scale, 6)))
    k_high = int(np.floor(round(high * scale, 6)))
    return np.maximum(k[:-1], k_low), np.minimum(k[1:] - 1, k_high), scale


def value_bounds(attr: Attribute) -> tuple[np.ndarray, np.ndarray]:
    """Per bin of a numeric or date attribute, the smallest and largest value decoding can
    give (days since 1970-01-01 for dates; on the real line, the bin's upper edge)."""
    if attr.kind is VariableType.DATE or attr.decimals is not None:
        lo, hi, scale = _grid_bounds(attr)
        return lo / scale, hi / scale
    edges, low, high = _numeric_grid(attr)
    return np.maximum(edges[:-1], low), np.minimum(edges[1:], high)


def _whole(
    lo: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
    position: np.ndarray | None,
    rows: np.ndarray,
) -> np.ndarray:
    """Whole grid units uniformly in [lo, hi]: fresh draws, or at ``position[rows]``."""
    if position is None:
        return rng.integers(lo, hi + 1)
    return np.minimum(lo + np.floor(position[rows] * (hi - lo + 1)).astype(np.int64), hi)


def decode_column(
    codes: np.ndarray,
    attr: Attribute,
    *,
    rng: np.random.Generator,
    position: np.ndarray | None = None,
) -> pd.Series:
    """A typed column drawn from codes: categories exactly, values uniformly within bins.

    ``position`` (one number in [0, 1) per row) places each value within its bin instead of
    fresh draws from ``rng``: columns decoded with the same positions keep their order
    within a shared bin (see :meth:`~synthema.stats.Domain.decode`).
    """
    codes = np.asarray(codes, dtype=np.int64)
    if attr.sub_edges:
        return _decode_sub(codes, attr, rng=rng, position=position)
    missing = codes == attr.missing_code
    present = codes[~missing]
    match attr.kind:
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            labels = np.array([*attr.categories, None], dtype=object)
            return pd.Series(pd.array(labels[codes], dtype="string"))
        case VariableType.BOOLEAN:
            return pd.Series(pd.arrays.BooleanArray(codes == 1, missing))
        case VariableType.DATE:
            lo, hi, _ = _grid_bounds(attr)
            days = np.zeros(len(codes), dtype=np.int64)
            days[~missing] = _whole(lo[present], hi[present], rng, position, ~missing)
            values = days.astype("datetime64[D]").astype("datetime64[ns]")
            values[missing] = np.datetime64("NaT")
            return pd.Series(values, dtype="datetime64[ns]")
        case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
            if attr.decimals is None:
                edges, low, high = _numeric_grid(attr)
                a, b = edges[:-1].copy(), edges[1:].copy()
                a[0], b[-1] = max(a[0], low), min(b[-1], high)
                values = np.zeros(len(codes), dtype=float)
                if position is None:
                    values[~missing] = rng.uniform(a[present], b[present])
                else:
                    u = position[~missing]
                    values[~missing] = a[present] + u * (b[present] - a[present])
            else:
                lo, hi, scale = _grid_bounds(attr)
                k = np.zeros(len(codes), dtype=np.int64)
                k[~missing] = _whole(lo[present], hi[present], rng, position, ~missing)
                if attr.dtype == "Int64":
                    return pd.Series(pd.arrays.IntegerArray(k, missing))
                values = np.round(k / scale, attr.decimals)
            return pd.Series(pd.arrays.FloatingArray(values, missing)).astype(attr.dtype)
        case _:
            raise ValueError(f"unknown attribute kind {attr.kind!r}")


def owners(edges, sub_edges) -> np.ndarray:
    """The bin of ``edges`` each bin of the finer ``sub_edges`` lies in.

    >>> owners((0.0, 10.0, 30.0), (0.0, 5.0, 10.0, 20.0, 30.0)).tolist()
    [0, 0, 1, 1]
    """
    return np.searchsorted(np.asarray(edges[1:-1], dtype=float),
                           np.asarray(sub_edges[:-1], dtype=float), side="right")


def _decode_sub(
    codes: np.ndarray,
    attr: Attribute,
    *,
    rng: np.random.Generator,
    position: np.ndarray | None,
) -> pd.Series:
    """Decode through the finer grid: a fine bin in proportion to its weight within the coarse
    bin, then uniformly inside the fine bin.

    One position ``u`` per row does both, through the bin's piecewise-linear inverse
    distribution function: a monotone map, so rows decoded with equal (or sorted) positions
    come out equal (or sorted) within a shared bin, as with uniform bins.
    """
    fine = dataclasses.replace(attr, edges=attr.sub_edges, sub_edges=(), sub_weights=())
    u = rng.random(len(codes)) if position is None else np.asarray(position, dtype=float)
    owner = owners(attr.edges, attr.sub_edges)
    w = np.asarray(attr.sub_weights, dtype=float)
    total = np.bincount(owner, weights=w, minlength=attr.n_values)
    within = np.cumsum(w) - np.concatenate([[0.0], np.cumsum(total)])[owner]
    hi = owner + within / total[owner]  # coarse code + cumulative share, increasing
    lo = owner + (within - w) / total[owner]
    missing = codes == attr.missing_code
    fine_codes = np.full(len(codes), fine.missing_code, dtype=np.int64)
    key = codes[~missing] + np.minimum(u[~missing], 1 - 1e-12)
    c = codes[~missing]
    j = np.searchsorted(hi, key, side="right")  # rounding may cross into the next bin: clip
    j = np.clip(j, np.searchsorted(owner, c, side="left"),
                np.searchsorted(owner, c, side="right") - 1)
    fine_codes[~missing] = j
    inner = np.zeros(len(codes))
    span = hi[j] - lo[j]
    inner[~missing] = np.clip((key - lo[j]) / np.where(span > 0, span, 1.0), 0.0, 1 - 1e-12)
    return decode_column(fine_codes, fine, rng=rng, position=inner)
