"""partial_counts is a GROUP BY on codes; reduce_counts over sites equals counts on the pool."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthema.errors import SynthemaError
from synthema.stats import partial_counts, reduce_counts
from synthema.stats.marginals import marginal_counts

CLIQUES = [("sex",), ("ecog", "npm1"), ("age", "os_days", "os_status"), ("eln2022", "cr")]


@pytest.mark.parametrize("clique", CLIQUES)
def test_partial_counts_equals_a_pandas_groupby(aml_domain, aml_pooled, clique):
    # Setup
    codes = aml_domain.encode(aml_pooled).codes
    frame = pd.DataFrame(codes[:, list(aml_domain.axes(clique))], columns=list(clique))
    shape = aml_domain.project(clique).shape
    expected = np.zeros(shape, dtype=np.int64)
    for key, n in frame.groupby(list(clique)).size().items():
        expected[key if isinstance(key, tuple) else (key,)] = n
    # Run
    counts = partial_counts(codes, clique, aml_domain)
    # Assert
    assert counts.dtype == np.int64 and counts.shape == (aml_domain.size(clique),)
    np.testing.assert_array_equal(counts, expected.ravel(order="C"))
    assert counts.sum() == len(aml_pooled)


def test_a_batch_of_cliques_counts_each_like_partial_counts(aml_domain, aml_pooled):
    # Setup
    codes = aml_domain.encode(aml_pooled).codes
    cliques = [*CLIQUES, ()]
    # Run
    batch = marginal_counts(codes, cliques, aml_domain)
    # Assert
    assert len(batch) == len(cliques)
    for counts, clique in zip(batch, cliques, strict=True):
        np.testing.assert_array_equal(counts, partial_counts(codes, clique, aml_domain))
    bad = codes.copy()
    bad[3, aml_domain.axes(("sex",))[0]] = 99
    with pytest.raises(ValueError, match="codes of 'sex' outside"):
        marginal_counts(bad, [("age",)], aml_domain)  # checked even where not counted
    with pytest.raises(ValueError, match="names an attribute twice"):
        marginal_counts(codes, [("age",), ("sex", "sex")], aml_domain)


def test_frame_and_codes_give_the_same_counts(scd_domain, scd_pooled):
    # Setup
    codes = scd_domain.encode(scd_pooled).codes
    clique = ("genotype", "hydroxyurea", "hb")
    # Run
    from_codes = partial_counts(codes, clique, scd_domain)
    from_frame = partial_counts(scd_pooled, clique, scd_domain)
    # Assert
    np.testing.assert_array_equal(from_codes, from_frame)


def test_empty_clique_counts_all_patients(aml_domain, aml_pooled):
    # Run
    total = partial_counts(aml_pooled, (), aml_domain)
    # Assert
    assert total.tolist() == [len(aml_pooled)]


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_sum_over_sites_equals_counts_on_pooled_data(name, request):
    # Setup
    domain = request.getfixturevalue(f"{name}_domain")
    sites = request.getfixturevalue(f"{name}_sites")
    pooled = request.getfixturevalue(f"{name}_pooled")
    cliques = [domain.names[:1], domain.names[1:3], (domain.names[0], domain.names[-1])]
    for clique in cliques:
        # Run
        partials = [partial_counts(site, clique, domain) for site in sites]
        # Assert
        np.testing.assert_array_equal(
            reduce_counts(partials), partial_counts(pooled, clique, domain)
        )


def test_a_patient_counted_twice_is_refused(aml_domain, aml_sites):
    # Setup: the same patient exported by two sites, pooled by mistake
    pooled = pd.concat([aml_sites[0], aml_sites[1].head(2), aml_sites[0].head(1)])
    # Run / Assert
    with pytest.raises(SynthemaError, match="more than one row"):
        partial_counts(pooled, ("sex",), aml_domain)


@pytest.mark.parametrize(
    ("clique", "error", "message"),
    [
        ("sex", ValueError, "is a string"),
        (("sex", "sex"), ValueError, "twice"),
        (("sexx",), KeyError, "did you mean 'sex'"),
    ],
)
def test_bad_cliques_are_rejected(aml_domain, aml_pooled, clique, error, message):
    # Run / Assert
    with pytest.raises(error, match=message):
        partial_counts(aml_pooled, clique, aml_domain)


def test_reduce_counts_checks_its_inputs():
    # Run / Assert
    with pytest.raises(ValueError, match="at least one"):
        reduce_counts([])
    with pytest.raises(ValueError, match="shapes"):
        reduce_counts([np.zeros(3, dtype=np.int64), np.zeros(4, dtype=np.int64)])
    with pytest.raises(ValueError, match="integers"):
        reduce_counts([np.zeros(3)])
    assert reduce_counts([np.array([1, 2], dtype=np.int32)]).dtype == np.int64
