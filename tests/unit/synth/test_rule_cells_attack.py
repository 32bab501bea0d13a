"""Adversarial review of rules inside the model (rule_cells, clause splitting, -inf potentials).

Each check compares the interval abstraction with the rule engine on rows *decoded* from the
cells (``decode_column`` with positions at both ends of a bin and in between, then fresh draws),
so it covers every variable kind, declared decimals, odd bounds and data-adaptive sub-bins.
The last tests reproduce the review's findings (an ordinal compared with text it does not
order; contradicting rules across cliques or with ``required``; an impossible rule refused
only after the budget was spent; rule and structural zeros of one clique), all fixed.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from synthema.errors import DictionaryError
from synthema.schema import Dictionary, Rule
from synthema.stats import CentralSource, Domain, Measurement
from synthema.stats.codec import decode_column, value_bounds
from synthema.stats.regroup import Regrouping, refine
from synthema.synth import create_synthesizer
from synthema.synth.constraints import clauses
from synthema.synth.pgm import fit_model
from synthema.synth.rule_cells import forbidden_cells, rule_zeros

EPOCH = pd.Timestamp("1970-01-01")

# every kind, declared decimals and none, a negative range, bounds off the grid, dates
VARIABLES = [
    {"name": "i", "type": "integer", "min": -7.5, "max": 12, "cut_points": [0, 3]},
    {"name": "c", "type": "continuous", "min": -1.25, "max": 2.3, "decimals": 1,
     "cut_points": [0.3]},
    {"name": "r", "type": "continuous", "min": 0.1, "max": 40},
    {"name": "t", "type": "duration", "min": 0, "max": 500, "cut_points": [30, 365]},
    {"name": "d", "type": "date", "min": "2015-03-01", "max": "2016-02-29"},
    {"name": "e", "type": "date", "min": "2015-01-01", "max": "2016-12-31"},
    {"name": "p", "type": "boolean"},
    {"name": "q", "type": "boolean"},
    {"name": "k", "type": "categorical", "categories": ["a", "5", "5.0", "True"]},
    {"name": "g", "type": "ordinal", "categories": ["lo", "mid", "hi"]},
]  # fmt: skip
BASE = Dictionary.from_mapping({"name": "attack", "version": 1, "variables": VARIABLES})
NUMERIC = ("i", "c", "r", "t")


def _adaptive(public: Domain, rng: np.random.Generator) -> Domain:
    """A regrouped fine grid with random starts and random sub-weights (some of them zero)."""
    fine = refine(public, pieces=4)
    starts, weights = {}, {}
    for name in NUMERIC:
        n = fine[name].n_values
        cuts = rng.choice(np.arange(1, n), size=min(3, n - 1), replace=False)
        starts[name] = tuple(sorted({0, *(int(x) for x in cuts)}))
        weights[name] = rng.random(n) * (rng.random(n) < 0.6)
    return Regrouping(starts).apply(fine, weights)


def _decoded(domain: Domain, clique: tuple[str, ...], cells: np.ndarray, rng) -> tuple:
    """Rows decoded from each cell: mixes of both ends and the middle of the columns' bins
    (all of them for up to three columns), then fresh uniform draws; and the index of the cell
    each row came from."""
    ends = (0.0, 1 - 1e-12, 0.5)
    mixes = list(itertools.product(range(len(ends)), repeat=len(clique)))
    if len(mixes) > 27:  # many columns: all low, all high, and 25 mixes drawn at random
        picked = rng.choice(np.arange(1, len(mixes) - 1), 25, replace=False)
        mixes = [mixes[0], mixes[-1], *(mixes[i] for i in sorted(picked))]
    reps = len(mixes) + 4
    codes = np.repeat(cells, reps, axis=0)
    frame = {}
    for j, name in enumerate(clique):
        block = np.array([ends[m[j]] for m in mixes] + [np.nan] * 4)
        pos = np.tile(block, len(cells))
        fresh = np.isnan(pos)
        pos[fresh] = rng.random(int(fresh.sum()))
        frame[name] = decode_column(codes[:, j], domain[name], rng=rng, position=pos)
    return pd.DataFrame(frame), np.repeat(np.arange(len(cells)), reps)


def _unsound(rule: Rule, domain: Domain, dictionary: Dictionary, rng) -> list:
    """Decoded rows of forbidden cells on which the rule holds or does not apply."""
    clique = tuple(a for a in domain.names if a in rule.columns)
    mask = forbidden_cells(rule.tree, domain, clique)
    cells = np.argwhere(mask)
    if not len(cells):
        return []
    frame, _ = _decoded(domain, clique, cells, rng)
    holds = rule.evaluate(frame, ordinals=dictionary.ordinals)
    return frame[holds.fillna(True).to_numpy(dtype=bool)].head(3).to_dict("records")


class _Gen:
    """Random well-typed rules over :data:`VARIABLES` (literals near the bins' bounds)."""

    def __init__(self, rng: np.random.Generator, domain: Domain) -> None:
        self.rng, self.domain = rng, domain

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def number(self) -> str:
        attr = self.domain[self.pick(NUMERIC)]
        lo, hi = value_bounds(attr)
        x = float(self.pick([*lo, *hi, 0.0, 0.1, 0.3])) + self.pick([0, 0, 0.05, -0.05, 1, -1])
        return f"(-{abs(round(x, 4))!r})" if x < 0 else repr(round(x, 4))

    def num(self, depth: int) -> str:
        kinds = ["lit", "col", "col", "bool", "days"] + ["arith"] * 3 + ["neg", "abs", "mm", "cnt"]
        kind = self.pick(kinds if depth > 0 else kinds[:5])
        match kind:
            case "lit":
                return self.number()
            case "col":
                return self.pick(NUMERIC)
            case "bool":
                return self.pick(["p", "q"])
            case "days":
                return self.pick(["(d - e)", "(e - d)", "d"])
            case "arith":
                return f"({self.num(depth - 1)} {self.pick('+-*/')} {self.num(depth - 1)})"
            case "neg":
                return f"(-{self.num(depth - 1)})"
            case "abs":
                return f"abs({self.num(depth - 1)})"
            case "mm":
                args = ", ".join(self.num(depth - 1) for _ in range(int(self.rng.integers(1, 3))))
                return f"{self.pick(['min', 'max'])}({args})"
        args = ", ".join(self.boolean(depth - 1) for _ in range(int(self.rng.integers(1, 3))))
        return f"count({args})"

    def boolean(self, depth: int) -> str:
        kinds = ["cmp", "cmp", "in", "missing", "flag", "text", "ord", "date"]
        kinds += ["not", "and", "or", "=>", "none"] if depth > 0 else []
        kind = self.pick(kinds)
        op = self.pick(["<", "<=", ">", ">=", "==", "!="])
        match kind:
            case "cmp":
                return f"({self.num(depth - 1)} {op} {self.num(depth - 1)})"
            case "in":
                values = ", ".join(self.number().strip("()") for _ in range(2))
                neg = self.pick(["", "not "])
                if self.rng.random() < 0.4:
                    return f'(k {neg}in ["5", "{self.pick(["a", "True"])}"])'
                return f"({self.num(depth - 1)} {neg}in [{values}])"
            case "missing":
                column = self.pick([*NUMERIC, "d", "p", "k", "g"])
                return f"({column} is {self.pick(['', 'not '])}missing)"
            case "flag":
                return self.pick(["p", "q", "(p == q)", "(p == (i > 2))"])
            case "text":
                return f'(k {self.pick(["==", "!="])} "{self.pick(["a", "5", "True"])}")'
            case "ord":
                return f'(g {self.pick(["<", "<=", ">", ">="])} "{self.pick(["lo", "mid", "hi"])}")'
            case "date":
                day = dt.date(2015, 3, 1) + dt.timedelta(days=int(self.rng.integers(-2, 400)))
                return f'(d {op} "{day.isoformat()}")'
            case "not":
                return f"(not {self.boolean(depth - 1)})"
            case "none":
                args = ", ".join(self.boolean(depth - 1) for _ in range(2))
                return self.pick([f"(count({args}) == 0)", f"(not (count({args}) == 0))",
                                  f"((count({args}) == 0) or {self.boolean(depth - 1)})"])
        word = {"and": "and", "or": "or", "=>": "=>"}[kind]
        return f"({self.boolean(depth - 1)} {word} {self.boolean(depth - 1)})"


@pytest.mark.parametrize("bins", ["public", "adaptive"])
def test_random_rules_never_forbid_a_cell_holding_a_row_that_satisfies_them(bins):
    # Setup: 400 random rules (seeded: the same rules every run) on public or adaptive bins
    rng = np.random.default_rng(20261207)
    public = Domain.from_dictionary(BASE, max_bins=4)
    domain = public if bins == "public" else _adaptive(public, rng)
    gen = _Gen(rng, domain)
    rules = [gen.boolean(int(rng.integers(1, 4))) for _ in range(400)]
    d = Dictionary.from_mapping({"name": "attack", "version": 1, "variables": VARIABLES,
                                 "rules": rules})

    # Run
    unsound = {r.expr: _unsound(r, domain, d, rng) for r in d.rules}
    forbidden = sum(int(forbidden_cells(r.tree, domain, tuple(
        a for a in domain.names if a in r.columns)).sum()) for r in d.rules)

    # Assert: no forbidden cell decodes to a row the rule allows; the check is not vacuous
    assert {e: rows for e, rows in unsound.items() if rows} == {}
    assert forbidden > 500


def test_values_decoded_through_sub_bins_stay_inside_their_bins_value_bounds():
    # Setup
    rng = np.random.default_rng(7)
    domain = _adaptive(Domain.from_dictionary(BASE, max_bins=4), rng)

    for name in NUMERIC:
        attr = domain[name]
        lo, hi = value_bounds(attr)
        codes = np.repeat(np.arange(attr.n_values), 400)
        pos = rng.random(codes.size)
        pos[::400], pos[1::400] = 0.0, 1 - 1e-12

        # Run
        values = decode_column(codes, attr, rng=rng, position=pos).astype("Float64")

        # Assert
        x = values.to_numpy(dtype=float)
        assert attr.sub_edges and np.all((lo[codes] <= x) & (x <= hi[codes])), name


NONE_FORMS = [
    "count(p, q) == 0", "not (count(p, q) == 0)", "count(p, q) == 0 or k == \"a\"",
    "k == \"a\" => count(p, i > 2, g >= \"mid\") == 0", "count(p) == false",
    "count(p, q) == 0 and count(q) == 0", "not (count(p, q) == 0 or p)",
]


@pytest.mark.parametrize("expr", NONE_FORMS)
def test_clauses_are_the_rule_on_every_combination_of_true_false_and_missing(expr):
    # Setup: every combination of the columns' values, missing included
    values = {"p": [True, False, None], "q": [True, False, None], "i": [0, 5, None],
              "k": ["a", "5", None], "g": ["lo", "hi", None]}
    rows = list(itertools.product(*values.values()))
    frame = pd.DataFrame(rows, columns=list(values)).astype(
        {"p": "boolean", "q": "boolean", "i": "Int64", "k": "string", "g": "string"})
    rule = Dictionary.from_mapping({"name": "x", "version": 1, "variables": VARIABLES,
                                    "rules": [expr]}).rules[0]
    ordinals = {"g": ("lo", "mid", "hi")}

    # Run
    parts = [Rule(expr="c", tree=c).evaluate(frame, ordinals=ordinals)
             for c in clauses(rule.tree)]
    both = parts[0]
    for part in parts[1:]:
        both = both & part

    # Assert: same True / False / NA on every row
    whole = rule.evaluate(frame, ordinals=ordinals)
    assert whole.isna().tolist() == both.isna().tolist()
    assert whole.fillna(False).tolist() == both.fillna(False).tolist()


# -- findings ------------------------------------------------------------------------------
@pytest.mark.parametrize("expr", ["o <= o2", "k < o"])
def test_an_ordinal_compared_with_a_text_value_it_does_not_order_is_not_forbidden(expr):
    # Setup: the rule engine ranks both sides by the first ordinal's categories; a value that
    # is not one of them ("mid" of o2, any category of k) makes the comparison not applicable
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "k", "type": "categorical", "categories": ["a", "z"]},
        {"name": "o", "type": "ordinal", "categories": ["lo", "hi"]},
        {"name": "o2", "type": "ordinal", "categories": ["lo", "mid", "hi"]}],
        "rules": [expr]})  # fmt: skip
    domain = Domain.from_dictionary(d)
    rule = d.rules[0]
    clique = tuple(a for a in domain.names if a in rule.columns)
    cells = np.argwhere(np.ones(tuple(domain[a].size for a in clique), dtype=bool))
    frame = domain.project(clique).decode(cells, rng=np.random.default_rng(0))

    # Run
    mask = forbidden_cells(rule.tree, domain, clique)
    holds = rule.evaluate(frame, ordinals=d.ordinals)

    # Assert: every cell holds one row exactly (categories); none the rule allows is forbidden
    allowed = holds.fillna(True).to_numpy(dtype=bool)
    assert not np.any(mask[tuple(cells.T)] & allowed), frame[mask[tuple(cells.T)] & allowed]


CONTRADICTIONS = {
    # p must be known, x and y too; p forces x > 100, not p forces y > 100: each rule clique
    # keeps cells, together they keep no row
    "across cliques": ([{"name": "p", "type": "boolean", "required": True},
                        {"name": "x", "type": "integer", "min": 0, "max": 9, "required": True},
                        {"name": "y", "type": "integer", "min": 0, "max": 9, "required": True}],
                       ["p => x > 100", "not p => y > 100"]),
    # one clique, where only the 'required' flags (one-way zeros) remove the cells left
    "with required": ([{"name": "x", "type": "integer", "min": 0, "max": 9, "required": True},
                       {"name": "y", "type": "integer", "min": 0, "max": 9, "required": True},
                       {"name": "z", "type": "integer", "min": 0, "max": 9}],
                      ["x > 100 or y is missing"]),
}


@pytest.mark.parametrize("case", sorted(CONTRADICTIONS))
def test_rules_that_leave_no_row_at_all_are_refused_at_fit(case, fixed_noise):
    # Setup
    variables, rules = CONTRADICTIONS[case]
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": variables,
                                 "rules": rules})
    rng = np.random.default_rng(0)
    data = pd.DataFrame({v["name"]: pd.array(rng.integers(0, 10, 200), dtype="Int64")
                         if v["type"] == "integer" else pd.array(rng.random(200) < 0.5,
                                                                  dtype="boolean")
                         for v in variables})
    synth = create_synthesizer("mst", dictionary=d, epsilon=1.0, random_state=1, bins="public")

    # Run / Assert: refused (before anything is measured), never a model whose beliefs are
    # NaN and whose raw draws land anywhere
    with fixed_noise(3), pytest.raises(DictionaryError, match="allow no row at all"):
        synth.fit(data)


class _CountingSource(CentralSource):
    """A central source that counts the noisy marginals it was asked for."""

    calls = 0

    def measure(self, cliques, *, sigma, regrouping=None):
        type(self).calls += len(cliques)
        return super().measure(cliques, sigma=sigma, regrouping=regrouping)


def test_a_rule_no_value_can_satisfy_is_refused_before_any_marginal_is_measured(fixed_noise):
    # Setup: the impossible rule of test_rule_cells, whose cells are all forbidden on any bins
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "a", "type": "integer", "min": 0, "max": 9},
        {"name": "b", "type": "integer", "min": 0, "max": 9},
        {"name": "p", "type": "boolean"}],
        "rules": [{"name": "impossible", "expr": "p is not missing and p and a < 20 and not p"}]})
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": pd.array(rng.integers(0, 10, 100), dtype="Int64"),
                         "b": pd.array(rng.integers(0, 10, 100), dtype="Int64"),
                         "p": pd.array(rng.random(100) < 0.5, dtype="boolean")})
    _CountingSource.calls = 0
    source = _CountingSource(data, d)
    synth = create_synthesizer("mst", dictionary=d, epsilon=1.0, random_state=1, bins="public")

    # Run
    with fixed_noise(3), pytest.raises(DictionaryError, match="impossible"):
        synth.fit(source)

    # Assert: refused from the public domain alone, before any noisy answer was spent
    assert _CountingSource.calls == 0


def test_fit_model_keeps_rule_zeros_of_a_clique_that_also_has_structural_zeros():
    # Setup: x = 0 is forbidden by a rule, x missing by a structural zero, both one-way
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "x", "type": "integer", "min": 0, "max": 3}]})
    domain = Domain.from_dictionary(d)
    measured = [Measurement(("x",), np.array([10, 10, 10, 10, 0]), 1.0, 0.1)]
    forbidden = {("x",): np.array([True, False, False, False, False])}
    zeros = {("x",): np.array([0.0, 0.0, 0.0, 0.0, -np.inf])}

    # Run
    model = fit_model(domain, measured, iters=100, forbidden=forbidden, zeros=zeros)

    # Assert: both kinds of zero hold
    marginal = model.marginal(("x",))
    assert marginal[0] == 0 and marginal[-1] == 0


def test_a_rule_every_value_breaks_forbids_every_value_cell_on_public_and_adaptive_bins():
    # Setup: i lies in [-7.5, 12], so whole numbers -7 .. 12: none above 12.5 or below -7.5
    rng = np.random.default_rng(3)
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": VARIABLES,
                                 "rules": ["i > 12.5 or i < -7.5"]})
    public = Domain.from_dictionary(d, max_bins=4)

    for domain in (public, _adaptive(public, rng)):
        # Run
        mask = rule_zeros(d, domain, [("i", "p")])[("i", "p")]

        # Assert: every non-missing i forbidden, missing i allowed (so no DictionaryError)
        assert mask[:-1].all() and not mask[-1].any()
