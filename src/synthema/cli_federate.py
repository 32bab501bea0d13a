"""``synthema federate up|fit|down|status`` and ``synthema budget show|set``.

Thin wrappers around :mod:`synthema.federation.deploy` and
:class:`synthema.privacy.ledger.BudgetLedger`; registered on the main app by
:mod:`synthema.cli` (docs/cli.md, docs/federation.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from synthema.cli import _friendly, _num, _rows_table, console
from synthema.errors import SynthemaError

federate_app = typer.Typer(
    help="Run a federated fit on a local Flower deployment (SuperLink + one SuperNode per site).",
    no_args_is_help=True,
)
budget_app = typer.Typer(help="A site's privacy budget ledger.", no_args_is_help=True)

WORKDIR = Path(".synthema-federation")
WorkdirOption = Annotated[
    Path, typer.Option("--workdir", help="Folder with the deployment's state, keys and logs.")
]


@federate_app.command("up")
@_friendly
def federate_up(
    sites: Annotated[int, typer.Option("--sites", "-n", min=3, help="Number of sites (>= 3).")],
    data: Annotated[Path, typer.Option(help="Folder with one harmonised file per site.")],
    workdir: WorkdirOption = WORKDIR,
    insecure: Annotated[
        bool, typer.Option(help="No TLS and no SuperNode authentication (local tests only).")
    ] = False,
    port: Annotated[int, typer.Option(help="SuperLink port; sites use the next ones.")] = 9100,
    epsilon_max: Annotated[
        float, typer.Option(help="Each site's budget ε (its ledger refuses beyond it).")
    ] = 4.0,
    delta: Annotated[float, typer.Option(help="δ of the sites' budgets.")] = 1e-6,
    local_epsilon_max: Annotated[
        float | None,
        typer.Option(help="Each site's cap on its local-only ε (its answers seen alone, if "
                     "secure aggregation failed); default: no cap."),
    ] = None,
) -> None:
    """Start one flower-superlink and N flower-supernodes on 127.0.0.1 (TLS + auth by default)."""
    from synthema.federation import deploy

    with console.status(f"starting a SuperLink and {sites} SuperNodes"):
        dep = deploy.up(sites, data, workdir, insecure=insecure, port=port,
                        epsilon_max=epsilon_max, delta=delta,
                        local_epsilon_max=local_epsilon_max)  # fmt: skip
    mode = "TLS on, SuperNode authentication on" if dep.secure else "INSECURE: no TLS, no auth"
    console.print(f"SuperLink on 127.0.0.1:{dep.port} (pid {dep.superlink_pid}), {mode}",
                  markup=False)  # fmt: skip
    _rows_table(
        "sites",
        [
            {"site": s.name, "data": s.data, "ledger": s.ledger, "port": str(s.port),
             "pid": str(s.pid)}  # fmt: skip
            for s in dep.sites
        ],
    )
    cap = "" if local_epsilon_max is None else f", local-only cap ε = {local_epsilon_max:g}"
    console.print(f"each site's budget: ε = {epsilon_max:g}, δ = {delta:g}{cap}; "
                  f"state in {Path(dep.workdir) / 'federation.json'}", markup=False)  # fmt: skip
    where = "" if workdir == WORKDIR else f" --workdir {workdir}"
    console.print("next: synthema federate fit --dictionary DICT --epsilon 1 --out model.synth"
                  + where, markup=False)  # fmt: skip


@federate_app.command("fit")
@_friendly
def federate_fit(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where the model is saved.")],
    dictionary: Annotated[
        str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")
    ] = "aml",
    epsilon: Annotated[
        float, typer.Option(help="Privacy budget ε of the fit (inf: NOT PRIVATE).")
    ] = 1.0,
    delta: Annotated[float, typer.Option(help="δ of (ε, δ)-DP.")] = 1e-6,
    method: Annotated[str, typer.Option(help="mst, aim or independent.")] = "mst",
    seed: Annotated[
        int | None,
        typer.Option(min=0, help="Seed of the public choices (candidate pairs) and of "
                     "sampling; the sites' noise never depends on it."),
    ] = None,
    dropouts: Annotated[
        int, typer.Option(min=0, help="Sites that may drop out of a round (noise still holds).")
    ] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds to wait per SecAgg+ stage.")] = 120.0,
    workdir: WorkdirOption = WORKDIR,
) -> None:
    """Fit a synthesizer across the running sites: noisy shares summed by SecAgg+."""
    from synthema.federation import deploy

    if not epsilon > 0:
        raise SynthemaError(f"--epsilon is {epsilon:g}: it must be greater than 0",
                            fix="use a positive budget such as 1")  # fmt: skip
    if out.is_dir():
        raise SynthemaError(f"--out {out} is a folder", fix="name the model file, e.g. model.synth")

    def show(line: str) -> None:
        text = line.removeprefix("synthema: ")
        # the ServerApp's error and fix come back as the FederationError, printed once below
        if line.startswith("synthema: ") and not text.startswith(("error: ", "fix: ")):
            console.print(text, markup=False, soft_wrap=True)

    deploy.Deployment.load(workdir)  # no federation running: say so before anything else
    console.print(f"federated {method} fit, ε = {_num(epsilon)}, δ = {_num(delta)} "
                  "(each SecAgg+ round takes about 20-30 s)", markup=False)  # fmt: skip
    summary = deploy.run_fit(workdir, out=out, dictionary=dictionary, method=method,
                             epsilon=epsilon, delta=delta, seed=seed, dropouts=dropouts,
                             timeout=timeout, on_line=show)  # fmt: skip
    rows = []
    for site in sorted(summary.get("sites", {})):
        answered = [r for r in summary["rounds"] if r["charges"].get(site) is not None]
        spent = sum(r["charges"][site] for r in answered if r["charges"][site] >= 0)
        local = sum(r.get("local_rho_per_site", math.nan) for r in answered
                    if r["charges"][site] >= 0)  # fmt: skip
        rows.append({"site": site, "rounds answered": f"{len(answered)}/{len(summary['rounds'])}",
                     "rho charged": f"{spent:.6g}",
                     "local-only rho": f"{local:.6g}"})  # fmt: skip
    _rows_table("site ledgers charged in this fit", rows)
    privacy = summary.get("privacy", {})
    if privacy.get("private"):
        console.print(f"privacy: ε = {_num(privacy['epsilon'])}, δ = {_num(privacy['delta'])} "
                      f"(ρ = {_num(privacy['rho'])}) per site, distributed discrete Gaussian "
                      "accounting", markup=False)  # fmt: skip
    else:
        console.print("privacy: NOT PRIVATE (exact counts; test sites only)", markup=False)
    mb = summary.get("bytes_received", 0) / 1e6
    console.print(f"fit took {summary.get('seconds', math.nan):.0f} s; server received "
                  f"{mb:.2f} MB in total", markup=False)  # fmt: skip
    console.print(f"wrote {summary.get('model', out)}", markup=False)


@federate_app.command("down")
@_friendly
def federate_down(workdir: WorkdirOption = WORKDIR) -> None:
    """Stop every process `federate up` started (by PID)."""
    from synthema.federation import deploy

    stopped = deploy.down(workdir)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}",
                  markup=False)  # fmt: skip


@federate_app.command("status")
@_friendly
def federate_status(workdir: WorkdirOption = WORKDIR) -> None:
    """Which processes of the deployment run."""
    from synthema.federation import deploy

    dep = deploy.Deployment.load(workdir)
    rows = [{"process": "superlink", "pid": str(dep.superlink_pid),
             "running": str(deploy.alive(dep.superlink_pid))}]  # fmt: skip
    rows += [{"process": s.name, "pid": str(s.pid), "running": str(deploy.alive(s.pid))}
             for s in dep.sites]  # fmt: skip
    _rows_table(f"federation in {dep.workdir} (TLS + auth: {dep.secure})", rows)


@budget_app.command("show")
@_friendly
def budget_show(
    ledger: Annotated[Path, typer.Option(help="The site's ledger file (SQLite).")],
    delta: Annotated[float, typer.Option(help="δ for the (ε, δ) figures.")] = 1e-6,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """A site's spend: every charge with both guarantees, the running totals, what is left.

    Each charge shows ρ (the release's cost if secure aggregation holds, what the budget is
    charged) and the local-only ρ (the cost if the site's answer were seen alone).
    """
    from synthema.errors import LedgerError
    from synthema.privacy.analysis import cdp_epsilon
    from synthema.privacy.ledger import BudgetLedger

    if not ledger.is_file():
        raise LedgerError(f"{ledger}: no such ledger", fix="give the site's ledger file path")
    with BudgetLedger(ledger) as book:
        charges = book.charges(delta=delta)
        changes = book.budget_changes()
        figures = {
            "site": book.site,
            "rho_max": book.rho_max,
            "spent": book.spent,
            "local_spent": book.local_spent,
            "remaining": book.remaining,
            "epsilon_spent": book.epsilon(delta),
            "delta": delta,
        }
    if as_json:
        out = dict(figures, charges=[c.__dict__ for c in charges],
                   budget_changes=[c.__dict__ for c in changes])  # fmt: skip
        console.print(json.dumps(out, indent=2, default=str), markup=False, soft_wrap=True)
        return
    console.print(
        f"site {figures['site']}: spent ρ = {figures['spent']:.6g} of {figures['rho_max']:.6g} "
        f"(ε = {figures['epsilon_spent']:.4g} of {cdp_epsilon(figures['rho_max'], delta):.4g} "
        f"at δ = {delta:g}); remaining ρ = {figures['remaining']:.6g}; "
        f"{len(charges)} charge(s)",
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"local-only guarantee (each answer seen alone, if secure aggregation failed): "
        f"ρ = {figures['local_spent']:.6g} (ε = {cdp_epsilon(figures['local_spent'], delta):.4g}"
        f" at δ = {delta:g})",
        markup=False,
        soft_wrap=True,
    )
    _rows_table(
        "charges (append-only; never refunded)",
        [
            {"#": str(c.seq), "when": c.charged_at[:19], "query": c.query_id,
             "rho": f"{c.rho:.6g}", "total": f"{c.total:.6g}",
             "epsilon": f"{c.epsilon:.4g}" if c.epsilon is not None else "-",
             "local rho": f"{c.local_rho:.6g}", "local total": f"{c.local_total:.6g}",
             "what": c.label}
            for c in charges
        ],
    )  # fmt: skip
    _rows_table(
        "budget changes",
        [{"#": str(c.seq), "when": c.changed_at[:19], "rho_max": f"{c.rho_max:.6g}",
          "epsilon_max": f"{cdp_epsilon(c.rho_max, delta):.4g}",
          "before": "-" if c.previous is None else f"{c.previous:.6g}", "reason": c.reason}
         for c in changes],
    )  # fmt: skip


@budget_app.command("set")
@_friendly
def budget_set(
    ledger: Annotated[Path, typer.Option(help="The site's ledger file (SQLite).")],
    reason: Annotated[str, typer.Option(help="Why the budget changes (kept in the ledger).")],
    epsilon_max: Annotated[float | None, typer.Option(help="New budget as ε.")] = None,
    delta: Annotated[float, typer.Option(help="δ for --epsilon-max.")] = 1e-6,
    rho_max: Annotated[float | None, typer.Option(help="New budget as zCDP ρ.")] = None,
) -> None:
    """Change a site's budget (a privacy officer's decision, recorded with its reason)."""
    from synthema.errors import LedgerError
    from synthema.privacy.analysis import cdp_rho
    from synthema.privacy.ledger import BudgetLedger

    if (epsilon_max is None) == (rho_max is None):
        raise SynthemaError("give exactly one of --epsilon-max or --rho-max",
                            fix="e.g. --epsilon-max 4 --reason 'approved by the DPO'")  # fmt: skip
    if not ledger.is_file():
        raise LedgerError(f"{ledger}: no such ledger", fix="give the site's ledger file path")
    new = cdp_rho(epsilon_max, delta) if epsilon_max is not None else float(rho_max)
    with BudgetLedger(ledger) as book:
        book.set_budget(new, reason=reason)
        console.print(f"site {book.site}: budget now ρ = {book.rho_max:.6g} "
                      f"(spent {book.spent:.6g}); reason recorded", markup=False)  # fmt: skip
