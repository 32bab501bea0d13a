"""Saving a fitted synthesizer to one file, and loading it back, without pickle.

The file is a zip archive (``.synth`` by convention; any name works) holding:

- ``synthesizer.json``: format name and version, the method (and, when ``--method auto``
  chose it, ``method_choice``: the choice, its reason and the public facts it used), the
  parameters (the dictionary parameter replaced by a marker), ``privacy_spent_``, the public
  domain (attributes, their categories or bin edges), the model's structure (cliques,
  junction tree) and the names of the arrays;
- ``dictionary.yaml``: the dictionary's YAML text, so the file is self-contained;
- ``arrays.npz``: the model's arrays (log-potentials per clique, or the copula's correlation
  and code probabilities), written and read with ``allow_pickle=False``.

Loading never executes code from the file: JSON, YAML (safe loader) and plain numeric arrays
only. A loaded synthesizer samples exactly the rows the saved one would for the same seed.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import yaml

from synthema.errors import SynthemaError
from synthema.schema import Dictionary
from synthema.stats.domain import Domain, from_json_value, to_json_value

FORMAT = "synthema-synthesizer"
VERSION = 1


def _params(synth) -> dict:
    out = {}
    for name, value in synth.get_params().items():
        if name == "dictionary":
            out[name] = {"dictionary": "dictionary.yaml"}
        elif isinstance(value, tuple):
            out[name] = {"tuple": [to_json_value(v) for v in value]}
        else:
            out[name] = to_json_value(value)
    return out


def _unparams(raw: dict, dictionary: Dictionary) -> dict:
    out = {}
    for name, value in raw.items():
        if name == "dictionary":
            out[name] = dictionary
        elif isinstance(value, dict) and "tuple" in value:
            out[name] = tuple(from_json_value(v) for v in value["tuple"])
        else:
            out[name] = from_json_value(value)
    return out


def save_synthesizer(synth, path: Path) -> Path:
    """Write a fitted synthesizer to ``path`` (see the module docstring); returns the path."""
    meta, arrays = synth._state()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "method": synth.method,
        "label": synth.label,
        "method_choice": None if synth.method_choice is None else synth.method_choice.to_json(),
        "params": _params(synth),
        "privacy_spent": {k: to_json_value(v) for k, v in synth.privacy_spent_.items()},
        "domain": synth.domain_.to_json(),
        "model": meta,
        "arrays": sorted(arrays),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("synthesizer.json", json.dumps(manifest, indent=1, allow_nan=False))
        zf.writestr("dictionary.yaml", synth.dictionary_.to_yaml())
        zf.writestr("arrays.npz", buffer.getvalue())
    return path


def load_synthesizer(path: str | Path):
    """Read a synthesizer written by ``save``; it is fitted and ready to sample.

    Raises:
        SynthemaError: the file is missing, not a synthesizer file, or from another version.
    """
    from synthema.synth.registry import synthesizer_class

    path = Path(path)
    fix = "point to a model written by synthema synth fit or federate fit (a .synth file)"
    if not path.is_file():
        raise SynthemaError(f"{path}: no such file", fix=fix)
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("synthesizer.json"))
            yaml_text = zf.read("dictionary.yaml").decode("utf-8")
            with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
                arrays = {k: np.array(npz[k]) for k in npz.files}
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise SynthemaError(f"{path}: not a synthesizer file ({exc})", fix=fix) from None
    if manifest.get("format") != FORMAT:
        raise SynthemaError(f"{path}: not a synthesizer file", fix=fix)
    if manifest.get("version") != VERSION:
        raise SynthemaError(
            f"{path}: synthesizer file version {manifest.get('version')} is not supported "
            f"(this synthema reads version {VERSION})",
            fix="fit the synthesizer again with this version of synthema",
        )
    dictionary = Dictionary.from_mapping(yaml.safe_load(yaml_text), source=f"{path}:dictionary")
    cls = synthesizer_class(manifest["method"])
    synth = cls(**_unparams(manifest["params"], dictionary))
    synth.dictionary_ = dictionary
    synth.domain_ = Domain.from_json(manifest["domain"])
    synth.privacy_spent_ = {k: from_json_value(v) for k, v in manifest["privacy_spent"].items()}
    synth._set_state(manifest["model"], arrays)
    if manifest.get("method_choice"):
        from synthema.synth.auto import MethodChoice

        synth.method_choice = MethodChoice.from_json(manifest["method_choice"])
    return synth
