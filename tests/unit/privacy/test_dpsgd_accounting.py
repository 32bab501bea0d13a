"""DP-SGD accounting (issue 16) against dp-accounting's RDP accountant and brute force.

The ledger holds zCDP ρ; DP-SGD is accounted in Rényi DP. These tests pin the conversion:
the RDP curve equals dp-accounting's (PoissonSampledDpEvent of a GaussianDpEvent), the ρ
charged is never below ε(α)/α at any order (sound) and is the limit of ε(α)/α (no tighter
ρ exists), and the (ε, δ) a user sees from the ledger is never smaller than what
dp-accounting reports for the same training.
"""

from __future__ import annotations

import math

import dp_accounting as dpacc
import numpy as np
import pytest

from synthema.errors import ParameterError
from synthema.privacy import cdp_epsilon
from synthema.privacy.dpsgd import (
    SIGMA_CAP,
    dpsgd_rho,
    lattice_scale,
    lattice_sensitivity,
    noise_multiplier_for_rho,
    noisy_lattice_sum,
    rdp_epsilon,
    sampled_gaussian_rdp,
)

ORDERS = list(range(2, 257))
CASES = [(0.01, 1.0, 1000), (0.1, 2.0, 200), (0.5, 0.8, 50), (1.0, 3.0, 100)]
SUBSAMPLED = [c for c in CASES if c[0] < 1]


def reference_rdp(q: float, sigma: float, steps: int) -> np.ndarray:
    acc = dpacc.rdp.RdpAccountant(orders=ORDERS)
    acc.compose(dpacc.PoissonSampledDpEvent(q, dpacc.GaussianDpEvent(sigma)), steps)
    return np.asarray(acc._rdp)


@pytest.mark.parametrize("q,sigma,steps", CASES)
def test_rdp_curve_equals_dp_accounting(q, sigma, steps):
    # Run
    ours = steps * sampled_gaussian_rdp(q, sigma, ORDERS)

    # Assert
    np.testing.assert_allclose(ours, reference_rdp(q, sigma, steps), rtol=1e-10)


@pytest.mark.parametrize("q,sigma,steps", CASES)
def test_charged_rho_bounds_every_order_and_is_their_limit(q, sigma, steps):
    # Setup: orders far beyond dp-accounting's grid, where ε(α)/α approaches its supremum
    orders = np.unique(np.geomspace(2, 20_000, 400).astype(int))

    # Run
    rho = dpsgd_rho(noise_multiplier=sigma, steps=steps, sample_rate=q)
    ratio = steps * sampled_gaussian_rdp(q, sigma, orders) / orders

    # Assert: sound at every order, and no smaller ρ would be (the ratio tends to ρ)
    assert rho == pytest.approx(steps / (2 * sigma**2))
    assert np.all(ratio <= rho * (1 + 1e-12))
    assert ratio[-1] > 0.995 * rho


@pytest.mark.parametrize("q,sigma,steps", SUBSAMPLED)
def test_ledger_epsilon_is_never_below_dp_accounting(q, sigma, steps):
    # Setup: dp-accounting's default orders include fractional ones (1.25, 1.5, ...)
    delta = 1e-5
    acc = dpacc.rdp.RdpAccountant()
    acc.compose(dpacc.PoissonSampledDpEvent(q, dpacc.GaussianDpEvent(sigma)), steps)
    on_our_orders = dpacc.rdp.RdpAccountant(orders=ORDERS)
    on_our_orders.compose(dpacc.PoissonSampledDpEvent(q, dpacc.GaussianDpEvent(sigma)), steps)

    # Run
    ledger_eps = cdp_epsilon(dpsgd_rho(noise_multiplier=sigma, steps=steps, sample_rate=q), delta)
    rdp_eps = rdp_epsilon(noise_multiplier=sigma, steps=steps, sample_rate=q, delta=delta,
                          orders=ORDERS)

    # Assert: our RDP figure is dp-accounting's; the ledger's is never smaller
    assert rdp_eps == pytest.approx(on_our_orders.get_epsilon(delta), rel=1e-9)
    assert ledger_eps >= acc.get_epsilon(delta)


def test_full_batch_charge_is_exact_against_dp_accounting():
    # Setup: q = 1 is a plain Gaussian: zCDP is exact, the ledger loses only the order grid
    sigma, steps, delta = 20.0, 100, 1e-6
    acc = dpacc.rdp.RdpAccountant()
    acc.compose(dpacc.GaussianDpEvent(sigma), steps)

    # Run
    ours = cdp_epsilon(dpsgd_rho(noise_multiplier=sigma, steps=steps), delta)

    # Assert
    ref = acc.get_epsilon(delta)
    assert ours <= ref + 1e-12 and ref - ours < 5e-3


@pytest.mark.parametrize("rho,steps", [(0.024356, 100), (1.0, 7), (1e-4, 3000)])
def test_noise_multiplier_for_rho_is_the_smallest_within_budget(rho, steps):
    # Run
    sigma = noise_multiplier_for_rho(rho, steps=steps)

    # Assert
    assert dpsgd_rho(noise_multiplier=sigma, steps=steps) <= rho
    smaller = math.nextafter(sigma, 0) * (1 - 1e-12)
    assert dpsgd_rho(noise_multiplier=smaller, steps=steps) > rho


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_bad_steps_are_refused(bad):
    with pytest.raises(ParameterError, match="steps"):
        dpsgd_rho(noise_multiplier=1.0, steps=bad)


def test_lattice_sensitivity_holds_for_adversarial_neighbours():
    # Setup: sums sitting on rounding boundaries, neighbours differing by a clipped gradient
    rng = np.random.default_rng(3)
    clip, scale, d = 1.0, 7.0, 50
    bound = lattice_sensitivity(clip=clip, scale=scale, dimension=d)
    worst = 0.0
    for _ in range(2000):
        s = (rng.integers(-20, 20, d) + 0.5 - 1e-9) / scale  # everything just below a tie
        g = rng.normal(size=d)
        g *= clip / np.linalg.norm(g) * rng.uniform(0.9, 1.0)
        for other in (s + g, s - g):
            diff = np.rint(s * scale) - np.rint(other * scale)
            worst = max(worst, float(np.linalg.norm(diff)))

    # Assert: never above the bound, and the rounding term is really needed (> scale·C)
    assert worst <= bound
    assert worst > scale * clip


def test_noisy_lattice_sum_has_the_charged_scale():
    # Setup
    summed = np.linspace(-3, 3, 40_000)
    sigma = 4.0
    scale = lattice_scale(clip=1.0, dimension=summed.size, noise_multiplier=sigma)

    # Run
    noisy, delta = noisy_lattice_sum(summed, clip=1.0, scale=scale, noise_multiplier=sigma)

    # Assert: integers around rint(scale·sum); noise sd is σ·Δ within 3 % (40k draws)
    noise = noisy - np.rint(summed * scale)
    assert noisy.dtype == np.int64
    assert abs(noise.std() / (sigma * delta) - 1) < 0.03
    assert abs(noise.mean()) < 5 * sigma * delta / math.sqrt(summed.size)


def test_lattice_is_as_fine_as_the_sampler_allows_and_refuses_overhead():
    # Run
    scale = lattice_scale(clip=0.5, dimension=400, noise_multiplier=10.0)

    # Assert
    assert 10.0 * lattice_sensitivity(clip=0.5, scale=scale, dimension=400) <= SIGMA_CAP
    with pytest.raises(ParameterError, match="too coarse"):
        lattice_scale(clip=1.0, dimension=200_000, noise_multiplier=100.0)
