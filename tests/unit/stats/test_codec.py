"""Encoding to codes and decoding back: exact for categories, within-bin for numbers and dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from synthema.errors import SynthemaError
from synthema.schema import VariableType, typed_dtype
from synthema.schema.rules import Rule
from synthema.schema.values import out_of_range
from synthema.stats.domain import orderings


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_round_trip_keeps_categories_missingness_and_bins(name, request):
    # Setup
    dictionary = request.getfixturevalue(f"{name}_dictionary")
    domain = request.getfixturevalue(f"{name}_domain")
    df = request.getfixturevalue(f"{name}_pooled")
    # Run
    encoding = domain.encode(df)
    decoded = domain.decode(encoding.codes, rng=np.random.default_rng(5))
    again = domain.encode(decoded)
    # Assert
    assert encoding.clipped == {}
    assert encoding.codes.shape == (len(df), len(domain)) and encoding.codes.dtype == np.int64
    np.testing.assert_array_equal(again.codes, encoding.codes)  # same bin, same missingness
    assert list(decoded.columns) == list(dictionary.names)
    for var in dictionary.variables:
        col = decoded[var.name]
        assert str(col.dtype) == typed_dtype(var), var.name
        pd.testing.assert_series_equal(
            col.isna(), df[var.name].isna().reset_index(drop=True), check_names=False
        )
        assert not out_of_range(col, var).any(), var.name
        if var.type.has_categories or var.type is VariableType.BOOLEAN:
            pd.testing.assert_series_equal(
                col, df[var.name].reset_index(drop=True), check_names=False
            )


def test_decoded_numbers_respect_grid_and_decimals(aml_domain):
    # Setup
    sub = aml_domain.project(["wbc", "age", "platelets", "diagnosis_date"])
    rng = np.random.default_rng(0)
    codes = np.column_stack([rng.integers(0, size, 2000) for size in sub.shape])
    # Run
    out = sub.decode(codes, rng=np.random.default_rng(1))
    # Assert
    wbc = out["wbc"].dropna().to_numpy(dtype=float)
    platelets = out["platelets"].dropna().to_numpy(dtype=float)
    np.testing.assert_array_equal(wbc, np.round(wbc, 1))
    np.testing.assert_array_equal(platelets, np.round(platelets))
    assert out["age"].dtype == "Int64" and out["age"].dropna().between(18, 100).all()
    dates = out["diagnosis_date"].dropna()
    assert (dates == dates.dt.normalize()).all()
    assert dates.min() >= pd.Timestamp("2000-01-01") and dates.max() <= pd.Timestamp("2026-12-31")
    np.testing.assert_array_equal(sub.encode(out).codes, codes)


def _ordered_codes(sub, first, second, n, rng):
    one = rng.integers(0, sub[first].n_values, n)
    two = np.where(rng.random(n) < 0.5, one, rng.integers(0, sub[second].n_values, n))
    return one, two


def test_declared_non_strict_order_shares_the_place_in_a_shared_bin(aml_domain):
    # Setup: os_days and efs_days have the same bins and bounds; cr_days has others
    sub = aml_domain.project(["os_days", "efs_days", "cr_days"])
    rng = np.random.default_rng(0)
    n = 4000
    os_code, efs_code = _ordered_codes(sub, "os_days", "efs_days", n, rng)
    codes = np.column_stack([os_code, efs_code, rng.integers(0, sub["cr_days"].n_values, n)])
    order = orderings([Rule.parse("efs_days <= os_days"), Rule.parse("cr_days <= os_days")])
    # Run
    out = sub.decode(codes, rng=np.random.default_rng(1), order=order)
    plain = sub.decode(codes, rng=np.random.default_rng(1))
    # Assert: same bin -> same day (so efs_days <= os_days holds); bins keep their order
    os_d, efs_d = out["os_days"].to_numpy(float), out["efs_days"].to_numpy(float)
    same = os_code == efs_code
    np.testing.assert_array_equal(efs_d[same], os_d[same])
    assert (np.sign(efs_d - os_d)[~same] == np.sign(efs_code - os_code)[~same]).all()
    np.testing.assert_array_equal(sub.encode(out).codes, codes)
    # each column is still uniform within its bin: the position of os_days within its last
    # bin (6,616..7,300 days) against U(0, 1) (a KS test; p < 1e-4 would flag a bias)
    last = os_code == sub["os_days"].n_values - 1
    lo, hi = sub["os_days"].edges[-2], sub["os_days"].edges[-1]
    assert stats.kstest((os_d[last] - lo + 0.5) / (hi - lo), "uniform").pvalue > 1e-4
    # cr_days is on another grid: drawn independently, ties with os_days only by chance;
    # without the declared order, same-bin efs/os pairs are mostly not equal
    assert (out["cr_days"].to_numpy(float) == os_d).mean() < 0.05
    assert (plain["efs_days"].to_numpy(float)[same] == plain["os_days"].to_numpy(float)[same]
            ).mean() < 0.05


def test_declared_strict_order_puts_the_smaller_place_first_in_a_shared_bin(aml_domain):
    # Setup: a strict order on two times of one grid (os_days > efs_days is not an AML rule,
    # written high-first to check that the order is read either way round)
    sub = aml_domain.project(["os_days", "efs_days"])
    rng = np.random.default_rng(2)
    n = 4000
    efs_code, os_code = _ordered_codes(sub, "efs_days", "os_days", n, rng)
    codes = np.column_stack([os_code, efs_code])
    # Run: the strict order written both ways round
    out = sub.decode(codes, rng=np.random.default_rng(3),
                     order=orderings([Rule.parse("os_days > efs_days")]))
    # Assert: in a shared bin efs < os except where two draws land on the same whole day
    # (chance 1/width per row); elsewhere the bins decide; codes are unchanged
    same = os_code == efs_code
    os_d, efs_d = out["os_days"].to_numpy(float), out["efs_days"].to_numpy(float)
    assert (efs_d[same] <= os_d[same]).all() and (efs_d[same] < os_d[same]).mean() > 0.9
    np.testing.assert_array_equal(sub.encode(out).codes, codes)


def test_decode_is_reproducible_with_the_same_rng_seed(aml_domain, aml_pooled):
    # Setup
    codes = aml_domain.encode(aml_pooled).codes[:50]
    # Run
    a = aml_domain.decode(codes, rng=np.random.default_rng(3))
    b = aml_domain.decode(codes, rng=np.random.default_rng(3))
    # Assert
    pd.testing.assert_frame_equal(a, b)


def test_out_of_range_values_are_clipped_into_end_bins_and_counted(scd_domain, scd_pooled):
    # Setup
    df = scd_pooled.head(10).copy()
    df.loc[0, "hb"] = 25.0
    df.loc[1, "hb"] = 1.0
    df.loc[2, "age"] = 120
    df.loc[3, "enrolment_date"] = pd.Timestamp("1990-05-01")
    # Run
    encoding = scd_domain.encode(df)
    # Assert
    assert dict(encoding.clipped) == {"age": 1, "enrolment_date": 1, "hb": 2}
    assert encoding.n_clipped == 4
    hb = scd_domain.axes(["hb"])[0]
    assert encoding.codes[0, hb] == scd_domain["hb"].n_values - 1
    assert encoding.codes[1, hb] == 0
    assert encoding.codes[3, scd_domain.axes(["enrolment_date"])[0]] == 0


def test_values_on_a_cut_point_go_to_the_upper_bin(aml_domain):
    # Setup
    sub = aml_domain.project(["wbc"])
    df = pd.DataFrame({"wbc": pd.array([3.9, 4.0, 4.04, 9.96, None], dtype="Float64")})
    # Run
    codes = sub.encode(df).codes[:, 0]
    # Assert: values are binned as rounded to the declared decimals (9.96 -> 10.0)
    assert codes.tolist() == [0, 1, 1, 2, sub["wbc"].missing_code]


def test_unknown_category_is_an_error_not_a_silent_drop(aml_domain):
    # Setup
    df = pd.DataFrame({"sex": pd.array(["F", "X", None], dtype="string")})
    # Run / Assert
    with pytest.raises(SynthemaError, match="'sex'.*not categories.*'X'"):
        aml_domain.project(["sex"]).encode(df)


def test_absent_or_untyped_columns_are_errors(aml_domain):
    # Setup
    sub = aml_domain.project(["cr", "age"])
    # Run / Assert
    with pytest.raises(SynthemaError, match="lack 1 column.*age"):
        sub.encode(pd.DataFrame({"cr": [True]}))
    with pytest.raises(SynthemaError, match="'cr'.*boolean") as info:
        sub.encode(pd.DataFrame({"cr": ["maybe"], "age": [40]}))
    assert "typed_frame" in info.value.fix


def test_repeated_or_missing_patient_ids_are_errors(aml_domain, aml_pooled):
    # Setup
    dup = pd.concat([aml_pooled.head(3), aml_pooled.head(1)], ignore_index=True)
    no_id = aml_pooled.head(3).copy()
    no_id.loc[1, "patient_id"] = pd.NA
    # Run / Assert
    with pytest.raises(SynthemaError, match="appear on more than one row") as info:
        aml_domain.encode(dup)
    assert "one row per patient" in info.value.fix
    with pytest.raises(SynthemaError, match="no 'patient_id'"):
        aml_domain.encode(no_id)


def test_frames_without_ids_are_taken_as_one_row_per_patient(aml_domain, aml_pooled,
                                                            aml_dictionary):
    # Setup
    df = aml_pooled.head(5).drop(columns="patient_id")
    # Run
    codes = aml_domain.encode(df).codes
    # Assert
    assert codes.shape == (5, len(aml_dictionary.names))  # one code per variable


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (np.zeros((2, 3), dtype=np.int64), "shape"),
        (np.zeros((2, 2)), "dtype"),
        (np.array([[0, 3]]), "'cr' outside 0..2"),
        (np.array([[-1, 0]]), "'sex' outside 0..2"),
    ],
)
def test_bad_codes_are_rejected(aml_domain, codes, message):
    # Setup
    sub = aml_domain.project(["sex", "cr"])
    # Run / Assert
    with pytest.raises(ValueError, match=message):
        sub.decode(codes, rng=np.random.default_rng(0))
