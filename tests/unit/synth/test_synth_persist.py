"""Saved synthesizer files: self-contained, no pickle, clear errors on bad files."""

from __future__ import annotations

import json
import zipfile

import pytest

from synthema.errors import SynthemaError
from synthema.synth import load_synthesizer


def test_file_holds_params_dictionary_domain_and_privacy(fitted, tmp_path):
    # Setup
    synth = fitted("mst", 4.0)
    path = synth.save(tmp_path / "model.synth")

    # Run
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("synthesizer.json"))
        yaml_text = zf.read("dictionary.yaml").decode()

    # Assert
    assert manifest["method"] == "mst" and manifest["format"] == "synthema-synthesizer"
    assert manifest["params"]["epsilon"] == 4.0
    assert manifest["privacy_spent"]["private"] is True
    assert [a["name"] for a in manifest["domain"]["attributes"]] == list(synth.domain_.names)
    assert manifest["model"]["cliques"] and "variables:" in yaml_text


def test_non_finite_values_survive(fitted, tmp_path):
    # Setup
    synth = fitted("independent", float("inf"))

    # Run
    loaded = load_synthesizer(synth.save(tmp_path / "inf.synth"))

    # Assert
    assert loaded.privacy_spent_ == synth.privacy_spent_
    assert loaded.get_params()["epsilon"] == float("inf")


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_garbage_is_refused(content, tmp_path):
    # Setup
    path = tmp_path / "bad.synth"
    path.write_bytes(content)

    # Run / Assert
    with pytest.raises(SynthemaError, match="not a synthesizer file"):
        load_synthesizer(path)


def test_missing_file_and_other_versions_are_refused(fitted, tmp_path):
    # Setup
    path = fitted("independent", 4.0).save(tmp_path / "m.synth")
    newer = tmp_path / "newer.synth"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(newer, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "synthesizer.json":
                manifest = json.loads(data)
                manifest["version"] = 99
                data = json.dumps(manifest).encode()
            dst.writestr(name, data)

    # Run / Assert
    with pytest.raises(SynthemaError, match="no such file"):
        load_synthesizer(tmp_path / "absent.synth")
    with pytest.raises(SynthemaError, match="version 99"):
        load_synthesizer(newer)
