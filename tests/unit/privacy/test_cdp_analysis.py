"""zCDP conversions against independent references: constants, dp-accounting, exact Gaussian."""

from __future__ import annotations

import math

import dp_accounting as dpacc
import pytest
from scipy import optimize

from synthema.errors import ParameterError
from synthema.privacy.analysis import (
    cdp_delta,
    cdp_epsilon,
    cdp_epsilon_simple,
    cdp_rho,
    cdp_rho_simple,
    distributed_dgauss_rho,
    distributed_dgauss_tau,
    gaussian_rho,
    sigma_for_rho,
)

# -- independent references -----------------------------------------------------------------


def steinke_cdp_delta(rho: float, eps: float) -> float:
    """Port of T. Steinke's cdp2adp.py ``cdp_delta`` (1000-step bisection, a >= 1.01)."""
    amin, amax = 1.01, (eps + 1) / (2 * rho) + 2
    for _ in range(1000):
        alpha = (amin + amax) / 2
        if (2 * alpha - 1) * rho - eps + math.log1p(-1.0 / alpha) < 0:
            amin = alpha
        else:
            amax = alpha
    log_delta = (alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1 / alpha)
    return min(math.exp(log_delta) / (alpha - 1.0), 1.0)


def steinke_cdp_rho(eps: float, delta: float) -> float:
    """Port of cdp2adp.py ``cdp_rho``: bisection on rho over ``steinke_cdp_delta``."""
    lo, hi = 0.0, eps + 1
    for _ in range(200):
        mid = (lo + hi) / 2
        if steinke_cdp_delta(mid, eps) <= delta:
            lo = mid
        else:
            hi = mid
    return lo


def phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def gaussian_exact_delta(sigma: float, eps: float, sens: float = 1.0) -> float:
    """Balle & Wang 2018, Thm. 8: the exact (ε, δ) curve of the Gaussian mechanism."""
    a, b = sens / (2 * sigma), eps * sigma / sens
    return phi(a - b) - math.exp(eps) * phi(-a - b)


def gaussian_exact_epsilon(sigma: float, delta: float) -> float:
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if gaussian_exact_delta(sigma, mid) > delta:
            lo = mid
        else:
            hi = mid
    return lo


def rdp_epsilon(rho: float, delta: float) -> float:
    accountant = dpacc.rdp.RdpAccountant()
    accountant.compose(dpacc.ZCDpEvent(rho))
    return accountant.get_epsilon(delta)


# (rho, delta, BS16 simple bound, CKS20 continuous-order optimum), from the notes' reference run
TABLE = [
    (1 / 32, 1e-3, 0.9604805472, 0.6880024555),
    (0.025, 1e-6, 1.2003940002, 1.0140742547),
    (0.1, 1e-5, 2.2459660263, 1.9142388320),
    (0.5, 1e-6, 5.7565217698, 5.2215344445),
    (1.0, 1e-6, 8.4338443777, 7.7662166253),
    (2.0, 1e-9, 14.8757961577, 14.1501475539),
]


# -- pinned exact values --------------------------------------------------------------------


def test_cdp_rho_pinned_to_ten_digits():
    # Setup / Run
    ours = cdp_rho(1.0, 1e-9)
    # Assert: a literal constant and an independent algorithm (bisection on delta)
    assert ours == pytest.approx(0.0149730577, abs=5e-11)
    assert ours == pytest.approx(steinke_cdp_rho(1.0, 1e-9), rel=1e-10)
    assert cdp_epsilon(ours, 1e-9) <= 1.0


@pytest.mark.parametrize(("rho", "delta", "simple", "tight"), TABLE)
def test_cdp_epsilon_matches_reference_table(rho, delta, simple, tight):
    # Run
    ours = cdp_epsilon(rho, delta)
    # Assert
    assert ours == pytest.approx(tight, abs=1e-9)
    assert cdp_epsilon_simple(rho, delta) == pytest.approx(simple, abs=1e-9)
    assert ours <= cdp_epsilon_simple(rho, delta)


def test_opendp_regression_constants():
    # OpenDP's conservative-rounding implementation (zCDP_to_approxDP tests, test_meas.py)
    assert cdp_epsilon(1 / 32, 1e-3) == pytest.approx(0.6880024554878085, rel=1e-12)
    assert cdp_epsilon(0.5, 1e-6) == pytest.approx(5.22153444453017, rel=1e-12)
    assert cdp_delta(0.05, 0.25) == pytest.approx(8.17727531036956e-2, rel=1e-11)
    assert cdp_delta(0.5, 0.0) == pytest.approx(0.5588356393474351, rel=1e-11)
    assert cdp_delta(5e-30, 1e-13) == pytest.approx(2.619676329730346e-234, rel=1e-9)
    assert cdp_epsilon(0.5, cdp_delta(0.5, 0.0)) == pytest.approx(0.0, abs=1e-12)


# -- dp-accounting --------------------------------------------------------------------------


@pytest.mark.parametrize(("rho", "delta", "simple", "tight"), TABLE)
def test_never_below_dp_accounting_grid_and_close_to_it(rho, delta, simple, tight):
    # Run: dp-accounting minimises the same bound over a discrete grid of orders
    ref = rdp_epsilon(rho, delta)
    ours = cdp_epsilon(rho, delta)
    # Assert
    assert ours <= ref + 1e-12
    assert ref - ours < 5e-4


@pytest.mark.parametrize(("rho", "delta"), [(1 / 32, 1e-3), (0.3, 1e-7), (2.0, 1e-9)])
def test_coincides_with_dp_accounting_formula_at_the_optimal_order(rho, delta):
    # Setup: dp-accounting's own conversion, minimised over a continuous order
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    def at(order: float) -> float:
        return compute_epsilon([order], [order * rho], delta)[0]

    best = optimize.minimize_scalar(
        at, bounds=(1.001, 2000), method="bounded", options={"xatol": 1e-9}
    )
    # Run / Assert
    assert cdp_epsilon(rho, delta) == pytest.approx(best.fun, abs=1e-6)


def test_gaussian_event_is_zcdp_event():
    # Setup: GaussianDpEvent(sigma) has rho = 1/(2 sigma^2) (upstream test_zcdp_matches_gaussian)
    accountant = dpacc.rdp.RdpAccountant()
    accountant.compose(dpacc.GaussianDpEvent(2.0))
    # Run / Assert
    assert accountant.get_epsilon(1e-6) == pytest.approx(rdp_epsilon(gaussian_rho(1.0, 2.0), 1e-6))
    assert cdp_epsilon(gaussian_rho(1.0, 2.0), 1e-6) <= accountant.get_epsilon(1e-6) + 1e-12


def test_cdp_rho_lands_within_the_dp_accounting_gap():
    # Run
    rho = cdp_rho(1.0, 1e-6)
    # Assert: dp-accounting's (grid) epsilon of that rho is epsilon, up to its grid gap
    assert 1.0 - 1e-9 <= rdp_epsilon(rho, 1e-6) < 1.0 + 5e-4


# -- conservative against the exact Gaussian curve ------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 5.0, 20.0])
def test_never_claims_less_than_the_exact_gaussian_curve(sigma):
    # Setup
    rho = gaussian_rho(1.0, sigma)
    # Run / Assert: delta side and epsilon side
    for eps in (0.0, 0.1, 0.5, 1.0, 2.0, 5.0):
        assert cdp_delta(rho, eps) >= gaussian_exact_delta(sigma, eps)
    for delta in (1e-3, 1e-6, 1e-9):
        exact = gaussian_exact_epsilon(sigma, delta)
        assert cdp_epsilon(rho, delta) >= exact
        assert cdp_rho(exact, delta) <= rho


def test_never_below_the_pld_accountant():
    # Setup: the PLD accountant is (close to) the exact Gaussian privacy profile
    pld = dpacc.pld.PLDAccountant()
    pld.compose(dpacc.GaussianDpEvent(1.5))
    # Run / Assert
    assert cdp_epsilon(gaussian_rho(1.0, 1.5), 1e-6) >= pld.get_epsilon(1e-6)


# -- round trips and monotonicity -----------------------------------------------------------


@pytest.mark.parametrize("rho", [1e-4, 0.01, 0.125, 1.0, 10.0])
@pytest.mark.parametrize("delta", [1e-3, 1e-6, 1e-10])
def test_round_trips(rho, delta):
    # Run
    eps = cdp_epsilon(rho, delta)
    # Assert
    assert cdp_rho(eps, delta) == pytest.approx(rho, rel=1e-9)
    assert cdp_delta(rho, eps) == pytest.approx(delta, rel=1e-6)
    back = cdp_epsilon(cdp_rho(eps, delta), delta)
    assert eps - 1e-9 <= back <= eps


def test_monotone_in_rho_and_delta():
    rhos = [0.001, 0.01, 0.1, 1.0, 10.0]
    assert all(
        cdp_epsilon(a, 1e-6) < cdp_epsilon(b, 1e-6) for a, b in zip(rhos, rhos[1:], strict=False)
    )
    deltas = [1e-12, 1e-9, 1e-6, 1e-3]
    assert all(
        cdp_epsilon(0.1, a) > cdp_epsilon(0.1, b) for a, b in zip(deltas, deltas[1:], strict=False)
    )


@pytest.mark.parametrize(("eps", "delta"), [(0.1, 1e-6), (1.0, 1e-9), (8.0, 1e-5)])
def test_tight_conversion_beats_the_simple_bound(eps, delta):
    simple = cdp_rho_simple(eps, delta)
    assert cdp_epsilon_simple(simple, delta) == pytest.approx(eps, rel=1e-12)
    assert cdp_rho(eps, delta) > simple


# -- edge cases and invalid input -----------------------------------------------------------


def test_infinite_and_zero_budgets():
    assert cdp_rho(math.inf, 1e-6) == math.inf
    assert sigma_for_rho(math.inf) == 0.0
    assert cdp_rho(1.0, 0.0) == 0.0
    assert cdp_epsilon(0.0, 1e-6) == 0.0
    assert cdp_epsilon(0.1, 0.0) == math.inf
    assert cdp_epsilon(math.inf, 1e-6) == math.inf
    assert cdp_delta(math.inf, 3.0) == 1.0
    assert cdp_delta(0.5, math.inf) == 0.0
    assert sigma_for_rho(0.0) == math.inf


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: cdp_rho(-1.0, 1e-6), "epsilon"),
        (lambda: cdp_rho(1.0, 1.0), "delta"),
        (lambda: cdp_rho(1.0, -1e-6), "delta"),
        (lambda: cdp_epsilon(float("nan"), 1e-6), "rho"),
        (lambda: cdp_delta(0.1, -0.5), "epsilon"),
        (lambda: gaussian_rho(1.0, -2.0), "sigma"),
        (lambda: sigma_for_rho(0.1, math.inf), "sensitivity"),
        (lambda: cdp_epsilon("a lot", 1e-6), "rho"),
    ],
)
def test_invalid_input_names_the_bad_value(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# -- Gaussian calibration -------------------------------------------------------------------


def test_gaussian_rho_exact_values():
    assert gaussian_rho(1.0, 2.0) == 0.125
    assert gaussian_rho(2.0, 1.0) == 2.0
    assert gaussian_rho(1.0, 0.0) == math.inf
    assert gaussian_rho(0.0, 3.0) == 0.0


@pytest.mark.parametrize("rho", [1e-6, 0.0123, 0.1, 1 / 3, 2.5, 77.0])
@pytest.mark.parametrize("sens", [1.0, 2.0, 3.7])
def test_sigma_for_rho_is_smallest_safe_sigma(rho, sens):
    # Run
    sigma = sigma_for_rho(rho, sens)
    # Assert: within budget, and one float less would not be
    assert gaussian_rho(sens, sigma) <= rho
    assert gaussian_rho(sens, math.nextafter(sigma, 0.0)) > rho or sigma == pytest.approx(
        sens / math.sqrt(2 * rho), rel=1e-15
    )


# -- distributed discrete Gaussian ----------------------------------------------------------


def test_tau_reference_values():
    # Independent sums of the [KLS21] definition, and the notes' reference runs
    s2 = 0.5
    direct = 10 * sum(math.exp(-2 * math.pi**2 * s2 * k / (k + 1)) for k in range(1, 8))
    assert distributed_dgauss_tau(math.sqrt(s2), 8) == pytest.approx(direct, rel=1e-14)
    assert distributed_dgauss_tau(math.sqrt(s2), 8) == pytest.approx(0.1022, abs=5e-5)
    assert distributed_dgauss_tau(1.0, 16) == pytest.approx(5.4e-4, rel=0.02)
    assert distributed_dgauss_tau(5.0, 5) == pytest.approx(7e-107, rel=0.05)
    assert distributed_dgauss_tau(3.0, 1) == 0.0


def test_distributed_rho_formula():
    # Setup
    sens, s, n, d = 1.0, math.sqrt(0.5), 8, 3
    tau = distributed_dgauss_tau(s, n)
    with_xi = sens**2 / (2 * n * s**2) + tau * d
    shifted = 0.5 * (sens / math.sqrt(n * s**2) + tau * math.sqrt(d)) ** 2
    # Run / Assert
    assert distributed_dgauss_rho(sens, s, n, dimension=d) == pytest.approx(min(with_xi, shifted))
    assert distributed_dgauss_rho(sens, s, n, dimension=d) > gaussian_rho(sens, math.sqrt(n) * s)


def test_one_share_is_the_plain_discrete_gaussian():
    assert distributed_dgauss_rho(2.0, 4.0, 1, dimension=1000) == gaussian_rho(2.0, 4.0)


def test_large_shares_approach_the_central_rho():
    # sigma_share = 5: tau ~ 1e-106, so the sum behaves like one N_Z(0, n sigma^2)
    assert distributed_dgauss_rho(1.0, 5.0, 4, dimension=10**6) == pytest.approx(
        gaussian_rho(1.0, 10.0), rel=1e-12
    )


def test_fewer_shares_cost_more():
    costs = [distributed_dgauss_rho(1.0, 1.0, n, dimension=50) for n in (2, 3, 5, 10)]
    assert costs == sorted(costs, reverse=True)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sigma_share": 0.49}, "sigma_share"),
        ({"n_shares": 0}, "n_shares"),
        ({"dimension": 0}, "dimension"),
        ({"sensitivity": -1.0}, "sensitivity"),
    ],
)
def test_distributed_rho_rejects_invalid_input(kwargs, name):
    args = {"sensitivity": 1.0, "sigma_share": 1.0, "n_shares": 3, "dimension": 2} | kwargs
    with pytest.raises(ValueError, match=name):
        distributed_dgauss_rho(
            args["sensitivity"], args["sigma_share"], args["n_shares"], dimension=args["dimension"]
        )


@pytest.mark.parametrize("call", [
    lambda: sigma_for_rho(0.5, sensitivity=math.inf),
    lambda: sigma_for_rho(math.inf, sensitivity=math.inf),
    lambda: distributed_dgauss_rho(math.inf, 2.0, 3, dimension=1),
    lambda: distributed_dgauss_rho(1.0, math.inf, 3, dimension=1),
])
def test_an_infinite_sensitivity_or_share_is_refused_not_turned_into_no_noise(call):
    # sigma_for_rho(inf, sensitivity=inf) would otherwise return 0.0: no noise at all
    with pytest.raises(ParameterError, match="finite non-negative"):
        call()
