"""Flower ServerApp: one federated synthesizer fit, the same code as a central fit.

The ServerApp parses the run config once into a :class:`~synthema.federation.run.FitConfig`
(checked again here: a run config may come from anywhere), waits for the run's sites, asks
each whether it joins (domain fingerprint, readable data, enough budget left for the whole
fit: a refusal names the site and nothing is measured), then fits the synthesizer on a
:class:`~synthema.federation.source.FederatedSource` — selection, graphical-model fit and
sampling are exactly the central code — and saves the model. A
:class:`~synthema.federation.run.FitSummary` (``result-path`` JSON) records every round:
marginals, cells, noise share, contributing sites, ρ charged per site, bytes received and
seconds; on failure it holds the error and its fix, so ``synthema federate fit`` can report
it without reading Flower's logs.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from synthema.errors import SynthemaError
from synthema.federation.run import FitConfig, FitSummary

app = ServerApp()


def _say(text: str) -> None:
    print(f"synthema: {text}", flush=True)  # noqa: T201 - reaches `flwr run --stream`


class _StageLines:
    """A progress listener that says each new stage of the fit once (a line per stage, so the
    coordinator sees which measurement round or estimation step it is waiting for)."""

    def __init__(self) -> None:
        self.last: str | None = None

    def __call__(self, event) -> None:
        if event.stage != self.last:
            self.last = event.stage
            _say(event.stage)


@dataclass
class _Progress:
    """What the fit has learnt so far, so that a failure is reported with it."""

    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Any = None  # the FederatedSource, once the sites joined

    def summary(self, **values: Any) -> FitSummary:
        rounds = tuple(self.source.rounds) if self.source is not None else ()
        return FitSummary(sites=self.sites, rounds=rounds, **values)


def _join(grid: Grid, context: Context, config: FitConfig, progress: _Progress):
    """The secure-sum transport once every site has said it joins (a refusal raises)."""
    from synthema.federation.flower import FlowerSecureSum
    from synthema.federation.protocol import domain_fingerprint
    from synthema.privacy.analysis import cdp_rho
    from synthema.schema import load_dictionary
    from synthema.stats.domain import Domain

    domain = Domain.from_dictionary(load_dictionary(config.dictionary))
    transport = FlowerSecureSum(
        grid, context, n_sites=config.n_sites, dropouts=config.dropouts,
        timeout=config.timeout,
        transcript=Path(config.transcript) if config.transcript else None,
    )  # fmt: skip
    nodes = transport.wait_for_sites(config.connect_timeout)
    eps = config.epsilon
    planned = cdp_rho(eps, config.delta) if math.isfinite(eps) else math.inf
    _say(f"{len(nodes)} sites connected; asking each to join ({config.method}, epsilon={eps:g})")
    progress.sites = transport.hello(
        nodes,
        {"fingerprint": domain_fingerprint(domain), "planned-rho": planned,
         "n-sites": config.n_sites, "dropouts": config.dropouts},
    )  # fmt: skip
    _say("sites joined: " + ", ".join(sorted(progress.sites)))
    return domain, transport


def federated_fit(grid: Grid, context: Context, progress: _Progress) -> FitSummary:
    """Run one fit as the run config says; the summary of a fit that succeeded.

    Raises:
        SynthemaError: a bad run config, a site that refused, too few sites (with the fix).
    """
    from synthema.federation.source import FederatedSource
    from synthema.synth import create_synthesizer
    from synthema.synth.progress import listening

    config = FitConfig.from_run_config(context.run_config)
    start = time.perf_counter()
    domain, transport = _join(grid, context, config, progress)
    synth = create_synthesizer(
        config.method, dictionary=config.dictionary, epsilon=config.epsilon,
        delta=config.delta, random_state=config.seed, **config.synth_options,
    )  # fmt: skip
    progress.source = FederatedSource(domain, transport, n_sites=config.n_sites,
                                      dropouts=config.dropouts)  # fmt: skip
    with listening(_StageLines()):
        synth.fit(progress.source)
    for r in progress.source.rounds:
        _say(f"round {r.round}: {r.marginals} marginals ({r.cells} cells) summed over "
             f"{len(r.contributors)}/{config.n_sites} sites in {r.seconds:.1f} s")  # fmt: skip
    synth.privacy_spent_["mode"] = (
        f"federated over {config.n_sites} sites ({', '.join(sorted(progress.sites))}), "
        "SecAgg+ sums, each site charged its own ledger"
    )
    path = synth.save(config.model_path)
    _say(f"model saved to {path}")
    return progress.summary(
        ok=True, model=str(path), method=synth.method, dictionary=synth.dictionary_.name,
        method_choice=None if synth.method_choice is None else synth.method_choice.to_json(),
        privacy=synth.privacy_spent_, n_sites=config.n_sites, dropouts=config.dropouts,
        seconds=round(time.perf_counter() - start, 3),
        bytes_received=transport.grid.bytes_received,
    )  # fmt: skip


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Fit, save, and write the summary (also on failure) to ``result-path``."""
    result_path = str(context.run_config.get("result-path", "") or "").strip()
    progress = _Progress()
    try:
        summary = federated_fit(grid, context, progress)
    except SynthemaError as exc:
        summary = progress.summary(ok=False, error=exc.message, fix=exc.fix)
        _say(f"error: {exc.message}")
        if exc.fix:
            _say(f"fix: {exc.fix}")
    except Exception as exc:  # noqa: BLE001 - reported to the caller, then re-raised
        _write(result_path, progress.summary(
            ok=False, error=f"{type(exc).__name__}: {exc}",
            fix="this is a bug in synthema or Flower; the traceback is in the summary",
            traceback=traceback.format_exc()))  # fmt: skip
        raise
    _write(result_path, summary)


def _write(path: str, summary: FitSummary) -> None:
    """The summary as JSON, written whole or not at all (a reader never sees half of it)."""
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(summary.to_dict(), indent=2, default=str), encoding="utf-8")
    tmp.replace(path)

