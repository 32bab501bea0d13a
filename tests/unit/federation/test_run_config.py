"""A federated fit's parameters are checked before any site is contacted (issue 12)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.errors import FederationError, ParameterError
from synthema.federation import deploy
from synthema.federation.run import FitConfig, FitSummary
from synthema.federation.source import RoundRecord, SiteFailure


@pytest.fixture()
def fake_federation(tmp_path, monkeypatch):
    """A federation.json for 3 sites whose processes do not exist; flwr must never run."""
    work = tmp_path / "fed"
    (work / "logs").mkdir(parents=True)
    dep = deploy.Deployment(workdir=str(work), port=9999, secure=False, superlink_pid=0,
                            sites=[deploy.SiteProcess(f"site_0{i}", "d.csv", "l.sqlite", 0, 0)
                                   for i in (1, 2, 3)])  # fmt: skip
    dep.save()

    def never(*args, **kwargs):
        raise AssertionError("flwr run was started")

    monkeypatch.setattr(deploy, "_flwr_run", never)
    return work


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "foo"}, "unknown method 'foo'"),
        ({"method": "copula"}, "cannot be fitted federated"),
        ({"method": "dpvae"}, "federated training .* is not built yet"),
        ({"delta": 2.0}, "delta is 2"),
        ({"epsilon": 0.0}, "epsilon is 0"),
        ({"dropouts": 2}, "dropouts=2 with 3 sites"),
        ({"method": "mst", "synth_options": {"rounds": 3}}, "does not take rounds"),
        ({"synth_options": {"hidden": 3}}, "none of them takes hidden"),
    ],
)
def test_run_fit_refuses_bad_parameters_before_starting(fake_federation, tmp_path, options,
                                                        message):  # fmt: skip
    started = []
    with pytest.raises(ParameterError, match=message):
        deploy.run_fit(fake_federation, out=tmp_path / "m.synth", on_start=started.append,
                       **options)  # fmt: skip
    assert started == []  # refused before the fit was announced or flwr started


def test_cli_refuses_before_announcing_the_fit(fake_federation, tmp_path):
    result = CliRunner().invoke(app, ["federate", "fit", "--workdir", str(fake_federation),
                                      "--delta", "2", "--out", str(tmp_path / "m.synth")])
    assert result.exit_code == 2, result.output
    assert "delta is 2: it must lie strictly between 0 and 1" in result.output
    assert "fix:" in result.output and "federated mst fit" not in result.output


def test_run_config_round_trips_through_toml_values():
    config = FitConfig(dictionary="aml", method="aim", epsilon=math.inf, delta=1e-7, seed=4,
                       n_sites=5, dropouts=2, synth_options={"rounds": 2}, model_path="m")
    values = config.to_run_config()
    assert values["epsilon"] == "inf" and values["seed"] == 4 and values["n-sites"] == 5
    assert FitConfig.from_run_config(values) == config
    assert FitConfig.from_run_config({**values, "seed": -1}).seed is None


def test_the_server_parses_the_run_config_once_and_refuses_a_bad_one():
    with pytest.raises(ParameterError, match="synth-options is not JSON"):
        FitConfig.from_run_config({"model-path": "m", "synth-options": "{iters: 1"})
    with pytest.raises(ParameterError, match="no model path"):
        FitConfig.from_run_config({})


def test_fit_summary_round_trips_through_json():
    record = RoundRecord(round=1, query_id="q-0001", marginals=2, cells=9, sigma=3.0,
                         share_sigma=2.2, contributors=("a", "b"),
                         failures=(SiteFailure("c", "no reply"),), rho_per_site=0.01,
                         local_rho_per_site=0.02, charges={"a": 0.01, "b": 0.01},
                         seconds=1.5, bytes_received=100)  # fmt: skip
    summary = FitSummary(ok=True, sites={"a": {"accepts": True}}, rounds=(record,), model="m",
                         privacy={"private": True, "rho": 0.01}, n_sites=3, seconds=2.0)
    back = FitSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert back == summary
    assert back.rho_charged("a") == 0.01 and back.answered("c") == []
    assert "error" not in summary.to_dict()


def test_a_failed_fit_reports_its_error_and_fix(fake_federation, tmp_path, monkeypatch):
    def server_failed(dep, config, folder, log, on_line):
        summary = FitSummary(ok=False, error="site 'a' refused", fix="raise its budget")
        Path(config.result_path).write_text(json.dumps(summary.to_dict()), encoding="utf-8")
        return 0

    monkeypatch.setattr(deploy, "_flwr_run", server_failed)
    with pytest.raises(FederationError, match="site 'a' refused") as info:
        deploy.run_fit(fake_federation, out=tmp_path / "m.synth")
    assert info.value.fix == "raise its budget"


def test_auto_is_planned_and_announced_before_any_site_is_contacted(fake_federation, tmp_path,
                                                                     monkeypatch):
    # Setup: the ServerApp "fails" at once; what was announced before it ran is kept
    from synthema.schema import load_dictionary
    from synthema.synth.auto import MethodChoice, choose_method

    seen = []
    settled = MethodChoice("independent", "few patients", attributes=157, cells=1, epsilon=1.0,
                           patients=300.0)

    def server(dep, config, folder, log, on_line):
        seen.append(config.method)
        summary = FitSummary(ok=False, error="stopped", fix="none",
                             method_choice=settled.to_json())
        Path(config.result_path).write_text(json.dumps(summary.to_dict()), encoding="utf-8")
        return 0

    monkeypatch.setattr(deploy, "_flwr_run", server)
    plan = choose_method(load_dictionary("aml"), epsilon=1.0)

    # Run
    result = CliRunner().invoke(app, ["federate", "fit", "--workdir", str(fake_federation),
                                      "--out", str(tmp_path / "m.synth")])

    # Assert: the ServerApp gets "auto" (it plans and settles with the same code); the user
    # sees the plan, its reason and what may still change it before anything starts
    output = " ".join(result.output.split())
    assert seen == ["auto"]
    assert f"--method auto plans {plan.method}: {plan.reason}" in output
    assert "independent marginals instead if the noisy number of patients" in output
    assert output.index("--method auto plans") < output.index("federated auto fit")
    assert FitConfig(dictionary="aml", n_sites=3, model_path="m").plan() == plan
    assert FitSummary.from_dict(json.loads(json.dumps(FitSummary(
        ok=True, method_choice=settled.to_json()).to_dict()))).method_choice["patients"] == 300


def test_the_settled_choice_is_printed_after_a_federated_fit(fake_federation, tmp_path,
                                                             monkeypatch):
    # Setup: a ServerApp that succeeded and settled auto on independent marginals
    from synthema.synth.auto import MethodChoice

    settled = MethodChoice("independent", "about 300 patients", attributes=157, cells=1,
                           epsilon=1.0, patients=300.0)

    def server(dep, config, folder, log, on_line):
        summary = FitSummary(ok=True, model=config.model_path, method="independent",
                             method_choice=settled.to_json(), privacy={"private": False},
                             n_sites=3, seconds=1.0)
        Path(config.result_path).write_text(json.dumps(summary.to_dict()), encoding="utf-8")
        return 0

    monkeypatch.setattr(deploy, "_flwr_run", server)

    # Run
    result = CliRunner().invoke(app, ["federate", "fit", "--workdir", str(fake_federation),
                                      "--out", str(tmp_path / "m.synth")])

    # Assert
    assert result.exit_code == 0, result.output
    assert settled.line in " ".join(result.output.split())
