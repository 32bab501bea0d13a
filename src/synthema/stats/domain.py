"""The public, data-independent discretisation of a dictionary: what marginals are counted over.

A :class:`Domain` is to synthema what ``mbi.Domain`` is to Private-PGM: attribute names and the
number of codes each can take. It is built from the dictionary only (bounds, categories, clinical
cut points, decimals; rules in :mod:`synthema.stats.binning` and ``docs/statistics.md``), never
from quantiles or ranges of the data, because anything derived from the data before noise is
added would leak it. Two sites, or a site and the server, therefore agree on the domain without
exchanging anything, and building it twice gives equal objects.

Every attribute has one extra, final code meaning *missing*.

>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "ecog", "type": "integer", "min": 0, "max": 4},
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]},
...     {"name": "cr", "type": "boolean"}]})
>>> domain = Domain.from_dictionary(d)
>>> domain.shape
(6, 3, 3)
>>> domain.size(("sex", "cr"))
9
>>> domain.project(["cr", "ecog"]).for_mbi()
(('cr', 'ecog'), (3, 6))
>>> domain["ecog"].labels
('0', '1', '2', '3', '4', 'missing')
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthema.errors import SynthemaError
from synthema.schema import Dictionary, Variable, VariableType, typed_dtype
from synthema.stats.binning import DEFAULT_MAX_BINS, date_edges, numeric_edges
from synthema.stats.codec import decode_column, encode_column, owners

_LOG = logging.getLogger(__name__)

MISSING_LABEL = "missing"
BOOLEAN_CATEGORIES = ("false", "true")


def _fmt(value: float | dt.date, decimals: int | None) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:g}"


def to_json_value(value: Any) -> Any:
    """A bound, edge or parameter as strict JSON: dates and non-finite floats are tagged.

    >>> to_json_value(dt.date(2020, 1, 2)), to_json_value(math.inf), to_json_value(3)
    ({'date': '2020-01-02'}, {'float': 'inf'}, 3)
    """
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def from_json_value(value: Any) -> Any:
    """Inverse of :func:`to_json_value`."""
    if isinstance(value, dict) and "date" in value:
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, dict) and "float" in value:
        return float(value["float"])
    return value


@dataclass(frozen=True)
class Attribute:
    """One discretised variable: its categories or bin edges, plus a final *missing* code.

    Args:
        name: the variable's name.
        kind: the variable's dictionary type.
        dtype: the pandas dtype decoded values have (:func:`synthema.schema.typed_dtype`).
        categories: category codes (categorical, ordinal; ``("false", "true")`` for booleans).
        edges: bin edges (numeric: floats, dates: dates); bin ``i`` is
            ``[edges[i], edges[i + 1])``.
        low: the dictionary's ``min`` (values below it are clipped into the first bin).
        high: the dictionary's ``max`` (values above it are clipped into the last bin).
        decimals: values lie on a grid of ``10**-decimals`` (0 for whole numbers); None for
            the real line. Ignored for dates (whole days).
        sub_edges: a finer grid whose edges include every edge (data-adaptive bins,
            :mod:`synthema.stats.regroup`); empty: none.
        sub_weights: one non-negative weight per ``sub_edges`` bin: values are drawn inside a
            bin in proportion to them (uniformly inside each fine bin); each bin's weights
            must not all be zero.

    >>> a = Attribute("hb", VariableType.CONTINUOUS, "Float64", edges=(2.0, 8.0, 20.1),
    ...               low=2.0, high=20.0, decimals=1)
    >>> a.size, a.missing_code, a.labels
    (3, 2, ('2.0..7.9', '8.0..20.0', 'missing'))
    """

    name: str
    kind: VariableType
    dtype: str
    categories: tuple[str, ...] = ()
    edges: tuple[float, ...] | tuple[dt.date, ...] = ()
    low: float | dt.date | None = None
    high: float | dt.date | None = None
    decimals: int | None = None
    sub_edges: tuple[float, ...] = ()
    sub_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        binned = self.kind.is_numeric or self.kind is VariableType.DATE
        if self.sub_edges or self.sub_weights:
            self._check_sub()
        if binned:
            if len(self.edges) < 2 or self.categories:
                raise ValueError(f"attribute '{self.name}' needs at least two edges, no categories")
            if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
                raise ValueError(f"attribute '{self.name}': edges {self.edges} not increasing")
            if self.low is None or self.high is None or self.low > self.high:  # type: ignore[operator]
                raise ValueError(f"attribute '{self.name}': bad bounds {self.low}, {self.high}")
        else:
            if not self.categories or self.edges:
                raise ValueError(f"attribute '{self.name}' needs categories and no edges")
            if len(set(self.categories)) != len(self.categories):
                raise ValueError(f"attribute '{self.name}': duplicate categories")

    def _check_sub(self) -> None:
        if not self.kind.is_numeric or len(self.sub_weights) != len(self.sub_edges) - 1:
            raise ValueError(f"attribute '{self.name}': sub_weights need one weight per "
                             "sub_edges bin, on a numeric attribute")
        if not set(self.edges) <= set(self.sub_edges):
            raise ValueError(f"attribute '{self.name}': every edge must be a sub_edge")
        w = np.asarray(self.sub_weights, dtype=float)
        if not np.all(np.isfinite(w) & (w >= 0)):
            raise ValueError(f"attribute '{self.name}': sub_weights must be finite and >= 0")
        bins = owners(self.edges, self.sub_edges)
        if np.any(np.bincount(bins, weights=w, minlength=len(self.edges) - 1) <= 0):
            raise ValueError(f"attribute '{self.name}': a bin whose sub_weights are all 0")

    @classmethod
    def from_variable(cls, var: Variable, *, max_bins: int = DEFAULT_MAX_BINS) -> Attribute:
        """Discretise one dictionary variable (see :mod:`synthema.stats.binning`)."""
        dtype = typed_dtype(var)
        match var.type:
            case VariableType.CATEGORICAL | VariableType.ORDINAL:
                return cls(var.name, var.type, dtype, categories=var.categories)
            case VariableType.BOOLEAN:
                return cls(var.name, var.type, dtype, categories=BOOLEAN_CATEGORIES)
            case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
                edges, decimals = numeric_edges(var, max_bins=max_bins)
                return cls(
                    var.name,
                    var.type,
                    dtype,
                    edges=edges,
                    low=var.min,
                    high=var.max,
                    decimals=decimals,
                )
            case VariableType.DATE:
                return cls(
                    var.name,
                    var.type,
                    dtype,
                    edges=date_edges(var, max_bins=max_bins),
                    low=var.min,
                    high=var.max,
                    decimals=0,
                )
            case _:
                raise ValueError(f"unknown variable type {var.type!r}")

    @property
    def n_values(self) -> int:
        """Number of codes that stand for values (categories or bins), missing excluded."""
        return len(self.categories) if self.categories else len(self.edges) - 1

    @property
    def size(self) -> int:
        """Number of codes, the missing code included."""
        return self.n_values + 1

    @property
    def missing_code(self) -> int:
        """The code that means *missing* (always the last)."""
        return self.n_values

    @property
    def labels(self) -> tuple[str, ...]:
        """Human-readable label of each code: the allowed values a bin holds, then 'missing'."""
        if self.categories:
            return (*self.categories, MISSING_LABEL)
        out = []
        for i, (a, b) in enumerate(zip(self.edges, self.edges[1:], strict=False)):
            if self.kind is VariableType.DATE:
                a, b = max(a, self.low), min(b - dt.timedelta(days=1), self.high)
            elif self.decimals is not None:
                a = max(a, self.low)
                b = min(round(b - 10.0**-self.decimals, self.decimals), self.high)
            else:
                last = i == self.n_values - 1
                out.append(f"[{_fmt(a, None)}, {_fmt(b, None)}{']' if last else ')'}")
                continue
            a_s, b_s = _fmt(a, self.decimals), _fmt(b, self.decimals)
            out.append(a_s if a_s == b_s else f"{a_s}..{b_s}")
        return (*out, MISSING_LABEL)


@dataclass(frozen=True)
class Encoding:
    """Codes of a typed frame (one row per patient, one column per attribute) and what clipping did.

    ``clipped`` maps each column that had values outside its dictionary bounds to how many were
    moved into the first or last bin; it is empty when nothing was clipped.

    >>> e = Encoding(np.zeros((2, 1), dtype=np.int64), {"age": 1})
    >>> e.n_clipped
    1
    """

    codes: np.ndarray
    clipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_clipped(self) -> int:
        """Total number of clipped values over all columns."""
        return sum(self.clipped.values())


def orderings(rules: Iterable[Any]) -> list[tuple[str, str, bool]]:
    """``(low, high, strict)`` for every rule that compares two columns (``a <= b``, ``a > b``).

    Parsed rules (:class:`synthema.schema.rules.Rule`) are read through their ``tree``; a
    rule of any other shape (arithmetic, connectives) gives nothing.

    >>> from synthema.schema.rules import Rule
    >>> orderings([Rule.parse("efs_days <= os_days"), Rule.parse("relapse_days > cr_days"),
    ...            Rule.parse("cr_days + rfs_days <= os_days")])
    [('efs_days', 'os_days', False), ('cr_days', 'relapse_days', True)]
    """
    out = []
    for rule in rules:
        tree = rule.tree
        if (len(tree) == 4 and tree[0] == "cmp" and tree[1] in ("<", "<=", ">", ">=")
                and tree[2][0] == "col" and tree[3][0] == "col"):
            a, b = tree[2][1], tree[3][1]
            low, high = (a, b) if tree[1] in ("<", "<=") else (b, a)
            out.append((low, high, tree[1] in ("<", ">")))
    return out


def time_grid(attr: Attribute) -> tuple | None:
    """What makes two time attributes share a grid (kind, bins, bounds, decimals, the weights
    values are drawn with inside a bin), or None for attributes that are not times."""
    if attr.kind not in (VariableType.DURATION, VariableType.DATE):
        return None
    return (attr.kind, tuple(attr.edges), attr.low, attr.high, attr.decimals,
            attr.sub_edges, attr.sub_weights)


@dataclass(frozen=True)
class Domain:
    """Discretised attributes in order (and the patient id column, which is not one of them)."""

    attributes: tuple[Attribute, ...]
    patient_id: str | None = None

    def __post_init__(self) -> None:
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"attributes must be unique, repeated: {', '.join(dup)}")
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(names)})

    @classmethod
    def from_dictionary(cls, dictionary: Dictionary, *, max_bins: int = DEFAULT_MAX_BINS) -> Domain:
        """The domain of a dictionary: one attribute per variable, in dictionary order.

        Raises:
            DictionaryError: a numeric or date variable lacks public ``min``/``max`` bounds.
        """
        return cls(
            tuple(Attribute.from_variable(v, max_bins=max_bins) for v in dictionary.variables),
            patient_id=dictionary.patient_id,
        )

    # -- serialisation (model files, the federation's domain fingerprint) ---------------------
    def to_json(self) -> dict:
        """The domain as plain JSON (dates as ``{"date": ISO}``, non-finite floats tagged).

        >>> d = Domain((Attribute("sex", VariableType.CATEGORICAL, "string",
        ...                       categories=("F", "M")),), patient_id="pid")
        >>> Domain.from_json(d.to_json()) == d
        True
        """
        return {
            "patient_id": self.patient_id,
            "attributes": [
                {
                    "name": a.name,
                    "kind": a.kind.value,
                    "dtype": a.dtype,
                    "categories": list(a.categories),
                    "edges": [to_json_value(e) for e in a.edges],
                    "low": to_json_value(a.low),
                    "high": to_json_value(a.high),
                    "decimals": a.decimals,
                    **({"sub_edges": list(a.sub_edges), "sub_weights": list(a.sub_weights)}
                       if a.sub_edges else {}),
                }
                for a in self.attributes
            ],
        }

    @classmethod
    def from_json(cls, raw: Mapping) -> Domain:
        """Inverse of :meth:`to_json`."""
        return cls(
            tuple(
                Attribute(
                    a["name"],
                    VariableType(a["kind"]),
                    a["dtype"],
                    categories=tuple(a["categories"]),
                    edges=tuple(from_json_value(e) for e in a["edges"]),
                    low=from_json_value(a["low"]),
                    high=from_json_value(a["high"]),
                    decimals=a["decimals"],
                    sub_edges=tuple(a.get("sub_edges", ())),
                    sub_weights=tuple(a.get("sub_weights", ())),
                )
                for a in raw["attributes"]
            ),
            patient_id=raw["patient_id"],
        )

    # -- mbi-like access ----------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Attribute names in order."""
        return tuple(a.name for a in self.attributes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of codes per attribute, missing code included."""
        return tuple(a.size for a in self.attributes)

    def size(self, clique: Iterable[str] | None = None) -> int:
        """Number of cells of the marginal over ``clique`` (all attributes if None)."""
        names = self.names if clique is None else tuple(clique)
        return math.prod(self[n].size for n in names)

    def axes(self, clique: Iterable[str]) -> tuple[int, ...]:
        """Positions of the clique's attributes in this domain."""
        return tuple(self._position(n) for n in clique)

    def project(self, names: Iterable[str]) -> Domain:
        """The domain of ``names`` only, in the order given."""
        names = tuple(names)
        if len(set(names)) != len(names):
            raise ValueError(f"attributes named twice in {names}")
        return Domain(tuple(self[n] for n in names), patient_id=self.patient_id)

    def for_mbi(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """``(names, shape)``, the arguments of ``mbi.Domain``."""
        return self.names, self.shape

    def _position(self, name: str) -> int:
        index: Mapping[str, int] = self._index  # type: ignore[attr-defined]
        if name not in index:
            close = difflib.get_close_matches(str(name), list(index), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise KeyError(f"'{name}' is not an attribute of the domain{hint}")
        return index[name]

    def __getitem__(self, name: str) -> Attribute:
        return self.attributes[self._position(name)]

    def __contains__(self, name: object) -> bool:
        return name in self._index  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.attributes)

    # -- codes --------------------------------------------------------------------------------
    def check_patients(self, df: pd.DataFrame) -> None:
        """Raise unless the frame has one row per patient (when it carries patient ids).

        Sensitivity rests on it: one patient changes one row, hence one cell of each marginal.
        A frame without the id column (e.g. synthetic data) is taken as one row per patient.

        Raises:
            SynthemaError: ids are missing or repeated.
        """
        if self.patient_id is None or self.patient_id not in df.columns:
            return
        ids = df[self.patient_id]
        n_missing = int(ids.isna().sum())
        if n_missing:
            raise SynthemaError(
                f"{n_missing} row(s) have no '{self.patient_id}'",
                fix="give every row its patient id: the dictionary says one row per patient",
            )
        dup = ids[ids.duplicated(keep=False)]
        if len(dup):
            examples = ", ".join(map(str, dup.drop_duplicates().head(3)))
            raise SynthemaError(
                f"{dup.nunique()} patient id(s) appear on more than one row (e.g. {examples})",
                fix="keep one row per patient, as the dictionary requires (aggregate or "
                "deduplicate the site export before counting)",
            )

    def encode(self, df: pd.DataFrame) -> Encoding:
        """Integer codes (n x d, columns in domain order) of a typed frame.

        Values outside the dictionary's bounds are clipped into the end bins and counted in
        :attr:`Encoding.clipped` (and logged); columns not in the domain are ignored.

        Raises:
            SynthemaError: a column is absent or not typed, a category is unknown, or patient
                ids are missing or repeated.
        """
        absent = [n for n in self.names if n not in df.columns]
        if absent:
            raise SynthemaError(
                f"the data lack {len(absent)} column(s) of the domain: {', '.join(absent[:5])}",
                fix="harmonise the file onto the dictionary (synthema harmonize)",
            )
        self.check_patients(df)
        codes = np.empty((len(df), len(self)), dtype=np.int64)
        clipped = {}
        for j, attr in enumerate(self.attributes):
            codes[:, j], n = encode_column(df[attr.name], attr)
            if n:
                clipped[attr.name] = n
        if clipped:
            _LOG.warning("values outside the dictionary bounds were clipped: %s", clipped)
        return Encoding(codes, clipped)

    def validate_codes(self, codes: np.ndarray) -> np.ndarray:
        """``codes`` as an int64 (n x d) array, checked against this domain.

        Raises:
            ValueError: wrong shape, non-integer codes, or a code outside its attribute's range.
        """
        arr = np.asarray(codes)
        if arr.ndim != 2 or arr.shape[1] != len(self):
            raise ValueError(f"codes have shape {arr.shape}, expected (n, {len(self)})")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"codes have dtype {arr.dtype}, expected integers")
        arr = arr.astype(np.int64, copy=False)
        if arr.size:
            bad = (arr < 0) | (arr >= np.asarray(self.shape))
            if bad.any():
                j = int(np.argwhere(bad.any(axis=0))[0, 0])
                raise ValueError(f"codes of '{self.names[j]}' outside 0..{self.shape[j] - 1}")
        return arr

    def decode(
        self,
        codes: np.ndarray,
        *,
        rng: np.random.Generator,
        order: Sequence[tuple[str, str, bool]] = (),
    ) -> pd.DataFrame:
        """A typed frame from codes: categories exactly, values drawn uniformly within bins.

        The missing code becomes NA; numbers and dates always lie within the dictionary's
        bounds; dtypes are the dictionary's (:func:`synthema.schema.typed_dtype`). No patient
        id column is made.

        ``order`` lists declared orderings ``(low, high, strict)`` between attributes (from
        rules such as ``efs_days <= os_days``; see :func:`orderings`). Where both are times
        on one grid (durations, or dates, with the same bins and bounds), drawing them
        independently within a shared bin would break the ordering half the time:

        - ``low <= high``: they share one uniform position per row, so in the same bin they
          come out equal (the first event is often death: ``efs_days == os_days``); each is
          still uniform within its bin;
        - ``low < high``: where they fall in the same bin, the smaller of two uniform
          positions goes to ``low`` and the larger to ``high``.

        Other pairs, and every other attribute, are drawn independently.
        """
        arr = self.validate_codes(codes)
        n = arr.shape[0]
        col = {a.name: j for j, a in enumerate(self.attributes)}
        same_grid = [(lo, hi, strict) for lo, hi, strict in order
                     if lo in col and hi in col and lo != hi
                     and time_grid(self[lo]) is not None
                     and time_grid(self[lo]) == time_grid(self[hi])]
        # non-strict orderings: one shared position per connected group
        parent = {name: name for pair in same_grid for name in pair[:2]}

        def root(name: str) -> str:
            while parent[name] != name:
                name = parent[name]
            return name

        for lo, hi, strict in same_grid:
            if not strict:
                parent[root(lo)] = root(hi)
        positions: dict[str, np.ndarray] = {}
        shared: dict[str, np.ndarray] = {}
        for name in parent:
            if any(root(other) == root(name) for other in parent if other != name):
                positions[name] = shared.setdefault(root(name), rng.random(n))
        # strict orderings between attributes not already sharing a position
        for lo, hi, strict in same_grid:
            if strict and lo not in positions and hi not in positions:
                u, v = rng.random(n), rng.random(n)
                together = arr[:, col[lo]] == arr[:, col[hi]]
                positions[lo] = np.where(together, np.minimum(u, v), u)
                positions[hi] = np.where(together, np.maximum(u, v), v)
        out = {a.name: decode_column(arr[:, j], a, rng=rng, position=positions.get(a.name))
               for j, a in enumerate(self.attributes)}
        return pd.DataFrame(out)
