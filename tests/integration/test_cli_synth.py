"""`synthema synth fit` and `synth sample` as a user runs them: budgets shown, no tracebacks.

A small simulated AML cohort projected onto 11 variables (7 clinical rules) keeps every fit fast.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.cohorts.simulate import simulate
from synthema.harmonize.validate import validate_file
from synthema.schema import load_dictionary
from synthema.stats import Domain
from synthema.tables import write_table

runner = CliRunner()

VARIABLES = [
    "age", "sex", "ecog", "wbc", "hb", "induction_intensity", "induction_response", "cr",
    "cr_days", "os_days", "os_status",
]  # fmt: skip


def _run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Three clean site files on a projected dictionary, and the dictionary's path."""
    root = tmp_path_factory.mktemp("synth_cli")
    small = load_dictionary("aml").project(VARIABLES)
    dict_path = root / "aml_small.yaml"
    dict_path.write_text(small.to_yaml(), encoding="utf-8")
    files = []
    for site in simulate("aml", sites=3, patients=300, seed=7):
        path = root / f"{site.name}.csv"
        write_table(site.data[list(small.columns)], path, dictionary=small)
        files.append(path)
    return {"root": root, "dict": dict_path, "files": files, "dictionary": small}


@pytest.fixture(scope="module")
def mst_model(cohort):
    """One private MST model, fitted through the CLI, shared by the sampling tests."""
    model = cohort["root"] / "mst.synth"
    result = _run(
        "synth", "fit", "--dictionary", cohort["dict"], "--epsilon", "1", "--seed", "3",
        "--method", "mst", *cohort["files"], "--out", model,
    )  # fmt: skip
    return model, result


def test_fit_prints_the_budget_spent_and_saves_the_model(mst_model):
    model, result = mst_model
    assert result.exit_code == 0, result.output
    assert model.is_file()
    out = result.output
    assert "ε = 1," in out and "δ = 1e-06" in out and "ρ = " in out
    assert "zCDP" in out and "mst" in out
    assert "NOT PRIVATE" not in out
    assert "fitted mst on 300 patients from 3 file(s)" in out
    # where the time went: measuring, compiling, iterating (counted)
    assert "time: measuring " in out and "compiling the estimation" in out
    assert re.search(r"mirror descent to \d+ iterations \d+\.\d s", out)


def test_the_default_method_is_auto_and_its_choice_is_printed_and_kept(cohort, tmp_path):
    # Setup: 11 variables, 300 patients at ε = 1: auto plans MST from the dictionary, then the
    # noisy count (sd about 20) times ε is far below 1,000, so it settles on independent
    from synthema.synth import load_synthesizer
    from synthema.synth.auto import choose_method

    model = tmp_path / "auto.synth"
    plan = choose_method(cohort["dictionary"], epsilon=1.0)

    # Run
    fitted = _run("synth", "fit", "-d", cohort["dict"], "--epsilon", "1", "--seed", "3",
                  *cohort["files"], "--out", model)
    shown = _run("synth", "show", model)
    sampled = _run("synth", "sample", model, "--rows", "5", "--out", tmp_path / "s.csv")

    # Assert: fit, show and sample all say what auto chose and why
    choice = load_synthesizer(model).method_choice
    line = " ".join(choice.line.split())
    assert plan.method == "mst" and choice.method == "independent"
    assert "patients (a noisy count) × ε = 1" in choice.reason
    for result in (fitted, shown, sampled):
        assert result.exit_code == 0, result.output
        assert line in " ".join(result.output.split())
    assert "fitted independent on 300 patients" in fitted.output
    assert ("independent (differentially private (independent marginals, survival anchored))"
            in shown.output)


def test_a_named_method_prints_no_choice(cohort, tmp_path):
    # Run
    model = tmp_path / "ind.synth"
    result = _run("synth", "fit", "-d", cohort["dict"], "--epsilon", "1", "--method",
                  "independent", *cohort["files"], "--out", model)
    shown = _run("synth", "show", model)

    # Assert
    assert result.exit_code == 0 and shown.exit_code == 0, result.output + shown.output
    assert "--method auto" not in result.output + shown.output
    assert "independent" in shown.output


def test_show_refuses_a_missing_model(tmp_path):
    # Run
    result = _run("synth", "show", tmp_path / "nothing.synth")

    # Assert
    assert result.exit_code == 2
    assert "no such model file" in result.output and "fix:" in result.output


def test_sample_writes_rows_that_validate(cohort, mst_model, tmp_path):
    model, _ = mst_model
    out = tmp_path / "synthetic.csv"
    result = _run("synth", "sample", model, "--rows", "150", "--seed", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert "150 rows" in result.output
    assert "clinical rules" in result.output
    assert re.search(r"time: sampling \d+\.\d s", result.output)
    frame = pd.read_csv(out)
    assert len(frame) == 150
    assert list(frame.columns) == list(cohort["dictionary"].columns)
    report = validate_file(out, cohort["dict"])
    assert report.ok, report.totals_line()


def test_sample_is_reproducible_with_a_seed_and_writes_parquet(cohort, mst_model, tmp_path):
    model, _ = mst_model
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    for path in (a, b):
        result = _run("synth", "sample", model, "--rows", "40", "--seed", "5", "--out", path)
        assert result.exit_code == 0, result.output
    fa, fb = pd.read_parquet(a), pd.read_parquet(b)
    assert len(fa) == 40 and list(fa.columns) == list(cohort["dictionary"].columns)
    pd.testing.assert_frame_equal(fa, fb)


def test_epsilon_inf_is_labelled_not_private(cohort, tmp_path):
    model = tmp_path / "inf.synth"
    result = _run(
        "synth", "fit", "-d", cohort["dict"], "--epsilon", "inf", "--method", "independent",
        *cohort["files"], "--out", model,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "NOT PRIVATE" in result.output and "ε = inf" in result.output
    sample = _run("synth", "sample", model, "--rows", "10", "--out", tmp_path / "s.csv")
    assert sample.exit_code == 0, sample.output
    assert "NOT PRIVATE" in sample.output


@pytest.mark.parametrize("bins", ["adaptive", "public", None])
def test_bins_are_chosen_from_noisy_counts_unless_public_is_asked(cohort, tmp_path, bins):
    # Setup
    from synthema.synth import load_synthesizer

    model = tmp_path / "m.synth"
    option = [] if bins is None else ["--bins", bins]
    # Run
    result = _run("synth", "fit", "-d", cohort["dict"], "--epsilon", "inf", "--method",
                  "independent", *option, *cohort["files"], "--out", model)
    # Assert: exact counts of 900 patients put os_days' bins where the data are (adaptive, the
    # default); public keeps the dictionary's bins
    assert result.exit_code == 0, result.output
    domain = load_synthesizer(model).domain_
    public = Domain.from_dictionary(cohort["dictionary"])
    adaptive = bins != "public"
    assert bool(domain["os_days"].sub_edges) is adaptive
    assert (domain["os_days"].edges != public["os_days"].edges) is adaptive
    assert domain["sex"] == public["sex"]


def test_bins_are_refused_for_a_method_without_them(cohort, tmp_path):
    model = tmp_path / "m.synth"
    result = _run("synth", "fit", "-d", cohort["dict"], "--method", "copula", "--bins",
                  "public", *cohort["files"], "--out", model)
    assert result.exit_code == 2, result.output
    assert "bins" in result.output and not model.exists()
    result = _run("synth", "fit", "-d", cohort["dict"], "--epsilon", "1", "--bins", "fine",
                  *cohort["files"], "--out", model)
    assert result.exit_code == 2 and "bins" in result.output, result.output


def test_copula_is_a_non_private_baseline(cohort, tmp_path):
    model = tmp_path / "copula.synth"
    result = _run(
        "synth", "fit", "-d", cohort["dict"], "--method", "copula", *cohort["files"],
        "--out", model,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "NOT PRIVATE" in result.output and "copula" in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--epsilon", "1", "--method", "gan"], "unknown method 'gan'"),
        (["--epsilon", "0"], "epsilon is 0"),
        (["--epsilon", "-2"], "epsilon is -2"),
        (["--epsilon", "nan"], "epsilon is nan"),
        ([], "epsilon is missing"),
        (["--epsilon", "1", "--delta", "0"], "delta is 0"),
        (["--epsilon", "1", "--delta", "1"], "delta is 1"),
        (["--epsilon", "1", "--delta", "2.5"], "delta is 2.5"),
    ],
)
def test_fit_refuses_bad_arguments(cohort, tmp_path, options, message):
    # the library checks each parameter once and names it (the CLI no longer re-checks)
    model = tmp_path / "m.synth"
    result = _run("synth", "fit", "-d", cohort["dict"], *options, *cohort["files"], "--out", model)
    assert result.exit_code == 2, result.output
    assert message in result.output and "fix:" in result.output
    assert not model.exists()


def test_fit_refuses_a_file_with_validation_problems(cohort, tmp_path):
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(cohort["files"][0], dtype=str)
    frame.loc[0, "age"] = "sixty"
    frame.to_csv(bad, index=False)
    model = tmp_path / "m.synth"
    result = _run("synth", "fit", "-d", cohort["dict"], "--epsilon", "1", bad, "--out", model)
    assert result.exit_code == 2, result.output
    assert "bad.csv" in result.output and "synthema validate" in result.output
    assert not model.exists()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_model", "no such model file"),
        ("bad_extension", "cannot write '.json' files"),
        ("zero_rows", "rows is 0"),
        ("not_a_model", "not a synthesizer file"),
    ],
)
def test_sample_refuses_bad_arguments(mst_model, tmp_path, case, message):
    model, _ = mst_model
    out = tmp_path / "s.csv"
    rows = "10"
    if case == "missing_model":
        model = tmp_path / "nowhere.synth"
    elif case == "bad_extension":
        out = tmp_path / "s.json"
    elif case == "zero_rows":
        rows = "0"
    elif case == "not_a_model":
        model = tmp_path / "junk.synth"
        model.write_text("not a model", encoding="utf-8")
    result = _run("synth", "sample", model, "--rows", rows, "--out", out)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "fix:" in result.output
    assert message in result.output
    assert not out.exists()


def test_cli_knows_every_method_of_the_library():
    from synthema.cli import SYNTH_METHODS
    from synthema.synth import available_methods

    assert tuple(SYNTH_METHODS) == tuple(available_methods())


def test_fit_never_overwrites_a_data_file_or_writes_to_a_folder(cohort, tmp_path):
    first = cohort["files"][0]
    before = first.read_bytes()
    for out, message in ((first, "is one of the data files"), (tmp_path, "is a folder")):
        result = _run("synth", "fit", "-d", cohort["dict"], "--epsilon", "1", first, "--out", out)
        assert result.exit_code == 2, result.output
        assert message in result.output and "fix:" in result.output
    assert first.read_bytes() == before
