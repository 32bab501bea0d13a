"""ε and δ from ρ against the same [CKS20] bound minimised in 50-digit arithmetic (mpmath).

The conversions promise an *upper* bound: never below the exact optimum over the Rényi order
α (floating-point error is absorbed by a relative margin of 1e-13), and not looser than that
margin. The references here minimise the closed forms of [CKS20] Prop. 12 / Cor. 13 over α
with a golden-section search in mpmath at 50 significant digits.
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest

from synthema.errors import ParameterError
from synthema.privacy import analysis
from synthema.privacy.analysis import cdp_delta, cdp_epsilon, cdp_rho

mp.mp.dps = 50


def _golden_min(f, lo, hi, steps: int = 300):
    g = (mp.sqrt(5) - 1) / 2
    for _ in range(steps):
        c, d = hi - g * (hi - lo), lo + g * (hi - lo)
        if f(c) < f(d):
            hi = d
        else:
            lo = c
    return f((lo + hi) / 2)


def exact_epsilon(rho: float, delta: float):
    """min over α > 1 of αρ + (log(1/δ) − log α)/(α − 1) + log(1 − 1/α)."""
    r, big_l = mp.mpf(rho), -mp.log(mp.mpf(delta))

    def eps(a):
        return a * r + (big_l - mp.log(a)) / (a - 1) + mp.log(1 - 1 / a)

    star = 1 + mp.sqrt(big_l / r)  # near the optimum; bracket it widely
    return _golden_min(eps, 1 + (star - 1) / 50, 1 + (star - 1) * 50)


def exact_log_delta(rho: float, epsilon: float):
    """min over α > 1 of (α − 1)(αρ − ε) + α log(1 − 1/α) − log(α − 1)."""
    r, e = mp.mpf(rho), mp.mpf(epsilon)

    def log_delta(a):
        return (a - 1) * (a * r - e) + a * mp.log(1 - 1 / a) - mp.log(a - 1)

    return _golden_min(log_delta, 1 + mp.mpf(10) ** -40, (e + 1) / (2 * r) + 10)


CASES = [(1 / 32, 1e-3), (0.025, 1e-6), (0.1, 1e-5), (0.5, 1e-6), (1.0, 1e-6), (2.0, 1e-9),
         (1e-4, 1e-8), (8.0, 1e-12), (0.3, 0.2),
         # ε of 30 to 230: an ulp of ε is above 1e-15, so a margin that shrank with ε (rather
         # than growing with it) would fall below the rounding error and ε below the bound
         (20.0, 1e-9), (100.0, 1e-6), (5.0, 1e-30), (20.0, 0.1)]


@pytest.mark.parametrize(("rho", "delta"), CASES)
def test_epsilon_is_the_exact_optimum_plus_at_most_the_margin(rho, delta):
    # Run
    ours = cdp_epsilon(rho, delta)
    truth = exact_epsilon(rho, delta)
    # Assert: never below the exact bound, at most 1e-12 relative above it
    assert mp.mpf(ours) > truth
    assert mp.mpf(ours) <= truth + mp.mpf("1e-12") * (1 + truth)


@pytest.mark.parametrize(("rho", "epsilon"), [(0.01, 0.02), (0.1, 0.3), (0.5, 1.0), (1.0, 3.0),
                                              (2.0, 6.0), (5.0, 15.0), (0.5, 0.0), (0.1, 1.5),
                                              (1e-3, 0.2),
                                              # log δ of −64 and −32: the margin in the
                                              # exponent must grow with |log δ| to cover the
                                              # rounding of log δ
                                              (0.1, 5.0), (1e-4, 0.1)])
def test_delta_is_the_exact_optimum_plus_at_most_the_margin(rho, epsilon):
    # Run
    ours = cdp_delta(rho, epsilon)
    truth = mp.exp(exact_log_delta(rho, epsilon))
    # Assert
    assert 0 < truth < 1
    assert mp.mpf(ours) > truth
    assert mp.mpf(ours) <= truth * (1 + mp.mpf("1e-11"))


@pytest.mark.parametrize(("rho", "epsilon"), [(50.0, 0.0), (30.0, 1.0), (1e3, 2.0), (20.0, 0.5)])
def test_delta_near_one_is_a_probability_and_never_below_the_bound(rho, epsilon):
    # Setup: here the optimal order is within 1e-9 of 1 and the bound is about 1
    log_truth = exact_log_delta(rho, epsilon)
    assert abs(log_truth) < mp.mpf("1e-6")
    # Run: computed without a domain error near α = 1
    ours = cdp_delta(rho, epsilon)
    # Assert: at least the bound, and a probability (1 where the bound rounds to 1 or more)
    assert min(mp.mpf(1), mp.exp(log_truth)) <= ours <= 1.0


def test_epsilon_and_delta_round_trip_through_the_exact_curves():
    for rho, delta in CASES[:6]:
        eps = cdp_epsilon(rho, delta)
        # δ at that ε is delta itself (up to the two margins), never above it by more
        assert cdp_delta(rho, eps) == pytest.approx(delta, rel=1e-9)
        back = cdp_rho(eps, delta)
        assert back <= rho * (1 + 1e-9) and cdp_epsilon(back, delta) <= eps


@pytest.mark.parametrize("alpha", [1 + 1e-12, 1.0000001, 1.5, 2.0, 2.5, 3.0, 1e6, 1e12, 1e15])
def test_log_one_minus_inverse_alpha_is_accurate_near_one_and_for_huge_orders(alpha):
    # Run
    ours = analysis._log1m_inv(alpha)
    truth = mp.log(1 - 1 / mp.mpf(alpha))
    # Assert: relative accuracy of a few ulps (a cancelling log(α − 1) − log α loses digits
    # for huge α: at α = 1e12 its error is about 1e-3 relative)
    assert abs((mp.mpf(ours) - truth) / truth) < 1e-14


def _kls21_rho(sensitivity: float, s: float, n: int, d: int) -> tuple:
    """[KLS21] Prop. 14 folded into one ρ, in mpmath: (ρ, the ξ arm, the shifted arm)."""
    tau = 10 * mp.fsum(mp.exp(-2 * mp.pi**2 * mp.mpf(s) ** 2 * k / (k + 1)) for k in range(1, n))
    var = n * mp.mpf(s) ** 2
    with_xi = mp.mpf(sensitivity) ** 2 / (2 * var) + tau * d
    shifted = (mp.mpf(sensitivity) / mp.sqrt(var) + tau * mp.sqrt(d)) ** 2 / 2
    return min(with_xi, shifted), with_xi, shifted


@pytest.mark.parametrize(("sens", "s", "n", "d", "arm"), [
    (1.0, 0.5, 2, 1, "xi"),  # small shares: τ ≈ 2.9, the ξ arm is the smaller one
    (3.0, 0.6, 3, 2, "xi"),
    (1.0, math.sqrt(0.5), 8, 3, "shifted"),
    (0.5, 1.0, 2, 50, "shifted"),
])
def test_distributed_rho_is_the_smaller_kls21_arm(sens, s, n, d, arm):
    # Setup
    truth, with_xi, shifted = _kls21_rho(sens, s, n, d)
    assert (with_xi < shifted) is (arm == "xi")  # both arms are exercised
    # Run / Assert
    ours = analysis.distributed_dgauss_rho(sens, s, n, dimension=d)
    assert ours == pytest.approx(float(truth), rel=1e-13)


def test_half_is_the_smallest_share_sigma_accepted():
    assert analysis.distributed_dgauss_rho(1.0, 0.5, 3, dimension=1) == pytest.approx(
        float(_kls21_rho(1.0, 0.5, 3, 1)[0]), rel=1e-13)
    with pytest.raises(ValueError, match="sigma_share must be >= 0.5"):
        analysis.distributed_dgauss_rho(1.0, math.nextafter(0.5, 0), 3, dimension=1)


@pytest.mark.parametrize("call", [
    lambda: analysis.gaussian_rho(math.inf, 1.0),
    lambda: analysis.sigma_for_rho(0.1, math.inf),
    lambda: analysis.distributed_dgauss_tau(math.inf, 2),
    lambda: analysis.distributed_dgauss_rho(math.inf, 1.0, 2, dimension=1),
    lambda: analysis.distributed_dgauss_rho(1.0, math.inf, 2, dimension=1),
])
def test_an_infinite_sensitivity_or_share_is_refused(call):
    with pytest.raises(ValueError, match="must be a finite non-negative number"):
        call()


def test_an_infinite_share_is_refused_before_the_other_arguments_are_judged():
    # Setup: an infinite share and a bad dimension; the share is judged first (as the
    # arguments are listed), so the error names it whatever the rest
    # Run / Assert
    with pytest.raises(ParameterError, match="sigma_share must be a finite non-negative"):
        analysis.distributed_dgauss_rho(1.0, math.inf, 2, dimension=0)


def test_edge_values_of_the_simple_conversions_and_the_calibration():
    # ρ = 0 costs nothing at any δ, even δ = 0; δ = 0 with ρ > 0 has no finite ε
    assert analysis.cdp_epsilon_simple(0.0, 0.0) == 0.0
    assert analysis.cdp_epsilon(0.0, 0.0) == 0.0
    assert analysis.cdp_epsilon_simple(0.5, 0.0) == math.inf
    assert analysis.cdp_epsilon_simple(math.inf, 1e-6) == math.inf
    # the inverse: ε = inf needs no noise, δ = 0 allows no ρ
    assert analysis.cdp_rho_simple(math.inf, 1e-6) == math.inf
    assert analysis.cdp_rho_simple(1.0, 0.0) == 0.0
    assert analysis.cdp_rho_simple(0.0, 1e-6) == 0.0
    # a query that reveals nothing needs no noise, whatever the budget
    assert analysis.sigma_for_rho(0.0, 0.0) == 0.0 and analysis.sigma_for_rho(1.0, 0.0) == 0.0
    # closed forms of the simple bound and its inverse
    big_l = -math.log(1e-6)
    assert analysis.cdp_epsilon_simple(0.5, 1e-6) == pytest.approx(
        0.5 + 2 * math.sqrt(0.5 * big_l), rel=1e-15)
    assert analysis.cdp_rho_simple(2.0, 1e-6) == pytest.approx(
        (math.sqrt(big_l + 2.0) - math.sqrt(big_l)) ** 2, rel=1e-12)


@pytest.mark.parametrize("delta", [1e-9, 1e-6])
def test_cdp_rho_of_a_zero_epsilon_is_the_largest_rho_whose_epsilon_is_zero(delta):
    # Setup: ε = 0 is (0, δ)-DP, which a tiny ρ does give: the exact Gaussian of that ρ
    # moves at most erf(√ρ / 2) of probability (its total variation distance)
    # Run
    rho = analysis.cdp_rho(0.0, delta)
    # Assert: a positive ρ whose ε is 0, the largest such (the next ρ up has ε > 0), and
    # the Gaussian of that ρ is indeed (0, δ)-DP
    assert rho > 0 and analysis.cdp_epsilon(rho, delta) == 0.0
    assert analysis.cdp_epsilon(math.nextafter(rho, math.inf), delta) > 0.0
    assert mp.erf(mp.sqrt(mp.mpf(rho)) / 2) <= delta


@pytest.mark.parametrize("delta", [1e-6, 0.5, 0.9, 0.999])
def test_cdp_rho_is_the_largest_rho_within_epsilon_also_for_a_large_delta(delta):
    # Setup: with δ near 1 the bound allows ρ far above ε + 1, so the search must widen
    # Run
    rho = analysis.cdp_rho(0.1, delta)
    # Assert: within ε, and any noticeably larger ρ is not
    assert analysis.cdp_epsilon(rho, delta) <= 0.1
    assert analysis.cdp_epsilon(rho * (1 + 1e-9), delta) > 0.1
    if delta >= 0.9:
        assert rho > 0.1 + 1.0
