"""The lattice search returns the least-loss feasible node: checked by brute force.

Every node of small random lattices is scored here with plain pandas (class sizes,
distinct sensitive values, suppression budget, non-uniform entropy), independently of
``search()``, and the search must return a node whose loss is the brute-force minimum,
whatever the k, l, suppression limit, metric and level bounds.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from synthema.anonymize.hierarchy import Hierarchy, build_hierarchy
from synthema.anonymize.policy import HierarchySpec, Models
from synthema.anonymize.privacy_models import SensitiveCodes
from synthema.anonymize.search import group, search
from synthema.errors import AnonymizationError

AGE = HierarchySpec("age", "interval", bands=(5, 10, 20))
search_module = importlib.import_module("synthema.anonymize.search")  # the module, not search()
SEX = HierarchySpec("sex", "groups", levels=({"F": "any", "M": "any", "X": "any"},), top=False)
ZIP = HierarchySpec("zip", "truncate")


def _table(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 90, size=n),
        "sex": rng.choice(["F", "M", "X"], size=n, p=[0.48, 0.48, 0.04]),
        "zip": [f"{v:03d}" for v in rng.integers(100, 140, size=n)],
        "dx": rng.choice(["aml", "mds", "cml", "all"], size=n, p=[0.55, 0.25, 0.15, 0.05]),
    })


def _sensitive(values: pd.Series) -> SensitiveCodes:
    codes, cats = pd.factorize(values)
    codes = codes.astype(np.int64)
    return SensitiveCodes(values.name, codes, len(cats), False,
                          np.bincount(codes, minlength=len(cats)) / len(codes))


def brute_force(hs: list[Hierarchy], models: Models, sens: pd.Series | None = None):
    """Every node: (suppressed mask, NUE bits, height), or None where infeasible."""
    n = len(hs[0].labels[0])
    base = [pd.Series(h.labels[0], dtype=object).fillna("<NA>") for h in hs]
    own = [b.map(b.value_counts()).to_numpy(dtype=float) for b in base]
    budget = math.floor(models.max_suppression * n + 1e-9)
    out = {}
    for node in itertools.product(*[range(h.lo, h.hi + 1) for h in hs]):
        cols = [pd.Series(h.labels[lv], dtype=object).fillna("<NA>")
                for h, lv in zip(hs, node, strict=True)]
        key = pd.Series(list(zip(*cols, strict=True)))
        gone = (key.map(key.value_counts()) < models.k).to_numpy()
        if models.l is not None:
            distinct = sens.groupby(key.to_numpy()).nunique()
            gone |= (key.map(distinct) < models.l).to_numpy()
        if gone.sum() > budget:
            out[node] = None
            continue
        bits = 0.0
        for g, o in zip(cols, own, strict=True):
            gen = g.map(g.value_counts()).to_numpy(dtype=float)
            bits += np.log2(gen / o)[~gone].sum() + np.log2(n / o)[gone].sum()
        out[node] = (gone, bits, sum(node))
    return out


SETTINGS = [(seed, k, supp, l) for seed in (1, 2) for k in (2, 3, 5) for supp in (0.0, 0.04, 0.1)
            for l in (None, 2)] + [(3, 4, 0.2, None), (4, 8, 0.15, 2)]  # noqa: E741


@pytest.mark.parametrize(("seed", "k", "supp", "l"), SETTINGS)
@pytest.mark.parametrize("metric", ["nue", "height"])
def test_search_finds_the_brute_force_optimum(seed, k, supp, l, metric):  # noqa: E741
    # Setup
    df = _table(seed, 60)
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, SEX, ZIP)]
    models = Models(k=k, l=l, max_suppression=supp)
    sens = [_sensitive(df["dx"])] if l else []
    scored = {node: v for node, v in brute_force(hs, models, df["dx"]).items() if v}
    # Run
    found = search(hs, sens, models, n=len(df), metric=metric)
    # Assert: the loss is the minimum over the whole lattice, and it is the loss of the node
    gone, bits, height = scored[found.node]
    if metric == "nue":
        assert found.nue_bits == pytest.approx(min(b for _, b, _ in scored.values()))
    else:
        best_height = min(h for _, _, h in scored.values())
        assert height == best_height
        assert found.nue_bits == pytest.approx(
            min(b for _, b, h in scored.values() if h == best_height))
    assert found.nue_bits == pytest.approx(bits)
    assert np.array_equal(found.suppressed, gone)
    assert found.height == height == sum(found.node)
    assert found.max_height == sum(h.hi for h in hs)
    max_bits = sum(np.log2(len(df) / pd.Series(h.labels[0]).map(
        pd.Series(h.labels[0]).value_counts()).to_numpy(dtype=float)).sum() for h in hs)
    assert found.nue == pytest.approx(bits / max_bits)
    assert 0 <= found.nue <= 1


def test_search_keeps_the_best_node_not_the_last_feasible_one():
    # Setup: with suppression allowed, several nodes are feasible and differ in loss
    df = _table(5, 80)
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, SEX, ZIP)]
    models = Models(k=3, max_suppression=0.1)
    scored = {node: v[1] for node, v in brute_force(hs, models).items() if v}
    assert len(set(np.round(list(scored.values()), 6))) > 5  # the test can tell them apart
    # Run
    found = search(hs, [], models, n=len(df))
    # Assert: strictly better than every feasible node of a different loss
    assert found.nue_bits == pytest.approx(min(scored.values()))
    worse = [b for b in scored.values() if b > found.nue_bits + 1e-6]
    assert worse and all(found.nue_bits < b for b in worse)


def test_suppressed_records_cost_all_their_bits():
    # Setup: one quasi-identifier; 71 records share a value, 29 are unique (k=2 fails them)
    values = pd.Series(["common"] * 71 + [f"u{i}" for i in range(29)])
    h = build_hierarchy(values, HierarchySpec("v", "suppress"))
    # Run: 29 % of the records may go (0.29 * 100 is 28.999999999999996 in floating point)
    found = search([h], [], Models(k=2, max_suppression=0.29), n=100)
    # Assert: suppressing the 29 (29 * log2(100)) beats '*' for all (that plus 71 * log2(100/71))
    assert found.node == (0,)
    assert int(found.suppressed.sum()) == 29 and not found.suppressed[:71].any()
    assert found.nue_bits == pytest.approx(29 * math.log2(100))
    assert found.nue == pytest.approx(29 * math.log2(100) / (29 * math.log2(100)
                                                             + 71 * math.log2(100 / 71)))
    # one record fewer allowed: only the top level is feasible
    top = search([h], [], Models(k=2, max_suppression=0.28), n=100)
    assert top.node == (1,) and not top.suppressed.any()
    assert top.nue_bits == pytest.approx(29 * math.log2(100) + 71 * math.log2(100 / 71))
    assert top.nue == pytest.approx(1.0)


def test_height_metric_prefers_fewer_levels_even_at_a_higher_entropy():
    # Setup: the NUE optimum is at a larger height than the height optimum here
    df = _table(8, 60)
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, SEX, ZIP)]
    models = Models(k=2, max_suppression=0.1)
    scored = {node: v for node, v in brute_force(hs, models).items() if v}
    by_nue = min(scored, key=lambda nd: scored[nd][1])
    by_height = min(scored, key=lambda nd: (scored[nd][2], scored[nd][1]))
    assert sum(by_nue) != sum(by_height)  # the two metrics disagree on this table
    # Run
    nue = search(hs, [], models, n=len(df), metric="nue")
    height = search(hs, [], models, n=len(df), metric="height")
    # Assert
    assert nue.height == sum(by_nue) and height.height == sum(by_height)
    assert height.nue_bits == pytest.approx(scored[by_height][1])
    assert height.height < nue.height and nue.nue_bits < height.nue_bits


def test_level_bounds_restrict_the_lattice():
    # Setup: age only from level 1 (5-year bands) to level 2 (10-year bands)
    df = _table(8, 60)
    spec = dataclasses.replace(AGE, min_level=1, max_level=2)
    hs = [build_hierarchy(df["age"], spec), build_hierarchy(df["sex"], SEX)]
    models = Models(k=3, max_suppression=0.1)
    scored = {node: v for node, v in brute_force(hs, models).items() if v}
    # Run
    found = search(hs, [], models, n=len(df))
    # Assert
    assert found.nodes_total == 2 * 2
    assert found.node[0] in (1, 2)
    assert found.nue_bits == pytest.approx(min(v[1] for v in scored.values()))
    assert found.max_height == 2 + 1


def test_nodes_evaluated_counts_the_nodes_grouped(monkeypatch):
    # Setup: count the calls of group(), the work the bound saves
    calls = []
    real = search_module.group

    def counting(hierarchies, node, n):
        calls.append(node)
        return real(hierarchies, node, n)

    monkeypatch.setattr(search_module, "group", counting)
    df = _table(9, 60)
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, SEX, ZIP)]
    for metric in ("nue", "height"):
        calls.clear()
        # Run
        found = search(hs, [], Models(k=3, max_suppression=0.05), n=len(df), metric=metric)
        # Assert
        assert found.nodes_total == 5 * 2 * 4 == len(list(itertools.product(
            *[range(h.lo, h.hi + 1) for h in hs])))
        assert found.nodes_evaluated == len(calls) == len(set(calls))
        assert 1 <= found.nodes_evaluated < found.nodes_total
        assert found.node in calls


def test_nue_search_visits_nodes_in_order_of_their_lower_bound(monkeypatch):
    # Setup: record the order in which nodes are grouped
    calls = []
    real = search_module.group
    monkeypatch.setattr(search_module, "group",
                        lambda hs, node, n: calls.append(node) or real(hs, node, n))
    df = _table(10, 60)
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, SEX, ZIP)]
    bound = {node: sum(h.cost[lv].sum() for h, lv in zip(hs, node, strict=True))
             for node in itertools.product(*[range(h.lo, h.hi + 1) for h in hs])}
    # Run
    search(hs, [], Models(k=5, max_suppression=0.0), n=len(df))
    # Assert: non-decreasing bound, and every node with a smaller bound than the last one
    # visited was visited too (nothing skipped)
    seen = [bound[c] for c in calls]
    assert seen == sorted(seen)
    assert {nd for nd, b in bound.items() if b < seen[-1] - 1e-9} <= set(calls)


def test_height_search_visits_nodes_by_height_and_stops_above_the_best(monkeypatch):
    calls = []
    real = search_module.group
    monkeypatch.setattr(search_module, "group",
                        lambda hs, node, n: calls.append(node) or real(hs, node, n))
    df = _table(10, 60)
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, SEX, ZIP)]
    # Run
    found = search(hs, [], Models(k=5, max_suppression=0.0), n=len(df), metric="height")
    # Assert: heights never decrease, no node above the result's height is grouped, and
    # every node at or below it is
    heights = [sum(c) for c in calls]
    assert heights == sorted(heights) and max(heights) == found.height
    every = itertools.product(*[range(h.lo, h.hi + 1) for h in hs])
    assert {nd for nd in every if sum(nd) <= found.height} == set(calls)


def test_lattice_above_max_nodes_is_refused_with_a_fix():
    # Setup: 3 x 2 x 4 = 24 nodes
    df = _table(11, 30)
    hs = [build_hierarchy(df["age"], dataclasses.replace(AGE, max_level=2)),
          build_hierarchy(df["sex"], SEX), build_hierarchy(df["zip"], ZIP)]
    # Run / Assert: exactly at the limit is searched, one node fewer allowed is refused
    assert search(hs, [], Models(k=1), n=30, max_nodes=24).nodes_total == 24
    with pytest.raises(AnonymizationError, match="24 nodes, above search.max_nodes 23") as err:
        search(hs, [], Models(k=1), n=30, max_nodes=23)
    assert "max_nodes" in err.value.fix and "max_level" in err.value.fix


def _levels(n_levels: int, n: int = 2) -> Hierarchy:
    """A hierarchy whose levels all keep the n records apart (cheap, any height)."""
    codes = tuple(np.arange(n, dtype=np.int64) for _ in range(n_levels))
    return Hierarchy(column=f"c{n_levels}", labels=tuple(np.array([str(i) for i in range(n)],
                                                                  dtype=object)
                                                         for _ in range(n_levels)),
                     codes=codes, cost=tuple(np.zeros(n) for _ in range(n_levels)), lo=0,
                     hi=n_levels - 1)


def test_default_max_nodes_is_one_hundred_thousand():
    # Run / Assert: 10^5 nodes are searched; 11 x 9091 = 100,001 are refused
    found = search([_levels(10) for _ in range(5)], [], Models(k=1), n=2)
    assert found.nodes_total == 100_000 and found.node == (0,) * 5
    with pytest.raises(AnonymizationError, match="100001 nodes"):
        search([_levels(11), _levels(9091)], [], Models(k=1), n=2)


def test_no_feasible_node_raises_with_the_models():
    df = _table(12, 30)
    hs = [build_hierarchy(df["sex"], SEX)]
    with pytest.raises(AnonymizationError, match=r"k=31.*0.0% of 30 records") as err:
        search(hs, [], Models(k=31), n=30)
    assert "max_suppression" in err.value.fix


def test_constant_columns_lose_nothing_and_nue_is_zero_not_nan():
    # Setup: one value everywhere, so suppressing or generalising loses no bits
    df = pd.DataFrame({"sex": ["F"] * 12})
    h = build_hierarchy(df["sex"], SEX)
    # Run
    found = search([h], [], Models(k=3), n=12)
    # Assert
    assert found.node == (0,) and found.nue_bits == 0.0 and found.nue == 0.0


def test_empty_table_gives_the_lowest_node():
    h = build_hierarchy(pd.Series([], dtype=object), HierarchySpec("v", "suppress"))
    found = search([h], [], Models(k=5), n=0)
    assert found.node == (0,) and found.suppressed.shape == (0,) and found.nue == 0.0
    assert found.classes.shape == (0,)


def test_group_matches_a_pandas_groupby_on_the_labels():
    rng = np.random.default_rng(13)
    df = pd.DataFrame({"age": rng.integers(0, 100, 400), "zip": [f"{v:04d}" for v in
                                                               rng.integers(0, 3000, 400)],
                       "sex": rng.choice(["F", "M", "X"], 400)})
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, ZIP, SEX)]
    for node in [(0, 0, 0), (1, 2, 0), (3, 1, 1), (0, 3, 1)]:
        # Run
        classes = group(hs, node, len(df))
        # Assert: the same partition as grouping the label tuples, numbered 0..C-1
        labels = pd.Series(list(zip(*[h.labels[lv] for h, lv in zip(hs, node, strict=True)],
                                    strict=True)))
        expected = pd.factorize(labels)[0]
        assert classes.dtype == np.int64
        assert sorted(set(classes)) == list(range(len(set(expected))))
        assert len(set(zip(classes, expected, strict=True))) == len(set(expected))


def test_group_refuses_a_node_that_does_not_give_every_hierarchy_a_level():
    # Setup: three quasi-identifiers; a node of two levels would drop the third from the
    # classes (zip stopping at the shorter), grouping records that differ in it
    df = _table(3, 50)
    hs = [build_hierarchy(df[s.column], s) for s in (AGE, ZIP, SEX)]
    # Run / Assert
    for node in [(0, 0), (0, 0, 0, 0)]:
        with pytest.raises(ValueError):
            group(hs, node, len(df))


def test_search_result_is_frozen():
    df = _table(14, 20)
    found = search([build_hierarchy(df["sex"], SEX)], [], Models(k=1), n=20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.node = (1,)  # type: ignore[misc]


def test_a_node_whose_bound_is_just_below_the_best_loss_is_still_searched():
    # Setup: level 0 suppresses c and d (2 * log2 16 = 8 bits); level 1 merges a, c, d
    # (4 log2(6/4) + 2 log2 6 = 7.51 bits, all of it known in advance as its lower bound).
    # The bound 7.51 is below 8, so level 1 must be grouped and wins.
    values = pd.Series(["a"] * 4 + ["b"] * 10 + ["c", "d"])
    spec = HierarchySpec("v", "groups", levels=({"a": "acd", "b": "b", "c": "acd", "d": "acd"},))
    h = build_hierarchy(values, spec)
    level0 = 2 * math.log2(16)
    level1 = 4 * math.log2(6 / 4) + 2 * math.log2(6)
    assert level0 - 1 < level1 < level0
    # Run
    found = search([h], [], Models(k=2, max_suppression=2 / 16), n=16)
    # Assert
    assert found.node == (1,) and not found.suppressed.any()
    assert found.nue_bits == pytest.approx(level1)
    assert found.nodes_evaluated == 2
    # with no suppression allowed level 0 is infeasible, and the answer is the same
    assert search([h], [], Models(k=2), n=16).node == (1,)


def _mirrored() -> tuple[list[Hierarchy], pd.DataFrame]:
    """x and y mirror each other: rows (a, a) twice, (a, b) and (b, a); a level merges a, b."""
    df = pd.DataFrame({"x": ["a", "a", "a", "b"], "y": ["a", "a", "b", "a"]})
    return [build_hierarchy(df[c], HierarchySpec(c, "groups", levels=({"a": "ab", "b": "ab"},),
                                                 top=False)) for c in ("x", "y")], df


@pytest.mark.parametrize("metric", ["nue", "height"])
def test_nodes_of_equal_loss_resolve_to_the_first_one_visited(metric):
    # Setup: with one record of 4 allowed to go, (0, 1) suppresses (b, a) and (1, 0) suppresses
    # (a, b): each keeps 2 log2(4/3) + 2 bits of generalisation and drops log2(4/3) + 2 bits,
    # the same loss; (0, 0) must drop two records and (1, 1) loses 6 log2(4/3) + 4 bits
    hs, df = _mirrored()
    models = Models(k=2, max_suppression=0.25)
    scored = {node: v for node, v in brute_force(hs, models).items() if v}
    loss = 3 * math.log2(4 / 3) + 4
    best = min(v[1] for v in scored.values())
    assert best == pytest.approx(loss)
    assert sorted(nd for nd, v in scored.items() if v[1] == pytest.approx(best)) == [(0, 1), (1, 0)]
    # Run
    found = search(hs, [], models, n=len(df), metric=metric)
    # Assert: the tie goes to the first node visited (equal bound and height: the smaller
    # tuple of levels), not to the last one of equal loss
    assert found.node == (0, 1)
    assert found.suppressed.tolist() == [False, False, False, True]
    assert found.nue_bits == pytest.approx(loss)
    # grouped: (0, 0), then both height-1 nodes (bounds 3 log2(4/3) + 2 < the loss)
    assert found.nodes_evaluated == 3


def test_a_node_whose_bound_equals_the_best_loss_is_not_grouped(monkeypatch):
    # Setup: x = y, four distinct values, paired at level 1 (1 bit per record and column) and
    # '*' at level 2 (2 bits). Only nodes with both columns at level >= 1 form pairs (k = 2):
    # (1, 1) is the optimum, 8 bits, all of it its bound; (0, 2) and (2, 0) share that bound.
    calls = []
    real = search_module.group
    monkeypatch.setattr(search_module, "group",
                        lambda hs, node, n: calls.append(node) or real(hs, node, n))
    df = pd.DataFrame({"x": list("abcd"), "y": list("abcd")})
    pairs = {"a": "ab", "b": "ab", "c": "cd", "d": "cd"}
    hs = [build_hierarchy(df[c], HierarchySpec(c, "groups", levels=(pairs,))) for c in "xy"]
    models = Models(k=2)
    scored = {node: v for node, v in brute_force(hs, models).items() if v}
    loss = min(v[1] for v in scored.values())
    bound = {nd: float(sum(h.cost[lv].sum() for h, lv in zip(hs, nd, strict=True)))
             for nd in itertools.product(range(3), range(3))}
    assert loss == 8.0 and [nd for nd, v in scored.items() if v[1] == loss] == [(1, 1)]
    assert [nd for nd, b in bound.items() if b == loss] == [(0, 2), (1, 1), (2, 0)]
    # Run
    found = search(hs, [], models, n=len(df))
    # Assert: every node whose bound is below the loss is grouped, then (0, 2) and (1, 1)
    # (visited in that order: same bound and height); (2, 0) comes after the optimum and its
    # bound cannot beat it, so it is not grouped
    assert found.node == (1, 1) and found.nue_bits == loss
    below = {nd for nd, b in bound.items() if b < loss}
    assert below == {(0, 0), (0, 1), (1, 0)}
    assert set(calls) == below | {(0, 2), (1, 1)} and calls[-1] == (1, 1)
    assert found.nodes_evaluated == len(calls) == 5


def test_a_bound_within_1e9_of_the_best_loss_counts_as_reaching_it():
    # Setup: two records; level 0 keeps them apart (k = 2 suppresses both: 2 log2 2 = 2 bits
    # lost), level 1 merges them at a cost set by hand just below 2 bits. A bound within
    # 1e-9 of the best loss found counts as reaching it (rounding), one farther below does not.
    def lattice(level1_bits: float) -> Hierarchy:
        return Hierarchy(column="v", labels=(np.array(["a", "b"], dtype=object),
                                             np.array(["*", "*"], dtype=object)),
                         codes=(np.array([0, 1]), np.array([0, 0])),
                         cost=(np.zeros(2), np.full(2, level1_bits / 2)), lo=0, hi=1)

    edge = 2.0 - 1e-9
    below = math.nextafter(edge, 0.0)
    models = Models(k=2, max_suppression=1.0)
    # Run
    at_edge = search([lattice(edge)], [], models, n=2)
    under = search([lattice(below)], [], models, n=2)
    # Assert: exactly at best - 1e-9 the node is not grouped and level 0 stays the answer;
    # one float lower it is grouped and wins by its 1e-9 bits
    assert at_edge.node == (0,) and at_edge.nodes_evaluated == 1
    assert at_edge.nue_bits == 2.0 and at_edge.suppressed.all()
    assert under.node == (1,) and under.nodes_evaluated == 2
    assert under.nue_bits == below and not under.suppressed.any()
