"""PyTorch and Opacus for the neural synthesizers: the only module of synthema that imports them.

It is imported lazily, when a neural model is *fitted* (``import synthema`` stays fast and
works without torch; sampling a saved model runs in numpy, see :mod:`synthema.synth.dpvae`).

Training is differentially private gradient descent over the whole table at every step
(full batch: see :mod:`synthema.privacy.dpsgd` for why subsampling buys nothing in zCDP):

1. Opacus computes every record's gradient (``GradSampleModule``) and its ``DPOptimizer``
   clips each one to L2 norm ``clip`` and sums them (``clip_and_accumulate``), in chunks so
   memory stays bounded;
2. the ledger is charged the step's ρ = 1/(2σ²) (the caller's ``charge``), *then*
3. :func:`~synthema.privacy.dpsgd.noisy_lattice_sum` puts the sum on an integer lattice and
   adds exact discrete Gaussian noise from OS entropy (Opacus' own noise would come from
   torch's seedable generator, so its noise multiplier is set to 0);
4. the noisy sum, back on the real scale, is the gradient of one Adam step.

Seeds govern initial weights and the VAE's reparameterisation draws (public randomness),
never the privacy noise.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from torch import nn

from synthema.privacy.dpsgd import lattice_scale, lattice_sensitivity, noisy_lattice_sum
from synthema.synth.dpvae import Layout, one_hot

_LOG = logging.getLogger(__name__)
CHUNK = 512  # records per backward pass (per-record gradients are chunk × parameters floats)
_LOGVAR = 6.0  # |log variance| of the posterior is clamped: keeps per-record gradients finite


class TabularVAE(nn.Module):
    """One-hot codes -> Gaussian posterior -> per-attribute logits (TVAE-like, small)."""

    def __init__(self, width: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(),
                                     nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, eps: torch.Tensor):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        logvar = logvar.clamp(-_LOGVAR, _LOGVAR)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decoder(z), mu, logvar


def record_losses(logits: torch.Tensor, target: torch.Tensor, mu: torch.Tensor,
                  logvar: torch.Tensor, layout: Layout, mask: torch.Tensor) -> torch.Tensor:
    """Per-record VAE loss: Σ over attributes of cross-entropy, plus the KL to N(0, I)."""
    logits = logits + mask
    loss = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=-1)
    for offset, size in zip(layout.offsets.tolist(), layout.sizes, strict=True):
        block = logits[:, offset:offset + size]
        loss = loss + torch.logsumexp(block, dim=-1) - (block * target[:, offset:offset + size]
                                                         ).sum(dim=-1)
    return loss


@dataclass(frozen=True)
class TrainConfig:
    """What DP training needs besides the data: sizes, steps, clipping, noise, seed."""

    hidden: int
    latent: int
    steps: int
    clip: float
    learning_rate: float
    noise_multiplier: float  # σ; 0 means exact (clipped) gradients: not private
    seed: int
    optimizer: str = "adam"  # "adam", or "sgd": plain gradient descent on the mean gradient
    records: float = 1.0  # a noisy (already paid for) number of records: sum -> mean


def clipped_gradient_sum(module: GradSampleModule, optimizer: DPOptimizer, x: np.ndarray,
                         layout: Layout, generator: torch.Generator) -> np.ndarray:
    """Σ over records of each record's gradient clipped to norm ``clip`` (flat, float64)."""
    mask = torch.from_numpy(np.nan_to_num(layout.mask, neginf=-1e4).astype(np.float32))
    optimizer.zero_grad(set_to_none=True)
    for start in range(0, x.shape[0], CHUNK):
        target = torch.from_numpy(x[start:start + CHUNK])
        eps = torch.randn((target.shape[0], module._module.latent), generator=generator)
        logits, mu, logvar = module(target, eps)
        with warnings.catch_warnings():  # Opacus' hooks on the first layer, whose input
            warnings.filterwarnings("ignore", message="Full backward hook")  # needs no grad
            record_losses(logits, target, mu, logvar, layout, mask).sum().backward()
        optimizer.clip_and_accumulate()
        for p in optimizer.params:
            p.grad_sample, p.grad = None, None
    return torch.cat([p.summed_grad.reshape(-1) for p in optimizer.params]).double().numpy()


def train_vae(codes: np.ndarray, layout: Layout, config: TrainConfig,
              charge: Callable[[int], None], *, output_bias: np.ndarray | None = None,
              ) -> tuple[dict[str, np.ndarray], dict]:
    """Train a :class:`TabularVAE` with DP full-batch gradient descent.

    Args:
        codes: the records (rows × attributes), private.
        layout: the public one-hot layout.
        config: model size, steps, clipping, σ, seed.
        charge: called with the step number before that step's noisy gradient is computed;
            it charges the ledger and raises to stop training (nothing is released then).

    Returns:
        (weights by name as float64 arrays, a summary: lattice scale, Δ, overhead).
        ``output_bias`` (public or already paid for) starts the decoder's last bias.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small layers: threads only contend (8x slower on a busy host)
    try:
        return _train(codes, layout, config, charge, output_bias)
    finally:
        torch.set_num_threads(threads)


def _train(codes: np.ndarray, layout: Layout, config: TrainConfig,
           charge: Callable[[int], None], output_bias: np.ndarray | None,
           ) -> tuple[dict[str, np.ndarray], dict]:
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1)
    model = TabularVAE(layout.width, config.hidden, config.latent)
    if output_bias is not None:  # start as the product of the marginals: weights 0, bias log p
        with torch.no_grad():
            model.decoder[2].bias.copy_(torch.from_numpy(np.asarray(output_bias, np.float32)))
            model.decoder[2].weight.zero_()
    module = GradSampleModule(model, loss_reduction="sum")
    if config.optimizer == "sgd":
        adam = torch.optim.SGD(module.parameters(), lr=config.learning_rate)
    else:
        adam = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
    optimizer = DPOptimizer(adam, noise_multiplier=0.0, max_grad_norm=config.clip,
                            expected_batch_size=1)
    dim = sum(p.numel() for p in optimizer.params)
    private = config.noise_multiplier > 0
    scale = (lattice_scale(clip=config.clip, dimension=dim,
                           noise_multiplier=config.noise_multiplier) if private else 1.0)
    x = one_hot(codes, layout)
    for step in range(config.steps):
        charge(step)  # before anything of this step is computed from the records
        summed = clipped_gradient_sum(module, optimizer, x, layout, generator)
        if private:
            noisy, _ = noisy_lattice_sum(summed, clip=config.clip, scale=scale,
                                         noise_multiplier=config.noise_multiplier)
            summed = noisy.astype(np.float64) / scale
        flat = torch.from_numpy(summed / max(config.records, 1.0)).float()
        offset = 0
        for p in optimizer.params:
            p.grad = flat[offset:offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        adam.step()
        optimizer.zero_grad(set_to_none=True)
    weights = {k: v.detach().double().numpy().copy() for k, v in model.state_dict().items()}
    delta = lattice_sensitivity(clip=config.clip, scale=scale, dimension=dim)
    summary = {"parameters": dim, "lattice_scale": scale if private else None,
               "rounding_overhead": (delta / (scale * config.clip) - 1) if private else 0.0}
    _LOG.info("dpvae trained: %d steps, %d parameters, %s", config.steps, dim, summary)
    return weights, summary
