"""Rules at sampling: outputs never break a rule; what it took is counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthema.cohorts.simulate import simulate
from synthema.errors import SynthemaError
from synthema.schema import Dictionary
from synthema.stats import Domain
from synthema.synth import constraints, create_synthesizer
from synthema.synth.constraints import enforce_rules
from synthema.synth.graphical_model import GraphicalModel


def _violations(dictionary, frame) -> int:
    return int(dictionary.evaluate_rules(frame).eq(False).fillna(False).to_numpy().sum())


def test_full_aml_dictionary_sample_has_no_violation(aml_full):
    # Setup: independent marginals break many of the 83 AML rules when first drawn
    data = pd.concat([s.data for s in simulate("aml", sites=2, patients=400, seed=3)])
    synth = create_synthesizer("independent", dictionary=aml_full, epsilon=1.0, random_state=0)
    synth.fit(data)

    # Run
    out = synth.sample(120, random_state=0)

    # Assert
    report = synth.sampling_report_
    assert len(out) == 120 and _violations(aml_full, out) == 0
    assert report["rows_drawn"] >= 120
    assert sum(r["violated"] for r in report["rules"].values()) > 0
    fixed = report["rows_redrawn"] + report["rows_resampled"] + report["rows_repaired"]
    assert fixed + report["rows_rejected"] > 0
    assert report["rows_duplicated"] == report["rows_rejected"]
    for counts in report["rules"].values():
        handled = counts["redrawn"] + counts["resampled"] + counts["repaired"] + counts["rejected"]
        assert handled <= counts["violated"]


@pytest.fixture()
def toy():
    d = Dictionary.from_mapping(
        {
            "name": "toy",
            "version": 1,
            "variables": [
                {"name": "a", "type": "integer", "min": 0, "max": 99, "cut_points": [50]},
                {"name": "b", "type": "integer", "min": 0, "max": 99, "cut_points": [50]},
                {"name": "flag", "type": "boolean"},
            ],
            "rules": [
                {"name": "a_le_b", "expr": "a <= b"},
                {"name": "flag_needs_a", "expr": "flag => a is not missing"},
            ],
        }
    )
    domain = Domain.from_dictionary(d, max_bins=2)
    model = GraphicalModel.independent(
        {"a": np.array([1.0, 0, 0.2]), "b": np.array([1.0, 0, 0]), "flag": np.array([1, 1, 0.0])}
    )
    return d, domain, model


def test_same_bin_comparisons_are_fixed_by_redrawing_values(toy):
    # Setup: a and b always in bin [0, 50): half the draws break a <= b
    d, domain, model = toy

    # Run
    out, report = enforce_rules(
        lambda n, rng: model.sample(n, rng=rng),
        model.conditional_logp,
        domain=domain,
        dictionary=d,
        n=500,
        rng=np.random.default_rng(0),
    )

    # Assert
    assert _violations(d, out) == 0 and len(out) == 500
    assert report["rules"]["a_le_b"]["violated"] > 100
    assert report["rules"]["a_le_b"]["redrawn"] > 100
    assert report["rules"]["flag_needs_a"]["violated"] > 0


def test_repair_redraws_a_column_from_the_model(toy, monkeypatch):
    # Setup: no resampling rounds, so broken rows must be repaired
    d, domain, model = toy
    monkeypatch.setattr(constraints, "RESAMPLE_ROUNDS", 0)

    # Run
    out, report = enforce_rules(
        lambda n, rng: model.sample(n, rng=rng),
        model.conditional_logp,
        domain=domain,
        dictionary=d,
        n=300,
        rng=np.random.default_rng(1),
    )

    # Assert: flag=true with a missing is fixed by changing a or flag; b is never moved to
    # [50, 99], which the model never gives (a few rows with a > b in one bin and flag true
    # then have no fix and are replaced, counted)
    assert _violations(d, out) == 0
    assert report["rules"]["flag_needs_a"]["repaired"] > 0
    assert (out["b"] < 50).all()
    assert report["rows_rejected"] <= 6 and report["rows_duplicated"] == report["rows_rejected"]


def test_rows_that_cannot_be_fixed_are_rejected_and_counted(toy, monkeypatch):
    # Setup: neither resampling nor repair allowed
    d, domain, model = toy
    monkeypatch.setattr(constraints, "RESAMPLE_ROUNDS", 0)
    monkeypatch.setattr(constraints, "REPAIR_SWEEPS", 0)

    # Run
    out, report = enforce_rules(
        lambda n, rng: model.sample(n, rng=rng),
        model.conditional_logp,
        domain=domain,
        dictionary=d,
        n=300,
        rng=np.random.default_rng(2),
    )

    # Assert
    assert _violations(d, out) == 0 and len(out) == 300
    assert report["rows_rejected"] > 0
    assert report["rows_duplicated"] == report["rows_rejected"]
    assert report["rules"]["flag_needs_a"]["rejected"] > 0


def test_contradictory_rules_raise(toy):
    # Setup
    d = Dictionary.from_mapping(
        {
            "name": "impossible",
            "version": 1,
            "variables": [{"name": "flag", "type": "boolean", "required": True}],
            "rules": ["flag", "not flag"],
        }
    )
    domain = Domain.from_dictionary(d)
    model = GraphicalModel.independent({"flag": np.array([1.0, 1.0, 0.0])})

    # Run / Assert
    with pytest.raises(SynthemaError, match="no synthetic row satisfies"):
        enforce_rules(
            lambda n, rng: model.sample(n, rng=rng),
            model.conditional_logp,
            domain=domain,
            dictionary=d,
            n=20,
            rng=np.random.default_rng(0),
        )


def test_repair_never_empties_a_required_value(monkeypatch):
    # Setup: `a` is required; every row's conditionals are flat (a row the model gives no
    # probability) and every row takes a random move: before the fix a move to `a` missing
    # made the rule not applicable and so counted as a repair (seen in the AML demo, os_days)
    d = Dictionary.from_mapping(
        {
            "name": "toy_required",
            "version": 1,
            "variables": [
                {"name": "a", "type": "integer", "min": 0, "max": 99, "cut_points": [50],
                 "required": True},
                {"name": "b", "type": "integer", "min": 0, "max": 99, "cut_points": [50]},
            ],
            "rules": [{"name": "a_le_b", "expr": "a <= b"}],
        }
    )
    domain = Domain.from_dictionary(d, max_bins=2)
    model = GraphicalModel.independent({"a": np.array([0, 1.0, 0]), "b": np.array([1.0, 0, 0])})

    def flat(name, codes):
        return np.full((len(codes), domain[name].size), -np.inf)

    monkeypatch.setattr(constraints, "RESAMPLE_ROUNDS", 0)
    monkeypatch.setattr(constraints, "WALK_NOISE", 1.0)
    assert domain["a"].missing_code == 2  # the code a flat random move could pick

    # Run: every drawn row has a >= 50 > b, so every row needs a repair
    out, report = enforce_rules(
        lambda n, rng: model.sample(n, rng=rng),
        flat,
        domain=domain,
        dictionary=d,
        n=400,
        rng=np.random.default_rng(0),
    )

    # Assert: rows were repaired by moving a or b, never by emptying a
    assert report["rules"]["a_le_b"]["repaired"] > 0
    assert int(out["a"].isna().sum()) == 0
    assert _violations(d, out) == 0


def test_clauses_give_the_same_truth_as_the_rule_in_three_valued_logic():
    # Setup: every combination of true / false / missing for four flags
    import itertools

    from synthema.schema import Rule
    from synthema.synth.constraints import clauses

    values = [True, False, None]
    rows = list(itertools.product(values, repeat=4))
    frame = pd.DataFrame(rows, columns=["p", "x", "y", "z"]).astype("boolean")
    exprs = ["not p => x and y and z", "p and (x or y and z)", "(x and y) or (z and p)",
             "not p => x is missing and y is missing",
             "p => count(x, y, z) == 0", "count(x, not y, z) == 0"]  # fmt: skip
    for expr in exprs:
        rule = Rule.parse(expr)

        # Run
        parts = clauses(rule.tree)
        results = [Rule(expr=expr, tree=t).evaluate(frame) for t in parts]
        combined = results[0]
        for r in results[1:]:
            combined = combined & r

        # Assert: same True / False / NA on every row, and the rule was split
        assert len(parts) > 1, expr
        pd.testing.assert_series_equal(combined, rule.evaluate(frame), check_names=False)


def test_repair_never_moves_a_value_where_the_model_has_zero_probability(monkeypatch):
    # Setup: the model never gives a >= 50 or a missing (structural zeros: a cell no data
    # row lies in, a column whose data have no missing value), c is required and high. A
    # drawn row with flag true breaks "flag => a >= 50"; its cheapest fix by count alone is
    # a -> [50, 99] (a zero-probability code), the next a or flag -> missing (a dodge).
    d = Dictionary.from_mapping({"name": "toy_zeros", "version": 1, "variables": [
        {"name": "flag", "type": "boolean"},
        {"name": "a", "type": "integer", "min": 0, "max": 99, "cut_points": [50]},
        {"name": "c", "type": "integer", "min": 0, "max": 99, "cut_points": [50],
         "required": True}],
        "rules": ["flag => a >= 50", "not flag => c < 10"]})  # fmt: skip
    domain = Domain.from_dictionary(d, max_bins=2)
    model = GraphicalModel.independent({
        "flag": np.array([0.45, 0.45, 0.1]),  # codes: false, true, missing
        "a": np.array([1.0, 0.0, 0.0]),
        "c": np.array([0.0, 1.0, 0.0]),
    })
    monkeypatch.setattr(constraints, "RESAMPLE_ROUNDS", 0)
    monkeypatch.setattr(constraints, "WALK_NOISE", 0.0)

    # Run
    out, report = enforce_rules(lambda n, rng: model.sample(n, rng=rng),
                                model.conditional_logp, domain=domain, dictionary=d, n=300,
                                rng=np.random.default_rng(0))

    # Assert: rows were repaired, none into a zero-probability code (a stays low and present)
    codes = domain.encode(out[list(domain.names)]).codes
    p = model.marginal(("a",))
    assert report["rows_repaired"] > 100
    assert (p[codes[:, domain.names.index("a")]] > 0).all()
    assert out["a"].notna().all() and (out["a"] < 50).all()
    assert _violations(d, out) == 0


def test_repair_empties_details_one_at_a_time(monkeypatch):
    # Setup: every draw has flag false with a and b filled in, which breaks
    # "not flag => a is missing and b is missing"; flipping flag breaks another rule, and
    # emptying a or b makes a rule that holds (a <= c, b <= c) not applicable. Before rules
    # were split into clauses, emptying one value fixed nothing and cost a penalty, so
    # without random moves no row could be repaired.
    d = Dictionary.from_mapping(
        {
            "name": "toy_details",
            "version": 1,
            "variables": [
                {"name": "flag", "type": "boolean"},
                {"name": "a", "type": "integer", "min": 0, "max": 99, "cut_points": [50]},
                {"name": "b", "type": "integer", "min": 0, "max": 99, "cut_points": [50]},
                {"name": "c", "type": "integer", "min": 0, "max": 99, "cut_points": [50],
                 "required": True},
            ],
            "rules": [
                {"name": "no_flag_no_details", "expr": "not flag => a is missing and b is missing"},
                {"name": "a_le_c", "expr": "a <= c"},
                {"name": "b_le_c", "expr": "b <= c"},
                {"name": "flag_no_c", "expr": "flag => c < 10"},
            ],
        }
    )
    domain = Domain.from_dictionary(d, max_bins=2)
    model = GraphicalModel.independent(
        {
            "flag": np.array([1.0, 0.0, 0.0]),  # codes: false, true, missing
            "a": np.array([1.0, 0.0, 0.01]),
            "b": np.array([1.0, 0.0, 0.01]),
            "c": np.array([0.0, 1.0, 0.0]),
        }
    )
    monkeypatch.setattr(constraints, "RESAMPLE_ROUNDS", 0)
    monkeypatch.setattr(constraints, "WALK_NOISE", 0.0)

    # Run
    out, report = enforce_rules(
        lambda n, rng: model.sample(n, rng=rng),
        model.conditional_logp,
        domain=domain,
        dictionary=d,
        n=200,
        rng=np.random.default_rng(0),
    )

    # Assert: every broken row was repaired by emptying a and b, none rejected
    assert report["rows_rejected"] == 0
    assert report["rules"]["no_flag_no_details"]["repaired"] > 150
    assert _violations(d, out) == 0
    assert out["a"].isna().all() and out["b"].isna().all()


def _enforce(model, domain, dictionary, *, n, seed):
    """``enforce_rules`` on draws from ``model`` (its own conditionals for repair)."""
    return enforce_rules(lambda m, rng: model.sample(m, rng=rng), model.conditional_logp,
                         domain=domain, dictionary=dictionary, n=n,
                         rng=np.random.default_rng(seed))


@pytest.fixture()
def implication():
    """Two independent fair booleans and the rule ``a => b``: a quarter of draws break it."""
    d = Dictionary.from_mapping(
        {
            "name": "imp",
            "version": 1,
            "variables": [{"name": "a", "type": "boolean", "required": True},
                          {"name": "b", "type": "boolean", "required": True}],
            "rules": [{"name": "a_implies_b", "expr": "a => b"}],
        }
    )
    domain = Domain.from_dictionary(d)
    model = GraphicalModel.independent({"a": np.array([1.0, 1.0, 0.0]),
                                        "b": np.array([1.0, 1.0, 0.0])})
    return d, domain, model


def test_broken_rows_are_redrawn_from_the_model_given_the_rules(implication):
    # Setup: P(a) = 0.9 and P(b) = 0.2, independent: 72 % of draws break a => b. Given the
    # rule, the valid cells (a, b), (not a, b), (not a, not b) have 0.18, 0.02, 0.08 over 0.28;
    # a repair would instead move each (a, not b) row to one of its neighbours
    d, domain, _ = implication
    model = GraphicalModel.independent({"a": np.array([0.1, 0.9, 0.0]),
                                        "b": np.array([0.8, 0.2, 0.0])})

    # Run
    out, report = _enforce(model, domain, d, n=20_000, seed=5)

    # Assert: nothing repaired, every broken row replaced by a fresh valid draw, and the cell
    # shares are the conditional ones (sd of a share is at most 0.0034 here)
    assert _violations(d, out) == 0
    assert report["rows_repaired"] == 0 and report["rows_rejected"] == 0
    assert report["rows_resampled"] == report["rules"]["a_implies_b"]["resampled"] > 12_000
    shares = out.groupby(["a", "b"]).size() / len(out)
    expected = pd.Series([0.08, 0.02, 0.18], index=shares.index) / 0.28
    np.testing.assert_allclose(shares.to_numpy(), expected.to_numpy(), atol=0.015)


def test_rejection_sampling_stays_within_its_draw_budget(implication, monkeypatch):
    # Setup: at most 1.1 rows drawn per row asked for: the 10 % extra cannot replace the ~25 %
    # broken rows, so the rest are repaired
    d, domain, model = implication
    monkeypatch.setattr(constraints, "MAX_DRAWS", 1.1)

    # Run
    out, report = _enforce(model, domain, d, n=4_000, seed=6)

    # Assert
    assert _violations(d, out) == 0
    assert report["rows_drawn"] <= 4_400
    assert report["rows_repaired"] > 400 and report["rows_resampled"] > 0


def test_low_acceptance_goes_to_repair_without_resampling(implication, monkeypatch):
    # Setup: three quarters of the draws are valid; an acceptance floor above that sends
    # every broken row to repair at once
    d, domain, model = implication
    monkeypatch.setattr(constraints, "MIN_ACCEPTANCE", 0.9)

    # Run
    out, report = _enforce(model, domain, d, n=2_000, seed=7)

    # Assert
    assert _violations(d, out) == 0
    assert report["rows_drawn"] == 2_000 and report["rows_resampled"] == 0
    assert report["rows_repaired"] > 300


def test_a_small_sample_is_resampled_not_repaired_on_a_few_rows_evidence(implication):
    # Setup: 72 % of draws break a => b; asking for one row at a time, the first draw alone
    # (one row) says nothing about the acceptance: resampling must still run
    d, domain, _ = implication
    model = GraphicalModel.independent({"a": np.array([0.1, 0.9, 0.0]),
                                        "b": np.array([0.8, 0.2, 0.0])})

    # Run
    reports = []
    for seed in range(60):
        out, report = _enforce(model, domain, d, n=1 + seed % 3, seed=seed)
        assert _violations(d, out) == 0
        reports.append(report)

    # Assert
    assert sum(r["rows_repaired"] for r in reports) == 0
    assert sum(r["rows_resampled"] for r in reports) > 60


def test_each_row_written_is_counted_once():
    # Setup: every draw falls in the bin 0..49 and must end at most 5: a redraw of the value
    # finds one in about half the rows, the rest are resampled, and their replacements too were
    # often fixed by a redraw (before, those rows were counted as redrawn *and* resampled)
    d = Dictionary.from_mapping({"name": "one", "version": 1, "variables": [
        {"name": "a", "type": "integer", "min": 0, "max": 99, "cut_points": [50],
         "required": True}], "rules": [{"name": "small", "expr": "a <= 5"}]})
    domain = Domain.from_dictionary(d, max_bins=2)
    model = GraphicalModel.independent({"a": np.array([1.0, 0.0, 0.0])})

    # Run
    out, report = _enforce(model, domain, d, n=1_000, seed=3)

    # Assert: the outcomes are a breakdown of the rows written that broke the rule when first
    # drawn (about 88 % of them; the other 12 % drew a value <= 5 at once)
    outcomes = ("redrawn", "resampled", "repaired", "rejected")
    assert 800 < sum(report[f"rows_{k}"] for k in outcomes) <= len(out) == 1_000
    assert report["rows_redrawn"] > 300 and report["rows_resampled"] > 300
    assert (out["a"] <= 5).all()


def test_large_samples_are_drawn_in_chunks_of_bounded_size(implication, monkeypatch):
    # Setup: chunks of 100 rows and batches of at most 100 rows
    d, domain, model = implication
    monkeypatch.setattr(constraints, "MAX_BATCH", 100)
    sizes = []

    def draw(n, rng):
        sizes.append(n)
        return model.sample(n, rng=rng)

    # Run
    out, report = enforce_rules(draw, model.conditional_logp, domain=domain, dictionary=d,
                                n=1_050, rng=np.random.default_rng(4))

    # Assert: every draw within the cap, all rows valid and counted, nothing repaired
    assert max(sizes) <= 100 and sum(sizes) == report["rows_drawn"]
    assert len(out) == report["rows"] == 1_050 and _violations(d, out) == 0
    assert report["rows_repaired"] == 0 and report["rows_resampled"] > 150
