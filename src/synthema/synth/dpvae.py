"""DP-VAE: a tabular variational autoencoder trained with DP gradient descent (issue 16).

The model reads each record as one-hot codes of the **public** domain (the dictionary's
categories, bounds and clinical cut points, *missing* as a code), never as values scaled by
data statistics: no mean, quantile or mode of the data is used to preprocess. An encoder maps a
record to a Gaussian posterior over a small latent space, a decoder maps latent points back to
one categorical distribution per attribute (TVAE-like, with the within-bin values drawn from
the codes as for every synthesizer). Codes the dictionary forbids (missing in a required
variable) get probability 0.

Privacy: record-level (one patient is one row). Training is full-batch DP gradient descent
(:mod:`synthema.synth._neural`): per-record gradients clipped to ``clip`` by Opacus, summed,
put on an integer lattice and given exact discrete Gaussian noise from OS entropy. The noise
multiplier σ is calibrated so that ``steps`` steps cost ρ(ε, δ) in all
(:func:`~synthema.privacy.dpsgd.noise_multiplier_for_rho`), the whole plan is checked against
the budget before training starts, and each step's ρ is charged before its noisy gradient is
computed. Before training, 30 % of ρ buys noisy one-way marginals through the statistics
seam (as the independent baseline measures them); their logarithms start the decoder's output
bias, so DP-SGD spends its steps on the associations instead of relearning each column's
distribution. Everything after training (sampling, repair) is post-processing.

Fitting needs the ``neural`` extra (torch, Opacus); sampling a fitted or saved model runs in
numpy. The model needs the records, so it fits on a DataFrame or a
:class:`~synthema.stats.CentralSource`; a federated statistics source is refused (federated
DP-SGD by FedAvg over SecAgg+ is not built yet).
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.errors import SynthemaError
from synthema.privacy.dpsgd import dpsgd_rho, noise_multiplier_for_rho
from synthema.schema import Dictionary
from synthema.stats import CentralSource, Domain, Measurement, StatisticsSource
from synthema.stats.central import dp_training_codes
from synthema.synth.base import BaseSynthesizer, FitContext
from synthema.synth.pgm import estimated_total, one_way_probabilities, structural_zeros

_LOG = logging.getLogger(__name__)


def _int_in(low: int, high: int):
    def check(value) -> bool:
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and low <= value <= high)
    return check


def _positive(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


@dataclass(frozen=True)
class Layout:
    """Where each attribute's one-hot block sits, and which codes the dictionary forbids."""

    sizes: tuple[int, ...]
    mask: np.ndarray  # additive logit mask over the one-hot width: 0 or -inf

    @property
    def width(self) -> int:
        return int(sum(self.sizes))

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    @classmethod
    def of(
        cls, domain: Domain, dictionary: Dictionary, measurements: Sequence[Measurement] = ()
    ) -> Layout:
        """The layout of ``domain``: sizes and the structural zeros of *missing*.

        Without ``measurements``, public information only (required variables); with them,
        also the columns whose noisy answers show no missing mass (:func:`structural_zeros`).
        """
        sizes = tuple(domain[a].size for a in domain.names)
        layout = cls(sizes, np.zeros(sum(sizes)))
        mask = layout.mask.copy()
        zeros = structural_zeros(domain, dictionary, measurements)
        for j, name in enumerate(domain.names):
            if (name,) in zeros:
                start = layout.offsets[j]
                mask[start:start + sizes[j]] += zeros[(name,)]
        return cls(sizes, mask)


def one_hot(codes: np.ndarray, layout: Layout) -> np.ndarray:
    """(rows, attributes) codes -> (rows, width) float32 one-hot.

    >>> one_hot(np.array([[1, 0]]), Layout((2, 3), np.zeros(5))).tolist()
    [[0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    out = np.zeros((codes.shape[0], layout.width), dtype=np.float32)
    out[np.arange(codes.shape[0])[:, None], codes + layout.offsets[None, :]] = 1.0
    return out


def _mlp(x: np.ndarray, w: dict[str, np.ndarray], part: str) -> np.ndarray:
    hidden = np.maximum(x @ w[f"{part}.0.weight"].T + w[f"{part}.0.bias"], 0.0)
    return hidden @ w[f"{part}.2.weight"].T + w[f"{part}.2.bias"]


def _log_softmax(block: np.ndarray) -> np.ndarray:
    top = np.max(block, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    shifted = block - top
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class _Records:
    """A central source whose records a DP-SGD fit reads (only under clipping and noise)."""

    def __init__(self, source: CentralSource) -> None:
        self.source = source
        self.domain = source.domain

    def codes(self, names: tuple[str, ...]) -> np.ndarray:
        codes = dp_training_codes(self.source)
        return codes[:, [self.domain.names.index(n) for n in names]]


class DPVAESynthesizer(BaseSynthesizer):
    """Differentially private tabular VAE (DP gradient descent with Opacus clipping).

    Args:
        dictionary: a :class:`~synthema.schema.Dictionary`, or a built-in name or YAML path.
        epsilon: ε of (ε, δ)-DP (``inf``: clipped but un-noised gradients, not private).
        delta: δ of (ε, δ)-DP.
        random_state: seed of the initial weights, the VAE's latent draws and sampling (never
            of the privacy noise, which comes from the OS).
        steps: gradient steps over the whole table; more steps means more noise per step.
        hidden: width of the encoder's and decoder's hidden layer.
        latent: dimension of the latent space.
        clip: L2 bound of each record's gradient (the sensitivity of a step).
        learning_rate: the optimizer's step size.
        optimizer: ``adam``, or ``sgd`` (gradient descent on the mean gradient: the sum
            divided by the noisy number of patients from the one-way marginals).
    """

    method = "dpvae"
    private = True
    label = "differentially private (VAE, DP gradient descent)"
    MARGINAL_SHARE = 0.3
    """Share of ρ for the noisy one-way marginals that start the decoder's output bias."""
    _parameter_constraints = {
        "steps": _int_in(1, 100_000),
        "hidden": _int_in(1, 4096),
        "latent": _int_in(1, 512),
        "clip": _positive,
        "learning_rate": _positive,
        "optimizer": lambda v: v in ("adam", "sgd"),
    }

    def __init__(
        self,
        *,
        dictionary: Dictionary | str,
        epsilon: float = 1.0,
        delta: float = 1e-6,
        random_state: int | None = None,
        steps: int = 30,
        hidden: int = 32,
        latent: int = 8,
        clip: float = 1.0,
        learning_rate: float = 0.01,
        optimizer: str = "adam",
    ) -> None:
        super().__init__(dictionary=dictionary, epsilon=epsilon, delta=delta,
                         random_state=random_state)
        self.steps = steps
        self.hidden = hidden
        self.latent = latent
        self.clip = clip
        self.learning_rate = learning_rate
        self.optimizer = optimizer

    def _as_source(self, source, dictionary: Dictionary):
        if isinstance(source, pd.DataFrame):
            return _Records(CentralSource(source, dictionary))
        if isinstance(source, CentralSource):
            return _Records(source)
        if isinstance(source, StatisticsSource):
            raise SynthemaError(
                f"dpvae trains on records with DP-SGD and cannot fit on a "
                f"{type(source).__name__} (noisy marginals only)",
                fix="fit dpvae centrally (synthema synth fit --method dpvae); federated training "
                "of neural models is not available yet: use mst or aim with synthema federate fit",
            )
        return super()._as_source(source, dictionary)

    def noise_multiplier(self, rho: float) -> float:
        """σ for ``steps`` full-batch steps costing ``rho`` in all (0 when not private)."""
        return 0.0 if math.isinf(rho) else noise_multiplier_for_rho(rho, steps=self.steps)

    def _fit(self, fit: FitContext) -> None:
        from synthema.synth._neural import TrainConfig, train_vae  # torch only when fitting

        budget, domain = fit.budget, fit.domain
        layout = Layout.of(domain, fit.dictionary)
        ones = budget.measure_one_way(fit.source.source, domain.names,
                                      rho=budget.rho * self.MARGINAL_SHARE,
                                      label="dpvae: one-way marginals (decoder's output bias)")
        probabilities = one_way_probabilities(ones, domain)
        with np.errstate(divide="ignore"):
            bias = np.concatenate([np.log(np.maximum(probabilities[a], 1e-4))
                                   for a in domain.names])
        rest = budget.remaining * budget.SAFETY
        sigma = self.noise_multiplier(rest if budget.private else math.inf)
        step_rho = dpsgd_rho(noise_multiplier=sigma, steps=1) if budget.private else math.inf
        budget.check_plan(self.steps * step_rho, label=f"dpvae: {self.steps} DP-SGD steps")

        def charge(step: int) -> None:
            budget.charge(step_rho, label=f"dpvae: DP-SGD step {step + 1}/{self.steps}")

        config = TrainConfig(self.hidden, self.latent, int(self.steps), float(self.clip),
                             float(self.learning_rate), sigma,
                             int(fit.rng.integers(2**31 - 1)), self.optimizer,
                             estimated_total(ones))
        weights, summary = train_vae(fit.source.codes(domain.names), layout, config, charge,
                                     output_bias=bias)
        self.weights_ = weights
        # trained with the public layout (a flagged column may still hold a few missing
        # values, whose likelihood must stay finite); sampled with the noisy answers' zeros too
        self.layout_ = Layout.of(domain, fit.dictionary, ones)
        self.training_ = {**summary, "noise_multiplier": sigma, "steps": int(self.steps)}

    # -- sampling (numpy only) ----------------------------------------------------------------
    def _logits(self, z: np.ndarray) -> np.ndarray:
        return _mlp(z, self.weights_, "decoder") + self.layout_.mask

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        latent = self.weights_["decoder.0.weight"].shape[1]
        logits = self._logits(rng.standard_normal((n, latent)))
        codes = np.empty((n, len(self.layout_.sizes)), dtype=np.int64)
        for j, (start, size) in enumerate(zip(self.layout_.offsets, self.layout_.sizes,
                                              strict=True)):
            block = logits[:, start:start + size]
            codes[:, j] = np.argmax(block + rng.gumbel(size=block.shape), axis=1)
        return codes

    def _conditional_logp(self, name: str, codes: np.ndarray) -> np.ndarray:
        """The decoder's distribution of ``name`` given the rest of the row (its block
        blanked), read at the posterior mean: the model's own conditional, for repair."""
        j = self.domain_.names.index(name)
        start, size = int(self.layout_.offsets[j]), self.layout_.sizes[j]
        x = one_hot(np.asarray(codes, dtype=np.int64), self.layout_).astype(np.float64)
        x[:, start:start + size] = 0.0
        latent = self.weights_["decoder.0.weight"].shape[1]
        mu = _mlp(x, self.weights_, "encoder")[:, :latent]
        return _log_softmax(self._logits(mu)[:, start:start + size])

    # -- persistence --------------------------------------------------------------------------
    def _state(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays = {f"w:{k}": v for k, v in self.weights_.items()}
        arrays["mask"] = self.layout_.mask
        return {"sizes": list(self.layout_.sizes), "training": self.training_}, arrays

    def _set_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.weights_ = {k[2:]: np.asarray(v) for k, v in arrays.items() if k.startswith("w:")}
        self.layout_ = Layout(tuple(int(s) for s in meta["sizes"]), np.asarray(arrays["mask"]))
        self.training_ = dict(meta.get("training", {}))

