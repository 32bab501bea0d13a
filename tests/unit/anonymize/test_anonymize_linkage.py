"""Record-linkage risk of a release equals a brute-force count of consistent records.

Every expected value is counted here pair by pair, in plain Python, from the definition in
:mod:`synthema.anonymize.linkage`: record j is a candidate for the patient of record i when
every exact column has equal labels (missing equals missing) and every shifted date of j lies
within the bound of i's true date (or both are missing)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd

from synthema.anonymize.linkage import candidates, linkage_risk, singling_out


def _day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _brute(exact: dict[str, list], shifted: dict[str, tuple[list, list, int]]) -> list[int]:
    """Candidates per record: exact columns ``name -> labels``; shifted date columns
    ``name -> (released dates, true dates, bound in days)``, dates as ISO text or None."""
    n = len([*exact.values(), *(r for r, _, _ in shifted.values())][0])
    out = []
    for i in range(n):
        count = 0
        for j in range(n):
            same = all(labels[i] == labels[j] for labels in exact.values())
            for released, true, bound in shifted.values():
                t, s = _day(true[i]), _day(released[j])
                if t is None or s is None:
                    same = same and t is None and s is None
                else:
                    same = same and abs((s - t).days) <= bound
            count += same
        out.append(max(count, 1))
    return out


def _dates(texts: list[str | None]) -> pd.Series:
    return pd.to_datetime(pd.Series(texts, dtype=object))


def test_candidates_equal_brute_force_with_missing_shifted_dates():
    # Setup: two bands; a shifted date missing in some records (missing in the release
    # exactly where the true date is missing); record 0's true date is 19 days from record
    # 3's released one, but record 3 is in another band
    band = ["30-39", "30-39", "30-39", "40-49", "40-49", "40-49"]
    true = ["2020-01-01", "2020-03-01", None, "2020-01-01", None, None]
    released = ["2020-01-10", "2020-02-20", None, "2020-01-20", None, None]
    rel = pd.DataFrame({"band": band, "d": _dates(released)})
    # Run
    got = candidates(rel, columns=["band", "d"], windows={"d": (_dates(true), 30)})
    # Assert: a missing date matches only a missing date (records 4 and 5 match each other)
    want = _brute({"band": band}, {"d": (released, true, 30)})
    assert got.tolist() == want
    assert want == [1, 1, 1, 1, 2, 2]


def test_candidates_of_exact_columns_are_class_sizes_with_missing_as_a_label():
    # Setup
    band = ["a", "a", None, None, "b"]
    sex = ["F", "F", "M", "M", "M"]
    rel = pd.DataFrame({"band": band, "sex": sex})
    # Run
    got = candidates(rel, columns=["band", "sex"])
    # Assert
    assert got.tolist() == _brute({"band": band, "sex": sex}, {})


def test_empty_release_has_no_candidates_and_no_risk():
    # Setup: an empty release (every record suppressed, or an empty input), with and without
    # a shifted date column; the shifted case used to fail inside zip(..., strict=True)
    rel = pd.DataFrame({"band": pd.Series([], dtype=object), "d": _dates([])})
    windows = {"d": (_dates([]), 30)}
    # Run
    plain = candidates(rel, columns=["band"])
    shifted = candidates(rel, columns=["band", "d"], windows=windows)
    risk = linkage_risk(rel, columns=["band", "d"], windows=windows, threshold=0.5)
    # Assert
    assert plain.shape == (0,) and shifted.shape == (0,)
    assert (risk["records"], risk["unique_records"], risk["unique_share"]) == (0, 0, 0.0)
    assert risk["prosecutor"] == {"highest": 0.0, "average": 0.0, "above_threshold": 0.0}


def test_one_record_is_its_own_only_candidate():
    # Setup: one record; its shifted date is 10 days from its true date
    rel = pd.DataFrame({"band": ["a"], "d": _dates(["2020-01-11"])})
    # Run
    plain = candidates(rel, columns=["band"])
    shifted = candidates(rel, columns=["band", "d"], windows={"d": (_dates(["2020-01-01"]), 30)})
    # Assert
    assert plain.tolist() == shifted.tolist() == [1]


def test_linkage_risk_summary_equals_brute_force():
    # Setup: records 0 and 1 fall within 30 days of each other's true dates, record 2 is
    # alone; a second window names a column the attacker does not match on
    band = ["a", "a", "a"]
    true = ["2020-01-03", "2020-01-01", "2020-06-05"]
    released = ["2020-01-01", "2020-01-02", "2020-06-01"]
    rel = pd.DataFrame({"band": band, "d": _dates(released), "e": _dates(released)})
    windows = {"d": (_dates(true), 30), "e": (_dates(true), 7)}
    # Run
    r = linkage_risk(rel, columns=["band", "d"], windows=windows, threshold=0.5)
    # Assert: counts 2, 2, 1; risk 1/count per record, reported to 6 decimals
    count = _brute({"band": band}, {"d": (released, true, 30)})
    unique = count.count(1)
    risk = [1 / c for c in count]
    assert r["columns"] == ["band", "d"]
    assert r["shifted_dates"] == {"d": 30}
    assert (r["records"], r["unique_records"]) == (3, unique)
    assert r["unique_share"] == round(unique / 3, 6)
    assert r["prosecutor"] == {
        "highest": round(max(risk), 6), "average": round(sum(risk) / 3, 6),
        "above_threshold": round(sum(x > 0.5 for x in risk) / 3, 6)}


def test_linkage_risk_default_threshold_is_0_09():
    # Setup: classes of 10, 11 and 12 records: risks 0.1 and 0.0909 are above 0.09, 0.0833
    # is not
    sizes = {"a": 10, "b": 11, "c": 12}
    rel = pd.DataFrame({"band": [k for k, m in sizes.items() for _ in range(m)]})
    # Run
    r = linkage_risk(rel, columns=["band"])
    # Assert
    above = sum(m for m in sizes.values() if 1 / m > 0.09)
    assert r["prosecutor"]["above_threshold"] == round(above / len(rel), 6)
    assert above == 21


def test_singling_out_counts_each_other_column_with_the_quasi_identifiers():
    # Setup
    data = {"band": ["a", "a", "a", "b", "b"], "sex": ["F", "F", "M", "F", "F"],
            "dx": ["x", "y", "z", "x", "x"]}
    rel = pd.DataFrame(data)
    # Run
    got = singling_out(rel, quasi_identifiers=["band"], columns=["band", "sex", "dx"])
    # Assert: the quasi-identifier itself is not reported; the others by brute force
    want = {}
    for col in ("sex", "dx"):
        keys = list(zip(data["band"], data[col], strict=True))
        want[col] = sum(1 for k in keys if Counter(keys)[k] == 1)
    assert got == want
    assert want == {"sex": 1, "dx": 3}
