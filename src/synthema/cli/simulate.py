"""``synthema simulate``: a reference multi-site cohort (clean files, optional raw exports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthema.cli._output import console, friendly


@friendly
def simulate_cmd(
    disease: Annotated[str, typer.Option(help="aml or scd.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    sites: Annotated[int, typer.Option(help="Number of hospitals.")] = 3,
    patients: Annotated[int, typer.Option(help="Patients in all sites together.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (same seed, same cohort).")] = 0,
    raw: Annotated[bool, typer.Option("--raw", help="Also write hospital-style exports.")] = False,
) -> None:
    """Simulate a multi-site cohort: clean site files, and raw exports with mappings."""
    from synthema.cohorts.simulate import simulate_to

    with console.status(f"simulating {patients} {disease.upper()} patients at {sites} sites"):
        cohort = simulate_to(out, disease=disease, sites=sites, patients=patients, seed=seed,
                             raw=raw)  # fmt: skip
    for c in cohort.sites:
        console.print(f"{c.name}: {len(c.data)} patient{'s' if len(c.data) != 1 else ''}")
    console.print(f"wrote {len(cohort.paths)} files to {out}")
