"""Rules inside the model: forbidden cells are exactly those no value in them can satisfy.

Each check compares :func:`forbidden_cells` with brute force: every value a cell can decode
to (small integer grids, so the values can all be listed) evaluated by the rule engine itself.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from synthema.errors import DictionaryError
from synthema.schema import Dictionary, Rule, load_dictionary
from synthema.stats import Domain
from synthema.synth import create_synthesizer, selection
from synthema.synth.constraints import clauses
from synthema.synth.rule_cells import forbidden_cells, rule_zeros, tree_columns

# three whole-number columns on 0..11 in bins of 3 or 4 values, two flags, an ordinal
SMALL = Dictionary.from_mapping({"name": "small", "version": 1, "variables": [
    {"name": "a", "type": "integer", "min": 0, "max": 11, "cut_points": [4, 8]},
    {"name": "b", "type": "integer", "min": 0, "max": 11, "cut_points": [3, 6, 9]},
    {"name": "c", "type": "integer", "min": 0, "max": 11, "cut_points": [4, 8]},
    {"name": "p", "type": "boolean"},
    {"name": "q", "type": "boolean"},
    {"name": "g", "type": "ordinal", "categories": ["low", "mid", "high"]},
]})  # fmt: skip
DOMAIN = Domain.from_dictionary(SMALL, max_bins=4)


def _values(name: str, code: int) -> list:
    """Every value ``code`` of ``name`` stands for (None for the missing code)."""
    attr = DOMAIN[name]
    if code == attr.missing_code:
        return [None]
    if attr.categories:
        return [attr.categories[code] == "true" if attr.kind.value == "boolean"
                else attr.categories[code]]
    lo, hi = int(attr.edges[code]), int(math.ceil(attr.edges[code + 1]))
    return [v for v in range(lo, hi) if attr.low <= v <= attr.high]


def _brute_force(tree: tuple, clique: tuple[str, ...]) -> np.ndarray:
    """True where the rule engine finds every value of the cell False (never True or NA)."""
    shape = tuple(DOMAIN[a].size for a in clique)
    rows, cells = [], []
    for cell in itertools.product(*(range(s) for s in shape)):
        for combo in itertools.product(*(_values(a, c) for a, c in zip(clique, cell, strict=True))):
            rows.append(combo)
            cells.append(cell)
    frame = pd.DataFrame(rows, columns=list(clique))
    for a in clique:
        kind = DOMAIN[a].kind.value
        frame[a] = frame[a].astype({"integer": "Int64", "boolean": "boolean"}.get(kind, "string"))
    holds = Rule(expr="", tree=tree).evaluate(
        frame, ordinals={"g": ("low", "mid", "high")}).fillna(True).to_numpy(dtype=bool)
    out = np.ones(shape, dtype=bool)
    for cell, ok in zip(cells, holds, strict=True):
        out[cell] &= not ok
    return out


EXACT = [  # one comparison, each column once: the intervals are exact
    "a <= b", "a < b", "a >= b + 2", "a + b <= c", "a - b > 3", "a + b + 1 == c",
    "a != 5", "a in [1, 7]", "a not in [1, 7]", "p => a is not missing",
    "not p => a is missing and b is missing", "p => count(q, a > 4) == 0",
    "g >= \"mid\" => a > 2", "min(a, b) <= 4", "max(a, b) > 2", "abs(a - 6) <= 1",
    "p == (a >= 8)", "2 * a <= b",
]
SOUND_ONLY = [  # columns used twice, or-ed comparisons: the check may leave some cells allowed
    "a > 2 and a < 6", "a < 2 or a > 9", "a / b >= 1", "a * b <= 30 or p",
    "count(p, q, a > 3) >= 2", "-a + b * 2 >= c", "abs(a) == a",
]


@pytest.mark.parametrize("expr", EXACT)
def test_forbidden_cells_are_exactly_those_every_value_breaks(expr):
    # Setup
    rule = Rule.parse(expr)
    clique = tuple(a for a in DOMAIN.names if a in rule.columns)

    # Run
    mask = forbidden_cells(rule.tree, DOMAIN, clique)

    # Assert: same cells as listing every value (no bin holds only 5, 1 or 7: nothing to
    # forbid for those two)
    np.testing.assert_array_equal(mask, _brute_force(rule.tree, clique))
    assert mask.any() or expr in ("a != 5", "a not in [1, 7]")


@pytest.mark.parametrize("expr", SOUND_ONLY + EXACT)
def test_a_forbidden_cell_has_no_value_that_satisfies_the_rule(expr):
    # Setup
    rule = Rule.parse(expr)
    clique = tuple(a for a in DOMAIN.names if a in rule.columns)

    # Run
    mask = forbidden_cells(rule.tree, DOMAIN, clique)

    # Assert: never forbids a cell holding a valid row
    assert not np.any(mask & ~_brute_force(rule.tree, clique))


def test_date_literals_and_text_equality_are_read_like_the_rule_engine():
    # Setup
    import datetime as dt

    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "day", "type": "date", "min": "2010-01-01", "max": "2019-12-31"},
        {"name": "therapy", "type": "categorical", "categories": ["gene", "hu"]}]})  # fmt: skip
    domain = Domain.from_dictionary(d, max_bins=6)
    edges = domain["day"].edges

    # Run
    mask = forbidden_cells(
        Rule.parse('therapy == "gene" => day >= "2014-01-01"').tree, domain, ("day", "therapy"))

    # Assert: gene therapy in a bin that ends before 2014 is forbidden, nothing else
    before = [b <= dt.date(2014, 1, 1) for b in edges[1:]]
    expected = np.zeros((len(edges), 3), dtype=bool)
    expected[:-1, 0] = before
    assert 0 < sum(before) < len(before)
    np.testing.assert_array_equal(mask, expected)


@pytest.mark.parametrize("disease", ["aml", "scd"])
def test_rule_zeros_of_the_shipped_dictionaries_forbid_no_valid_row(disease, tmp_path):
    # Setup: the shipped dictionaries' rule cliques and simulated patients, all valid
    from synthema.cohorts.simulate import simulate

    dictionary = load_dictionary(disease)
    domain = Domain.from_dictionary(dictionary)
    cliques = selection.rule_cliques(dictionary, domain, max_cells=50_000)
    data = pd.concat([s.data for s in simulate(disease, sites=1, patients=600, seed=3)])
    codes = domain.encode(data[list(domain.names)]).codes

    # Run
    zeros = rule_zeros(dictionary, domain, cliques)

    # Assert: rules become zeros in most rule cliques; no simulated patient lies in one
    assert len(zeros) >= len(cliques) * 0.9
    for clique, mask in zeros.items():
        cells = tuple(codes[:, domain.names.index(a)] for a in clique)
        assert not mask[cells].any(), clique


def test_clauses_of_long_rules_become_rule_cliques():
    # Setup: a 4-column rule whose clauses read 2 columns each
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "hsct", "type": "boolean"},
        {"name": "days", "type": "duration", "unit": "days", "min": 0, "max": 99},
        {"name": "status", "type": "categorical", "categories": ["cr1", "cr2"]},
        {"name": "donor", "type": "categorical", "categories": ["mrd", "mud"]}],
        "rules": ["not hsct => days is missing and status is missing and donor is missing"]})

    # Run
    cliques = selection.rule_cliques(d, Domain.from_dictionary(d), max_cells=50_000)

    # Assert
    assert cliques == [("hsct", "days"), ("hsct", "status"), ("hsct", "donor")]
    assert [tree_columns(t) for t in clauses(d.rules[0].tree)] == [
        ("hsct", "days"), ("hsct", "status"), ("hsct", "donor")]


def test_a_fitted_model_gives_forbidden_cells_zero_probability(fixed_noise):
    # Setup: a <= b in the data, noisy counts put mass where a > b
    rng = np.random.default_rng(0)
    a = rng.integers(0, 12, 800)
    b = np.minimum(a + rng.integers(0, 5, 800), 11)
    data = pd.DataFrame({"a": a, "b": b}).astype("Int64")
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "a", "type": "integer", "min": 0, "max": 11},
        {"name": "b", "type": "integer", "min": 0, "max": 11}], "rules": ["a <= b"]})
    domain = Domain.from_dictionary(d)
    expected = forbidden_cells(d.rules[0].tree, domain, ("a", "b"))

    def fit(rules_in_model: bool):
        with fixed_noise(5):
            return create_synthesizer("mst", dictionary=d, epsilon=0.5, random_state=1,
                                      bins="public", rules_in_model=rules_in_model).fit(data)

    # Run
    with_rules, without = fit(True), fit(False)

    # Assert: zero probability on every forbidden cell with the rule, not without it
    assert expected.sum() == 66  # a > b among 12 x 12 whole numbers
    assert with_rules.model_.marginal(("a", "b"))[expected].sum() == 0
    assert without.model_.marginal(("a", "b"))[expected].sum() > 0.005
    draws = with_rules.model_.sample(5000, rng=np.random.default_rng(1))
    assert not expected[draws[:, 0], draws[:, 1]].any()


def test_a_rule_no_value_can_satisfy_is_refused_by_name():
    # Setup: a flag that must be known, true and false
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "a", "type": "integer", "min": 0, "max": 9},
        {"name": "p", "type": "boolean"}],
        "rules": [{"name": "impossible", "expr": "p is not missing and p and a < 20 and not p"}]})
    domain = Domain.from_dictionary(d)

    # Run / Assert
    with pytest.raises(DictionaryError, match="rules 'impossible' cannot all hold for any value"):
        rule_zeros(d, domain, [("a", "p")])
