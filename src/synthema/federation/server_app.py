"""Flower ServerApp: one federated synthesizer fit, the same code as a central fit.

The ServerApp waits for the run's sites, asks each whether it joins (domain fingerprint,
readable data, enough budget left for the whole fit: a refusal names the site and nothing is
measured), then fits the synthesizer on a
:class:`~synthema.federation.source.FederatedSource` — selection, graphical-model fit and
sampling are exactly the central code — and saves the model. A JSON summary (``result-path``)
records every round: marginals, cells, noise share, contributing sites, ρ charged per site,
bytes received and seconds; on failure it holds the error and its fix, so
``synthema federate fit`` can report it without reading Flower's logs.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from synthema.errors import FederationError, SynthemaError

app = ServerApp()


def _say(text: str) -> None:
    print(f"synthema: {text}", flush=True)  # noqa: T201 - reaches `flwr run --stream`


def _option(cfg, key: str, default=None):
    value = cfg.get(key, default)
    return default if value is None else value


def federated_fit(grid: Grid, context: Context, summary: dict) -> None:
    """Run one fit as the run config says, filling ``summary`` as it goes (raises on failure)."""
    from synthema.federation.flower import FlowerSecureSum
    from synthema.federation.protocol import check_sites, domain_fingerprint
    from synthema.federation.source import FederatedSource
    from synthema.privacy.analysis import cdp_rho
    from synthema.schema import load_dictionary
    from synthema.stats.domain import Domain
    from synthema.synth import create_synthesizer

    cfg = context.run_config
    model_path = str(_option(cfg, "model-path", "")).strip()
    if not model_path:
        raise FederationError("run config lacks model-path", fix="synthema federate fit --out ...")
    method = str(_option(cfg, "method", "mst")).lower()
    if method == "copula":
        raise FederationError(
            "the Gaussian copula needs the rows themselves and cannot be fitted federated",
            fix="use mst, aim or independent",
        )
    epsilon = float(str(_option(cfg, "epsilon", "1.0")))
    delta = float(_option(cfg, "delta", 1e-6))
    seed = int(_option(cfg, "seed", -1))
    options = json.loads(str(_option(cfg, "synth-options", "{}")) or "{}")
    n_sites, dropouts = check_sites(
        int(_option(cfg, "n-sites", 3)), int(_option(cfg, "dropouts", 1))
    )
    transcript = str(_option(cfg, "transcript", "")).strip()
    dictionary = load_dictionary(str(_option(cfg, "dictionary", "aml")))
    synth = create_synthesizer(
        method,
        dictionary=dictionary,
        epsilon=epsilon,
        delta=delta,
        random_state=None if seed < 0 else seed,
        **options,
    )
    domain = Domain.from_dictionary(dictionary)
    transport = FlowerSecureSum(
        grid,
        context,
        n_sites=n_sites,
        dropouts=dropouts,
        timeout=float(_option(cfg, "timeout", 120.0)),
        transcript=Path(transcript) if transcript else None,
    )
    start = time.perf_counter()
    nodes = transport.wait_for_sites(float(_option(cfg, "connect-timeout", 120.0)))
    planned = cdp_rho(epsilon, delta) if math.isfinite(epsilon) else math.inf
    _say(f"{len(nodes)} sites connected; asking each to join ({method}, epsilon={epsilon:g})")
    sites = transport.hello(
        nodes,
        {"fingerprint": domain_fingerprint(domain), "planned-rho": planned, "n-sites": n_sites,
         "dropouts": dropouts},
    )
    _say("sites joined: " + ", ".join(sorted(sites)))
    source = FederatedSource(domain, transport, n_sites=n_sites, dropouts=dropouts)
    summary.update(sites=sites, rounds=source.rounds)
    synth.fit(source)
    for r in source.rounds:
        _say(
            f"round {r['round']}: {r['marginals']} marginals ({r['cells']} cells) summed over "
            f"{len(r['contributors'])}/{n_sites} sites in {r['seconds']:.1f} s"
        )
    synth.privacy_spent_["mode"] = (
        f"federated over {n_sites} sites ({', '.join(sorted(sites))}), SecAgg+ sums, "
        "each site charged its own ledger"
    )
    path = synth.save(model_path)
    summary.update(
        ok=True,
        model=str(path),
        method=method,
        dictionary=dictionary.name,
        privacy=synth.privacy_spent_,
        n_sites=n_sites,
        dropouts=dropouts,
        seconds=round(time.perf_counter() - start, 3),
        bytes_received=transport.grid.bytes_received,
    )
    _say(f"model saved to {path}")


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Fit, save, and write the summary (also on failure) to ``result-path``."""
    result_path = str(context.run_config.get("result-path", "") or "").strip()
    summary: dict = {"ok": False}
    try:
        federated_fit(grid, context, summary)
    except SynthemaError as exc:
        summary.update(ok=False, error=exc.message, fix=exc.fix)
        _say(f"error: {exc.message}")
        if exc.fix:
            _say(f"fix: {exc.fix}")
    except Exception as exc:  # noqa: BLE001 - reported to the caller, then re-raised
        summary.update(
            ok=False,
            error=f"{type(exc).__name__}: {exc}",
            fix="this is a bug in synthema or Flower; the traceback is in the summary",
            traceback=traceback.format_exc(),
        )
        _write(result_path, summary)
        raise
    _write(result_path, summary)


def _write(path: str, summary: dict) -> None:
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
