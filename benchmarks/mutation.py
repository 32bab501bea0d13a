"""Mutation testing: would the unit tests notice if the privacy or rule code were broken?

For each module given, every small change a careless edit could make (a mutant) is applied
one at a time, and the module's own fast unit tests plus its doctests are run against it. A
mutant is *killed* when a test fails (or the run times out), *survived* when every test
passes. The score is killed / mutants. A surviving mutant is either a gap in the tests or
*equivalent* (the change cannot alter behaviour); each survivor is listed, with the reason
from ``benchmarks/mutation_notes.yaml`` when it has been judged equivalent.

Mutants (a small AST mutator of our own, with no new dependency, so that each mutant runs
only its room's tests that reach the changed line, doctests included):

- comparisons: ``<``/``<=``, ``>``/``>=``, ``==``/``!=``, ``in``/``not in``, ``is``/``is not``;
- arithmetic (also ``+=`` etc.): ``+``/``-``, ``*``/``/``, ``//``→``/``, ``%``→``//``,
  ``**``→``*``, ``&``/``|``, ``<<``/``>>``;
- ``and``/``or``; ``not x``→``x``; ``-x``→``x``; ``~x``→``x``;
- constants: ``True``/``False``, integer ``n``→``n + 1``, float ``x``→``x + 1``;
- ``if c:``→``if False:`` (the branch deleted); ``break``/``continue``;
- an expression statement (a call) → ``pass``; ``min``/``max`` and ``any``/``all`` swapped.

Strings, f-strings, docstrings, annotations and ``match`` patterns are left alone.

Which tests run: the module's room (``tests/unit/<room>``, without ``-m slow``) is run once
on the unchanged code under a line tracer (one run traces every module of the room); a mutant
then runs only the tests that executed one of its lines (plus the module's doctests), fastest
first, stopping at the first failure; a line run while a test's fixtures were set up selects
every test of that file (a module-scoped fixture runs once and its result is read by the
file's later tests). A test that never reaches the changed line cannot see the change, so
this selection loses no kill; mutants on lines run at import time get the whole room. Each
worker (``--jobs``) has its own shadow copy of the repository and a fork server that
has imported pytest and the third-party libraries once; each mutant's tests run in a fresh
forked child that imports synthema from the shadow (``PYTHONDONTWRITEBYTECODE``, so no stale
bytecode), with a timeout of twice the selected tests' baseline time plus 20 s.

    python benchmarks/mutation.py src/synthema/schema/rules.py          # one module
    python benchmarks/mutation.py --jobs 2 privacy anonymize rules      # room aliases
    python benchmarks/mutation.py --report-only                         # docs from the JSON
    python benchmarks/mutation.py --save-before old.json                # compare with a run
                                                                        # on older tests
    python benchmarks/mutation.py rules --list                          # mutants, no runs
    python benchmarks/mutation.py --no-doc src/synthema/anonymize/utility.py \
        --tests tests/unit/anonymize/test_anonymize_utility.py         # quick first pass
    python benchmarks/mutation.py src/synthema/anonymize/search.py \
        --recheck tests/unit/anonymize/test_anonymize_search.py        # survivors vs new tests

Results merge into ``benchmarks/results/mutation.json`` (one entry per module, replaced
when the module is run again) and a section of ``docs/testing.md``. It measures; it asserts
nothing. It is CPU-bound: run it at low priority (``nice -n 10``) with at most one
job per core.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from _docpage import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mutation.json"
# the same run on an older commit's tests, kept for comparison (see --before)
BEFORE = ROOT / "benchmarks" / "results" / "mutation_before.json"
NOTES = ROOT / "benchmarks" / "mutation_notes.yaml"
DOC = ROOT / "docs" / "testing.md"
START, END = "<!-- mutation:start -->", "<!-- mutation:end -->"
ALIASES = {
    "privacy": "src/synthema/privacy",
    "anonymize": "src/synthema/anonymize",
    "rules": "src/synthema/schema/rules.py",
}

_CMP_SWAP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BIN_SWAP = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitOr,
    ast.LShift: ast.RShift, ast.RShift: ast.LShift,
}
_NAME_SWAP = {"min": "max", "max": "min", "any": "all", "all": "any"}


@dataclass(frozen=True)
class Mutant:
    """One change: the source span it replaces, the new text, where and what it is."""

    index: int
    line: int
    end_line: int
    col: int
    end_col: int
    new: str  # the replacement text of the span
    old: str  # the changed expression as written (a constant with its parent expression)
    shown: str  # ``old`` after the change
    function: str
    operator: str
    module_level: bool
    key: str = ""  # ``function: old -> shown`` (+ `` #2`` for repeats): names it in the notes


# -- finding mutants -------------------------------------------------------------------------


def _skip_ids(tree: ast.AST) -> set[int]:
    """Nodes never mutated: docstrings, annotations, f-strings, match patterns."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                mark(body[0])
        if isinstance(node, ast.JoinedStr):
            mark(node)
        if isinstance(node, ast.arg):
            mark(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.match_case):
            mark(node.pattern)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            mark(node)
    return skip


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _text(node: ast.AST) -> str:
    return " ".join(ast.unparse(node).split())


def _variants(node: ast.AST, skip: set[int]) -> list[tuple[ast.AST, str, str]]:
    """(node whose span is replaced, replacement source, operator name) for ``node``."""
    out: list[tuple[ast.AST, str, str]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _CMP_SWAP:
                new = ast.Compare(left=node.left, ops=list(node.ops), comparators=node.comparators)
                new.ops[i] = _CMP_SWAP[type(op)]()
                out.append((node, f"({ast.unparse(new)})", "compare"))
    elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
        new = ast.BinOp(left=node.left, op=_BIN_SWAP[type(node.op)](), right=node.right)
        out.append((node, f"({ast.unparse(new)})", "arithmetic"))
    elif (isinstance(node, ast.AugAssign) and type(node.op) in _BIN_SWAP
          and node.lineno == node.end_lineno):
        new = ast.AugAssign(target=node.target, op=_BIN_SWAP[type(node.op)](), value=node.value)
        out.append((node, ast.unparse(new), "arithmetic"))
    elif isinstance(node, ast.BoolOp):
        swapped = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        out.append((node, f"({ast.unparse(ast.BoolOp(op=swapped, values=node.values))})",
                    "boolean"))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.Invert):
        if not (isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)):
            out.append((node, f"({ast.unparse(node.operand)})", "unary"))
    elif isinstance(node, ast.Constant) and id(node) not in skip:
        value = node.value
        if isinstance(value, bool):
            out.append((node, f"({not value})", "constant"))
        elif isinstance(value, int):
            out.append((node, f"({value + 1})", "constant"))
        elif isinstance(value, float):
            out.append((node, f"({value + 1.0!r})", "constant"))
    elif isinstance(node, ast.If) and not _is_type_checking(node.test):
        out.append((node.test, "False", "branch"))
    elif isinstance(node, ast.Break):
        out.append((node, "continue", "flow"))
    elif isinstance(node, ast.Continue):
        out.append((node, "break", "flow"))
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        out.append((node, "pass", "statement"))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in _NAME_SWAP:
            out.append((node.func, _NAME_SWAP[node.func.id], "function"))
    return out


def find_mutants(source: str) -> list[Mutant]:
    """Every mutant of ``source``, in source order, each checked to compile."""
    tree = ast.parse(source)
    skip = _skip_ids(tree)
    owner: dict[int, str] = {}
    module_level: dict[int, bool] = {}

    def visit(node: ast.AST, name: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            child_name, child_in = name, in_function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                child_name = f"{name}.{child.name}" if name != "<module>" else child.name
                child_in = in_function or not isinstance(child, ast.ClassDef)
            if isinstance(child, ast.Lambda):
                child_in = True
            owner[id(child)] = child_name
            # a function's defaults and decorators run when the def runs
            module_level[id(child)] = not in_function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                for extra in [*child.decorator_list, *child.args.defaults,
                              *[d for d in child.args.kw_defaults if d is not None]]:
                    for n in ast.walk(extra):
                        owner[id(n)] = name
                        module_level[id(n)] = not in_function
                    visit(extra, name, in_function)
                for stmt in child.body:
                    owner[id(stmt)] = child_name
                    module_level[id(stmt)] = False
                    visit(stmt, child_name, True)
                continue
            visit(child, child_name, child_in)

    visit(tree, "<module>", False)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    raw = source.encode("utf-8")
    mutants: list[Mutant] = []
    parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}

    def span(node: ast.AST) -> tuple[int, int]:
        return (offsets[node.lineno - 1] + node.col_offset,
                offsets[node.end_lineno - 1] + node.end_col_offset)

    mutants: list[Mutant] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        for target, new, operator in _variants(node, skip):
            start, end = span(target)
            mutated = (raw[:start] + new.encode("utf-8") + raw[end:]).decode("utf-8")
            try:
                compile(mutated, "<mutant>", "exec")
            except SyntaxError:
                continue
            # a lone constant or name says little: show it inside its parent expression
            shown = target
            while (isinstance(shown, ast.Constant | ast.Name | ast.UnaryOp)
                   and isinstance(parents.get(id(shown)), ast.expr)):
                shown = parents[id(shown)]
            lo, hi = span(shown)
            old = " ".join(raw[lo:hi].decode("utf-8").split())
            new_shown = " ".join((raw[lo:start] + new.encode("utf-8") + raw[end:hi])
                                 .decode("utf-8").split())
            mutants.append(Mutant(
                index=0, line=target.lineno, end_line=target.end_lineno, col=start, end_col=end,
                new=new, old=old, shown=new_shown, function=owner.get(id(node), "<module>"),
                operator=operator, module_level=module_level.get(id(node), True)))
    mutants.sort(key=lambda m: (m.col, m.end_col, m.new))
    seen: dict[str, int] = {}
    out = []
    for i, m in enumerate(mutants):
        base = f"{m.function}: {m.old} -> {m.shown}"
        seen[base] = seen.get(base, 0) + 1
        key = base if seen[base] == 1 else f"{base} #{seen[base]}"
        out.append(Mutant(**{**asdict(m), "index": i, "key": key}))
    return out


def apply(source: str, mutant: Mutant) -> str:
    """``source`` with ``mutant``'s byte span replaced (``col``/``end_col`` are byte offsets)."""
    raw = source.encode("utf-8")
    return (raw[:mutant.col] + mutant.new.encode("utf-8") + raw[mutant.end_col:]).decode("utf-8")


# -- running tests ---------------------------------------------------------------------------

_TRACER = '''
"""pytest plugin written by benchmarks/mutation.py: lines of each TARGET executed per test."""
import json, os, sys, threading, time
TARGETS = set(os.environ["MUTATION_TRACE_TARGET"].split(os.pathsep))
OUT = os.environ["MUTATION_TRACE_OUT"]
_lines = {}
_current = []

_phase = ["call"]

def _add(frame):
    if _current:
        # lines run while a test's fixtures are set up are marked: a module- or
        # session-scoped fixture runs once, in the first test that asks for it, and the
        # tests after it use its result without running those lines again
        key = _current[-1] if _phase[0] == "call" else "setup:" + _current[-1]
        (_lines.setdefault(frame.f_code.co_filename, {})
         .setdefault(key, set()).add(frame.f_lineno))


def _local(frame, event, arg):
    if event == "line":
        _add(frame)
    return _local


def _global(frame, event, arg):
    if frame.f_code.co_filename in TARGETS:
        _add(frame)
        return _local
    return None

_durations = {}

def pytest_runtest_protocol(item, nextitem):
    _current.append(item.nodeid)
    sys.settrace(_global); threading.settrace(_global)

def pytest_runtest_setup(item):
    _phase[0] = "setup"

def pytest_runtest_call(item):
    _phase[0] = "call"

def pytest_runtest_teardown(item, nextitem):
    _phase[0] = "teardown"

def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session, exitstatus):
    sys.settrace(None); threading.settrace(None)
    with open(OUT, "w") as f:
        json.dump({"lines": {f: {k: sorted(v) for k, v in tests.items()}
                             for f, tests in _lines.items()},
                   "durations": _durations, "exitstatus": int(exitstatus)}, f)
'''


_SERVER = '''
"""Fork server written by benchmarks/mutation.py: pays the third-party imports once.

Reads one JSON job per line ({"args", "timeout", "out"}), forks, runs pytest.main(args) in
the child (its own session, output to "out") and answers {"code", "seconds"}; code is null
when the child ran past "timeout" and was killed with its process group. synthema itself is
never imported here, so every child imports the shadow's (mutated) source afresh.
"""
import importlib, json, os, signal, sys, time
for name in ("numpy", "pandas", "scipy.stats", "scipy.optimize", "yaml", "jinja2",
             "typer", "rich.console", "pytest"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
import pytest
for line in sys.stdin:
    job = json.loads(line)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fd = os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            code = int(pytest.main(job["args"]))
        except BaseException:
            code = 3
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    code = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if job["timeout"] and time.perf_counter() - start > job["timeout"]:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.01)
    print(json.dumps({"code": code, "seconds": time.perf_counter() - start}), flush=True)
'''


def _env(shadow: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=f"{shadow / 'src'}{os.pathsep}{shadow}", PYTHONDONTWRITEBYTECODE="1",
               FLWR_TELEMETRY_ENABLED="0", FLWR_DISABLE_UPDATE_CHECK="1",
               FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1")
    return env


def _pytest(shadow: Path, args: list[str], *, timeout: float | None = None,
            extra_env: dict[str, str] | None = None) -> tuple[int | None, str, float]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           "--strict-markers", "-x", *args]
    env = {**_env(shadow), **(extra_env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=shadow, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the run's own process group (spawned children too)
        proc.communicate()
        return None, "", time.perf_counter() - start
    return proc.returncode, out[-3000:], time.perf_counter() - start


class Worker:
    """One shadow copy and one fork server: runs a mutant's tests without paying Python's,
    pytest's and the libraries' start-up each time (children import synthema afresh)."""

    def __init__(self, shadow: Path) -> None:
        self.shadow = shadow
        self.out = shadow / "_mutant_output.txt"
        env = {**_env(shadow), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "_mutation_server.py"], cwd=shadow,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def pytest(self, args: list[str], timeout: float) -> tuple[int | None, str, float]:
        cmd = ["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--strict-markers", "-x", *args]
        self.proc.stdin.write(json.dumps({"args": cmd, "timeout": timeout,
                                          "out": str(self.out)}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        tail = self.out.read_text(encoding="utf-8", errors="replace")[-3000:]
        return answer["code"], tail, answer["seconds"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def room_tests(module: Path) -> str:
    """The unit tests of a module's room: ``src/synthema/<room>/x.py`` → ``tests/unit/<room>``."""
    parts = module.relative_to(ROOT / "src" / "synthema").parts
    return f"tests/unit/{parts[0]}"


def _has_doctests(source: str) -> bool:
    return ">>> " in source


def make_shadow() -> Path:
    """A copy of the repository (no .git, venv or caches) to mutate in place."""
    shadow = Path(tempfile.mkdtemp(prefix="synthema-mutation-"))
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".ruff_cache",
                                    ".pytest_cache", "demo_output", "results")
    for item in ROOT.iterdir():
        if item.name in {".git", ".venv", "demo_output"}:
            continue
        if item.is_dir():
            shutil.copytree(item, shadow / item.name, ignore=ignore)
        else:
            shutil.copy2(item, shadow / item.name)
    (shadow / "_mutation_trace.py").write_text(_TRACER, encoding="utf-8")
    (shadow / "_mutation_server.py").write_text(_SERVER, encoding="utf-8")
    return shadow


def baseline(shadow: Path, modules: list[Path], tests: str) -> dict[str, Any]:
    """Run the room and the modules' doctests once, unmutated, tracing the lines of each
    module every test executes (one run serves every module of the room)."""
    targets = [shadow / m.relative_to(ROOT) for m in modules]
    out = shadow / "_trace.json"
    with_doctests = [str(t) for t in targets if _has_doctests(t.read_text(encoding="utf-8"))]
    doctests = ["--doctest-modules", *with_doctests] if with_doctests else []
    code, tail, seconds = _pytest(
        shadow, ["-p", "_mutation_trace", "-m", "not slow", *doctests, *tests.split()],
        extra_env={"MUTATION_TRACE_TARGET": os.pathsep.join(map(str, targets)),
                   "MUTATION_TRACE_OUT": str(out)})
    if code != 0:
        raise SystemExit(f"baseline tests fail on unmutated code ({tests}):\n{tail}")
    data = json.loads(out.read_text())
    data["seconds"] = seconds
    return data


def _status(code: int | None, tail: str) -> str:
    if code is None:
        return "timeout"
    if code == 0:
        return "survived"
    if code in (1, 2) or (code == 4 and ("ERROR collecting" in tail
                                         or "found no collectors" in tail)):
        return "killed"  # a test failed, or the mutant broke collection/import
    return "error"  # pytest usage or internal error: a fault of this script


def _tests_by_line(traced: dict[str, list[int]], tests: list[str]) -> dict[int, set[str]]:
    """Which tests can see a change to each line.

    A line run by a test itself selects that test. A line run while a test's fixtures were
    set up selects every test of that test's file: a module-scoped fixture runs in the
    first test that asks for it, and the file's later tests read its cached result (a page
    rendered once, then checked by each test), so they see the change without running the
    line. (A session-scoped fixture shared across files is not followed; the fixtures of
    the rooms run here build data, not the code under test.)
    """
    by_file: dict[str, list[str]] = {}
    for t in tests:
        by_file.setdefault(t.split("::")[0], []).append(t)
    by_line: dict[int, set[str]] = {}
    for nodeid, lines in traced.items():
        if nodeid.startswith("setup:"):
            nodeid = nodeid.removeprefix("setup:")
            chosen = {nodeid, *by_file.get(nodeid.split("::")[0], [])}
        else:
            chosen = {nodeid}
        for line in lines:
            by_line.setdefault(line, set()).update(chosen)
    return by_line


def run_module(workers: list[Worker], module: Path, base: dict[str, Any], *, commit: str,
               limit: int | None = None, tests: str | None = None) -> dict[str, Any]:
    """Every mutant of ``module`` against its room's tests (or ``tests``, space-separated
    paths), spread over ``workers`` (each its own shadow copy); returns the module's entry."""
    rel = module.relative_to(ROOT).as_posix()
    # the shadow's copy, not the live file: the baseline and every mutant must use the same
    # source even if the working tree changes during a long run
    source = (workers[0].shadow / module.relative_to(ROOT)).read_text(encoding="utf-8")
    mutants = find_mutants(source)[:limit]
    tests = tests or room_tests(module)
    print(f"{rel}: {len(mutants)} mutants against {tests}", flush=True)  # noqa: T201
    traced = base["lines"].get(str(workers[0].shadow / module.relative_to(ROOT)), {})
    durations = {k: v for k, v in base["durations"].items() if isinstance(v, float)}
    all_tests = sorted(durations, key=durations.get)
    by_line = _tests_by_line(traced, all_tests)
    pending = list(reversed(mutants))
    lock = threading.Lock()
    results: list[dict[str, Any]] = []
    start = time.perf_counter()

    def one(worker: Worker, m: Mutant) -> dict[str, Any]:
        if m.module_level:
            selected = all_tests
        else:
            hit: set[str] = set()
            for line in range(m.line, m.end_line + 1):
                hit |= by_line.get(line, set())
            selected = sorted(hit, key=lambda t: durations.get(t, 0.0))
        if not selected:
            return {**asdict(m), "status": "survived", "tests": 0, "seconds": 0.0,
                    "reason": "no test executes this line"}
        target = worker.shadow / module.relative_to(ROOT)
        target.write_text(apply(source, m), encoding="utf-8")
        try:
            budget = 20.0 + 2.0 * sum(durations.get(t, 0.0) for t in selected)
            doctests = ["--doctest-modules"] if any(t.startswith("src/") for t in selected) else []
            code, tail, seconds = worker.pytest([*doctests, *selected], timeout=budget)
        finally:
            target.write_text(source, encoding="utf-8")
        status = _status(code, tail)
        entry = {**asdict(m), "status": status, "tests": len(selected),
                 "seconds": round(seconds, 2)}
        if status == "error":
            entry["output"] = tail
        return entry

    def loop(worker: Worker) -> None:
        while True:
            with lock:
                if not pending:
                    return
                m = pending.pop()
            entry = one(worker, m)
            with lock:
                results.append(entry)
                print(f"  [{len(results)}/{len(mutants)}] line {m.line} "  # noqa: T201
                      f"{m.operator:10s} {entry['status']:8s} {entry['seconds']:5.1f}s  "
                      f"{m.old[:50]} -> {m.shown[:50]}", flush=True)

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.sort(key=lambda r: r["index"])
    killed = sum(r["status"] in ("killed", "timeout") for r in results)
    survived = sum(r["status"] == "survived" for r in results)
    return {
        "module": rel,
        "tests": tests,
        "doctests": _has_doctests(source),
        "date": dt.date.today().isoformat(),
        "commit": commit,
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cpus",
        "baseline_tests": len(all_tests),
        "baseline_seconds": round(base["seconds"], 1),
        "mutants": len(results),
        "killed": killed,
        "timeouts": sum(r["status"] == "timeout" for r in results),
        "survived": survived,
        "score": round(killed / len(results), 4) if results else None,
        "seconds": round(time.perf_counter() - start, 1),
        "errors": [r for r in results if r["status"] == "error"],
        "survivors": [r for r in results if r["status"] == "survived"],
        "complete": limit is None,
    }


def recheck(worker: Worker, entry: dict[str, Any], tests: list[str], *,
            commit: str) -> dict[str, Any]:
    """The module's survivors run again, each against ``tests`` only (tests written after the
    full run to kill them): a survivor those tests fail is counted killed, with the recheck
    recorded in the entry. Survivors whose mutant no longer exists (the code changed, not
    just its docstrings) stay survivors. Much cheaper than a new full run; a full run later
    replaces the entry."""
    module = ROOT / entry["module"]
    target = worker.shadow / module.relative_to(ROOT)
    source = target.read_text(encoding="utf-8")
    mutants = {m.key: m for m in find_mutants(source)}
    still, killed = [], []
    try:
        for s in entry["survivors"]:
            m = mutants.get(s["key"])
            if m is None:
                still.append(s)
                continue
            target.write_text(apply(source, m), encoding="utf-8")
            doctests = (["--doctest-modules", str(target.relative_to(worker.shadow))]
                        if _has_doctests(source) else [])
            code, tail, seconds = worker.pytest([*doctests, *tests], timeout=600.0)
            target.write_text(source, encoding="utf-8")
            status = _status(code, tail)
            print(f"  recheck line {m.line} {status:8s} {seconds:5.1f}s  "  # noqa: T201
                  f"{m.old[:50]} -> {m.shown[:50]}", flush=True)
            if status in ("killed", "timeout"):
                killed.append(s)
            elif status == "error":
                raise SystemExit(f"recheck of {entry['module']} failed to run:\n{tail}")
            else:
                still.append(s)
    finally:
        target.write_text(source, encoding="utf-8")
    total_killed = entry["killed"] + len(killed)
    return {**entry, "killed": total_killed, "survived": len(still), "survivors": still,
            "score": round(total_killed / entry["mutants"], 4) if entry["mutants"] else None,
            "rechecks": [*entry.get("rechecks", []),
                         {"date": dt.date.today().isoformat(), "commit": commit,
                          "tests": tests, "survivors": len(entry["survivors"]),
                          "killed": len(killed)}]}


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("+dirty src" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def changed_since(commit: str, module: str) -> bool:
    """Whether ``module``'s code differs from the commit its run used (the run's mutants and
    score are then of older code: run it again). Docstrings and comments count as code here;
    False when git cannot tell (no repository, unknown commit)."""
    if commit == "unknown" or "+" in commit:
        return commit != "unknown"
    try:
        out = subprocess.run(["git", "diff", "--quiet", commit, "--", module], cwd=ROOT,
                             capture_output=True)
    except OSError:
        return False
    return out.returncode == 1


# -- reporting -------------------------------------------------------------------------------


def _notes() -> dict[str, dict[str, str]]:
    if not NOTES.exists():
        return {}
    data = yaml.safe_load(NOTES.read_text(encoding="utf-8")) or {}
    return {module: dict(entries or {}) for module, entries in data.items()}


def _group(entry: dict[str, Any]) -> str:
    """Rooms are reported as a whole (privacy/, anonymize/) and per module."""
    parts = entry["module"].split("/")
    return "/".join(parts[:3]) + "/"


def render(results: dict[str, Any]) -> str:
    """The docs section: scores per module and room, then every survivor with its reason."""
    notes = _notes()
    modules = sorted(results["modules"].values(), key=lambda e: e["module"])
    lines = [START, "", "| module | mutants | killed | of which timeouts | survived "
             "| equivalent | not yet killed | score | tests run | date, commit |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    rooms: dict[str, list[int]] = {}
    for e in modules:
        known = notes.get(e["module"], {})
        equivalent = sum(1 for s in e["survivors"] if _equivalent(known.get(_key(s))))
        open_ = e["survived"] - equivalent
        stale = " (code changed since: run again)" if changed_since(e["commit"],
                                                                   e["module"]) else ""
        score = f"{100 * e['score']:.1f} %" if e["score"] is not None else "-"
        lines.append(
            f"| `{e['module'].removeprefix('src/synthema/')}` | {e['mutants']} | {e['killed']} "
            f"| {e['timeouts']} | {e['survived']} | {equivalent} | {open_} | {score} "
            f"| `{e['tests']}`{' + doctests' if e['doctests'] else ''} "
            f"| {e['date']}, {e['commit']}{stale} |")
        room = rooms.setdefault(_group(e), [0, 0, 0])
        room[0] += e["mutants"]
        room[1] += e["killed"]
        room[2] += equivalent
    rechecked = [e for e in modules if e.get("rechecks")]
    if rechecked:
        lines += ["", "Survivors of a full run re-run against tests written afterwards to kill "
                  "them (`--recheck`; counted killed when those tests fail):", ""]
        for e in rechecked:
            for r in e["rechecks"]:
                lines.append(f"- `{e['module'].removeprefix('src/synthema/')}`: {r['killed']} "
                             f"of {r['survivors']} survivors killed by "
                             f"{', '.join(f'`{t}`' for t in r['tests'])} ({r['date']}, "
                             f"{r['commit']})")
    lines += ["", "Per room (score = killed / mutants; with equivalent mutants set aside: "
              "killed / (mutants − equivalent)):", ""]
    for room, (total, killed, equivalent) in sorted(rooms.items()):
        adjusted = killed / (total - equivalent) if total > equivalent else 1.0
        lines.append(f"- `{room.removeprefix('src/synthema/')}`: {killed} of {total} killed, "
                     f"{100 * killed / total:.1f} %; {equivalent} equivalent, "
                     f"{100 * adjusted:.1f} % of the rest")
    if BEFORE.exists():
        before = json.loads(BEFORE.read_text(encoding="utf-8"))["modules"]
        commits = sorted({e["commit"] for e in before.values()})
        lines += ["", f"The same mutants against the tests of commit {', '.join(commits)} "
                  "(before the tests written against these survivors):", "",
                  "| module | mutants | killed then | score then | score now |",
                  "|---|---|---|---|---|"]
        for e in modules:
            old = before.get(e["module"])
            if old is None:
                continue
            lines.append(
                f"| `{e['module'].removeprefix('src/synthema/')}` | {old['mutants']} "
                f"| {old['killed']} | {100 * old['score']:.1f} % | {100 * e['score']:.1f} % |")
    lines += ["", "### Surviving mutants", ""]
    for e in modules:
        if not e["survivors"]:
            continue
        known = notes.get(e["module"], {})
        lines.append(f"`{e['module'].removeprefix('src/synthema/')}`:")
        lines.append("")
        for s in e["survivors"]:
            why = known.get(_key(s))
            if _equivalent(why):
                status = f"equivalent: {why}"
            else:
                reasons = [r for r in (s.get("reason"), (why or "").removeprefix("open:").strip())
                           if r]
                status = "**not yet killed**" + (f": {'; '.join(reasons)}" if reasons else "")
            lines.append(f"- line {s['line']}, `{s['function']}`: `{s['old']}` → `{s['shown']}`"
                         f" — {status}")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def _equivalent(note: str | None) -> bool:
    """A note explains an equivalent mutant, unless it starts with ``open:`` (a known gap)."""
    return bool(note) and not note.startswith("open:")


def _key(survivor: dict[str, Any]) -> str:
    return survivor["key"]


def _load() -> dict[str, Any]:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text(encoding="utf-8"))
    return {"python": platform.python_version(), "modules": {}}


def _publish(results: dict[str, Any], *, doc: bool) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if doc:
        write_section(render(results), start=START, end=END, heading="Mutation testing",
                      path=DOC)


def _modules(names: list[str]) -> list[Path]:
    out: list[Path] = []
    for name in names:
        path = ROOT / ALIASES.get(name, name)
        if path.is_dir():
            out += sorted(p for p in path.glob("*.py") if p.name != "__init__.py"
                          or "def " in p.read_text(encoding="utf-8"))
        elif path.is_file():
            out.append(path)
        else:
            raise SystemExit(f"{name}: no such module or room (aliases: {', '.join(ALIASES)})")
    return out


def main() -> None:
    """Parse arguments, run the modules' mutants, write the JSON and the docs section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module files, rooms, or aliases "
                        f"({', '.join(ALIASES)})")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite docs/testing.md from the JSON")
    parser.add_argument("--list", action="store_true", help="list mutants, run nothing")
    parser.add_argument("--limit", type=int, help="first N mutants per module (trial runs; "
                        "the result is marked incomplete)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once, each in "
                        "its own shadow copy (default 1; at most the number of cores)")
    parser.add_argument("--recheck", nargs="+", metavar="TEST",
                        help="re-run the survivors of the given modules (from the JSON) "
                        "against these test files only, e.g. tests written to kill them")
    parser.add_argument("--tests", nargs="+", metavar="TEST",
                        help="run the mutants against these test files instead of the whole "
                        "room: a quick first pass that finds which survivors to kill before "
                        "the full run (recorded with the tests it used)")
    parser.add_argument("--no-doc", action="store_true", help="do not touch docs/testing.md")
    parser.add_argument("--save-before", type=Path, metavar="JSON",
                        help="keep another run's results (e.g. on an older commit) as the "
                        "comparison shown in the docs, then rewrite the docs")
    args = parser.parse_args()
    results = _load()
    if args.save_before:
        BEFORE.write_text(args.save_before.read_text(encoding="utf-8"), encoding="utf-8")
        args.report_only = True
    if args.report_only:
        _publish(results, doc=True)
        return
    modules = _modules(args.modules)
    if args.list:
        for module in modules:
            for m in find_mutants(module.read_text(encoding="utf-8")):
                print(f"{module.relative_to(ROOT)}:{m.line} [{m.operator}] {m.function}: "  # noqa: T201
                      f"{m.old} -> {m.shown}{'  (import time)' if m.module_level else ''}")
        return
    commit = _commit()  # what the shadow copies hold: taken together
    workers = [Worker(make_shadow()) for _ in range(args.jobs)]
    try:
        if args.recheck:
            for module in modules:
                rel = module.relative_to(ROOT).as_posix()
                if rel not in results["modules"]:
                    raise SystemExit(f"{rel}: no full run in {RESULTS.name} to recheck")
                entry = recheck(workers[0], results["modules"][rel], args.recheck,
                                commit=commit)
                results["modules"][rel] = entry
                _publish(results, doc=not args.no_doc)
                last = entry["rechecks"][-1]
                print(f"{rel}: {last['killed']} of {last['survivors']} "  # noqa: T201
                      "survivors killed on recheck", flush=True)
            return
        bases: dict[str, dict[str, Any]] = {}
        for module in modules:
            tests = " ".join(args.tests) if args.tests else room_tests(module)
            if tests not in bases:
                room = [m for m in modules
                        if args.tests or room_tests(m) == tests]
                print(f"baseline run of {tests} (tracing {len(room)} modules) ...",  # noqa: T201
                      flush=True)
                bases[tests] = baseline(workers[0].shadow, room, tests)
            entry = run_module(workers, module, bases[tests], commit=commit, limit=args.limit,
                               tests=tests)
            results["modules"][entry["module"]] = entry
            results["python"] = platform.python_version()
            _publish(results, doc=not args.no_doc)
            print(f"{entry['module']}: {entry['killed']}/{entry['mutants']} killed "  # noqa: T201
                  f"({100 * (entry['score'] or 0):.1f} %) in {entry['seconds']:.0f} s", flush=True)
    finally:
        for worker in workers:
            worker.close()
            shutil.rmtree(worker.shadow, ignore_errors=True)

if __name__ == "__main__":
    main()
