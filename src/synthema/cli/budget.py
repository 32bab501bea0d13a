"""``synthema budget show|set``: a site's privacy budget ledger, as its privacy officer reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from synthema.cli._output import console, friendly, rows_table, say

app = typer.Typer(help="A site's privacy budget ledger.", no_args_is_help=True)


@app.command("show")
@friendly
def budget_show(
    ledger: Annotated[Path, typer.Option(help="The site's ledger file (SQLite).")],
    delta: Annotated[float, typer.Option(help="δ for the (ε, δ) figures.")] = 1e-6,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """A site's spend: every charge with both guarantees, the running totals, what is left.

    Each charge shows ρ (the release's cost if secure aggregation holds, what the budget is
    charged) and the local-only ρ (the cost if the site's answer were seen alone).
    """
    from synthema.privacy.analysis import cdp_epsilon
    from synthema.privacy.statement import read_statement

    st = read_statement(ledger, delta=delta)
    if as_json:
        console.print(json.dumps(st.to_dict(), indent=2, default=str), markup=False,
                      soft_wrap=True)  # fmt: skip
        return
    say(f"site {st.site}: spent ρ = {st.spent:.6g} of {st.rho_max:.6g} "
        f"(ε = {st.epsilon_spent:.4g} of {st.epsilon_max:.4g} at δ = {delta:g}); "
        f"remaining ρ = {st.remaining:.6g}; {len(st.charges)} charge(s)")
    say(f"local-only guarantee (each answer seen alone, if secure aggregation failed): "
        f"ρ = {st.local_spent:.6g} (ε = {st.local_epsilon:.4g} at δ = {delta:g})")
    rows_table(
        "charges (append-only; never refunded)",
        [
            {"#": str(c.seq), "when": c.charged_at[:19], "query": c.query_id,
             "rho": f"{c.rho:.6g}", "total": f"{c.total:.6g}",
             "epsilon": f"{c.epsilon:.4g}" if c.epsilon is not None else "-",
             "local rho": f"{c.local_rho:.6g}", "local total": f"{c.local_total:.6g}",
             "what": c.label}
            for c in st.charges
        ],
    )  # fmt: skip
    rows_table(
        "budget changes",
        [{"#": str(c.seq), "when": c.changed_at[:19], "rho_max": f"{c.rho_max:.6g}",
          "epsilon_max": f"{cdp_epsilon(c.rho_max, delta):.4g}",
          "before": "-" if c.previous is None else f"{c.previous:.6g}", "reason": c.reason}
         for c in st.budget_changes],
    )  # fmt: skip


@app.command("set")
@friendly
def budget_set(
    ledger: Annotated[Path, typer.Option(help="The site's ledger file (SQLite).")],
    reason: Annotated[str, typer.Option(help="Why the budget changes (kept in the ledger).")],
    epsilon_max: Annotated[float | None, typer.Option(help="New budget as ε.")] = None,
    delta: Annotated[float, typer.Option(help="δ for --epsilon-max.")] = 1e-6,
    rho_max: Annotated[float | None, typer.Option(help="New budget as zCDP ρ.")] = None,
) -> None:
    """Change a site's budget (a privacy officer's decision, recorded with its reason)."""
    from synthema.privacy.statement import set_site_budget

    st = set_site_budget(ledger, reason=reason, epsilon_max=epsilon_max, rho_max=rho_max,
                         delta=delta)  # fmt: skip
    say(f"site {st.site}: budget now ρ = {st.rho_max:.6g} (spent {st.spent:.6g}); "
        "reason recorded")
