"""k-anonymity, l-diversity and t-closeness per class, against independent computations.

Class sizes and distinct values by pandas ``groupby``, entropy-l by ``scipy.stats.entropy``,
t-closeness with the ordered distance by ``scipy.stats.wasserstein_distance`` (the earth
mover's distance on positions 0..m−1, divided by m−1) and with equal ground distance by half
the L1 distance; then which classes fail which model, at and around each threshold.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from synthema.anonymize.policy import Models
from synthema.anonymize.privacy_models import (
    SensitiveCodes,
    achieved,
    class_measures,
    failing_classes,
)


def _random(seed: int, n: int = 200, classes: int = 12, values: int = 5):
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, classes, n)
    cls = pd.factorize(cls)[0].astype(np.int64)  # 0..C-1, every class present
    sens = rng.choice(values, n, p=np.linspace(1, 2, values) / np.linspace(1, 2, values).sum())
    return cls, sens.astype(np.int64), values


def _reference(cls, sens, m, *, ordered, reference=None):
    df = pd.DataFrame({"c": cls, "s": sens})
    ref = (np.bincount(sens, minlength=m) / len(sens)) if reference is None else reference
    sizes, distinct, ent, t = [], [], [], []
    for _, g in df.groupby("c", sort=True):
        p = np.bincount(g["s"], minlength=m) / len(g)
        sizes.append(len(g))
        distinct.append(int((p > 0).sum()))
        ent.append(math.exp(stats.entropy(p)))
        if ordered and m > 1:
            t.append(stats.wasserstein_distance(np.arange(m), np.arange(m), p, ref) / (m - 1))
        else:
            t.append(0.5 * np.abs(p - ref).sum())
    return np.array(sizes), np.array(distinct), np.array(ent), np.array(t)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ordered", [False, True])
def test_class_measures_match_pandas_and_scipy(seed, ordered):
    # Setup
    cls, sens, m = _random(seed)
    # Run
    sizes, distinct, ent, t = class_measures(cls, sens, m, ordered=ordered)
    # Assert
    r_sizes, r_distinct, r_ent, r_t = _reference(cls, sens, m, ordered=ordered)
    assert sizes.tolist() == r_sizes.tolist() and sizes.dtype == np.int64
    assert distinct.tolist() == r_distinct.tolist()
    assert ent == pytest.approx(r_ent, rel=1e-12)
    assert t == pytest.approx(r_t, abs=1e-12)


def test_t_is_measured_against_the_given_reference_distribution():
    # Setup: the whole input's distribution differs from the released rows'
    cls, sens, m = _random(3)
    reference = np.array([0.5, 0.2, 0.1, 0.1, 0.1])
    for ordered in (False, True):
        # Run
        _, _, _, t = class_measures(cls, sens, m, ordered=ordered, reference=reference)
        # Assert
        assert t == pytest.approx(_reference(cls, sens, m, ordered=ordered,
                                             reference=reference)[3], abs=1e-12)


def test_one_value_attribute_has_zero_distance_in_both_metrics():
    cls = np.array([0, 0, 1, 1, 1], dtype=np.int64)
    sens = np.zeros(5, dtype=np.int64)
    for ordered in (False, True):
        sizes, distinct, ent, t = class_measures(cls, sens, 1, ordered=ordered)
        assert sizes.tolist() == [2, 3] and distinct.tolist() == [1, 1]
        assert ent.tolist() == [1.0, 1.0] and t.tolist() == [0.0, 0.0]


def _codes(sens, m, ordered) -> SensitiveCodes:
    return SensitiveCodes("s", sens, m, ordered, np.bincount(sens, minlength=m) / len(sens))


@pytest.mark.parametrize("seed", [4, 5])
def test_failing_classes_apply_each_model_at_its_threshold(seed):
    # Setup
    cls, sens, m = _random(seed, n=150, classes=20)
    sizes, distinct, ent, _ = _reference(cls, sens, m, ordered=False)
    _, _, _, t_ord = _reference(cls, sens, m, ordered=True)
    attr = _codes(sens, m, True)
    # Run / Assert: k at every class size (a class of exactly k passes)
    for k in sorted(set(sizes)):
        fail, out_sizes = failing_classes(cls, [attr], Models(k=int(k)))
        assert fail.tolist() == (sizes < k).tolist()
        assert out_sizes.tolist() == sizes.tolist()
    # distinct l at every distinct count
    for l_ in sorted(set(distinct)):
        fail, _ = failing_classes(cls, [attr], Models(k=1, l=int(l_)))
        assert fail.tolist() == (distinct < l_).tolist()
    # entropy l exactly at a class's own exp(H): that class passes
    for value in ent:
        fail, _ = failing_classes(cls, [attr], Models(k=1, l=value, l_variant="entropy"))
        assert fail.tolist() == (ent < value - 1e-9).tolist()
    # t exactly at a class's own distance passes; just below fails
    for value in t_ord:
        fail, _ = failing_classes(cls, [attr], Models(k=1, t=float(value)))
        assert fail.tolist() == (t_ord > value + 1e-12).tolist()
        below, _ = failing_classes(cls, [attr], Models(k=1, t=float(value) - 1e-6))
        assert below[np.isclose(t_ord, value)].all()


def test_models_combine_with_or_and_without_sensitive_attributes_only_k_counts():
    cls, sens, m = _random(6, n=120, classes=15)
    sizes, distinct, _, t = _reference(cls, sens, m, ordered=False)
    attr = _codes(sens, m, False)
    fail, _ = failing_classes(cls, [attr], Models(k=8, l=3, t=0.3))
    assert fail.tolist() == ((sizes < 8) | (distinct < 3) | (t > 0.3 + 1e-12)).tolist()
    fail_k, _ = failing_classes(cls, [], Models(k=8, l=3, t=0.3))
    assert fail_k.tolist() == (sizes < 8).tolist()


def test_achieved_reports_the_worst_class_over_every_attribute():
    # Setup: two sensitive attributes, the worst class differs per attribute
    cls, sens, m = _random(7, n=160, classes=10)
    other = (sens * 7 + cls) % 3
    attrs = [_codes(sens, m, True), _codes(other.astype(np.int64), 3, False)]
    # Run
    got = achieved(cls, attrs)
    # Assert
    r1 = _reference(cls, sens, m, ordered=True)
    r2 = _reference(cls, other, 3, ordered=False)
    assert got.k == int(r1[0].min())
    assert got.l_distinct == int(min(r1[1].min(), r2[1].min()))
    assert got.l_entropy == pytest.approx(min(r1[2].min(), r2[2].min()), rel=1e-12)
    assert got.t == pytest.approx(max(r1[3].max(), r2[3].max()), abs=1e-12)
    assert got.as_dict() == {"k": got.k, "l_distinct": got.l_distinct,
                             "l_entropy": round(got.l_entropy, 6), "t": round(got.t, 6)}


def test_achieved_on_nothing_released_and_without_sensitive_attributes():
    empty = achieved(np.zeros(0, dtype=np.int64), [])
    assert (empty.k, empty.l_distinct, empty.l_entropy, empty.t) == (None, None, None, None)
    assert empty.as_dict() == {"k": None, "l_distinct": None, "l_entropy": None, "t": None}
    # suppressed classes leave gaps in the class numbers: empty classes do not count as k=0
    only_k = achieved(np.array([0, 0, 2, 2, 2], dtype=np.int64), [])
    assert only_k.k == 2 and only_k.l_distinct is None and only_k.t is None


def test_no_records_give_no_classes_and_a_singleton_class_is_k_one():
    # Run / Assert: empty input, empty per-class arrays
    sizes, distinct, ent, t = class_measures(np.zeros(0, dtype=np.int64),
                                             np.zeros(0, dtype=np.int64), 3, ordered=True,
                                             reference=np.full(3, 1 / 3))
    assert sizes.size == distinct.size == ent.size == t.size == 0
    # a class of one record is k = 1, not skipped
    single = achieved(np.array([0, 1, 1], dtype=np.int64), [])
    assert single.k == 1


def test_model_records_are_frozen_values():
    attr = _codes(np.array([0, 1, 1], dtype=np.int64), 2, False)
    got = achieved(np.array([0, 0, 0], dtype=np.int64), [attr])
    for record, field in ((attr, "n_values"), (got, "k")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, 0)


def _shifted_to(target: float, shift: float) -> float:
    """The float x for which x + shift rounds to exactly ``target`` (found by stepping)."""
    x = target - shift
    for _ in range(100):
        if x + shift == target:
            return x
        x = math.nextafter(x, math.inf if x + shift < target else -math.inf)
    raise AssertionError(f"no float x with x + {shift} == {target}")


def test_achieved_takes_the_least_distinct_class_over_attributes_in_either_order():
    # Setup: two classes of 3. Attribute a shows 0, 1, 2 in each (3 distinct, exp(H) = 3,
    # the input's own distribution, t = 0); attribute b is 0, 0, 0 | 0, 1, 1 (1 and 2 distinct,
    # exp(H) 1 and 3 / 2^(2/3); against the input's (2/3, 1/3) both classes are at t = 1/3)
    cls = np.array([0, 0, 0, 1, 1, 1], dtype=np.int64)
    a = _codes(np.array([0, 1, 2, 0, 1, 2], dtype=np.int64), 3, False)
    b = _codes(np.array([0, 0, 0, 0, 1, 1], dtype=np.int64), 2, False)
    for attrs in ([a, b], [b, a]):
        # Run
        got = achieved(cls, attrs)
        # Assert: the worst class of the worst attribute for every model
        assert got.k == 3 and got.l_distinct == 1
        assert got.l_entropy == pytest.approx(1.0)
        assert got.t == pytest.approx(1 / 3)
    # each attribute alone, as a check of the hand values
    only_a, only_b = achieved(cls, [a]), achieved(cls, [b])
    assert (only_a.l_distinct, only_b.l_distinct) == (3, 1)
    assert only_a.l_entropy == pytest.approx(3.0) and only_a.t == pytest.approx(0.0, abs=1e-15)
    assert class_measures(cls, b.codes, 2, ordered=False)[2][1] == pytest.approx(3 / 2 ** (2 / 3))


def test_entropy_l_and_t_allow_exactly_their_rounding_margin():
    # Setup: class 0 is 0, 0, 0, 1 (exp(H) = 4 / 3^(3/4) = 1.7548, in (1, 2)); class 1 is
    # 0, 1, 1, 1. Thresholds are placed so that l - 1e-9 (entropy-l) and t + 1e-12 (t) are,
    # as floats, exactly class 0's value: the margin is inclusive, one float past it is not.
    cls = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=np.int64)
    attr = _codes(np.array([0, 0, 0, 1, 0, 1, 1, 1], dtype=np.int64), 2, True)
    _, _, ent, t = class_measures(cls, attr.codes, 2, ordered=True, reference=attr.reference)
    assert ent[0] == pytest.approx(4 / 3 ** 0.75) and ent[0] == ent[1]
    assert t[0] == pytest.approx(0.25) and t[0] == t[1]
    l_edge = _shifted_to(float(ent[0]), -1e-9)
    t_edge = _shifted_to(float(t[0]), 1e-12)
    # Run
    at_l, _ = failing_classes(cls, [attr], Models(k=1, l=l_edge, l_variant="entropy"))
    past_l, _ = failing_classes(cls, [attr], Models(k=1, l=math.nextafter(l_edge, math.inf),
                                                    l_variant="entropy"))
    at_t, _ = failing_classes(cls, [attr], Models(k=1, t=t_edge))
    past_t, _ = failing_classes(cls, [attr], Models(k=1, t=math.nextafter(t_edge, 0.0)))
    # Assert
    assert at_l.tolist() == [False, False] and past_l.tolist() == [True, True]
    assert at_t.tolist() == [False, False] and past_t.tolist() == [True, True]
