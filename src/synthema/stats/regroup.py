"""Data-adaptive bins, chosen from noisy counts on a fine public grid.

The public bins of :mod:`synthema.stats.binning` are spread between a variable's plausibility
bounds, not where the patients are: for AML, 11 of 16 WBC bins lie above 100 ×10⁹/L, and a
survival time on 0-5,500 days gets bins of 344 days, so every death of the first year falls
into one bin. Bins chosen from the data would leak it, unless they are chosen from *noisy*
counts, which is post-processing and costs nothing more. Three public pieces make that work
through the statistics seam, centrally and federated alike:

1. **the fine grid** (:func:`refine`): every public bin of a numeric variable cut into
   :data:`REFINE` pieces (evenly, or evenly on a log scale where the public bins are, and
   never finer than the variable's value grid), so the public bins and every clinical cut point
   stay edges of the fine grid. It depends on the public domain only; every site builds it.
2. **a regrouping** (:class:`Regrouping`): for some attributes, the fine bins at which the
   model's bins start. A source answers a marginal over regrouped attributes by counting its
   records' fine codes into the coarse bins *before* adding noise, so each coarse cell gets one
   noise draw, as with public bins. A regrouping travels to federated sites as JSON.
3. **the choice** (:func:`choose`): from each attribute's noisy fine one-way marginal, bins of
   about equal noisy mass (as many as the public bins, clinical cut points kept), and, for
   drawing values inside a bin, the fine grid's noisy weights. Before both, the counts are
   soft-thresholded (:func:`denoised`): what noise could explain is spread evenly, so where
   the counts are mostly noise the bins fall back to the public ones and values to uniform
   within a bin; with exact counts (ε = ∞) they follow the data exactly.

>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "t", "type": "duration", "min": 0, "max": 99},
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
>>> public = Domain.from_dictionary(d, max_bins=4)
>>> fine = refine(public, pieces=2)
>>> public["t"].edges, fine["t"].edges
((0.0, 25.0, 50.0, 75.0, 100.0), (0.0, 12.0, 25.0, 37.0, 50.0, 62.0, 75.0, 87.0, 100.0))
>>> r = Regrouping({"t": (0, 1, 2)})
>>> r.apply(fine)["t"].edges
(0.0, 12.0, 25.0, 100.0)
>>> r.lookup(fine)["t"].tolist()            # fine code -> coarse code (last: missing)
[0, 1, 2, 2, 2, 2, 2, 2, 3]
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthema.errors import SynthemaError
from synthema.schema import Dictionary, VariableType
from synthema.stats._api import Measurement
from synthema.stats.binning import LOG_SCALE_RATIO, _split, _up
from synthema.stats.codec import encode_column, owners
from synthema.stats.domain import Attribute, Domain, orderings, time_grid

#: pieces each public bin of a numeric variable is cut into for the fine grid
REFINE = 8
#: longest regrouping JSON a site reads (a regrouping of 1,000 attributes of 128 bins fits)
MAX_JSON = 1_000_000


def _log_scale(attr: Attribute) -> bool:
    low, high = float(attr.low), float(attr.high)  # type: ignore[arg-type]
    return low > 0 and high / low >= LOG_SCALE_RATIO


def refines(attr: Attribute) -> bool:
    """Whether an attribute gets a fine grid: numeric variables (not dates, not categories)."""
    return attr.kind.is_numeric and attr.kind is not VariableType.DATE


def refine_attribute(attr: Attribute, *, pieces: int = REFINE) -> Attribute:
    """The attribute with each bin cut into ``pieces`` (fewer where its grid allows fewer)."""
    if not refines(attr) or pieces == 1:
        return attr
    edges = [attr.edges[0]]
    log = _log_scale(attr)
    for a, b in zip(attr.edges, attr.edges[1:], strict=False):
        edges.extend(_split(float(a), float(b), pieces, log=log, decimals=attr.decimals))
        edges.append(b)
    return dataclasses.replace(attr, edges=tuple(float(e) for e in edges))


@functools.lru_cache(maxsize=16)
def refine(domain: Domain, *, pieces: int = REFINE) -> Domain:
    """The fine public grid of a domain: numeric bins cut into ``pieces`` (see the module)."""
    return Domain(tuple(refine_attribute(a, pieces=pieces) for a in domain.attributes),
                  patient_id=domain.patient_id)


@dataclass(frozen=True)
class Regrouping:
    """Where the model's bins start on the fine grid, per regrouped attribute.

    Args:
        starts: attribute name -> increasing fine-bin indices, the first 0: coarse bin ``i``
            holds fine bins ``starts[i]`` up to ``starts[i + 1] - 1`` (the last up to the end).
            Attributes not named keep their fine bins; *missing* stays one code.

    >>> Regrouping.from_json(Regrouping({"t": (0, 3)}).to_json()) == Regrouping({"t": (0, 3)})
    True
    """

    starts: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clean = {}
        for name, starts in sorted(dict(self.starts).items()):
            starts = tuple(int(s) for s in starts)
            steps = np.diff(starts)
            if not starts or starts[0] != 0 or np.any(steps <= 0):
                raise ValueError(f"regrouping of '{name}': starts {starts} must increase from 0")
            clean[name] = starts
        object.__setattr__(self, "starts", clean)

    def __hash__(self) -> int:
        return hash(tuple(self.starts.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regrouping) and self.starts == other.starts

    def to_json(self) -> str:
        """Compact JSON (what a federated query carries)."""
        return json.dumps({k: list(v) for k, v in self.starts.items()}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Regrouping:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: not a mapping of names to increasing integer lists starting at 0.
        """
        if not isinstance(text, str) or len(text) > MAX_JSON:
            raise ValueError(f"a regrouping is JSON text of at most {MAX_JSON} characters")
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError) as exc:  # a hostile nesting depth included
            raise ValueError(f"a regrouping is not valid JSON ({type(exc).__name__})") from None
        if not isinstance(raw, dict) or not all(
                isinstance(v, list) and all(isinstance(s, int) and not isinstance(s, bool)
                                            for s in v) for v in raw.values()):
            raise ValueError("a regrouping is a JSON object of attribute -> list of integers")
        return cls({str(k): tuple(v) for k, v in raw.items()})

    def check(self, fine: Domain) -> None:
        """Raise ``ValueError`` unless every name is a refined attribute and every start a bin."""
        for name, starts in self.starts.items():
            if name not in fine:
                raise ValueError(f"regrouping names '{name}', which is not in the domain")
            attr = fine[name]
            if not refines(attr):
                raise ValueError(f"regrouping names '{name}' ({attr.kind.value}): not numeric")
            if starts[-1] >= attr.n_values:
                raise ValueError(f"regrouping of '{name}' starts a bin at {starts[-1]}, beyond "
                                 f"its {attr.n_values} fine bins")

    def lookup(self, fine: Domain) -> dict[str, np.ndarray]:
        """Per regrouped attribute, the coarse code of every fine code (missing -> missing)."""
        self.check(fine)
        out = {}
        for name, starts in self.starts.items():
            n = fine[name].n_values
            table = np.searchsorted(np.asarray(starts), np.arange(n), side="right") - 1
            out[name] = np.append(table, len(starts)).astype(np.int64)
        return out

    def codes(self, fine_codes: np.ndarray, fine: Domain) -> np.ndarray:
        """Records' fine codes (rows × attributes of ``fine``) mapped to coarse codes."""
        out = np.array(fine_codes, dtype=np.int64, copy=True)
        for name, table in self.lookup(fine).items():
            j = fine.names.index(name)
            out[:, j] = table[out[:, j]]
        return out

    def apply(self, fine: Domain, weights: Mapping[str, Sequence[float]] | None = None) -> Domain:
        """The coarse domain; with ``weights`` (per fine bin), values are drawn inside a
        coarse bin in proportion to them (:meth:`Domain.decode`)."""
        self.check(fine)
        weights = weights or {}
        attrs = []
        for attr in fine.attributes:
            starts = self.starts.get(attr.name)
            if starts is None:
                attrs.append(attr)
                continue
            edges = (*(attr.edges[s] for s in starts), attr.edges[-1])
            w = weights.get(attr.name)
            if w is not None:  # a bin with no weight at all: uniform inside it
                w = np.asarray(w, dtype=float).copy()
                for a, b in zip(starts, (*starts[1:], len(w)), strict=True):
                    if not w[a:b].sum() > 0:
                        w[a:b] = 1.0
            attrs.append(dataclasses.replace(
                attr, edges=edges, sub_edges=attr.edges if w is not None else (),
                sub_weights=tuple(float(x) for x in w) if w is not None else ()))
        return Domain(tuple(attrs), patient_id=fine.patient_id)


@functools.lru_cache(maxsize=16)
def domain_of(public: Domain, regrouping: Regrouping | None) -> Domain:
    """The domain a query's cliques refer to: ``public`` itself, or its regrouped fine grid.

    Raises:
        ValueError: the regrouping names an attribute that is not refined, or a bin beyond.
    """
    if regrouping is None:
        return public
    return regrouping.apply(refine(public))


class RegroupedCodes:
    """A table's codes on its public domain and on any regrouping of its fine grid.

    What a source (central, or one federated site) counts from: the fine codes are encoded
    once, and the codes of the latest regrouping asked for are kept (a fit asks for one).

    Args:
        data: the typed frame.
        public: its public domain.
        codes: ``public.encode(data).codes``.
    """

    def __init__(self, data: pd.DataFrame, public: Domain, codes: np.ndarray) -> None:
        self.public, self.codes = public, codes
        self._fine = fine_codes(data, public, codes)
        self._latest: tuple[Regrouping, np.ndarray] | None = None

    def view(self, regrouping: Regrouping | None) -> tuple[Domain, np.ndarray]:
        """The domain a query on ``regrouping`` refers to and the records' codes in it.

        Raises:
            TypeError: ``regrouping`` is not a Regrouping (or None).
            ValueError: a bad regrouping (:meth:`Regrouping.check`).
        """
        if regrouping is None:
            return self.public, self.codes
        if not isinstance(regrouping, Regrouping):
            raise TypeError(f"regrouping must be a Regrouping, got {type(regrouping).__name__}")
        domain = domain_of(self.public, regrouping)  # checks it
        if self._latest is None or self._latest[0] != regrouping:
            self._latest = (regrouping, regrouping.codes(self._fine, refine(self.public)))
        return domain, self._latest[1]


def fine_codes(data: pd.DataFrame, public: Domain, codes: np.ndarray) -> np.ndarray:
    """Records' codes on ``refine(public)``, from their public ``codes`` and the typed frame
    (only refined columns are encoded again; values out of bounds are clipped as before)."""
    fine = refine(public)
    out = np.array(codes, dtype=np.int64, copy=True)
    for j, (attr, coarse) in enumerate(zip(fine.attributes, public.attributes, strict=True)):
        if attr is not coarse:
            out[:, j], _ = encode_column(data[attr.name], attr)
    out.flags.writeable = False
    return out


# -- the choice ------------------------------------------------------------------------------
def _cut_indices(attr: Attribute, cut_points: Iterable[float]) -> set[int]:
    """Fine-bin indices that start at a clinical cut point (kept as coarse edges)."""
    edges = np.asarray(attr.edges, dtype=float)
    out = set()
    for c in cut_points:
        c = float(c) if attr.decimals is None else _up(float(c), attr.decimals)
        hit = np.flatnonzero(np.isclose(edges, c, rtol=0, atol=1e-9))
        if hit.size and 0 < hit[0] < len(edges) - 1:
            out.add(int(hit[0]))
    return out


def _split_mass(w: np.ndarray, bins: int) -> list[int]:
    """Starts (relative) of ``bins`` pieces of about equal weight over ``w`` (fewer where the
    weight sits in fewer cells)."""
    total = w.sum()
    starts = {0}
    if total > 0:
        cum = np.cumsum(w) / total
        for k in range(1, bins):
            j = int(np.searchsorted(cum, k / bins - 1e-12, side="left")) + 1
            if j < len(w):
                starts.add(j)
    return sorted(starts)


def equal_mass_starts(weights: np.ndarray, bins: int, keep: Iterable[int] = ()) -> tuple[int, ...]:
    """Starts of ``bins`` bins of about equal weight over fine bins; ``keep`` always starts one.

    The stretches between kept starts (clinical cut points) share the bins by D'Hondt on their
    weight (each at least one, none more than its fine bins), and each stretch is cut into
    pieces of equal weight. Where the weight sits in few fine bins, the bins left over split
    the heaviest bins that still hold several fine bins, at their weighted middle. Under the
    public prior (:func:`public_prior`) the result is the public bins.

    >>> equal_mass_starts(np.array([1., 1, 1, 1, 0, 0, 0, 0]), 4)
    (0, 1, 2, 3)
    >>> equal_mass_starts(np.ones(8), 3, keep=[6])
    (0, 3, 6)
    """
    w = np.asarray(weights, dtype=float)
    bounds = sorted({0, *(int(k) for k in keep if 0 < k < len(w))}) + [len(w)]
    segments = list(zip(bounds, bounds[1:], strict=False))
    mass = [w[a:b].sum() for a, b in segments]
    pieces = [1] * len(segments)
    while sum(pieces) < bins:
        scores = [m / p if p < b - a else -1.0
                  for m, p, (a, b) in zip(mass, pieces, segments, strict=True)]
        best = int(np.argmax(scores))
        if scores[best] <= 0:
            break
        pieces[best] += 1
    starts = set()
    for (a, b), p in zip(segments, pieces, strict=True):
        starts.update(a + j for j in _split_mass(w[a:b], p))
    while len(starts) < bins:
        edges = sorted(starts) + [len(w)]
        spans = [(w[a:b].sum(), a, b)
                 for a, b in zip(edges, edges[1:], strict=False) if b - a > 1]
        if not spans:
            break
        _, a, b = max(spans)
        part = w[a:b]
        if part.sum() > 0:
            mid = a + int(np.searchsorted(np.cumsum(part) / part.sum(), 0.5, side="left")) + 1
        else:
            mid = (a + b) // 2
        starts.add(min(max(mid, a + 1), b - 1))
    return tuple(sorted(starts))


def public_prior(public: Attribute, fine: Attribute) -> np.ndarray:
    """Per fine bin, an even share of its public bin's even share: the weights under which
    equal-mass bins are exactly the public ones.

    >>> from synthema.schema import VariableType
    >>> a = Attribute("t", VariableType.INTEGER, "Int64", edges=(0.0, 1.0, 4.0), low=0, high=3,
    ...               decimals=0)
    >>> public_prior(a, refine_attribute(a, pieces=3)).tolist()
    [0.5, 0.16666666666666666, 0.16666666666666666, 0.16666666666666666]
    """
    owner = owners(public.edges, fine.edges)
    per_bin = np.bincount(owner, minlength=public.n_values)
    return 1.0 / (public.n_values * per_bin[owner])


def denoised(counts: np.ndarray, sigma: float, prior: np.ndarray | None = None) -> np.ndarray:
    """Weights (summing to 1) of a noisy histogram of ``F`` cells: each cell's count beyond
    the universal threshold ``sigma * sqrt(2 ln F)``, plus the rest spread by ``prior``.

    Soft thresholding (Donoho and Johnstone's universal threshold, about the largest of ``F``
    pure-noise draws): a cell keeps what its count shows above the noise; the rest of the
    noisy total, and at least half a noise scale per cell, is spread in proportion to
    ``prior`` (default even; :func:`public_prior`: back to the public grid). With exact counts
    (``sigma = 0``) the weights are the counts themselves; where the counts are noise they are
    (nearly) the prior. Never zero everywhere.

    >>> denoised(np.array([30, 0, 10, 0]), 0.0).tolist()
    [0.75, 0.0, 0.25, 0.0]
    >>> denoised(np.array([3, -2, 1, 0]), 5.0).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    counts = np.asarray(counts, dtype=float)
    prior = np.full(counts.size, 1.0 / counts.size) if prior is None else np.asarray(prior)
    cut = sigma * math.sqrt(2 * math.log(max(counts.size, 2)))
    kept = np.maximum(counts - cut, 0.0)
    spread = max(counts.sum() - kept.sum(), counts.size * sigma / 2)
    if spread <= 0 and kept.sum() <= 0:
        spread = 1.0
    w = kept + spread * prior / prior.sum()
    return w / w.sum()


def _tied_groups(public: Domain, dictionary: Dictionary, names: Sequence[str]) -> list[list[str]]:
    """Attributes that must share bins and within-bin weights: times on one public grid
    linked by an ordering rule (``efs_days <= os_days``), so that decoding keeps the order."""
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    for lo, hi, _ in orderings(dictionary.rules):
        if lo in parent and hi in parent and time_grid(public[lo]) is not None \
                and time_grid(public[lo]) == time_grid(public[hi]):
            parent[root(lo)] = root(hi)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    return list(groups.values())


def choose(
    ones: Sequence[Measurement],
    public: Domain,
    dictionary: Dictionary,
) -> tuple[Regrouping, dict[str, np.ndarray]]:
    """Bins and within-bin weights from noisy one-way marginals on the fine grid.

    Args:
        ones: one-way measurements over ``refine(public)`` (any attributes; those not refined
            are ignored).
        public: the public domain; each attribute gets as many bins as it has there (plus
            clinical cut points the equal-mass bins missed).
        dictionary: for the clinical cut points and the ordering rules.

    Returns:
        ``(regrouping, weights)``: weights per fine bin (missing excluded) for every regrouped
        attribute, to pass to :meth:`Regrouping.apply`.
    """
    fine = refine(public)
    by_name = {m.clique[0]: m for m in ones if len(m.clique) == 1}
    names = [n for n, m in by_name.items()
             if n in fine and refines(fine[n]) and fine[n].n_values > public[n].n_values]
    shrunk = {}
    for n in names:
        m = by_name[n]
        counts = np.asarray(m.noisy_counts, dtype=float)[:-1]  # missing excluded
        if counts.size != fine[n].n_values:
            raise SynthemaError(f"one-way marginal of '{n}' has {counts.size + 1} cells, the "
                                f"fine grid {fine[n].size}", fix="measure it on refine(domain)")
        shrunk[n] = denoised(counts, m.stddev, public_prior(public[n], fine[n]))
    starts, weights = {}, {}
    cuts = {v.name: v.cut_points for v in dictionary.variables}
    for group in _tied_groups(public, dictionary, names):
        w = np.mean([shrunk[n] for n in group], axis=0)
        keep = set().union(*(_cut_indices(fine[n], cuts.get(n, ())) for n in group))
        s = equal_mass_starts(w, max(public[n].n_values for n in group), keep)
        for n in group:
            starts[n], weights[n] = s, w
    return Regrouping(starts), weights


def coarse_one_way(m: Measurement, regrouping: Regrouping, fine: Domain) -> Measurement:
    """A fine one-way measurement summed into the coarse bins (noise included, no new cost).

    The noise of a coarse cell is the sum of its fine cells' noise; the measurement reports the
    root mean square over cells (``sigma * sqrt(fine bins / coarse bins)``).
    """
    (name,) = m.clique
    if name not in regrouping.starts:
        return m
    table = regrouping.lookup(fine)[name]
    counts = np.bincount(table, weights=m.noisy_counts, minlength=int(table.max()) + 1)
    k = len(table) / (int(table.max()) + 1)
    return Measurement(m.clique, np.rint(counts).astype(np.int64),
                       stddev=m.stddev * math.sqrt(k), rho_spent=m.rho_spent)
