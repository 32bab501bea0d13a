"""Checks `synthema federate` makes before any Flower process starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.errors import FederationError
from synthema.federation import deploy


def test_raw_exports_are_refused_as_site_data(tmp_path, site_files):
    # Setup: the harmonised site files pass; a folder of raw exports (names, hospital numbers,
    # birth dates, postcodes next to the data) does not
    assert deploy.site_files(site_files[0].parent, 3) == sorted(site_files)[:3]
    made = CliRunner().invoke(app, ["simulate", "--disease", "aml", "--sites", "3", "--patients",
                                    "90", "--seed", "5", "--raw", "--out", str(tmp_path / "c")])
    assert made.exit_code == 0, made.output
    raw = tmp_path / "c" / "raw"

    # Run / Assert: refused before anything starts, naming the file and its identifier headers
    with pytest.raises(FederationError, match=r"site_01.* direct identifier column\(s\)") as info:
        deploy.site_files(raw, 3)
    assert "harmonise it first" in info.value.fix


def test_fit_without_a_federation_says_so_once_and_prints_nothing_else(tmp_path):
    result = CliRunner().invoke(app, ["federate", "fit", "--workdir", str(tmp_path / "none"),
                                      "--out", str(tmp_path / "m.synth")])  # fmt: skip
    assert result.exit_code == 2
    assert result.output.count("no federation is running") == 1
    assert "federated mst fit" not in result.output


def test_budget_show_reads_as_a_privacy_officer_needs(tmp_path):
    # Setup: a ledger created at ε = 4, one charge, then lowered to ε = 3 with a reason
    from synthema.privacy.analysis import cdp_rho
    from synthema.privacy.ledger import BudgetLedger

    path = tmp_path / "site_01.sqlite"
    with BudgetLedger(path, rho_max=cdp_rho(4.0, 1e-6), site="site_01") as ledger:
        ledger.charge(cdp_rho(1.0, 1e-6), query_id="q1", label="round 1",
                      local_rho=2 * cdp_rho(1.0, 1e-6))  # fmt: skip
        ledger.set_budget(cdp_rho(3.0, 1e-6), reason="officer review")

    # Run
    result = CliRunner().invoke(app, ["budget", "show", "--ledger", str(path)],
                                env={"COLUMNS": "200"})  # fmt: skip

    # Assert: spent and budget both as ε; the changes table in readable figures
    assert result.exit_code == 0, result.output
    assert "(ε = 1 of 3 at δ = 1e-06)" in result.output
    assert "officer review" in result.output and "created" in result.output
    assert "None" not in result.output
    assert f"{cdp_rho(4.0, 1e-6):.6g}" in result.output
    assert str(cdp_rho(4.0, 1e-6)) not in result.output  # not the raw float repr
    # both guarantees: the local-only one (the site's answer seen alone) in its own line
    local = 2 * cdp_rho(1.0, 1e-6)
    assert f"local-only guarantee (each answer seen alone, if secure aggregation failed): " \
           f"ρ = {local:.6g}" in result.output
    assert "local rho" in result.output


def test_secret_keys_are_created_private_not_restricted_afterwards(tmp_path, monkeypatch):
    # Setup: a permissive umask, and no chmod (if the code relied on chmod after writing,
    # the key would be readable by others, at least until the chmod)
    import os
    import stat

    monkeypatch.setattr(deploy.os, "chmod", lambda *a, **k: None)
    old = os.umask(0)
    try:
        # Run
        deploy.make_node_key(tmp_path / "keys" / "site_01", "site_01")
        deploy.make_certificates(tmp_path / "certs")
        (tmp_path / "keys" / "site_02").write_bytes(b"an old, world-readable key")
        os.chmod(tmp_path / "keys" / "site_02", 0o644)
        deploy.make_node_key(tmp_path / "keys" / "site_02", "site_02")  # overwrites it
    finally:
        os.umask(old)

    # Assert
    for path in ("keys/site_01", "certs/server.key", "keys/site_02"):
        mode = stat.S_IMODE((tmp_path / path).stat().st_mode)
        assert mode == 0o600, f"{path}: {oct(mode)}"
    assert (tmp_path / "keys" / "site_02").read_bytes().startswith(b"-----BEGIN OPENSSH")
