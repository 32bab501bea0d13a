"""Synthesizers from files to files: ``synthema synth fit`` and ``synth sample``.

:func:`fit_files` is a central fit (clean site files pooled at one trusted site, one
synthesizer, one model file) as one library call: check every parameter first (method,
ε, δ, seed, the output path), then read and validate each file (a file with any problem
stops the fit: :func:`synthema.harmonize.validate.read_clean_files`), fit on the pooled rows
through a :class:`~synthema.stats.CentralSource` and save the model. The federated path does
the same fit on a :class:`~synthema.federation.FederatedSource` instead
(:func:`synthema.federation.deploy.run_fit`). :func:`sample_file` draws rows from a saved
model into a file; both check their parameters before any work is done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synthema.errors import ParameterError, SynthemaError
from synthema.schema import Dictionary, load_dictionary
from synthema.synth.auto import AUTO
from synthema.synth.base import BaseSynthesizer
from synthema.synth.registry import check_parameters, synthesizer_class


@dataclass(frozen=True)
class CentralFit:
    """A fitted, saved synthesizer and what it was fitted on.

    ``files`` pairs each file with its number of patients; ``seconds`` is the fit alone.
    """

    synthesizer: BaseSynthesizer
    files: tuple[tuple[str, int], ...]
    patients: int
    seconds: float
    path: Path


def check_fit_parameters(method: str, epsilon: float | None, delta: float, seed: int | None,
                         out: Path, files: Sequence[Path],
                         dictionary: Dictionary | str | Path = "") -> None:
    """Refuse what no fit can use, before any file is read.

    A private method needs an explicit ε: nobody should get a budget by default (``auto``
    only chooses private methods).

    Raises:
        ParameterError: naming the parameter, its value and the fix.
    """
    private = method == AUTO or synthesizer_class(method).private
    if epsilon is None and private:
        raise ParameterError(
            "epsilon is missing",
            fix="give the privacy budget, e.g. --epsilon 1 (smaller is more private; "
            "--epsilon inf adds no noise and is NOT PRIVATE)",
        )
    budget = {} if epsilon is None else {"epsilon": epsilon}
    check_parameters(method, dictionary=dictionary, delta=delta, random_state=seed, **budget)
    if out.is_dir():
        raise ParameterError(f"model path {out} is a folder",
                             fix="name the model file, e.g. model.synth")
    if any(out.resolve() == Path(f).resolve() for f in files):
        raise ParameterError(f"model path {out} is one of the data files",
                             fix="save the model elsewhere")


def fit_files(
    files: Sequence[str | Path],
    *,
    dictionary: Dictionary | str | Path,
    out: str | Path,
    method: str = AUTO,
    epsilon: float | None = None,
    delta: float = 1e-6,
    seed: int | None = None,
    bins: str | None = None,
) -> CentralFit:
    """Fit ``method`` on clean site files pooled at one trusted site; save it to ``out``.

    Args:
        files: clean files in the dictionary's format (one per site), pooled in order.
        dictionary: the dictionary (object, built-in name or YAML path).
        out: the model file to write.
        method: ``auto`` (MST, AIM or independent, chosen from the dictionary's size and ε;
            the choice and its reason are in ``synthesizer.method_choice`` and the model
            file), ``mst``, ``aim``, ``independent``, ``dpvae`` or ``copula`` (not private).
        epsilon: the privacy budget ε (required for private methods; ``inf``: no noise).
        delta: δ of (ε, δ)-DP.
        seed: seed of the public choices and of sampling, never of the noise.
        bins: ``adaptive`` or ``public`` for the graphical models (MST, AIM, independent,
            auto; None: their default, adaptive); see docs/synthesizers.md.

    Raises:
        ParameterError: a bad parameter (checked before any file is read).
        ValidationFailed: a file has problems (the fit never sees unclean data).
    """
    from synthema.harmonize.validate import read_clean_files

    method, out, paths = method.lower(), Path(out), [Path(f) for f in files]
    check_fit_parameters(method, epsilon, delta, seed, out, paths, dictionary)
    d = load_dictionary(dictionary)
    data, reports = read_clean_files(paths, dictionary)
    budget = {} if epsilon is None else {"epsilon": epsilon}
    if bins is not None:
        budget["bins"] = bins
    synth = check_parameters(method, dictionary=d, delta=delta, random_state=seed, **budget)
    start = time.perf_counter()
    synth.fit(data)
    seconds = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    synth.save(out)
    return CentralFit(synth, tuple((str(p), len(r.data)) for p, r in zip(paths, reports,
                                                                           strict=True)),
                      len(data), seconds, out)


@dataclass(frozen=True)
class SampledFile:
    """Rows drawn from a saved model, where they were written, and the provenance sidecar."""

    synthesizer: BaseSynthesizer
    data: pd.DataFrame
    path: Path
    sidecar: Path | None = None


def provenance(synth: BaseSynthesizer, *, model: str | Path | None = None,
               rows: int | None = None) -> dict:
    """How synthetic rows were made, for the evaluation report's header (JSON-able).

    Method, central or federated (and over which sites), the privacy spent as (ε, δ) and ρ,
    whether it is private at all (ε = ∞ and the non-private baselines are not), the
    dictionary, the model file and the synthema version. Read from the fitted synthesizer, so
    ``synthema evaluate --model`` and the sidecar of ``synth sample`` say the same.
    """
    import math

    from synthema import installed_version

    spent = synth.privacy_spent_
    private = bool(spent.get("private")) and synth.private
    mode = spent.get("mode") or "central (one trusted site held the pooled files)"

    def num(key: str) -> float | None:
        v = spent.get(key)
        return None if v is None or not math.isfinite(float(v)) else float(v)

    d = synth.dictionary_
    choice = synth.method_choice
    return {"method": synth.method,
            "method_choice": None if choice is None else choice.to_json(),
            "private": private, "mode": mode,
            "federated": mode.startswith("federated"),
            "epsilon": num("epsilon") if private else None,
            "delta": num("delta"), "rho": num("rho") if private else None,
            "dictionary": {"name": d.name, "version": str(d.version)},
            "model": None if model is None else str(model), "rows": rows,
            "synthema_version": installed_version()}


def model_provenance(model: str | Path) -> dict:
    """:func:`provenance` of a saved model file (``synthema evaluate --model``).

    Raises:
        SynthemaError: no such model, or not a model file.
    """
    from synthema.synth.persist import load_synthesizer

    return provenance(load_synthesizer(Path(model)), model=model)


_MODEL_FIX = "fit one first: synthema synth fit --dictionary D --epsilon 1 FILE... --out MODEL"


def _load_model(model: Path) -> BaseSynthesizer:
    from synthema.synth.persist import load_synthesizer

    if not model.exists():
        raise SynthemaError(f"{model}: no such model file", fix=_MODEL_FIX)
    if model.is_dir():
        raise SynthemaError(f"{model}: is a folder, not a model file", fix=_MODEL_FIX)
    return load_synthesizer(model)


@dataclass(frozen=True)
class ModelInfo:
    """A saved model, loaded: the synthesizer (``method``, ``method_choice``,
    ``privacy_spent_``, ``dictionary_``) and the number of marginals it modelled beyond the
    one-way ones (None for a model without cliques: copula, dpvae)."""

    synthesizer: BaseSynthesizer
    path: Path
    cliques: int | None


def describe_model(model: str | Path) -> ModelInfo:
    """What ``synthema synth show`` prints about a saved model.

    Raises:
        SynthemaError: no such model, or not a model file.
    """
    synth = _load_model(Path(model))
    cliques = getattr(synth, "cliques_", None)
    return ModelInfo(synth, Path(model), None if cliques is None else len(cliques))


def sample_file(model: str | Path, *, rows: int, out: str | Path,
                seed: int | None = None) -> SampledFile:
    """Draw ``rows`` synthetic patients from a saved model into ``out`` (CSV/TSV/Parquet).

    Every row satisfies every dictionary rule; ``synthesizer.sampling_report_`` says what
    that took. Next to the file goes its provenance sidecar
    (:func:`~synthema.tables.provenance_path`, :func:`provenance`), which
    ``synthema evaluate`` reads to say how the rows were made.

    Raises:
        ParameterError: fewer than 1 row.
        DataFileError: an output the tables room cannot write (checked before sampling).
        SynthemaError: no such model, or not a model file.
    """
    from synthema.tables import check_output_path, provenance_path, write_table

    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ParameterError(f"rows is {rows}", fix="ask for at least 1 row, e.g. --rows 1000")
    out = check_output_path(out)
    model = Path(model)
    synth = _load_model(model)
    data = synth.sample(rows, random_state=seed)
    write_table(data, out, dictionary=synth.dictionary_)
    sidecar = provenance_path(out)
    sidecar.write_text(json.dumps(provenance(synth, model=model, rows=len(data)), indent=1,
                                  allow_nan=False), encoding="utf-8")
    return SampledFile(synth, data, out, sidecar)
