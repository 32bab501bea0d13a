"""Measuring a release: the rounding that keeps figures from rebuilding suppressed records,
and the parts of the report computed from the search's result."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from synthema.anonymize.assessment import (
    _pseudonym_scope,
    _warnings,
    coarsen,
    figure_decimals,
    sensitive_disclosed,
)
from synthema.anonymize.policy import Models
from synthema.anonymize.privacy_models import SensitiveCodes

KEY = b"5e0c7a1f9b3d2e4c6a8b0d1f3e5a7c9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c"


def _by_sex(*, max_suppression: float, sensitive=None):
    """A policy releasing 'resp' with k = 2 over one quasi-identifier, sex, that may not be
    generalised (max_level 0): small tables whose classes and t are known by hand."""
    from synthema.anonymize import HierarchySpec, Policy

    return Policy(name="t", keep=("resp",), models=Models(k=2, max_suppression=max_suppression),
                  quasi_identifiers=(HierarchySpec("sex", "suppress", max_level=0),),
                  sensitive=sensitive or {})


@pytest.mark.parametrize("n, k, decimals", [
    (400, 5, 1), (666, 5, 2), (5000, 5, 3),  # n / k = 1000 exactly: 3, not 2.999... -> 2
    (50_000, 5, 4), (10**9, 1, 6),            # at most 6
    (3, 5, 1), (1, 1, 1),                     # fewer records than k: at least 1
    (50, 0, 1), (150, 0, 2), (150, 1, 2),     # k = 0 counts as 1 (not 2: 75 -> 1)
    (0, 5, 6), (-1, 5, 6),                    # nothing to protect: all 6 decimals
])
def test_figure_decimals_keep_k_records_per_unit_of_the_last_digit(n, k, decimals):
    d = figure_decimals(n, k)
    assert d == decimals
    # brute force: the most decimals d in [1, 6] with 10^-d * n >= max(k, 1)
    if n > 0:
        fit = [e for e in range(1, 7) if 10 ** (-e) * n >= max(k, 1) - 1e-9]
        assert d == (max(fit) if fit else 1)


def test_coarsen_rounds_every_float_but_bounds_and_counts():
    # Setup: a utility figure as evaluate returns it, nested
    value = {"value": 0.123456, "flag": True, "n": 7, "none": None, "text": "0.123456",
             "nan": math.nan, "inf": math.inf,
             "thresholds": {"pass": 0.123456}, "min_value": 0.123456, "max_value": 1.987654,
             "seconds": 2.345678, "records": {"input": 400.0},
             "details": {"pairs": [{"km": 0.98765}, (0.55555, 0.44444)]}}
    # Run
    out = coarsen(value, 2)
    # Assert
    assert out["value"] == 0.12 and out["flag"] is True and out["n"] == 7
    assert out["none"] is None and out["text"] == "0.123456"
    assert math.isnan(out["nan"]) and out["inf"] == math.inf
    assert out["thresholds"] == {"pass": 0.123456} and out["min_value"] == 0.123456
    assert out["max_value"] == 1.987654 and out["seconds"] == 2.345678
    assert out["records"] == {"input": 400.0}
    assert out["details"] == {"pairs": [{"km": 0.99}, [0.56, 0.44]]}
    assert coarsen(np.float64(0.123456), 3) == 0.123 and coarsen((0.5, 1), 0) == [0.0, 1]


def _released(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.choice(["20-39", "40-59", "60-79"], n),
                         "sex": rng.choice(["F", "M"], n),
                         "response": rng.choice(["CR", "PR", "NR", "relapse"], n),
                         "arm": rng.choice(["A", "B"], n),
                         "eln": rng.choice(["fav", "int", "adv"], n)})


def _eln(released: pd.DataFrame) -> SensitiveCodes:
    codes = pd.Categorical(released["eln"], categories=["fav", "int", "adv"]).codes
    codes = codes.astype(np.int64)
    return SensitiveCodes("eln", codes, 3, False, np.bincount(codes, minlength=3) / len(codes))


def test_sensitive_disclosed_counts_records_whose_class_with_one_more_column_fails_l():
    # Setup
    released = _released()
    qis = ["age", "sex"]
    # Run
    told = sensitive_disclosed(released, quasi_identifiers=qis,
                               columns=["age", "response", "arm", "eln"],
                               sensitive=[_eln(released)], models=Models(k=5, l=2))
    # Assert: brute force per other column; the QIs and the sensitive column are no 'other'
    assert list(told) == ["response", "arm"]
    for col in ("response", "arm"):
        distinct = released.groupby([*qis, col])["eln"].transform("nunique")
        assert told[col] == int((distinct < 2).sum())
    assert told["response"] > 0


def test_sensitive_disclosed_judges_only_l_and_t():
    # Setup: records alone in their class with one more column (k fails there, l and t are
    # what this figure is about)
    released = _released(60, seed=2)
    sens = [_eln(released)]
    args = {"quasi_identifiers": ["age", "sex"], "columns": ["response", "arm"]}
    classes = released.groupby(["age", "sex", "response"])["eln"].transform("size")
    assert (classes == 1).any()
    # Run / Assert: a lenient t passes every class, singletons too; without l and t, or
    # without a sensitive attribute, nothing is measured
    assert sensitive_disclosed(released, sensitive=sens, models=Models(k=5, t=0.99),
                               **args) == {"response": 0, "arm": 0}
    assert sensitive_disclosed(released, sensitive=sens, models=Models(k=5), **args) == {}
    assert sensitive_disclosed(released, sensitive=[], models=Models(k=5, l=2), **args) == {}
    strict = sensitive_disclosed(released, sensitive=sens, models=Models(k=5, t=0.01), **args)
    assert strict == {"response": 60, "arm": 60}


def test_warnings_say_in_one_line_each_what_the_scorecard_cannot(raw_aml):
    # Setup: the AML release, with released-column risks, pseudonyms and dates set by hand
    from synthema.anonymize import anonymize, load_policy

    report = anonymize(raw_aml, load_policy("aml"), key=KEY).report
    rc = dict(report.risk.released_columns) | {
        "unique_records": 3, "records": 300, "unique_share": 0.01,
        "columns": ["age", "sex", "induction_response"],
        "singled_out_with_quasi_identifiers": {"induction_response": 4, "eln2022": 9,
                                               "induction_intensity": 0},
        "sensitive_disclosed_with_quasi_identifiers": {"induction_response": 7,
                                                       "induction_intensity": 0}}
    risky = dataclasses.replace(
        report, risk=dataclasses.replace(report.risk, released_columns=rc),
        pseudonym=dataclasses.replace(report.pseudonym, linkable_across_releases=True,
                                      note="linked"),
        dates={"fu_days": "days from diagnosis_date", "os_days": "days from diagnosis_date",
               "visit_month": "generalised to month", "hsct_date": "shifted"})
    quiet = dataclasses.replace(
        report, risk=dataclasses.replace(report.risk, released_columns=rc | {
            "unique_records": 0, "singled_out_with_quasi_identifiers": {"eln2022": 9},
            "sensitive_disclosed_with_quasi_identifiers": {"induction_response": 0}}),
        dates={"os_days": "days from diagnosis_date"})
    # Run
    said = _warnings(risky, ["eln2022"])
    # Assert: one line per risk, the sensitive attribute never named as a column that
    # singles out (it is what l and t protect), QIs derived from dates not repeated
    assert said == (
        "3 of 300 released records (1.0%) are unique over all released columns (age, sex, "
        "induction_response): k = 5 holds for the quasi-identifiers only; an attacker who "
        "knows a patient's other released values singles these records out",
        "with the quasi-identifiers, each of these columns alone singles out released "
        "records: induction_response 4; a column an attacker can know belongs under "
        "quasi_identifiers",
        "with the quasi-identifiers, each of these columns alone leaves classes whose eln2022 "
        "fails the policy's l/t: induction_response 7 records; an attacker who knows it "
        "learns more of their eln2022 than l and t allow (l and t hold in the "
        "quasi-identifiers' classes only)",
        "pseudonyms in patient_id: linked",
        "fu_days, visit_month derived from dates (dates.method) but not quasi-identifiers: "
        "outside the k-anonymity classes, counted only in the risk over all released columns")
    assert _warnings(quiet, ["eln2022"]) == ()
    assert _warnings(dataclasses.replace(quiet, pseudonym=None), ["eln2022"]) == ()


@pytest.mark.parametrize("scope, study, shift, linkable, named", [
    ("release", None, True, False, None),
    ("study", None, False, True, "aml-outcomes"),   # the policy's name stands in
    ("study", "leukemia-2026", True, True, "leukemia-2026"),
    ("linkage", None, True, True, None),
])
def test_pseudonym_scope_says_how_far_pseudonyms_and_shifted_dates_link(scope, study, shift,
                                                                         linkable, named):
    # Setup
    from synthema.anonymize import load_policy
    from synthema.anonymize.policy import DatePolicy

    dates = DatePolicy(method="shift", columns=("hsct_date", "relapse_date")) if shift \
        else DatePolicy()
    policy = dataclasses.replace(load_policy("aml"), scope=scope, study=study, dates=dates)
    # Run
    got = _pseudonym_scope(policy, {"IPP": "hospital_number"})
    # Assert
    assert got.column == "patient_id" and got.columns == ("patient_id", "IPP")
    assert got.method == f"HMAC-SHA256, keyed, 16 hex characters, scope {scope}"
    assert got.scope == scope and got.study == named
    assert got.linkable_across_releases is linkable
    assert got.dates_linkable_across_releases is (shift and linkable)
    follows = "the date shifts of hsct_date, relapse_date follow the same scope"
    assert (follows in got.note) is (shift and linkable)
    if scope == "study":
        assert f"scoped to study '{named}'" in got.note
    assert _pseudonym_scope(dataclasses.replace(policy, pseudonym_column=None), {}) is None
    assert _pseudonym_scope(dataclasses.replace(policy, pseudonym_column=None),
                            {"IPP": "hospital_number"}).columns == ("IPP",)


def test_a_population_without_a_quasi_identifier_column_is_refused(raw_aml):
    from synthema.anonymize import AnonymizationError, anonymize, load_policy

    with pytest.raises(AnonymizationError) as err:
        anonymize(raw_aml, load_policy("aml"), key=KEY, population=raw_aml[["age", "sex"]])
    assert err.value.message == ("population table (risk.population): quasi-identifier "
                                 "column(s) diagnosis_date, os_days, os_status missing")


def test_information_loss_adds_up_and_exact_quasi_identifiers_keep_their_type(raw_aml):
    # Setup: k = 1 and no l: every quasi-identifier at its lowest allowed level
    from synthema.anonymize import anonymize, load_policy

    base = load_policy("aml")
    policy = dataclasses.replace(base, models=Models(k=1, max_suppression=0.0))
    # Run
    report = anonymize(raw_aml, policy, key=KEY).report
    exact = anonymize(raw_aml, base, key=KEY).report
    # Assert: the height is the sum of the chosen levels; the figures' decimals
    for r in (report, exact):
        loss, levels = r.information_loss, r.generalisation_levels.values()
        assert loss.generalisation_height == sum(g.level for g in levels)
        # the highest levels the policy allows (max_level), at most each hierarchy's top
        assert 0 < loss.max_height <= sum(g.highest for g in levels)
        assert loss.relative_height == round(loss.generalisation_height / loss.max_height, 6)
        assert loss.suppressed_records == r.records_in - r.records_out
        assert loss.suppression_rate == round(loss.suppressed_records / r.records_in, 6)
        assert round(loss.non_uniform_entropy_bits, 3) == loss.non_uniform_entropy_bits
        assert round(loss.non_uniform_entropy, 6) == loss.non_uniform_entropy
        assert 0 < loss.lattice_nodes_evaluated <= loss.lattice_nodes
    assert report.generalisation["age"].startswith("0 of ") and report.records_out == len(raw_aml)
    # age released exactly is compared as the dictionary's integer (KS), not as labels
    rows = {c["column"]: c for c in next(m for m in report.utility["metrics"]
                                         if m["name"] == "column_distance")["details"]["columns"]}
    assert (rows["age"]["type"], rows["age"]["metric"]) == ("integer", "ks")
    rows = {c["column"]: c for c in next(m for m in exact.utility["metrics"]
                                         if m["name"] == "column_distance")["details"]["columns"]}
    assert not exact.generalisation["age"].startswith("0 of ") and rows["age"]["type"] == "ordinal"


def test_the_release_handed_over_to_be_measured_is_frozen():
    # assess() reads the pipeline's release; nothing it measures may be changed in between
    from synthema.anonymize.assessment import Release

    assert Release.__dataclass_params__.frozen


def test_reported_t_of_a_two_value_order_is_the_exact_distance_rounded_down():
    # Setup: 5 records, 1 'yes' (reference 1/5, 4/5); class M holds only 'no', so its
    # ordered distance is the 1/5 of mass moved across the one gap: exactly 0.2. Rounded
    # down to the figures' 1 decimal (n = 5, k = 2) it must stay 0.2: the equal-ground
    # formula (|p0 - r0| + |p1 - r1|) / 2, the same number in exact arithmetic, gives
    # 0.19999999999999998 in floating point and was floored to 0.1.
    from fractions import Fraction

    from synthema.anonymize import anonymize

    df = pd.DataFrame({"sex": ["F", "F", "F", "M", "M"], "resp": ["yes", "no", "no", "no", "no"]})
    policy = _by_sex(max_suppression=0.0, sensitive={"resp": ("yes", "no")})
    # Run
    report = anonymize(df, policy, key=KEY).report
    # Assert: the worst class by brute force in fractions, floored to the report's decimals
    decimals = report.utility["decimals"]
    ref = Fraction(1, 5)
    worst = max(abs(Fraction(sum(v == "yes" for v in g), len(g)) - ref)
                for _, g in df.groupby("sex")["resp"])
    assert decimals == 1 and worst == Fraction(1, 5)
    assert report.achieved.t == math.floor(worst * 10**decimals) / 10**decimals == 0.2


@pytest.mark.parametrize("order", [("yes", "no"), ()])
def test_reported_t_is_not_a_unit_below_an_exact_multiple(order):
    # Setup: the class M holds only 'no': its distance from the whole input (1/5 'yes') is
    # exactly 1/5, ordered or not; computed in floating point it can land an ulp below 0.2,
    # and flooring that to the report's one decimal gave 0.1, a whole unit below the truth
    # (found by the review of the mutation notes)
    from synthema.anonymize import anonymize

    df = pd.DataFrame({"sex": ["F", "F", "F", "M", "M"], "resp": ["yes", "no", "no", "no", "no"]})
    policy = _by_sex(max_suppression=0.0, sensitive={"resp": order})
    # Run
    report = anonymize(df, policy, key=KEY).report
    # Assert: the true worst class (1/5) lies in [t, t + 0.1)
    assert report.utility["decimals"] == 1 and report.achieved.t == 0.2


def test_information_loss_of_a_release_with_nothing_to_generalise():
    # Setup: one quasi-identifier that may not be generalised (max_level 0); the lone man
    # fails k = 2 and is suppressed
    from synthema.anonymize import anonymize

    df = pd.DataFrame({"sex": ["F"] * 6 + ["M"], "resp": ["yes", "no"] * 3 + ["no"]})
    policy = _by_sex(max_suppression=0.2)
    # Run
    loss = anonymize(df, policy, key=KEY).report.information_loss
    # Assert: no height to climb (0, not a division by zero); 1 of 7 suppressed, 6 decimals
    assert (loss.generalisation_height, loss.max_height, loss.relative_height) == (0, 0, 0.0)
    assert loss.suppressed_records == 1 and loss.suppression_rate == 0.142857


def test_dates_released_generalised_are_costed_at_their_granularity():
    # Setup: the SCD policy with its enrolment date released as months instead of shifted
    from synthema.anonymize import anonymize, load_policy
    from synthema.cohorts.simulate import simulate

    data = simulate("scd", sites=1, patients=300, seed=3)[0].data
    base = load_policy("scd")
    policy = dataclasses.replace(base, dates=dataclasses.replace(
        base.dates, method="generalize", granularity="month"))
    # Run
    report = anonymize(data, policy, key=KEY).report
    # Assert: the column cost says what the release holds (months), measured as such
    cols = {c["column"]: c for c in report.utility["input_vs_release"]["columns"]}
    assert (cols["enrolment_date"]["status"], cols["enrolment_date"]["released_as"]) == (
        "generalised", "month")
    assert 0 <= cols["enrolment_date"]["tvd"] < 1


def test_column_costs_count_the_inputs_data_columns_only(raw_aml):
    # Setup: a site that does not record one of the dictionary's genes
    from synthema.anonymize import anonymize, load_policy
    from synthema.schema import load_dictionary

    df = raw_aml.drop(columns=["wt1"])
    # Run
    costs = anonymize(df, load_policy("aml"), key=KEY).report.utility["input_vs_release"]
    # Assert: every dictionary column the input has, in dictionary order, and nothing else:
    # not the absent gene, not the pseudonymised id, not the identifiers removed as such
    counted = [c["column"] for c in costs["columns"]]
    names = [v.name for v in load_dictionary("aml").variables]
    assert counted == [n for n in names if n in df.columns and n != "patient_id"]
    assert costs["mean_over"] == len(counted)


def test_reported_t_is_floored_to_two_decimals_with_two_hundred_records():
    # Setup: 200 records, k = 2: figures keep 2 decimals (200 / 2 = 100 records per unit).
    # 'yes' is 40 % overall, 25 % of the women and 62.5 % of the men: t = 0.225 exactly
    from synthema.anonymize import anonymize

    df = pd.DataFrame({"sex": ["F"] * 120 + ["M"] * 80,
                       "resp": ["yes"] * 30 + ["no"] * 90 + ["yes"] * 50 + ["no"] * 30})
    policy = _by_sex(max_suppression=0.0, sensitive={"resp": ()})
    # Run
    report = anonymize(df, policy, key=KEY).report
    # Assert: rounded down to the hundredth
    assert report.utility["decimals"] == 2 and report.achieved.t == 0.22


def test_an_empty_input_has_nothing_suppressed():
    # the suppression rate of no records is 0 (not a division by zero, not 1)
    from synthema.anonymize import anonymize

    df = pd.DataFrame({"sex": pd.Series([], dtype="string"),
                       "resp": pd.Series([], dtype="string")})
    policy = _by_sex(max_suppression=0.0)
    loss = anonymize(df, policy, key=KEY).report.information_loss
    assert (loss.suppressed_records, loss.suppression_rate) == (0, 0.0)


def test_a_quasi_identifier_at_level_one_is_compared_as_its_generalised_labels(raw_aml):
    # Setup: age fixed at its first level (bands of 5 years), sex as it is
    from synthema.anonymize import anonymize, load_policy

    base = load_policy("aml")
    q = {h.column: h for h in base.quasi_identifiers}
    policy = dataclasses.replace(
        base, quasi_identifiers=(dataclasses.replace(q["age"], min_level=1, max_level=1),
                                 q["sex"]),
        models=Models(k=2, max_suppression=0.3), keep=("induction_intensity",), sensitive={})
    # Run
    report = anonymize(raw_aml, policy, key=KEY).report
    # Assert: the input-vs-release check reads age as ordered bands (TVD), not as an integer
    # (Kolmogorov-Smirnov on labels such as "60-64"); sex, left at level 0, keeps its type
    [metric] = [m for m in report.utility["metrics"] if m["name"] == "column_distance"]
    types = {c["column"]: (c["type"], c["metric"]) for c in metric["details"]["columns"]}
    assert types["age"] == ("ordinal", "tvd")
    assert types["sex"] == ("categorical", "tvd")
