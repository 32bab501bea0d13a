"""One federated fit as it crosses processes: what it is asked to do, and what it did.

``synthema federate fit`` runs in one process, the ServerApp in another (started by the
SuperLink through ``flwr run``). Two records cross that boundary, each as a frozen
dataclass on both sides and as plain text only on the way:

- :class:`FitConfig` — built and checked by :func:`synthema.federation.deploy.run_fit`
  *before* any site is contacted (a misspelt method, ε ≤ 0, δ ≥ 1, more dropouts than the
  sites allow or an unknown synthesizer option are refused at once), written as the run
  config TOML (``[tool.flwr.app.config]`` keys, kebab-case) and parsed once by the ServerApp
  with :meth:`FitConfig.from_run_config`;
- :class:`FitSummary` — what the ServerApp did (sites, every round, privacy, bytes, or the
  error and its fix), written as ``result-path`` JSON and read back with
  :meth:`FitSummary.from_dict`.

This module imports no Flower.

>>> c = FitConfig(dictionary="aml", method="mst", epsilon=1.0, delta=1e-6, n_sites=3,
...               dropouts=1, model_path="/tmp/m.synth")
>>> FitConfig.from_run_config(c.to_run_config()) == c
True
>>> FitConfig(dictionary="aml", method="copula", n_sites=3, model_path="m")
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
synthema.errors.ParameterError: method 'copula' cannot be fitted federated: ...
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from synthema.errors import ParameterError
from synthema.federation.protocol import check_sites
from synthema.federation.source import RoundRecord

FEDERATED_METHODS = ("auto", "mst", "aim", "independent")
"""Methods a federated fit can use: they see data only through noisy marginals (``auto``
chooses one of the other three from public facts, the same way as a central fit)."""
_ROWS_NEEDED = {
    "copula": "the Gaussian copula needs the rows themselves",
    "dpvae": "the DP-VAE trains on the rows with DP-SGD, and federated training (FedAvg over "
             "SecAgg+) is not built yet; fit it centrally with synthema synth fit",
}


@dataclass(frozen=True)
class FitConfig:
    """The parameters of one federated fit (checked when the object is made).

    Args:
        dictionary: built-in name or absolute YAML path (the server and every site load it).
        method: ``auto`` (planned from the dictionary's size and ε before any site is
            contacted, :meth:`plan`; settled by the ServerApp on the sites' noisy one-way
            marginals), ``mst``, ``aim`` or ``independent``.
        epsilon, delta: the fit's (ε, δ); ``epsilon=inf`` means exact counts (test sites only).
        seed: seed of the public choices and of sampling (None: fresh); never of the noise.
        n_sites: sites in the federation; ``dropouts``: how many may drop out of a round.
        timeout: seconds per SecAgg+ stage; ``connect_timeout``: seconds to wait for sites.
        synth_options: extra synthesizer parameters (e.g. ``{"iters": 1000}``).
        model_path: where the ServerApp saves the model (required).
        result_path: where it writes the :class:`FitSummary` JSON ("" for nowhere).
        transcript: a folder for the server-side transcript ("" for none).

    Raises:
        ParameterError: a parameter no fit can use, before any site is contacted.
    """

    dictionary: str
    method: str = "auto"
    epsilon: float = 1.0
    delta: float = 1e-6
    seed: int | None = None
    n_sites: int = 3
    dropouts: int = 1
    timeout: float = 120.0
    connect_timeout: float = 120.0
    synth_options: Mapping[str, Any] = field(default_factory=dict)
    model_path: str = ""
    result_path: str = ""
    transcript: str = ""

    def __post_init__(self) -> None:
        from synthema.synth import check_parameters

        object.__setattr__(self, "method", str(self.method).lower())
        object.__setattr__(self, "synth_options", dict(self.synth_options))
        if self.method in _ROWS_NEEDED:
            raise ParameterError(
                f"method {self.method!r} cannot be fitted federated: {_ROWS_NEEDED[self.method]}",
                fix=f"use one of: {', '.join(FEDERATED_METHODS)}",
            )
        check_parameters(self.method, dictionary=self.dictionary, epsilon=self.epsilon,
                         delta=self.delta, random_state=self.seed, **self.synth_options)
        check_sites(self.n_sites, self.dropouts)
        for name in ("timeout", "connect_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise ParameterError(f"{name} is {value!r}: it must be a number of seconds > 0",
                                     fix="e.g. --timeout 120")
        if not str(self.model_path).strip():
            raise ParameterError("the fit has no model path", fix="give --out MODEL.synth")
        if Path(self.model_path).is_dir():
            raise ParameterError(f"model path {self.model_path} is a folder",
                                 fix="name the model file, e.g. model.synth")

    def plan(self):
        """The plan of ``method="auto"`` (a :class:`~synthema.synth.auto.MethodChoice`; None
        for a named method): public facts only, so the caller and the ServerApp get the same;
        the ServerApp settles it on the sites' noisy one-way marginals."""
        from synthema.synth import AutoSynthesizer, check_parameters

        synth = check_parameters(self.method, dictionary=self.dictionary, epsilon=self.epsilon,
                                 delta=self.delta, random_state=self.seed,
                                 **self.synth_options)
        return synth.plan() if isinstance(synth, AutoSynthesizer) else None

    def to_run_config(self) -> dict[str, str | int | float]:
        """Flat, TOML-ready values under the app's ``[tool.flwr.app.config]`` keys.

        ε travels as a string so that ``inf`` survives TOML; no seed is ``-1``.
        """
        return {
            "dictionary": self.dictionary,
            "method": self.method,
            "epsilon": str(self.epsilon),
            "delta": float(self.delta),
            "seed": -1 if self.seed is None else int(self.seed),
            "n-sites": int(self.n_sites),
            "dropouts": int(self.dropouts),
            "timeout": float(self.timeout),
            "connect-timeout": float(self.connect_timeout),
            "synth-options": json.dumps(dict(self.synth_options), separators=(",", ":")),
            "model-path": self.model_path,
            "result-path": self.result_path,
            "transcript": self.transcript,
        }

    @classmethod
    def from_run_config(cls, config: Mapping[str, Any]) -> FitConfig:
        """Parse a run config (defaults as in the app's ``pyproject.toml``) and check it."""

        def get(key: str, default: Any) -> Any:
            value = config.get(key, default)
            return default if value is None else value

        seed = int(get("seed", -1))
        try:
            options = json.loads(str(get("synth-options", "{}")) or "{}")
        except ValueError as exc:
            raise ParameterError(f"synth-options is not JSON ({exc})",
                                 fix='write a JSON object, e.g. {"iters": 1000}') from None
        return cls(
            dictionary=str(get("dictionary", "aml")),
            method=str(get("method", "auto")),
            epsilon=float(str(get("epsilon", "1.0"))),
            delta=float(get("delta", 1e-6)),
            seed=None if seed < 0 else seed,
            n_sites=int(get("n-sites", 3)),
            dropouts=int(get("dropouts", 1)),
            timeout=float(get("timeout", 120.0)),
            connect_timeout=float(get("connect-timeout", 120.0)),
            synth_options=options,
            model_path=str(get("model-path", "")).strip(),
            result_path=str(get("result-path", "")).strip(),
            transcript=str(get("transcript", "")).strip(),
        )


@dataclass(frozen=True)
class FitSummary:
    """What one federated fit did, or how it failed (the ServerApp's ``result-path`` JSON).

    ``sites`` maps each site that joined to its hello reply (budget figures); ``rounds`` holds
    one :class:`~synthema.federation.source.RoundRecord` per secure sum, also the rounds
    before a failure. On failure ``ok`` is False and ``error``/``fix`` say why (``traceback``
    only for a bug). ``log`` is the ``flwr run`` log the caller kept.
    """

    ok: bool
    sites: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rounds: tuple[RoundRecord, ...] = ()
    model: str = ""
    method: str = ""
    method_choice: Mapping[str, Any] | None = None
    dictionary: str = ""
    privacy: Mapping[str, Any] = field(default_factory=dict)
    n_sites: int = 0
    dropouts: int = 0
    seconds: float = math.nan
    bytes_received: int = 0
    error: str = ""
    fix: str = ""
    traceback: str = ""
    log: str = ""

    def rho_charged(self, site: str) -> float:
        """ρ the fit charged ``site``'s ledger (rounds it answered, exact-count rounds aside)."""
        return sum(r.charges[site] for r in self.answered(site) if r.charges[site] >= 0)

    def local_rho_charged(self, site: str) -> float:
        """The local-only ρ of the same rounds (the site's answers seen alone)."""
        return sum(r.local_rho_per_site for r in self.answered(site) if r.charges[site] >= 0)

    def answered(self, site: str) -> list[RoundRecord]:
        """The rounds ``site`` contributed to (those its ledger was charged for)."""
        return [r for r in self.rounds if r.charges.get(site) is not None]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (rounds as dicts; empty error fields left out)."""
        out = asdict(self)
        out["rounds"] = [r.to_dict() for r in self.rounds]
        out["sites"] = {k: dict(v) for k, v in self.sites.items()}
        out["privacy"] = dict(self.privacy)
        return {k: v for k, v in out.items()
                if not (k in ("error", "fix", "traceback", "log") and not v)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FitSummary:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["rounds"] = tuple(RoundRecord.from_dict(r) for r in raw.get("rounds", ()))
        return cls(**values)
