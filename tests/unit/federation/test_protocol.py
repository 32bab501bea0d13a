"""The federation's arithmetic: noise shares, accounting, query format, range checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthema.errors import FederationError, ParameterError
from synthema.federation.protocol import (
    CLIPPING_RANGE,
    MAX_SITES,
    MODULUS,
    QUANTIZATION_RANGE,
    Query,
    check_range,
    check_sites,
    share_sigma,
)
from synthema.privacy.analysis import distributed_dgauss_rho, distributed_dgauss_tau


@pytest.mark.parametrize(
    ("sigma", "k", "d", "m"),
    [(10.0, 4, 50, 2), (1.0, 1, 1000, 2), (0.8, 5, 100_000, 3), (30.0, 145, 20_000, 2),
     (3.0, 1, 10, 1), (2.0, 300, 500_000, 9)],
)  # fmt: skip
def test_share_never_costs_more_than_the_central_mechanism(sigma, k, d, m):
    s = share_sigma(sigma, n_cliques=k, dimension=d, contributors=m)
    # any m shares together carry at least the central variance ...
    assert m * s * s >= sigma * sigma
    assert s >= 0.5
    # ... and the [KLS21] bound for their sum is within the central cost K / (2 sigma^2)
    assert distributed_dgauss_rho(math.sqrt(k), s, m, dimension=d) <= k / (2 * sigma**2)


def test_share_is_raised_only_as_far_as_tau_requires():
    # large sigma: tau underflows to 0, the share is exactly sigma / sqrt(m)
    s = share_sigma(40.0, n_cliques=10, dimension=10_000, contributors=4)
    assert s == pytest.approx(20.0, rel=1e-12)
    # small sigma: tau * d dominates; the share is raised, but minimally (1% less fails)
    s = share_sigma(1.0, n_cliques=1, dimension=1000, contributors=2)
    assert s > 1 / math.sqrt(2)
    assert distributed_dgauss_rho(1.0, s * 0.99, 2, dimension=1000) > 0.5


def test_tau_matches_the_reference_values():
    # privacy_testing.md section 5: sigma^2 = 4, n = 10, t = 2 -> s^2 = 0.5, tau = 0.102
    assert distributed_dgauss_tau(math.sqrt(0.5), 8) == pytest.approx(0.1022, rel=1e-3)
    assert distributed_dgauss_tau(math.sqrt(16 / 16), 16) == pytest.approx(
        10 * sum(math.exp(-2 * math.pi**2 * k / (k + 1)) for k in range(1, 16))
    )


def test_query_rho_is_the_distributed_bound(small_domain):
    q = Query("q", (("sex",), ("age", "sex")), share_sigma=7.5, n_sites=4, min_contributors=3,
              fingerprint="f")  # fmt: skip
    d = small_domain.size(("sex",)) + small_domain.size(("age", "sex"))
    assert q.dimension(small_domain) == d
    assert q.rho(small_domain) == distributed_dgauss_rho(math.sqrt(2), 7.5, 3, dimension=d)
    assert q.local_rho() == pytest.approx(2 / (2 * 7.5**2))
    exact = Query("e", (("sex",),), share_sigma=0.0, n_sites=3, min_contributors=2,
                  fingerprint="f")  # fmt: skip
    assert exact.exact and math.isinf(exact.rho(small_domain))


def test_query_round_trips_and_rejects_bad_input():
    q = Query("q-7", (("a",), ("a", "b")), share_sigma=3.0, n_sites=5, min_contributors=4,
              fingerprint="abc", label="round 7")  # fmt: skip
    assert Query.from_config(q.to_config()) == q
    with pytest.raises(FederationError, match="malformed query"):
        Query.from_config({"synthema.query-id": "x"})
    with pytest.raises(FederationError, match="below 0.5"):
        Query("q", (("a",),), share_sigma=0.2, n_sites=3, min_contributors=2, fingerprint="f")
    with pytest.raises(FederationError, match="min_contributors"):
        Query("q", (("a",),), share_sigma=1.0, n_sites=3, min_contributors=4, fingerprint="f")


def test_secure_sum_parameters_are_exact():
    # integers within +-C pass Flower's quantiser unchanged, and n shifted vectors fit 2^32
    assert QUANTIZATION_RANGE == 2 * CLIPPING_RANGE
    assert CLIPPING_RANGE < 2**30
    assert MAX_SITES * QUANTIZATION_RANGE < MODULUS
    check_range(np.array([CLIPPING_RANGE, -CLIPPING_RANGE]), "a")
    with pytest.raises(FederationError, match="site 'a'.*beyond"):
        check_range(np.array([0, CLIPPING_RANGE + 1]), "a")


def test_flower_quantiser_leaves_integers_in_range_unchanged():
    from flwr.common.secure_aggregation.quantization import dequantize, quantize

    x = np.array([-CLIPPING_RANGE, -5, 0, 17, CLIPPING_RANGE], dtype=np.float64)
    q = quantize([x], CLIPPING_RANGE, QUANTIZATION_RANGE)[0]
    assert np.array_equal(q, x + CLIPPING_RANGE)
    assert np.array_equal(dequantize([q], CLIPPING_RANGE, QUANTIZATION_RANGE)[0], x)


@pytest.mark.parametrize(("n", "t"), [(2, 0), (3, 2), (MAX_SITES + 1, 1), (4, -1)])
def test_bad_federation_plans_are_refused(n, t):
    with pytest.raises(ParameterError):
        check_sites(n, t)
    assert check_sites(4, 1) == (4, 1)
