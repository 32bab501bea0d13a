"""Accounting for noisy gradient descent (DP-SGD) in the ledger's unit, zCDP ρ.

The neural synthesizers train with DP gradient descent: each step sums per-record gradients,
each clipped to L2 norm C, and adds Gaussian noise of standard deviation σ·Δ (σ is the
*noise multiplier*, Δ the L2 sensitivity of the sum). The standard accountant of DP-SGD
([MTZ19], Opacus, dp-accounting) tracks the Rényi-DP curve ε(α) of the **Poisson-subsampled**
Gaussian mechanism, where each record joins a step's batch with probability q. synthema's
ledger holds one number, ρ, meaning D_α ≤ ρ·α for **every** order α > 1 ([BS16]); so the
sound conversion of an RDP curve is ρ = sup_{α>1} ε(α)/α. For the subsampled Gaussian:

- ε_q(α) ≤ α/(2σ²) at every order and every q, because the Rényi divergence's
  exp((α−1)·D_α) is jointly convex, so mixing with the unchanged distribution (the record not
  sampled) can only shrink it ([MTZ19] Sec. 3; checked at every order in the tests);
- ε_q(α)/α → 1/(2σ²) as α → ∞ for every q > 0: the top term of [MTZ19]'s sum,
  q^α·exp(α(α−1)/(2σ²)), dominates, so log(A_α)/(α(α−1)) → 1/(2σ²).

Hence sup_α ε_q(α)/α = 1/(2σ²) exactly, for any q > 0: **in zCDP, subsampling buys no
privacy**. A zCDP ledger can only charge a subsampled step as an unsampled one, ρ = 1/(2σ²),
which is what :func:`dpsgd_rho` does. That is sound, and exact for q = 1 (full-batch noisy
gradient descent: every record in every step). With q < 1 it overstates the cost, because the
(ε, δ) a dedicated RDP accountant derives uses only the moderate orders, where amplification is
large; :func:`rdp_epsilon` gives that figure so the gap can be reported (docs/privacy.md
tabulates it). Since a step costs the same ρ whatever q, and the noise on the gradient sum is
the same while the signal grows with the batch, synthema trains with full batches (q = 1):
the zCDP charge is then exact and the accounting has no looseness left to lose.

References:
    [MTZ19] I. Mironov, K. Talwar, L. Zhang. Rényi Differential Privacy of the Sampled
        Gaussian Mechanism. arXiv:1908.10530 (Sec. 3.3: A_α for integer α).
    [BS16] see :mod:`synthema.privacy.analysis`.

>>> dpsgd_rho(noise_multiplier=2.0, steps=10)
1.25
>>> sigma = noise_multiplier_for_rho(1.25, steps=10)
>>> sigma >= 2.0 and dpsgd_rho(noise_multiplier=sigma, steps=10) <= 1.25
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln, logsumexp

from synthema.errors import ParameterError
from synthema.privacy.analysis import _number, gaussian_rho

_FIX = "give the noise multiplier as a number > 0 and the steps as an integer >= 0"


def _steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ParameterError(f"steps must be an integer >= 0, got {steps!r}", fix=_FIX)
    return int(steps)


def _rate(sample_rate: float) -> float:
    q = _number("sample_rate", sample_rate, allow_inf=False)
    if q > 1:
        raise ParameterError(f"sample_rate must be in [0, 1], got {sample_rate!r}",
                             fix="give the probability that a record joins a step's batch")
    return q


def sampled_gaussian_rdp(
    sample_rate: float, noise_multiplier: float, orders: Sequence[int]
) -> np.ndarray:
    """RDP ε(α) of one step of the Poisson-subsampled Gaussian mechanism, integer orders.

    [MTZ19] Sec. 3.3: for integer α ≥ 2, ε(α) = log(A_α)/(α − 1) with
    A_α = Σ_{k=0}^{α} C(α, k)·(1−q)^{α−k}·q^k·exp((k² − k)/(2σ²)), summed in log space.
    Exact, not a bound, for the add-or-remove-one neighbour relation.

    Args:
        sample_rate: q, the probability that a record is in a step's batch.
        noise_multiplier: σ, the noise's standard deviation over the L2 sensitivity.
        orders: integer Rényi orders ≥ 2.

    Returns:
        ε(α) for each order (``inf`` when σ = 0 and q > 0).

    >>> [round(float(e), 6) for e in sampled_gaussian_rdp(1.0, 2.0, [2, 10])]
    [0.25, 1.25]
    """
    q, sigma = _rate(sample_rate), _number("noise_multiplier", noise_multiplier)
    out = []
    for alpha in orders:
        if isinstance(alpha, bool) or int(alpha) != alpha or alpha < 2:
            raise ValueError(f"orders must be integers >= 2, got {alpha!r}")
        alpha = int(alpha)
        if q == 0:
            out.append(0.0)
        elif sigma == 0:
            out.append(math.inf)
        elif q == 1:
            out.append(alpha / (2 * sigma**2))
        else:
            k = np.arange(alpha + 1, dtype=float)
            log_comb = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(alpha - k + 1)
            terms = (log_comb + k * math.log(q) + (alpha - k) * math.log1p(-q)
                     + (k * k - k) / (2 * sigma**2))
            out.append(float(logsumexp(terms)) / (alpha - 1))
    return np.array(out, dtype=float)


def dpsgd_rho(*, noise_multiplier: float, steps: int, sample_rate: float = 1.0) -> float:
    """zCDP ρ of ``steps`` noisy gradient steps: steps/(2σ²), whatever the sample rate.

    This is sup over α of the composed RDP curve divided by α (see the module docstring for
    why subsampling does not lower it), i.e. the tightest ρ a zCDP ledger can soundly hold.
    ``sample_rate`` is accepted and checked only so that callers state their sampling; it
    never lowers the charge.

    Raises:
        ParameterError: a negative or non-numeric argument.

    >>> dpsgd_rho(noise_multiplier=1.0, steps=100, sample_rate=0.01)
    50.0
    >>> dpsgd_rho(noise_multiplier=0.0, steps=1), dpsgd_rho(noise_multiplier=0.0, steps=0)
    (inf, 0.0)
    """
    steps, q = _steps(steps), _rate(sample_rate)
    sigma = _number("noise_multiplier", noise_multiplier)
    if steps == 0 or q == 0:
        return 0.0
    return steps * gaussian_rho(1.0, sigma)


def noise_multiplier_for_rho(rho: float, *, steps: int) -> float:
    """Smallest σ with ``dpsgd_rho(noise_multiplier=σ, steps=steps) <= rho`` (checked).

    ρ = inf gives σ = 0 (no noise, not private); ρ = 0 gives σ = inf (no step may run).

    >>> noise_multiplier_for_rho(0.125, steps=1)
    2.0
    >>> noise_multiplier_for_rho(float("inf"), steps=5), noise_multiplier_for_rho(0.0, steps=5)
    (0.0, inf)
    """
    rho, steps = _number("rho", rho), _steps(steps)
    if steps == 0 or math.isinf(rho):
        return 0.0
    if rho == 0:
        return math.inf
    sigma = math.sqrt(steps / (2 * rho))
    while dpsgd_rho(noise_multiplier=sigma, steps=steps) > rho:
        sigma = math.nextafter(sigma, math.inf)
    return sigma


def rdp_epsilon(
    *, noise_multiplier: float, steps: int, sample_rate: float, delta: float,
    orders: Sequence[int] = tuple(range(2, 257)),
) -> float:
    """(ε, δ) of DP-SGD from its RDP curve, as a dedicated RDP accountant reports it.

    Composes ``steps`` times :func:`sampled_gaussian_rdp` and converts with the [CKS20]
    Prop. 12 bound at the best integer order. It is **not** what the ledger charges (see the
    module docstring); it measures how much a zCDP ledger gives away when q < 1.

    >>> round(rdp_epsilon(noise_multiplier=1.0, steps=1000, sample_rate=0.01, delta=1e-5), 2)
    2.11
    """
    from synthema.privacy.analysis import _delta, _log1m_inv

    delta, steps = _delta(delta), _steps(steps)
    if delta == 0:
        return math.inf
    alphas = np.array(list(orders), dtype=float)
    rdp = steps * sampled_gaussian_rdp(sample_rate, noise_multiplier, list(orders))
    eps = (rdp + np.array([_log1m_inv(a) for a in alphas])
           - (math.log(delta) + np.log(alphas)) / (alphas - 1))
    return max(0.0, float(np.min(eps)))


def lattice_sensitivity(*, clip: float, scale: float, dimension: int) -> float:
    """L2 sensitivity of ``rint(scale · Σ clip_C(g_i))``: scale·C + √d.

    One record moves the real sum by at most C in L2, so scale·C after scaling; rounding each
    of the d coordinates to the nearest integer can add at most 1 more to each coordinate's
    difference (|rint(a) − rint(b)| ≤ |a − b| + 1), i.e. √d in L2 (triangle inequality).

    >>> lattice_sensitivity(clip=1.0, scale=1024.0, dimension=100)
    1034.0
    """
    clip = _number("clip", clip, allow_inf=False)
    scale = _number("scale", scale, allow_inf=False)
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise ValueError(f"dimension must be an integer >= 1, got {dimension!r}")
    return scale * clip + math.sqrt(dimension)


SIGMA_CAP = 30_000.0  # largest noise scale the exact int64 sampler takes with an integer σ²


def lattice_scale(*, clip: float, dimension: int, noise_multiplier: float) -> float:
    """The lattice scale γ: as fine as the exact sampler allows, at most 2**20/C.

    The noise scale on the lattice is σ·(γC + √d) and the exact sampler
    (:mod:`~synthema.privacy.mechanisms`) takes at most :data:`SIGMA_CAP`, so
    γ = (SIGMA_CAP/σ − √d)/C. The rounding overhead √d/(γC) widens the noise on the real
    gradient by that factor; it grows with the number of parameters d and the noise
    multiplier σ (more steps or a smaller ε), and is reported by the synthesizers.

    Raises:
        ParameterError: the overhead would pass 100 % (too many parameters for the noise):
            the fix names the knobs.

    >>> lattice_scale(clip=1.0, dimension=10_000, noise_multiplier=50.0)
    500.0
    """
    clip = _number("clip", clip, allow_inf=False)
    sigma = _number("noise_multiplier", noise_multiplier, allow_inf=False)
    if clip == 0:
        raise ParameterError("clip must be > 0", fix="give the per-record gradient norm bound")
    root_d = math.sqrt(dimension)
    top = 2.0**20 if sigma == 0 else min(2.0**20, SIGMA_CAP / sigma - root_d)
    if top < root_d:
        raise ParameterError(
            f"a noise multiplier of {sigma:.4g} on {dimension} parameters leaves the exact "
            "integer noise sampler too coarse a lattice (rounding would more than double "
            "the noise)",
            fix="use a smaller model (hidden/latent sizes), fewer steps, or a larger epsilon",
        )
    return top / clip


def noisy_lattice_sum(
    summed: np.ndarray, *, clip: float, scale: float, noise_multiplier: float
) -> tuple[np.ndarray, int]:
    """The clipped gradient sum on the integer lattice plus discrete Gaussian noise.

    ``rint(scale · summed) + N_Z(0, (σ·Δ)²)`` with Δ from :func:`lattice_sensitivity`: one
    step costs exactly ρ = Δ²/(2(σΔ)²) = 1/(2σ²) ([CKS20] Thm. 4, integer vector of L2
    sensitivity Δ). The noise is exact integer noise from OS entropy
    (:func:`~synthema.privacy.mechanisms.add_discrete_gaussian`), never from a seed (Opacus'
    own noise comes from torch's seedable generator, which is why synthema adds it here).
    The caller must charge :func:`dpsgd_rho` for the step *before* calling this.

    Returns:
        (noisy integer vector, the same shape as ``summed``; Δ rounded up to an int).
    """
    from synthema.privacy.mechanisms import add_discrete_gaussian

    values = np.asarray(summed, dtype=np.float64)
    delta = lattice_sensitivity(clip=clip, scale=scale, dimension=max(values.size, 1))
    sigma = _number("noise_multiplier", noise_multiplier, allow_inf=False) * delta
    lattice = np.rint(values * scale)
    if np.abs(lattice).max(initial=0) >= 2**62:
        raise ValueError("gradient sum too large for int64 at this lattice scale")
    return add_discrete_gaussian(lattice.astype(np.int64), sigma=sigma), math.ceil(delta)
