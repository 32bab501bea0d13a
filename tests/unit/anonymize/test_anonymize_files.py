"""A policy's population file is found next to the policy file, not in the working directory."""

from __future__ import annotations

import dataclasses

from synthema.anonymize.files import _population
from synthema.anonymize.policy import load_policy


def _policy_dir(tmp_path):
    """A policy file in tmp_path/policies naming pop.csv, a pop.csv beside it, and a decoy
    pop.csv in tmp_path (the working directory of the tests below)."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "policy.yaml").write_text("name: t\nmodels: {k: 2}\nrisk: {population: pop.csv}\n",
                                        encoding="utf-8")
    (folder / "pop.csv").write_text("site\nbeside the policy\n", encoding="utf-8")
    (tmp_path / "pop.csv").write_text("site\nworking directory\n", encoding="utf-8")
    return folder


def test_relative_population_path_is_relative_to_the_policy_file(tmp_path, monkeypatch):
    # Setup
    folder = _policy_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    policy = load_policy("policies/policy.yaml")
    # Run
    population = _population(policy)
    # Assert
    assert population["site"].tolist() == ["beside the policy"]
    assert policy.source == str(folder.relative_to(tmp_path) / "policy.yaml")


def test_absolute_population_path_and_policy_built_in_code_are_read_as_given(tmp_path,
                                                                             monkeypatch):
    # Setup
    folder = _policy_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    from_file = load_policy(folder / "policy.yaml")
    absolute = dataclasses.replace(from_file, population=str(tmp_path / "pop.csv"))
    in_code = dataclasses.replace(from_file, source="<policy>")
    # Run
    read = [_population(absolute), _population(in_code)]
    # Assert: both read the working directory's file
    assert [df["site"].tolist() for df in read] == [["working directory"]] * 2
    assert _population(dataclasses.replace(from_file, population=None)) is None
