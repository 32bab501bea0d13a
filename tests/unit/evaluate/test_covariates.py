"""Outcome models use baseline covariates only (issue 24 item 1): no outcome leaks in."""

from __future__ import annotations

from importlib import resources

import pytest

from synthema.cohorts.simulate import simulate
from synthema.evaluate import evaluate
from synthema.evaluate.covariates import baseline_covariates
from synthema.schema import load_dictionary

POST_BASELINE = ("cr", "cr_days", "induction_response", "relapse", "relapse_days", "hsct",
                 "hsct_days", "hsct_status", "hsct_donor")


@pytest.fixture(scope="module")
def ungrouped(tmp_path_factory):
    """The AML dictionary with no variable in an 'outcome' group: the rules alone must find
    what is tied to the outcomes."""
    text = (resources.files("synthema.schema") / "data" / "aml.yaml").read_text("utf-8")
    path = tmp_path_factory.mktemp("dict") / "aml_ungrouped.yaml"
    path.write_text(text.replace("group: outcome", "group: follow_up"), encoding="utf-8")
    return load_dictionary(path)


def test_rules_tie_every_post_baseline_variable_to_the_outcomes(ungrouped):
    # Run
    names, why = baseline_covariates(ungrouped)
    # Assert: relapse_days alone gave RFS a C-index of 0.88 (missing exactly without relapse)
    for name in POST_BASELINE:
        assert name not in names, name
        assert why[name], name
    # one rule away from an outcome the old guard stopped; relapse_days is two away
    assert why["relapse_days"] == "time-ordered against 'cr_days' by rule relapse_after_cr"
    assert why["cr_days"] == "shares rule cr_before_os with 'os_days'"
    assert {"age", "eln2022", "tp53", "npm1", "flt3_itd"} <= set(names)
    assert "diagnosis_date" not in names  # calendar time is not a covariate


def test_survival_models_and_the_report_name_the_covariates_used(ungrouped):
    # Setup
    cols = list(ungrouped.names)
    real = simulate("aml", sites=1, patients=300, seed=1)[0].data[cols]
    holdout = simulate("aml", sites=1, patients=300, seed=2)[0].data[cols]
    # Run
    report = evaluate(real, real, dictionary=ungrouped, holdout=holdout,
                      metrics=["cindex_gap"])
    used = report.get_details("cindex_gap")["covariates"]
    meta = report.to_dict()["meta"]["covariates"]
    # Assert: the Cox models see no post-baseline variable; the report says why each is out
    assert used and not set(used) & set(POST_BASELINE)
    assert set(POST_BASELINE) <= set(meta["left_out"])
    assert set(used) <= set(meta["used"])


def test_the_shipped_aml_dictionary_keeps_post_baseline_treatments_out():
    # Setup: autologous HSCT comes after remission and no rule ties it to an outcome, so only
    # its group can keep it out of the survival models (immortal-time bias otherwise)
    names, why = baseline_covariates(load_dictionary("aml"))
    # Assert
    for name in (*POST_BASELINE, "auto_hsct"):
        assert name not in names, name
    assert why["auto_hsct"] == "in group 'outcome'"
