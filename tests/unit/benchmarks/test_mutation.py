"""benchmarks/mutation.py: its mutants, its tracer and its fork server, on a toy project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "benchmarks"
sys.path.insert(0, str(BENCH))

import mutation  # noqa: E402

TOY = '''def clip(x, lo, hi):
    if x < lo:
        return lo
    return min(x, hi)
'''
TOY_TESTS = '''from toy import clip

def test_low():
    assert clip(-1, 0, 5) == 0

def test_high():
    assert clip(9, 0, 5) == 5
'''


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "toy.py").write_text(TOY, encoding="utf-8")
    (tmp_path / "test_toy.py").write_text(TOY_TESTS, encoding="utf-8")
    (tmp_path / "_mutation_server.py").write_text(mutation._SERVER, encoding="utf-8")
    (tmp_path / "_mutation_trace.py").write_text(mutation._TRACER, encoding="utf-8")
    return tmp_path


def test_mutants_cover_each_operator_and_apply_only_their_own_span():
    # Run
    mutants = mutation.find_mutants(TOY)
    # Assert: the comparison, the deleted branch, min -> max; each mutant changes one span
    shown = {m.shown for m in mutants}
    assert {"(x <= lo)", "False", "max(x, hi)"} <= shown
    for m in mutants:
        changed = mutation.apply(TOY, m)
        assert changed != TOY
        compile(changed, "<mutant>", "exec")
        assert changed[:m.col] == TOY[:m.col]  # ascii source: byte and text offsets agree


def test_worker_kills_a_mutant_sees_each_new_source_and_times_out(toy):
    # Setup
    worker = mutation.Worker(toy)
    try:
        # Run: the unchanged module, a mutant (< for <=: still passes), a real break, a hang
        passing = worker.pytest(["test_toy.py"], timeout=60)
        (toy / "toy.py").write_text(TOY.replace("min(x, hi)", "max(x, hi)"), encoding="utf-8")
        broken = worker.pytest(["test_toy.py"], timeout=60)
        (toy / "toy.py").write_text(TOY, encoding="utf-8")
        restored = worker.pytest(["test_toy.py"], timeout=60)
        (toy / "toy.py").write_text(TOY.replace("return lo", "while True: pass"),
                                    encoding="utf-8")
        hung = worker.pytest(["test_toy.py"], timeout=3)
    finally:
        worker.close()
    # Assert: every child imported the module as it was on disk at that moment
    assert passing[0] == 0
    assert broken[0] == 1 and "test_high" in broken[1]
    assert restored[0] == 0
    assert hung[0] is None and mutation._status(*hung[:2]) == "timeout"


def test_tracer_records_the_lines_each_test_runs_per_module(toy):
    # Setup
    out = toy / "trace.json"
    env = {**os.environ, "MUTATION_TRACE_TARGET": str(toy / "toy.py"),
           "MUTATION_TRACE_OUT": str(out), "PYTHONPATH": str(toy)}
    # Run
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "_mutation_trace",
                    "-p", "no:cacheprovider", "test_toy.py"], cwd=toy, env=env, check=True,
                   capture_output=True)
    # Assert: test_low returns at line 3 and never reaches line 4; test_high does
    lines = json.loads(out.read_text())["lines"][str(toy / "toy.py")]
    assert 3 in lines["test_toy.py::test_low"] and 4 not in lines["test_toy.py::test_low"]
    assert 4 in lines["test_toy.py::test_high"] and 3 not in lines["test_toy.py::test_high"]


def test_recheck_counts_a_survivor_killed_by_a_new_test_and_keeps_the_others(toy, monkeypatch):
    # Setup: `x < lo` -> `x <= lo` survives the toy's tests (no test at x == lo). Two
    # survivors from a "full run": that mutant and a key whose mutant no longer exists in
    # the code; a weak new test (equal values either way) and a strong one (the type of x)
    monkeypatch.setattr(mutation, "ROOT", toy)
    boundary = next(m for m in mutation.find_mutants(TOY) if m.shown == "(x <= lo)")
    gone = {**mutation.asdict(boundary), "key": "clip: gone -> away"}
    entry = {"module": "toy.py", "mutants": 10, "killed": 8, "survived": 2,
             "survivors": [mutation.asdict(boundary), gone], "score": 0.8}
    (toy / "test_edge.py").write_text(
        "from toy import clip\n\ndef test_at_lo():\n    assert clip(0, 0, 5) == 0\n",
        encoding="utf-8")
    (toy / "test_edge_strict.py").write_text(
        "import toy\n\ndef test_lo_is_returned_as_is():\n"
        "    assert toy.clip(0.0, 0, 5) == 0 and type(toy.clip(0.0, 0, 5)) is float\n",
        encoding="utf-8")
    worker = mutation.Worker(toy)
    try:
        # Run
        weak = mutation.recheck(worker, entry, ["test_edge.py"], commit="abc")
        strong = mutation.recheck(worker, entry, ["test_edge_strict.py"], commit="abc")
    finally:
        worker.close()
    # Assert: clip(0.0, 0, 5) returns lo (the int 0) under the mutant, x (0.0) on the code
    assert weak["killed"] == 8 and weak["survived"] == 2
    assert strong["killed"] == 9 and strong["survived"] == 1 and strong["score"] == 0.9
    assert strong["survivors"] == [gone]
    assert strong["rechecks"] == [{"date": strong["rechecks"][0]["date"], "commit": "abc",
                                   "tests": ["test_edge_strict.py"], "survivors": 2,
                                   "killed": 1}]
    # a second recheck adds its record and keeps the first
    worker = mutation.Worker(toy)
    try:
        again = mutation.recheck(worker, strong, ["test_edge.py"], commit="def")
    finally:
        worker.close()
    assert [r["killed"] for r in again["rechecks"]] == [1, 0] and again["killed"] == 9
    assert (toy / "toy.py").read_text(encoding="utf-8") == TOY


def test_a_line_run_by_a_module_scoped_fixture_selects_every_test_of_its_file(toy):
    # Setup: the fixture calls clip once, in the first test that asks for it; the second
    # test only reads its result, the third never touches it
    (toy / "test_fixture.py").write_text(
        "import pytest\nfrom toy import clip\n\n"
        "@pytest.fixture(scope='module')\ndef low():\n    return clip(-1, 0, 5)\n\n"
        "def test_first(low):\n    assert low == 0\n\n"
        "def test_second(low):\n    assert low + 1 == 1\n", encoding="utf-8")
    out = toy / "trace.json"
    env = {**os.environ, "MUTATION_TRACE_TARGET": str(toy / "toy.py"),
           "MUTATION_TRACE_OUT": str(out), "PYTHONPATH": str(toy)}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "_mutation_trace",
                    "-p", "no:cacheprovider", "test_fixture.py", "test_toy.py"], cwd=toy,
                   env=env, check=True, capture_output=True)
    data = json.loads(out.read_text())
    # Run
    by_line = mutation._tests_by_line(data["lines"][str(toy / "toy.py")],
                                      sorted(data["durations"]))
    # Assert: line 3 (return lo) ran in test_first's setup: both fixture tests are selected,
    # with test_low that runs it itself; test_high never runs it
    assert by_line[3] == {"test_fixture.py::test_first", "test_fixture.py::test_second",
                          "test_toy.py::test_low"}
    assert by_line[4] == {"test_toy.py::test_high"}
