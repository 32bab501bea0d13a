"""Rules inside the model: the cells of a clique that every value in them breaks a rule.

A graphical model sees codes, not values: a numeric code stands for a bin, a date code for a
range of days. :func:`forbidden_cells` evaluates a rule (or one clause of it) on *every* cell of
its columns at once, with each numeric bin as an interval, by the same three-valued logic as
:class:`synthema.schema.rules.Rule` (Kleene; NA means not applicable). Each sub-expression is
abstracted by what it *may* be over the cell: true, false, missing (booleans), or a value in
``[lo, hi]`` and/or missing (numbers). The abstraction over-approximates (interval arithmetic,
closed bins, sub-expressions treated as independent), so a cell it calls forbidden truly has
no value that satisfies the rule: the rule is False for every row that cell can decode to.
Cells where only some values break the rule (``efs_days <= os_days`` with both in one bin)
are left allowed; sampling still checks every row (:mod:`synthema.synth.constraints`).

:func:`rule_zeros` turns the dictionary's rules into such masks for the cliques a model has:
each rule is split into clauses (``A and B`` holds when both do), and a clause whose columns
lie inside one modelled clique gives that clique structural zeros, which
:func:`synthema.synth.pgm.fit_model` passes to mbi as ``mbi.Constraint`` (the model is fitted
with zero probability there and can never sample them). The masks depend only on the public
domain and the dictionary, never on data, so they cost no privacy and a federated fit builds
the same ones as a central fit.

>>> from synthema.schema import Dictionary
>>> from synthema.schema.rules import Rule
>>> from synthema.stats import Domain
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "cr", "type": "boolean"},
...     {"name": "cr_days", "type": "duration", "unit": "days", "min": 0, "max": 30,
...      "cut_points": [10, 20]}]})
>>> domain = Domain.from_dictionary(d, max_bins=3)
>>> domain["cr_days"].labels
('0..9', '10..19', '20..30', 'missing')
>>> forbidden_cells(Rule.parse("cr => cr_days is not missing").tree, domain, ("cr", "cr_days"))
array([[False, False, False, False],
       [False, False, False,  True],
       [False, False, False, False]])
>>> forbidden_cells(Rule.parse("cr_days <= 12").tree, domain, ("cr_days",))
array([False, False,  True, False])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synthema.errors import DictionaryError
from synthema.schema import Dictionary, VariableType
from synthema.schema.rules import _columns, _date_literal
from synthema.stats import Domain
from synthema.stats.codec import value_bounds
from synthema.synth.constraints import clauses

Clique = tuple[str, ...]

#: Rules (clauses) over more cells than this are not turned into structural zeros.
MAX_RULE_CELLS = 1_000_000


@dataclass
class _Bool:
    """What a true/false sub-expression may be over each cell."""

    t: np.ndarray
    f: np.ndarray
    n: np.ndarray


@dataclass
class _Num:
    """A number in ``[lo, hi]`` where ``v`` (it may have a value), and/or missing where ``n``."""

    lo: np.ndarray
    hi: np.ndarray
    v: np.ndarray
    n: np.ndarray


@dataclass
class _Str:
    """A text value, known exactly in each cell (``None`` where missing)."""

    s: np.ndarray  # object array of str or None
    order: tuple[str, ...] = ()
    literal: str | None = None  # the text, when this is a literal

    @property
    def na(self) -> np.ndarray:
        return np.array([x is None for x in self.s.ravel()], dtype=bool).reshape(self.s.shape)


class _Cells:
    """Evaluates a rule tree on every cell of ``clique`` (arrays of the clique's shape)."""

    def __init__(self, domain: Domain, clique: Clique) -> None:
        self.domain = domain
        self.clique = clique
        self.shape = tuple(domain[a].size for a in clique)
        self.grid = np.indices(self.shape) if clique else np.zeros((0,), dtype=np.int64)

    def _full(self, value: bool) -> np.ndarray:
        return np.full(self.shape, value, dtype=bool)

    def column(self, name: str):
        attr = self.domain[name]
        codes = self.grid[self.clique.index(name)]
        missing = codes == attr.missing_code
        if attr.kind is VariableType.BOOLEAN:
            return _Bool(t=codes == 1, f=codes == 0, n=missing)
        if attr.categories:
            labels = np.array([*attr.categories, None], dtype=object)
            order = attr.categories if attr.kind is VariableType.ORDINAL else ()
            return _Str(labels[codes], order)
        lo, hi = value_bounds(attr)
        lo, hi = np.append(lo, math.nan), np.append(hi, math.nan)
        return _Num(lo=lo[codes], hi=hi[codes], v=~missing, n=missing)

    def literal(self, value):
        if isinstance(value, bool):
            return _Bool(t=self._full(value), f=self._full(not value), n=self._full(False))
        if isinstance(value, float):
            return _Num(np.full(self.shape, value), np.full(self.shape, value),
                        self._full(True), self._full(False))
        return _Str(np.full(self.shape, value, dtype=object), literal=value)

    def as_bool(self, val) -> _Bool:
        if not isinstance(val, _Bool):
            raise TypeError("a value was used where true/false is needed")
        return val

    def as_num(self, val) -> _Num:
        if isinstance(val, _Num):
            return val
        if isinstance(val, _Bool):  # booleans count as 0/1
            return _Num(lo=np.where(val.f, 0.0, 1.0), hi=np.where(val.t, 1.0, 0.0),
                        v=val.t | val.f, n=val.n)
        raise TypeError("a text value was used where a number is needed")

    def eval(self, node: tuple):  # noqa: C901 - a dispatch table over node kinds
        kind = node[0]
        match kind:
            case "col":
                return self.column(node[1])
            case "lit":
                return self.literal(node[1])
            case "not":
                a = self.as_bool(self.eval(node[1]))
                return _Bool(t=a.f, f=a.t, n=a.n)
            case "and" | "or":
                a = self.as_bool(self.eval(node[1]))
                b = self.as_bool(self.eval(node[2]))
                return _and(a, b) if kind == "and" else _or(a, b)
            case "missing":
                a = self.eval(node[1])
                may_na, may_val = self._missingness(a)
                return _Bool(t=may_val if node[2] else may_na, f=may_na if node[2] else may_val,
                             n=self._full(False))
            case "in":
                return self._in(self.eval(node[1]), node[2], node[3])
            case "cmp":
                return self.compare(node[1], self.eval(node[2]), self.eval(node[3]))
            case "arith":
                return _arith(node[1], self.as_num(self.eval(node[2])),
                              self.as_num(self.eval(node[3])))
            case "neg":
                a = self.as_num(self.eval(node[1]))
                return _Num(lo=-a.hi, hi=-a.lo, v=a.v, n=a.n)
            case "call":
                return self.call(node[1], [self.eval(a) for a in node[2]])
            case _:
                raise ValueError(f"unknown rule node {kind!r}")

    @staticmethod
    def _missingness(a) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(a, _Str):
            return a.na, ~a.na
        if isinstance(a, _Bool):
            return a.n, a.t | a.f
        return a.n, a.v

    def _in(self, a, values: Sequence, negate: bool) -> _Bool:
        if isinstance(a, _Str):
            na = a.na
            hit = np.isin(a.s, [str(v) for v in values]) & ~na
            t, f = hit, ~hit & ~na
        else:
            a = self.as_num(a)
            points = [float(v) for v in values]
            may_hit = np.zeros(self.shape, dtype=bool)
            for p in points:
                may_hit |= (a.lo <= p) & (p <= a.hi)
            sure_hit = (a.lo == a.hi) & np.isin(a.lo, points)
            t, f, na = a.v & may_hit, a.v & ~sure_hit, a.n
        return _Bool(t=f, f=t, n=na) if negate else _Bool(t=t, f=f, n=na)

    def compare(self, op: str, a, b) -> _Bool:
        for x, y in ((a, b), (b, a)):  # a date compared with an ISO date literal
            if isinstance(x, _Num) and isinstance(y, _Str) and y.literal is not None:
                days = _date_literal(y.literal)
                point = _Num(np.full(self.shape, days), np.full(self.shape, days),
                             self._full(True), self._full(False))
                a, b = (point, b) if y is a else (a, point)
        if isinstance(a, _Str) or isinstance(b, _Str):
            if not (isinstance(a, _Str) and isinstance(b, _Str)):
                raise TypeError("text compared with a number")
            na = a.na | b.na
            if op in ("==", "!="):
                eq = np.vectorize(lambda x, y: x == y, otypes=[bool])(a.s, b.s) & ~na
                res = eq if op == "==" else ~eq & ~na
                return _Bool(t=res, f=~res & ~na, n=na)
            rank = {c: float(i) for i, c in enumerate(a.order or b.order)}
            if not rank:
                raise TypeError(f"'{op}' on text needs an ordinal column")
            ra = np.array([rank.get(x, math.nan) for x in a.s.ravel()]).reshape(self.shape)
            rb = np.array([rank.get(x, math.nan) for x in b.s.ravel()]).reshape(self.shape)
            # a value outside the order ranks NaN: the rule engine reads it as missing
            a = _Num(ra, ra, ~a.na & ~np.isnan(ra), a.na | np.isnan(ra))
            b = _Num(rb, rb, ~b.na & ~np.isnan(rb), b.na | np.isnan(rb))
        a, b = self.as_num(a), self.as_num(b)
        both = a.v & b.v
        return _Bool(t=both & _may(op, a, b), f=both & _may(_NEGATION[op], a, b), n=a.n | b.n)

    def call(self, func: str, args: list) -> _Num:
        if func == "count":
            bools = [self.as_bool(a) for a in args]
            lo = sum((b.t & ~b.f & ~b.n).astype(float) for b in bools)
            hi = sum(b.t.astype(float) for b in bools)
            return _Num(lo=lo + np.zeros(self.shape), hi=hi + np.zeros(self.shape),
                        v=self._full(True), n=self._full(False))
        nums = [self.as_num(a) for a in args]
        if func == "abs":
            a = nums[0]
            lo = np.where(a.lo >= 0, a.lo, np.where(a.hi <= 0, -a.hi, 0.0))
            hi = np.maximum(np.abs(a.lo), np.abs(a.hi))
            return _Num(lo=lo, hi=hi, v=a.v, n=a.n)
        pick = np.minimum if func == "min" else np.maximum
        lo, hi = nums[0].lo, nums[0].hi
        for x in nums[1:]:
            lo, hi = pick(lo, x.lo), pick(hi, x.hi)
        v = np.logical_and.reduce([x.v for x in nums])
        n = np.logical_or.reduce([x.n for x in nums])
        return _Num(lo=lo, hi=hi, v=v, n=n)


_NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _may(op: str, a: _Num, b: _Num) -> np.ndarray:
    """Whether ``a op b`` may hold for some a in [a.lo, a.hi] and b in [b.lo, b.hi]."""
    with np.errstate(invalid="ignore"):
        match op:
            case "<":
                return a.lo < b.hi
            case "<=":
                return a.lo <= b.hi
            case ">":
                return a.hi > b.lo
            case ">=":
                return a.hi >= b.lo
            case "==":
                return (a.lo <= b.hi) & (b.lo <= a.hi)
            case _:  # "!=": fails only when both are the same single point
                return ~((a.lo == a.hi) & (b.lo == b.hi) & (a.lo == b.lo))


def _and(a: _Bool, b: _Bool) -> _Bool:
    return _Bool(t=a.t & b.t, f=a.f | b.f, n=(a.n & (b.t | b.n)) | (b.n & (a.t | a.n)))


def _or(a: _Bool, b: _Bool) -> _Bool:
    return _Bool(t=a.t | b.t, f=a.f & b.f, n=(a.n & (b.f | b.n)) | (b.n & (a.f | a.n)))


def _arith(op: str, a: _Num, b: _Num) -> _Num:
    v, n = a.v & b.v, a.n | b.n
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if op == "+":
            lo, hi = a.lo + b.lo, a.hi + b.hi
        elif op == "-":
            lo, hi = a.lo - b.hi, a.hi - b.lo
        elif op == "*":
            products = np.stack([a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi])
            lo, hi = np.fmin.reduce(products), np.fmax.reduce(products)
        else:  # "/": a zero divisor makes the result missing (as the evaluator does)
            zero = (b.lo <= 0) & (0 <= b.hi)
            n = n | (v & zero)
            quotients = np.stack([a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi])
            lo = np.where(zero, -np.inf, np.fmin.reduce(quotients))
            hi = np.where(zero, np.inf, np.fmax.reduce(quotients))
    lo = np.where(np.isnan(lo), -np.inf, lo)  # inf - inf and the like: anything
    hi = np.where(np.isnan(hi), np.inf, hi)
    return _Num(lo=lo, hi=hi, v=v, n=n)


def forbidden_cells(tree: tuple, domain: Domain, clique: Clique) -> np.ndarray:
    """Boolean array over the cells of ``clique``: True where the rule is False for every
    row those codes can decode to (``clique`` must hold every column the rule reads)."""
    result = _Cells(domain, tuple(clique)).eval(tree)
    if not isinstance(result, _Bool):
        raise TypeError("the rule is not a true/false condition")
    return ~result.t & ~result.n


def tree_columns(tree: tuple) -> tuple[str, ...]:
    """Columns a rule tree (or clause) reads, in order of first use."""
    out: dict[str, None] = {}
    _columns(tree, out)
    return tuple(out)


def rule_zeros(
    dictionary: Dictionary, domain: Domain, cliques: Sequence[Clique], *,
    max_cells: int = MAX_RULE_CELLS,
) -> dict[Clique, np.ndarray]:
    """Forbidden cells of modelled cliques, from every rule clause that fits inside one.

    Each returned clique is one of ``cliques`` (so the model's structure does not change) and
    its mask marks the cells that break at least one clause; cliques with no forbidden cell are
    left out. A clause over more than ``max_cells`` cells is skipped.

    Raises:
        DictionaryError: rules that forbid every cell of a clique together (they can never
            all hold).
    """
    out: dict[Clique, np.ndarray] = {}
    names: dict[Clique, dict[str, None]] = {}  # the rules behind each clique's zeros
    for rule in dictionary.rules:
        for clause in clauses(rule.tree):
            cols = tree_columns(clause)
            if not cols or any(c not in domain.names for c in cols):
                continue
            home = next((c for c in cliques if set(cols) <= set(c)), None)
            if home is None:
                continue
            own = tuple(a for a in domain.names if a in cols)
            if domain.size(own) > max_cells:
                continue
            mask = forbidden_cells(clause, domain, own)
            if not mask.any():
                continue
            shape = [domain[a].size if a in own else 1 for a in home]
            order = [own.index(a) for a in home if a in own]
            full = np.broadcast_to(np.transpose(mask, order).reshape(shape),
                                   tuple(domain[a].size for a in home))
            out[home] = out.get(home, np.zeros(full.shape, dtype=bool)) | full
            names.setdefault(home, {})[rule.name] = None
            if out[home].all():
                raise DictionaryError(
                    f"dictionary '{dictionary.name}': rules {', '.join(map(repr, names[home]))}"
                    f" cannot all hold for any value of {', '.join(home)} the dictionary "
                    "allows (missing included)",
                    fix="correct the rules or the variables' min/max and categories")
    return out
