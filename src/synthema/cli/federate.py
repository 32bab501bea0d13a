"""``synthema federate up|fit|down|status``: a local Flower federation and fits across it.

Thin wrappers around :mod:`synthema.federation.deploy` (docs/cli.md, docs/federation.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthema.cli._output import console, friendly, num, rows_table, say

app = typer.Typer(
    help="Run a federated fit on a local Flower deployment (SuperLink + one SuperNode per site).",
    no_args_is_help=True,
)

WORKDIR = Path(".synthema-federation")
WorkdirOption = Annotated[
    Path, typer.Option("--workdir", help="Folder with the deployment's state, keys and logs.")
]


@app.command("up")
@friendly
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
    say(f"SuperLink on 127.0.0.1:{dep.port} (pid {dep.superlink_pid}), {mode}")
    rows_table("sites", [{"site": s.name, "data": s.data, "ledger": s.ledger, "port": str(s.port),
                          "pid": str(s.pid)} for s in dep.sites])  # fmt: skip
    cap = "" if local_epsilon_max is None else f", local-only cap ε = {local_epsilon_max:g}"
    say(f"each site's budget: ε = {epsilon_max:g}, δ = {delta:g}{cap}; "
        f"state in {Path(dep.workdir) / 'federation.json'}")
    where = "" if workdir == WORKDIR else f" --workdir {workdir}"
    say("next: synthema federate fit --dictionary DICT --epsilon 1 --out model.synth" + where)


def _show(line: str) -> None:
    """The ServerApp's own lines; its error and fix come back as the FederationError."""
    text = line.removeprefix("synthema: ")
    if line.startswith("synthema: ") and not text.startswith(("error: ", "fix: ")):
        say(text)


@app.command("fit")
@friendly
def federate_fit(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where the model is saved.")],
    dictionary: Annotated[
        str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")
    ] = "aml",
    epsilon: Annotated[
        float, typer.Option(help="Privacy budget ε of the fit (inf: NOT PRIVATE).")
    ] = 1.0,
    delta: Annotated[float, typer.Option(help="δ of (ε, δ)-DP.")] = 1e-6,
    method: Annotated[str, typer.Option(
        help="auto (chosen from the dictionary's size and ε), mst, aim or independent.")
    ] = "auto",
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

    def start(config) -> None:
        plan = config.plan()
        if plan is not None:
            say(plan.plan_line)
        say(f"federated {config.method} fit, ε = {num(config.epsilon)}, "
            f"δ = {num(config.delta)} (each SecAgg+ round takes about 20-30 s)")

    summary = deploy.run_fit(workdir, out=out, dictionary=dictionary, method=method,
                             epsilon=epsilon, delta=delta, seed=seed, dropouts=dropouts,
                             timeout=timeout, on_start=start, on_line=_show)  # fmt: skip
    if summary.method_choice:
        from synthema.synth.auto import MethodChoice

        say(MethodChoice.from_json(summary.method_choice).line)
    total = len(summary.rounds)
    rows_table("site ledgers charged in this fit", [
        {"site": site, "rounds answered": f"{len(summary.answered(site))}/{total}",
         "rho charged": f"{summary.rho_charged(site):.6g}",
         "local-only rho": f"{summary.local_rho_charged(site):.6g}"}
        for site in sorted(summary.sites)])  # fmt: skip
    privacy = summary.privacy
    if privacy.get("private"):
        say(f"privacy: ε = {num(privacy['epsilon'])}, δ = {num(privacy['delta'])} "
            f"(ρ = {num(privacy['rho'])}) per site, distributed discrete Gaussian accounting")
    else:
        say("privacy: NOT PRIVATE (exact counts; test sites only)")
    say(f"fit took {summary.seconds:.0f} s; server received "
        f"{summary.bytes_received / 1e6:.2f} MB in total")
    say(f"wrote {summary.model or out}")


@app.command("down")
@friendly
def federate_down(workdir: WorkdirOption = WORKDIR) -> None:
    """Stop every process `federate up` started (by PID)."""
    from synthema.federation import deploy

    stopped = deploy.down(workdir)
    say(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command("status")
@friendly
def federate_status(workdir: WorkdirOption = WORKDIR) -> None:
    """Which processes of the deployment run."""
    from synthema.federation import deploy

    dep = deploy.Deployment.load(workdir)
    rows = [{"process": "superlink", "pid": str(dep.superlink_pid),
             "running": str(deploy.alive(dep.superlink_pid))}]  # fmt: skip
    rows += [{"process": s.name, "pid": str(s.pid), "running": str(deploy.alive(s.pid))}
             for s in dep.sites]  # fmt: skip
    rows_table(f"federation in {dep.workdir} (TLS + auth: {dep.secure})", rows)
