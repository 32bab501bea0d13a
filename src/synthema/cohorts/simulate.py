"""Multi-site cohort simulation: split patients across sites, simulate each, write files.

Each disease module exposes ``simulate_site(n, *, site, n_sites, rng) -> DataFrame``
returning a *typed* frame (see :mod:`synthema.schema.values`) with exactly the
dictionary's columns, every value inside the dictionary's bounds and every rule holding.
Sites differ by design (case mix, gene panel, follow-up), see each module.

Output layout of :func:`write_cohort`::

    OUT/site_01.csv ...              clean files in the dictionary's format
    OUT/raw/site_01.csv ...          (--raw) hospital-style exports with identifiers
    OUT/raw/site_01.mapping.yaml     (--raw) the mapping that harmonises them back
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthema.cohorts import aml, scd
from synthema.errors import ParameterError
from synthema.schema import Dictionary, format_frame, load_dictionary

SiteSimulator = Callable[..., pd.DataFrame]

DISEASES: dict[str, tuple[SiteSimulator, str, str]] = {
    # disease: (site simulator, age column, index date column)
    "aml": (aml.simulate_site, "age", "diagnosis_date"),
    "scd": (scd.simulate_site, "age", "enrolment_date"),
}


@dataclass(frozen=True)
class SiteCohort:
    """One simulated site: its number (1-based), name and typed data."""

    site: int
    name: str
    data: pd.DataFrame


def site_sizes(patients: int, sites: int, rng: np.random.Generator) -> list[int]:
    """Uneven but non-empty site sizes summing to ``patients`` (larger centres first).

    >>> site_sizes(100, 3, np.random.default_rng(0))
    [42, 33, 25]
    """
    if sites < 1:
        raise ParameterError(f"--sites is {sites}", fix="use at least 1 site")
    if patients < sites:
        raise ParameterError(
            f"--patients {patients} is fewer than --sites {sites}",
            fix="ask for at least one patient per site",
        )
    weights = np.sort(rng.dirichlet(np.full(sites, 6.0)))[::-1]
    sizes = np.floor(weights * (patients - sites)).astype(int) + 1
    sizes[0] += patients - sizes.sum()
    return sorted((int(s) for s in sizes), reverse=True)


def simulate(disease: str, *, sites: int, patients: int, seed: int) -> list[SiteCohort]:
    """Simulate ``patients`` patients of ``disease`` spread over ``sites`` hospitals."""
    if disease not in DISEASES:
        raise ParameterError(f"unknown disease '{disease}'",
                             fix=f"use one of {', '.join(DISEASES)}")
    simulate_site = DISEASES[disease][0]
    root = np.random.SeedSequence(seed)
    size_rng, *site_seeds = (np.random.default_rng(s) for s in root.spawn(sites + 1))
    sizes = site_sizes(patients, sites, size_rng)
    return [
        SiteCohort(
            site=k + 1,
            name=f"site_{k + 1:02d}",
            data=simulate_site(sizes[k], site=k + 1, n_sites=sites, rng=site_seeds[k]),
        )
        for k in range(sites)
    ]


def write_cohort(
    cohorts: list[SiteCohort],
    out_dir: Path,
    *,
    disease: str,
    raw: bool = False,
    seed: int = 0,
) -> list[Path]:
    """Write clean site files (and raw exports with mappings when ``raw``); return paths."""
    from synthema.cohorts.raw import make_raw_export  # raw styles are only needed here

    dictionary: Dictionary = load_dictionary(disease)
    _, age_col, date_col = DISEASES[disease]
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for cohort in cohorts:
        path = out_dir / f"{cohort.name}.csv"
        format_frame(cohort.data, dictionary).to_csv(path, index=False)
        written.append(path)
        if raw:
            raw_dir = out_dir / "raw"
            raw_dir.mkdir(exist_ok=True)
            rng = np.random.default_rng([seed, cohort.site, 7])
            export = make_raw_export(
                cohort.data,
                dictionary,
                site=cohort.site,
                age_column=age_col,
                index_date_column=date_col,
                rng=rng,
            )
            written.extend(export.write(raw_dir, name=cohort.name))
    return written


@dataclass(frozen=True)
class SimulatedCohort:
    """The simulated sites and every file written (clean files, raw exports, mappings)."""

    sites: tuple[SiteCohort, ...]
    paths: tuple[Path, ...]


def simulate_to(out_dir: str | Path, *, disease: str, sites: int = 3, patients: int = 1000,
                seed: int = 0, raw: bool = False) -> SimulatedCohort:
    """Simulate a cohort and write it: ``synthema simulate`` as one library call.

    Raises:
        ParameterError: an unknown disease, fewer than 1 site or patients than sites, or an
            output that is a file (checked before anything is simulated).
    """
    out_dir, disease = Path(out_dir), disease.lower()
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"{out_dir} is a file", fix="give a folder for the site files")
    cohorts = simulate(disease, sites=sites, patients=patients, seed=seed)
    paths = write_cohort(cohorts, out_dir, disease=disease, raw=raw, seed=seed)
    return SimulatedCohort(tuple(cohorts), tuple(paths))
