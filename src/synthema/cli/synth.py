"""``synthema synth fit|sample``: a synthesizer fitted on pooled clean files, and its samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synthema.cli._output import (
    console,
    friendly,
    live_progress,
    num,
    rows_table,
    say,
    stage_summary,
)

app = typer.Typer(
    help="Fit synthetic-data generators (differentially private) and sample from them.",
    no_args_is_help=True,
)

SYNTH_METHODS = ("auto", "mst", "aim", "independent", "dpvae", "copula")
"""The methods named in ``--method``'s help (a test keeps it equal to the library's list)."""


def print_choice(synth: Any) -> None:
    """Which method ``--method auto`` chose and why (nothing for a method named by the user)."""
    if synth.method_choice is not None:
        console.print(synth.method_choice.line, soft_wrap=True)


def print_privacy(synth: Any) -> None:
    """What the model cost: (ε, δ) and ρ, or a NOT PRIVATE label nobody can miss."""
    spent, method = synth.privacy_spent_, synth.method
    eps, delta, rho = (num(spent.get(k)) for k in ("epsilon", "delta", "rho"))
    if spent.get("private") and synth.private:  # a non-private class is never labelled private
        console.print(
            f"privacy spent: ε = {eps}, δ = {delta} (ρ = {rho} zCDP); method {method}, "
            + spent.get("mode", "central mode (one trusted site held the pooled files)"),
            soft_wrap=True,
        )
        return
    if not synth.private:
        why, eps, rho = f"{method} is a non-private baseline", "inf", "inf"
    else:
        why = "ε = inf adds no noise to the statistics"
    console.print(
        f"[bold red]NOT PRIVATE[/]: {why} (method {method}, ε = {eps}, ρ = {rho}); the model "
        "and its samples may reveal real patients: keep them where the real data are",
        soft_wrap=True,
    )


@app.command("fit")
@friendly
def synth_fit(
    files: Annotated[list[Path], typer.Argument(help="Clean site files, pooled for the fit.")],
    dictionary: Annotated[str, typer.Option("--dictionary", "-d", help="aml, scd or YAML path.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model.")],
    epsilon: Annotated[
        float | None,
        typer.Option(help="Privacy budget ε > 0 (smaller: more private); inf: NOT PRIVATE."),
    ] = None,
    delta: Annotated[float, typer.Option(help="δ of (ε, δ)-DP, between 0 and 1.")] = 1e-6,
    method: Annotated[
        str, typer.Option(help="auto (MST, AIM or independent, chosen from the dictionary's "
                          f"size and ε), {', '.join(SYNTH_METHODS[1:-1])}, or copula (not "
                          "private).")
    ] = "auto",
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Seed of the public choices and of sampling. The DP noise comes from the "
            "operating system and never from the seed, so the same seed gives the same model "
            "only with --epsilon inf.",
        ),
    ] = None,
    bins: Annotated[
        str | None,
        typer.Option(help="adaptive (default for auto, mst, aim, independent: the model's bins "
                     "chosen from noisy counts on a fine grid) or public (the dictionary's "
                     "bins)."),
    ] = None,
) -> None:
    """Fit a synthesizer on validated site files pooled at one trusted site; save the model."""
    from synthema.synth.files import fit_files

    with live_progress(f"fitting {method}") as timeline:
        fit = fit_files(files, dictionary=dictionary, out=out, method=method, epsilon=epsilon,
                        delta=delta, seed=seed, bins=bins)  # fmt: skip
    for path, patients in fit.files:
        say(f"{path}: {patients} patients, no problems")
    synth = fit.synthesizer
    print_choice(synth)
    console.print(
        f"fitted {synth.method} on {fit.patients} patients from {len(fit.files)} file(s), "
        f"{len(synth.dictionary_)} variables, in {fit.seconds:.1f} s",
        soft_wrap=True,
    )
    if (line := stage_summary(timeline)) is not None:
        say(line)
    print_privacy(synth)
    say(f"wrote {fit.path}")


_OUTCOMES = ("redrawn", "resampled", "repaired", "rejected")


def print_rules_report(report: Any, max_rules: int) -> None:
    """What rule enforcement took: rows redrawn/resampled/repaired per rule, or nothing."""
    rules = (report or {}).get("rules", {})
    broken = {name: c for name, c in rules.items() if c.get("violated")}
    if not broken:
        console.print("clinical rules: no rule violations to repair")
        return
    console.print(
        f"clinical rules: {len(broken)} of {len(rules)} rules were broken by some of the "
        f"{report.get('rows_drawn', 0)} rows drawn; all {report.get('rows', 0)} rows written "
        "satisfy every rule",
        soft_wrap=True,
    )
    order = sorted(broken.items(), key=lambda kv: -kv[1]["violated"])
    rows_table(
        "rows per rule",
        [
            {"rule": name, "violated": str(c["violated"])}
            | {k: str(c.get(k, 0) or "") for k in _OUTCOMES}
            for name, c in order[:max_rules]
        ],
    )
    if len(order) > max_rules:
        console.print(f"... and {len(order) - max_rules} more rule(s) (--max-rules-shown)")
    console.print(
        "violated: rows drawn that broke the rule; how the rows written were fixed: redrawn "
        "(values redrawn within their bins), resampled (row drawn again), repaired (a value "
        "redrawn from the model), rejected (replaced by a copy of a valid row)",
        soft_wrap=True,
    )
    totals = ", ".join(f"{report.get(f'rows_{k}', 0)} {k}" for k in _OUTCOMES)
    say(f"rows written: {totals}")


@app.command("sample")
@friendly
def synth_sample(
    model: Annotated[Path, typer.Argument(help="A model saved by `synthema synth fit`.")],
    rows: Annotated[int, typer.Option("--rows", "-n", help="Synthetic patients to draw.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv, .tsv or .parquet.")],
    seed: Annotated[
        int | None, typer.Option(min=0, help="Random seed (same seed, same rows).")
    ] = None,
    max_rules_shown: Annotated[int, typer.Option(min=1, help="Rules listed in the report.")] = 15,
) -> None:
    """Draw synthetic patients from a saved model; clinical rules are enforced and reported."""
    from synthema.synth.files import sample_file

    with live_progress("sampling") as timeline:
        sampled = sample_file(model, rows=rows, out=out, seed=seed)
    say(f"wrote {sampled.path} ({len(sampled.data)} rows, {sampled.data.shape[1]} columns)")
    if (line := stage_summary(timeline)) is not None:
        say(line)
    if sampled.sidecar is not None:
        say(f"wrote {sampled.sidecar} (how the rows were made: synthema evaluate reads it)")
    print_choice(sampled.synthesizer)
    print_privacy(sampled.synthesizer)
    print_rules_report(sampled.synthesizer.sampling_report_, max_rules_shown)


@app.command("show")
@friendly
def synth_show(
    model: Annotated[Path, typer.Argument(help="A model saved by `synth fit` or `federate fit`.")],
) -> None:
    """Describe a saved model: method (and why auto chose it), privacy spent, dictionary."""
    from synthema.synth.files import describe_model

    info = describe_model(model)
    synth = info.synthesizer
    d = synth.dictionary_
    cliques = "" if info.cliques is None else (
        f", {info.cliques} marginals modelled beyond the one-way ones")
    say(f"{info.path}: {synth.method} ({synth.label}), dictionary {d.name} v{d.version}, "
        f"{len(d)} variables{cliques}")
    print_choice(synth)
    print_privacy(synth)
