"""Real federation: flower-superlink + flower-supernodes on 127.0.0.1, TLS, auth, SecAgg+.

Slow (each SecAgg+ round takes ~20-30 s of Flower polling), marked ``slow``, run in CI.
One 3-site deployment (TLS + SuperNode authentication) serves the exact-equality, ledger,
budget-exhausted, unregistered-node and server-transcript tests in order; a 4-site deployment
loses one site mid-round.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthema.cohorts.simulate import simulate
from synthema.errors import FederationError
from synthema.federation import deploy
from synthema.federation.protocol import CLIPPING_RANGE, REFUSAL
from synthema.privacy.analysis import cdp_rho
from synthema.privacy.ledger import BudgetLedger
from synthema.schema import load_dictionary
from synthema.schema.values import format_frame
from synthema.synth import create_synthesizer, load_synthesizer

pytestmark = pytest.mark.slow

COLUMNS = ("age", "sex", "wbc", "eln2022", "npm1", "flt3_itd", "os_days", "os_status")
OPTIONS = {"iters": 300}
SYNTHEMA = [str(Path(sys.executable).parent / "synthema")]


def _write_sites(folder: Path, n: int, seed: int) -> tuple[Path, list[pd.DataFrame]]:
    dictionary = load_dictionary("aml").project(COLUMNS)
    folder.mkdir(parents=True)
    (folder.parent / "small.yaml").write_text(dictionary.to_yaml(), encoding="utf-8")
    frames = []
    for i, cohort in enumerate(simulate("aml", sites=n, patients=150 * n, seed=seed), 1):
        frame = cohort.data[[dictionary.patient_id, *dictionary.names]].reset_index(drop=True)
        format_frame(frame, dictionary).to_csv(folder / f"site_{i:02d}.csv", index=False)
        frames.append(frame)
    return folder.parent / "small.yaml", frames


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    root = tmp_path_factory.mktemp("fed3")
    dictionary, frames = _write_sites(root / "data", 3, seed=21)
    work = root / "work"
    # min-dropouts=1: the fits below use t = 1, so they pass only if the join round carries t
    dep = deploy.up(3, root / "data", work, port=9140, epsilon_max=2.0,
                    extra_node_config="allow-exact-counts=true min-dropouts=1",
                    site_transcripts=True)  # fmt: skip
    try:
        yield {"dep": dep, "work": work, "dictionary": str(dictionary), "frames": frames,
               "root": root}  # fmt: skip
    finally:
        deploy.down(work)


def test_tls_and_auth_are_on_and_an_unregistered_node_is_rejected(federation):
    dep, work = federation["dep"], federation["work"]
    assert dep.secure and (work / "certs" / "ca.crt").is_file()
    assert len(deploy.online_nodes(dep)) == 3
    intruder = deploy.SiteProcess(name="intruder", data=str(work / "none.csv"),
                                  ledger=str(work / "intruder.sqlite"), port=9149, pid=0,
                                  key=str(work / "keys" / "intruder"))  # fmt: skip
    deploy.make_node_key(Path(intruder.key), "intruder")  # a key nobody registered
    config = deploy.node_config(intruder, epsilon_max=1.0, delta=1e-6, consortium_sites=3)
    deploy.start_supernode(dep, intruder, config, register=False)
    try:
        log = work / "logs" / "intruder.log"
        end = time.time() + 60
        while time.time() < end and "Failed to activate" not in log.read_text(errors="replace"):
            time.sleep(0.5)
        assert "Failed to activate SuperNode" in log.read_text(errors="replace")
        superlink = (work / "logs" / "superlink.log").read_text(errors="replace")
        assert "No SuperNode found with the given public key" in superlink
        assert len(deploy.online_nodes(dep)) == 3
    finally:
        deploy.stop(intruder.pid, grace=2)


def test_noise_off_federated_equals_central_and_server_sees_only_sums(federation):
    work, root = federation["work"], federation["root"]
    transcript = root / "server-transcript"
    summary = deploy.run_fit(work, out=root / "exact.synth", dictionary=federation["dictionary"],
                             method="mst", epsilon=math.inf, seed=7, synth_options=OPTIONS,
                             transcript=transcript)  # fmt: skip
    assert summary.ok and not summary.privacy["private"]
    # one-way marginals on the fine grid (which choose the bins), the other one-way marginals,
    # candidate pairs, selected cliques: every round summed over the three sites
    assert [len(r.contributors) for r in summary.rounds] == [3, 3, 3, 3]
    pooled = pd.concat(federation["frames"], ignore_index=True)
    central = create_synthesizer("mst", dictionary=federation["dictionary"], epsilon=math.inf,
                                 random_state=7, **OPTIONS).fit(pooled)  # fmt: skip
    federated = load_synthesizer(root / "exact.synth")
    pd.testing.assert_frame_equal(federated.sample(500, random_state=4),
                                  central.sample(500, random_state=4))  # fmt: skip
    # what left each site (its own transcript) vs what the ServerApp received
    released = {}
    for site in ("site_01", "site_02", "site_03"):
        folder = work / "transcripts" / site
        released[site] = {json.loads(line)["query_id"]: np.load(folder / (
            json.loads(line)["query_id"] + ".npy")) for line in
            (folder / "released.jsonl").read_text().splitlines()}  # fmt: skip
    queries = [r.query_id for r in summary.rounds]
    assert all(set(queries) <= set(v) for v in released.values())
    received = [np.load(p) for p in transcript.glob("*.npy")]
    assert received, "the server transcript holds the masked vectors it received"
    for vectors in released.values():
        for v in vectors.values():
            for r in received:
                if r.size == v.size:  # neither the answer nor its quantised form reached it
                    assert not np.array_equal(r.astype(np.int64), v)
                    assert not np.array_equal(r.astype(np.int64), v + CLIPPING_RANGE)
    entries = [json.loads(line) for line in (transcript / "received.jsonl").read_text()
               .splitlines()]  # fmt: skip
    fit_replies = [e for e in entries if e["tag"].startswith("r") and e["stage"] == 3]
    assert len(fit_replies) == 12 and all(e["error"] is None for e in fit_replies)
    # the plaintext parameters were cleared by secaggplus_mod before leaving the site
    assert not list(transcript.glob("r*-array-fitres.parameters-*.npy")) or all(
        np.load(p).size <= 1 for p in transcript.glob("r*-array-fitres.parameters-*.npy"))


def test_noise_on_charges_each_ledger_exactly(federation):
    work, root = federation["work"], federation["root"]
    lines: list[str] = []
    summary = deploy.run_fit(work, out=root / "eps1.synth", dictionary=federation["dictionary"],
                             epsilon=1.0, seed=3, synth_options=OPTIONS,
                             on_line=lines.append)  # fmt: skip
    rho = summary.privacy["rho"]
    # the coordinator saw each stage of the fit as it started: measurements, then estimation
    stages = [line for line in lines if line.startswith("synthema: ")]
    measured = [i for i, line in enumerate(stages) if line.startswith("synthema: measuring ")]
    compiled = [i for i, line in enumerate(stages) if "first 50 iterations" in line]
    iterated = [i for i, line in enumerate(stages) if "mirror descent over" in line]
    assert len(measured) == len(summary.rounds) and compiled and iterated
    assert max(measured) < compiled[0] < iterated[0]
    assert summary.privacy["private"] and rho <= cdp_rho(1.0, 1e-6)
    for site in ("site_01", "site_02", "site_03"):
        with BudgetLedger(work / "ledgers" / f"{site}.sqlite") as ledger:
            charges = ledger.charges()
            assert [c.query_id for c in charges] == [r.query_id for r in summary.rounds]
            assert [c.rho for c in charges] == [r.charges[site] for r in summary.rounds]
            assert [c.rho for c in charges] == [r.rho_per_site for r in summary.rounds]
            assert ledger.spent == pytest.approx(rho, rel=1e-12)
    sample = load_synthesizer(root / "eps1.synth").sample(200, random_state=0)
    assert len(sample) == 200


def _attack_app(root: Path) -> Path:
    """A Flower app folder whose ServerApp lists a contributing site as dropped too."""
    folder = root / "attack_app"
    folder.mkdir(exist_ok=True)
    honest = (deploy.app_dir(root / "honest") / "pyproject.toml").read_text(encoding="utf-8")
    (folder / "pyproject.toml").write_text(honest.replace(
        'serverapp = "synthema.federation.server_app:app"', 'serverapp = "attack_server:app"'),
        encoding="utf-8")  # fmt: skip
    source = Path(__file__).parent / "attack_app" / "attack_server.py"
    (folder / "attack_server.py").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def test_sites_refuse_an_unmask_request_that_would_expose_one_site(federation):
    # Setup: a ServerApp that, at the unmask stage, lists a contributing site as dropped too;
    # Flower's own secaggplus_mod would return both secrets of that site to the server
    work, root = federation["work"], federation["root"]
    transcript = root / "attack-transcript"
    ledgers = {s: work / "ledgers" / f"{s}.sqlite" for s in ("site_01", "site_02", "site_03")}
    before = {s: _charges(p) for s, p in ledgers.items()}

    # Run
    with pytest.raises(FederationError, match="both contributing and dropped") as info:
        deploy.run_fit(work, out=root / "attack.synth", dictionary=federation["dictionary"],
                       epsilon=1.0, seed=3, synth_options=OPTIONS, transcript=transcript,
                       app=_attack_app(root))  # fmt: skip

    # Assert: the fit stopped at round 1 naming a site; no model
    assert "round 1 stopped" in str(info.value) and REFUSAL not in str(info.value)
    assert not (root / "attack.synth").exists()
    # every unmask reply the server received is a refusal: not one key share left a site
    entries = [json.loads(line) for line in (transcript / "received.jsonl").read_text()
               .splitlines()]  # fmt: skip
    unmask = [e for e in entries if e["tag"] == "r001" and e["stage"] == 4]
    assert len(unmask) == 3 and all(REFUSAL in (e["error"] or "") for e in unmask), unmask
    assert not [p for p in transcript.glob("r001-s4-*")]  # no shares saved
    # each site was charged once, for the masked vector it had sent before the unmask stage
    # (charge before release: the vector left the site); nothing after the refusal
    after = {s: _charges(p) for s, p in ledgers.items()}
    assert after == {s: n + 1 for s, n in before.items()}


def _charges(path: Path) -> int:
    if not path.exists():  # a site creates its ledger at its first hello
        return 0
    with BudgetLedger(path) as ledger:
        return len(ledger.charges())


def test_exhausted_budget_stops_the_run_naming_the_site(federation):
    work, root = federation["work"], federation["root"]
    ledger_path = work / "ledgers" / "site_02.sqlite"
    if not ledger_path.exists():  # run alone: create it as site_02 would (epsilon-max 1.5)
        BudgetLedger(ledger_path, rho_max=cdp_rho(2.0, 1e-6), site="site_02").close()
    with BudgetLedger(ledger_path) as ledger:
        spent = ledger.spent
    before = {s: _charges(work / "ledgers" / f"{s}.sqlite")
              for s in ("site_01", "site_02", "site_03")}  # fmt: skip
    done = subprocess.run(
        [*SYNTHEMA, "budget", "set", "--ledger", str(ledger_path),
         "--rho-max", repr(spent + 1e-4), "--reason", "privacy officer: stop releases"],
        capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    fit = subprocess.run(  # through the CLI a user runs: one error line, once, exit 2
        [*SYNTHEMA, "federate", "fit", "--workdir", str(work), "--dictionary",
         federation["dictionary"], "--epsilon", "1", "--seed", "3", "--out",
         str(root / "again.synth")], capture_output=True, text=True, check=False)  # fmt: skip
    said = fit.stdout + fit.stderr
    assert fit.returncode == 2, said
    assert re.search(r"error: the fit cannot start: site 'site_02' has rho=.* left", said), said
    assert said.count("has rho=") == 1 and said.count("fix:") == 1, said
    after = {s: _charges(work / "ledgers" / f"{s}.sqlite") for s in before}
    assert after == before  # refused before any query: nobody was charged
    assert not (root / "again.synth").exists()
    shown = subprocess.run([*SYNTHEMA, "budget", "show", "--ledger", str(ledger_path)],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert shown.returncode == 0 and "site site_02" in shown.stdout
    assert "privacy officer: stop releases" in shown.stdout


def test_a_site_refuses_a_fit_tolerating_fewer_dropouts_than_it_asks(federation):
    work, root = federation["work"], federation["root"]
    before = {s: _charges(work / "ledgers" / f"{s}.sqlite")
              for s in ("site_01", "site_02", "site_03")}  # fmt: skip
    fit = subprocess.run(
        [*SYNTHEMA, "federate", "fit", "--workdir", str(work), "--dictionary",
         federation["dictionary"], "--epsilon", "1", "--dropouts", "0", "--out",
         str(root / "t0.synth")], capture_output=True, text=True, check=False)  # fmt: skip
    said = fit.stdout + fit.stderr
    assert fit.returncode == 2, said
    assert "tolerates 0 dropout(s)" in said and "min-dropouts=1" in said
    assert {s: _charges(work / "ledgers" / f"{s}.sqlite") for s in before} == before
    assert not (root / "t0.synth").exists()


def test_one_of_four_sites_killed_mid_round(tmp_path):
    _, frames = _write_sites(tmp_path / "data", 4, seed=22)
    dictionary = str(tmp_path / "small.yaml")
    work = tmp_path / "work"
    dep = deploy.up(4, tmp_path / "data", work, port=9160, epsilon_max=4.0)
    try:
        transcript = tmp_path / "server"
        victim = dep.sites[3]

        def kill_in_stage_2() -> None:  # when every site has sent its key shares (stage 1)
            index = transcript / "received.jsonl"
            end = time.time() + 240
            while time.time() < end:
                if index.exists():
                    lines = [json.loads(x) for x in index.read_text().splitlines()]
                    if sum(e["tag"] == "r001" and e["stage"] == 2 for e in lines) == 4:
                        os.killpg(victim.pid, signal.SIGKILL)
                        return
                time.sleep(0.05)

        import threading

        killer = threading.Thread(target=kill_in_stage_2, daemon=True)
        killer.start()
        summary = deploy.run_fit(work, out=tmp_path / "m.synth", dictionary=dictionary,
                                 epsilon=1.0, seed=5, dropouts=1, timeout=20.0,
                                 synth_options=OPTIONS, transcript=transcript)  # fmt: skip
        killer.join(timeout=1)
        first = summary.rounds[0]
        assert first.contributors == ("site_01", "site_02", "site_03")
        assert [f.site for f in first.failures] == ["site_04"]
        # the noise actually summed (3 shares of sigma^2/3) meets the accounted sigma^2
        assert 3 * first.share_sigma**2 >= first.sigma**2 * (1 - 1e-12)
        assert all(len(r.contributors) == 3 for r in summary.rounds)
        assert load_synthesizer(tmp_path / "m.synth").sample(100, random_state=0).shape[0] == 100
        queries = [r.query_id for r in summary.rounds]
        for site in ("site_01", "site_02", "site_03"):
            with BudgetLedger(work / "ledgers" / f"{site}.sqlite") as ledger:
                assert [c.query_id for c in ledger.charges()] == queries
        dead = work / "ledgers" / "site_04.sqlite"
        charged = [c.query_id for c in BudgetLedger(dead).charges()] if dead.exists() else []
        assert set(charged) <= {queries[0]}  # never charged for queries it never received
    finally:
        deploy.down(work)
