"""Local deployment: one ``flower-superlink`` and one ``flower-supernode`` per site on 127.0.0.1.

``synthema federate up`` calls :func:`up`, ``fit`` calls :func:`run_fit`, ``down`` calls
:func:`down`. Everything lives in one work folder::

    WORKDIR/
      federation.json        what is running: PIDs, ports, sites, TLS/auth (read by fit/down)
      certs/ ca.crt server.pem server.key      a fresh CA and server certificate (TLS)
      keys/  site_01 site_01.pub ...           one EC P-384 key pair per SuperNode (auth)
      ledgers/site_01.sqlite ...               each site's budget ledger (its own disk, really)
      home/                                    FLWR_HOME of the CLI, SuperLink and each SuperNode
      logs/                                    one log per process and per fit
      app/pyproject.toml                       the Flower app shipped by `flwr run`

TLS and SuperNode authentication are on unless ``insecure=True``: the SuperLink presents a
certificate (SAN IP:127.0.0.1, DNS:localhost) signed by the fresh CA, only the public keys
registered with ``flwr supernode register`` may connect, and registrations persist in the
SuperLink's SQLite state. docs/federation.md shows the same steps across hosts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

from synthema.errors import FederationError, SynthemaError
from synthema.federation.certificates import make_certificates, make_node_key
from synthema.federation.run import FitConfig, FitSummary

CONNECTION = "synthema"
FLWR_ENV = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
}


@dataclass
class SiteProcess:
    """One SuperNode: the site's name, files, port and process."""

    name: str
    data: str
    ledger: str
    port: int
    pid: int
    key: str = ""


@dataclass
class Deployment:
    """What ``federate up`` started (saved as ``federation.json``)."""

    workdir: str
    port: int
    secure: bool
    superlink_pid: int
    sites: list[SiteProcess] = field(default_factory=list)
    started_at: str = ""

    @property
    def cli_home(self) -> Path:
        return Path(self.workdir) / "home" / "cli"

    def save(self) -> None:
        path = Path(self.workdir) / "federation.json"
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, workdir: str | Path) -> Deployment:
        path = Path(workdir) / "federation.json"
        if not path.is_file():
            raise FederationError(
                f"{path}: no federation is running from this folder",
                fix="start one with `synthema federate up --sites N --data DIR` "
                "(or pass the --workdir it used)",
            )
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["sites"] = [SiteProcess(**s) for s in raw.get("sites", [])]
        return cls(**raw)


def _executable(name: str) -> str:
    """A Flower command from this Python's environment (or PATH)."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise FederationError(
            f"'{name}' is not installed",
            fix="install synthema with its dependencies (flwr==1.41.0): pip install -e .",
        )
    return found


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(FLWR_ENV)
    env["FLWR_HOME"] = str(home)
    # the SuperLink and SuperNodes start flower-superexec / flwr-clientapp from PATH
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    home.mkdir(parents=True, exist_ok=True)
    return env


def alive(pid: int) -> bool:
    """True while ``pid`` runs (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_port(port: int, pid: int, log: Path, timeout: float = 60.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if not alive(pid):
            raise FederationError(
                f"the SuperLink exited at start: {_tail(log)}", fix=f"read {log}"
            )
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise FederationError(
        f"the SuperLink did not open port {port} in {timeout:g} s", fix=f"read {log}"
    )


def _tail(log: Path, lines: int = 3) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"


# -- up / down ------------------------------------------------------------------------------


def site_files(data: Path, n_sites: int) -> list[Path]:
    """The first ``n_sites`` data files of ``data`` (sorted by name), one per site."""
    if not data.is_dir():
        raise FederationError(
            f"--data {data} is not a folder",
            fix="give a folder with one harmonised file per site (e.g. site_01.csv ...)",
        )
    from synthema.tables import is_table_file

    files = sorted(p for p in data.iterdir() if is_table_file(p))
    if len(files) < n_sites:
        raise FederationError(
            f"{data} holds {len(files)} data file(s), {n_sites} sites need one each",
            fix="put one harmonised file per site in the folder, or lower --sites",
        )
    for path in files[:n_sites]:
        check_no_identifiers(path)
    return files[:n_sites]


def check_no_identifiers(path: Path) -> None:
    """Refuse a site file whose header names direct identifiers (a raw export, not harmonised).

    A site serves its harmonised table; names, hospital numbers or birth dates have no place
    next to a SuperNode. Only the header is judged (no cell is read into a message).
    """
    from synthema.anonymize.deidentify import detect_identifiers
    from synthema.tables import read_table

    try:
        columns = [str(c) for c in read_table(path).columns]
    except SynthemaError as exc:
        raise FederationError(f"{path}: {exc.message}", fix=exc.fix) from exc
    found = detect_identifiers(columns)
    if found:
        raise FederationError(
            f"{path} has direct identifier column(s) {', '.join(found)}: it looks like a raw "
            "export, and a site serves only its harmonised file",
            fix="harmonise it first (synthema harmonize --mapping SITE.mapping.yaml FILE --out "
            "DIR/site.csv) and start the federation on the harmonised files",
        )


def _connection_config(dep: Deployment) -> None:
    lines = ["[superlink]", f'default = "{CONNECTION}"', "", f"[superlink.{CONNECTION}]"]
    lines.append(f'address = "127.0.0.1:{dep.port}"')
    if dep.secure:
        lines.append(f'root-certificates = "{Path(dep.workdir).resolve() / "certs" / "ca.crt"}"')
    else:
        lines.append("insecure = true")
    dep.cli_home.mkdir(parents=True, exist_ok=True)
    (dep.cli_home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _flwr(dep: Deployment, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_executable("flwr"), *args],
        env=_env(dep.cli_home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_supernode(
    dep: Deployment, site: SiteProcess, node_config: str, *, register: bool = True
) -> SiteProcess:
    """Start (registering its key first, when auth is on) one SuperNode; returns it with PID."""
    work = Path(dep.workdir).resolve()
    cmd = [
        _executable("flower-supernode"),
        "--superlink",
        f"127.0.0.1:{dep.port}",
        "--port",
        str(site.port),
        "--node-config",
        node_config,
    ]
    if dep.secure:
        cmd += ["--root-certificates", str(work / "certs" / "ca.crt")]
        if site.key:
            cmd += ["--auth-supernode-private-key", site.key]
        if register and site.key:
            done = _flwr(dep, "supernode", "register", site.key + ".pub", CONNECTION, "--name",
                         site.name)  # fmt: skip
            if done.returncode != 0:
                raise FederationError(
                    f"registering SuperNode {site.name} failed: "
                    f"{(done.stdout + done.stderr).strip()[-300:]}",
                    fix="check that the SuperLink runs with --enable-supernode-auth",
                )
    else:
        cmd.append("--insecure")
    log = work / "logs" / f"{site.name}.log"
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            cmd,
            env=_env(work / "home" / site.name),
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    site.pid = proc.pid
    return site


def node_config(
    site: SiteProcess,
    *,
    epsilon_max: float,
    delta: float,
    consortium_sites: int,
    local_epsilon_max: float | None = None,
    extra: str = "",
    transcript: Path | None = None,
) -> str:
    """The ``--node-config`` string of one SuperNode (paths quoted as TOML strings)."""
    if transcript is not None:
        extra = f'{extra} transcript="{transcript}"'.strip()
    if local_epsilon_max is not None:
        extra = f"{extra} local-epsilon-max={float(local_epsilon_max)!r}".strip()
    parts = [
        f'site-name="{site.name}"',
        f'data="{site.data}"',
        f'ledger="{site.ledger}"',
        f"epsilon-max={float(epsilon_max)!r}",
        f"delta={float(delta)!r}",
        f"consortium-sites={int(consortium_sites)}",
    ]
    return " ".join(parts + ([extra] if extra else []))


def up(
    n_sites: int,
    data: Path,
    workdir: Path,
    *,
    insecure: bool = False,
    port: int = 9100,
    epsilon_max: float = 4.0,
    delta: float = 1e-6,
    local_epsilon_max: float | None = None,
    extra_node_config: str = "",
    site_transcripts: bool = False,
    wait: float = 60.0,
) -> Deployment:
    """Start the SuperLink and ``n_sites`` SuperNodes; return the saved deployment.

    Raises:
        ParameterError: fewer than 3 sites.
        FederationError: a federation already runs from ``workdir``, a port is taken, too few
            data files, or a process failed to start (its log is named).
    """
    from synthema.federation.protocol import check_sites

    check_sites(n_sites, 1 if n_sites > 2 else 0)
    workdir = workdir.resolve()
    _refuse_running(workdir)
    files = site_files(data, n_sites)
    _check_ports(port, n_sites)
    for sub in ("logs", "ledgers", "home"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    dep = Deployment(
        workdir=str(workdir),
        port=port,
        secure=not insecure,
        superlink_pid=0,
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    start_superlink(dep)
    try:
        for i, path in enumerate(files, 1):
            site = _site_process(dep, i, path)
            config = node_config(
                site,
                epsilon_max=epsilon_max,
                delta=delta,
                consortium_sites=n_sites,
                local_epsilon_max=local_epsilon_max,
                extra=extra_node_config,
                transcript=workdir / "transcripts" / site.name if site_transcripts else None,
            )
            dep.sites.append(start_supernode(dep, site, config))
            dep.save()
        wait_online(dep, n_sites, timeout=wait)
    except BaseException:
        down(workdir)
        raise
    return dep


def _refuse_running(workdir: Path) -> None:
    """A second federation from the same folder would lose track of the first one's PIDs."""
    if not (workdir / "federation.json").is_file():
        return
    old = Deployment.load(workdir)
    if alive(old.superlink_pid) or any(alive(s.pid) for s in old.sites):
        raise FederationError(
            f"a federation started from {workdir} is still running",
            fix=f"stop it first: synthema federate down --workdir {workdir}",
        )


def _check_ports(port: int, n_sites: int) -> None:
    ports = [port + i for i in range(n_sites + 1)]
    taken = [p for p in ports if not _port_free(p)]
    if taken:
        raise FederationError(
            f"port(s) {', '.join(map(str, taken))} on 127.0.0.1 are in use",
            fix="stop what uses them (synthema federate down) or pick another --port",
        )


def start_superlink(dep: Deployment) -> None:
    """Start ``flower-superlink`` (TLS and SuperNode auth unless insecure); wait for its port."""
    workdir = Path(dep.workdir)
    cmd = [_executable("flower-superlink"), "--port", str(dep.port)]
    if dep.secure:
        make_certificates(workdir / "certs")
        cmd += [
            "--ssl-ca-certfile", str(workdir / "certs" / "ca.crt"),
            "--ssl-certfile", str(workdir / "certs" / "server.pem"),
            "--ssl-keyfile", str(workdir / "certs" / "server.key"),
            "--enable-supernode-auth",
            "--database", str(workdir / "superlink.db"),
        ]  # fmt: skip
    else:
        cmd.append("--insecure")
    log = workdir / "logs" / "superlink.log"
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            cmd,
            env=_env(workdir / "home" / "superlink"),
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    dep.superlink_pid = proc.pid
    dep.save()
    _wait_port(dep.port, proc.pid, log)
    _connection_config(dep)


def _site_process(dep: Deployment, number: int, path: Path) -> SiteProcess:
    """Site ``number``'s files and port (and its key pair when authentication is on)."""
    workdir = Path(dep.workdir)
    name = f"site_{number:02d}"
    site = SiteProcess(
        name=name,
        data=str(path.resolve()),
        ledger=str(workdir / "ledgers" / f"{name}.sqlite"),
        port=dep.port + number,
        pid=0,
    )
    if dep.secure:
        make_node_key(workdir / "keys" / name, name)
        site.key = str(workdir / "keys" / name)
    return site


def online_nodes(dep: Deployment) -> list[dict]:
    """The SuperLink's list of SuperNodes with status ``online``."""
    done = _flwr(dep, "supernode", "ls", CONNECTION, "--format", "json")
    try:
        nodes = json.loads(done.stdout).get("nodes", [])
    except (ValueError, AttributeError):
        return []
    return [n for n in nodes if n.get("status") == "online"]


def wait_online(dep: Deployment, n: int, timeout: float = 60.0) -> None:
    """Wait until ``n`` SuperNodes are online; name the ones that died."""
    end = time.time() + timeout
    while time.time() < end:
        dead = [s for s in dep.sites if not alive(s.pid)]
        if dead:
            logs = Path(dep.workdir) / "logs"
            raise FederationError(
                f"SuperNode {dead[0].name} exited: {_tail(logs / (dead[0].name + '.log'))}",
                fix=f"read {logs / (dead[0].name + '.log')}",
            )
        if len(online_nodes(dep)) >= n:
            return
        time.sleep(1.0)
    raise FederationError(
        f"fewer than {n} SuperNodes came online within {timeout:g} s",
        fix=f"read the logs in {Path(dep.workdir) / 'logs'}",
    )


def stop(pid: int, *, grace: float = 10.0) -> bool:
    """SIGTERM a process group, SIGKILL after ``grace`` seconds; True if it was running."""
    if pid <= 0 or not alive(pid):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    end = time.time() + grace
    while time.time() < end and alive(pid):
        time.sleep(0.2)
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:  # reap our own child, if it is one
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return True


def down(workdir: Path) -> list[str]:
    """Stop every process ``up`` started (SuperNodes first), by PID; returns what was stopped."""
    dep = Deployment.load(workdir)
    stopped = [s.name for s in dep.sites if stop(s.pid)]
    if stop(dep.superlink_pid):
        stopped.append("superlink")
    (Path(dep.workdir) / "federation.json").unlink(missing_ok=True)
    return stopped


# -- fit ------------------------------------------------------------------------------------


def app_dir(workdir: Path) -> Path:
    """The Flower app folder ``flwr run`` ships (the package's app/pyproject.toml)."""
    target = workdir / "app"
    target.mkdir(parents=True, exist_ok=True)
    source = resources.files("synthema.federation") / "app" / "pyproject.toml"
    (target / "pyproject.toml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def run_fit(
    workdir: Path,
    *,
    out: Path,
    dictionary: str = "aml",
    method: str = "auto",
    epsilon: float = 1.0,
    delta: float = 1e-6,
    seed: int | None = None,
    dropouts: int = 1,
    timeout: float = 120.0,
    synth_options: dict | None = None,
    transcript: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    on_start: Callable[[FitConfig], None] | None = None,
    app: Path | None = None,
) -> FitSummary:
    """Run one federated fit on the running deployment; returns the ServerApp's summary.

    Every parameter is checked first (:class:`~synthema.federation.run.FitConfig`), before
    any site is contacted; ``on_start(config)`` is then called, and ``on_line`` receives each
    line ``flwr run`` prints. ``app`` is the Flower app folder ``flwr run`` ships (default:
    synthema's, see :func:`app_dir`); the sites run their own ClientApp checks whatever
    ServerApp it names.

    Raises:
        FederationError: no deployment, ``flwr run`` failed, or the ServerApp reported an error
            (its message and fix are passed on).
        ParameterError: a parameter no fit can use (nothing was started).
    """
    workdir = workdir.resolve()
    dep = Deployment.load(workdir)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    config = FitConfig(
        dictionary=_dictionary_ref(dictionary), method=method, epsilon=epsilon, delta=delta,
        seed=seed, n_sites=len(dep.sites), dropouts=dropouts, timeout=timeout,
        synth_options=synth_options or {}, model_path=str(out.resolve()),
        result_path=str(workdir / "logs" / f"fit-{stamp}.json"),
        transcript=str(transcript.resolve()) if transcript else "",
    )  # fmt: skip
    if on_start is not None:
        on_start(config)
    log = workdir / "logs" / f"fit-{stamp}.log"
    rc = _flwr_run(dep, config, app if app is not None else app_dir(workdir), log, on_line)
    result = Path(config.result_path)
    if not result.is_file():
        raise FederationError(
            f"the federated fit ended without a result (flwr run exit status {rc}): {_tail(log)}",
            fix=f"read {log}; check the SuperNodes with `flwr supernode ls` and their logs",
        )
    raw = json.loads(result.read_text(encoding="utf-8"))
    summary = replace(FitSummary.from_dict(raw), log=str(log))
    if not summary.ok:
        raise FederationError(summary.error or "the federated fit failed",
                              fix=summary.fix or f"read {log}")  # fmt: skip
    return summary


def _dictionary_ref(dictionary: str) -> str:
    """A YAML path made absolute (the ServerApp runs elsewhere); a built-in name as is."""
    path = Path(dictionary)
    if path.suffix.lower() in {".yaml", ".yml"} and path.is_file():
        return str(path.resolve())
    return dictionary


def _flwr_run(dep: Deployment, config: FitConfig, folder: Path, log: Path,
              on_line: Callable[[str], None] | None) -> int:
    """``flwr run`` the app with ``config``; stream its output to ``log`` and ``on_line``."""
    # a TOML file, not "k=v" pairs: Flower's pair parser breaks on quotes inside values
    import tomli_w

    run_config = log.with_suffix(".toml")
    run_config.write_text(tomli_w.dumps(config.to_run_config()), encoding="utf-8")
    cmd = [_executable("flwr"), "run", str(folder), CONNECTION, "--stream",
           "--run-config", str(run_config)]  # fmt: skip
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(
            cmd,
            env=_env(dep.cli_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        return proc.wait()
