"""The server side of one federated fit on Flower 1.41: hello round and SecAgg+ secure sums.

:class:`FlowerSecureSum` is the production :class:`~synthema.federation.source.SecureSum`.
One query is one round of Flower's ``SecAggPlusWorkflow`` (4 stages: keys, key shares,
masked vectors, unmasking), driven directly with a small strategy that asks exactly the sites
that joined the run. Parameters are chosen so the modular sum is exact
(:mod:`synthema.federation.protocol`): integer entries within ±2²⁴, quantisation range 2²⁵,
modulus 2³², every weight 1 — the workflow returns the *mean* of the vectors, so the sum is
``rint(mean × contributors)``, checked to be integral.

Every reply the ServerApp receives passes through :class:`RecordingGrid`, which counts bytes,
attributes failures to sites and, when asked, keeps a transcript of everything received (the
tests assert on it: the server holds masked vectors and one unmasked sum, never a site's
answer).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.common import (
    FitIns,
    GetPropertiesIns,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.common.constant import MessageTypeLegacy
from flwr.common.secure_aggregation.secaggplus_constants import Key
from flwr.compat.common import recorddict_compat as compat
from flwr.server import LegacyContext, ServerConfig
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.strategy import Strategy
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey

from synthema.errors import FederationError
from synthema.federation.protocol import (
    CLIPPING_RANGE,
    MODULUS,
    QUANTIZATION_RANGE,
    Query,
    refusal_text,
)
from synthema.federation.source import SiteFailure, SumResult

_LOG = logging.getLogger(__name__)
POLL_SECONDS = 0.5  # Flower's own send_and_receive sleeps 3 s between pulls


def _payload_bytes(content: RecordDict) -> int:
    """Bytes of arrays and byte strings in a message (what travelled, roughly)."""
    total = 0
    for record in content.array_records.values():
        for array in record.values():
            total += len(array.data)
    for record in content.config_records.values():
        for value in record.values():
            if isinstance(value, bytes):
                total += len(value)
            elif isinstance(value, list):
                total += sum(len(v) for v in value if isinstance(v, bytes))
            elif isinstance(value, str):
                total += len(value)
    return total


class RecordingGrid:
    """A Flower Grid wrapper that records every reply the ServerApp receives.

    Args:
        grid: the ServerApp's grid.
        transcript: a folder; when given, every array and masked vector received is saved
            there (``<round>-<stage>-<node>-<key>.npy``) with an index ``received.jsonl``.
    """

    def __init__(self, grid, transcript: Path | None = None) -> None:
        self.grid = grid
        self.transcript = transcript
        self.tag = "hello"
        self.calls = 0  # send_and_receive calls since the tag was set (SecAgg+ stage + 1)
        self.replies: list[Message] = []
        self.bytes_received = 0
        if transcript is not None:
            transcript.mkdir(parents=True, exist_ok=True)

    def __getattr__(self, name: str):
        return getattr(self.grid, name)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> list[Message]:
        """Push, then pull replies every POLL_SECONDS until all arrived or ``timeout``."""
        self.calls += 1
        ids = set(self.grid.push_messages(list(messages)))
        end = time.time() + (timeout if timeout is not None else 0.0)
        out: list[Message] = []
        while ids and (timeout is None or time.time() < end):
            got = list(self.grid.pull_messages(ids))
            out.extend(got)
            ids.difference_update(m.metadata.reply_to_message_id for m in got)
            if ids:
                time.sleep(POLL_SECONDS)
        for i, msg in enumerate(out):
            self._record(msg, i)
        self.replies.extend(out)
        return out

    def _record(self, msg: Message, index: int) -> None:
        node = msg.metadata.src_node_id
        entry: dict = {"tag": self.tag, "stage": self.calls, "node": node, "error": None,
                       "keys": [], "bytes": 0}
        if msg.has_error():
            entry["error"] = msg.error.reason
        else:
            size = _payload_bytes(msg.content)
            self.bytes_received += size
            entry["bytes"] = size
            entry["keys"] = sorted(
                [f"array:{k}" for k in msg.content.array_records]
                + [f"config:{k}" for k in msg.content.config_records]
            )
            if self.transcript is not None:
                self._save_arrays(msg, node)
        if self.transcript is not None:
            with (self.transcript / "received.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")

    def _save_arrays(self, msg: Message, node: int) -> None:
        from flwr.common import bytes_to_ndarray

        stem = f"{self.tag}-s{self.calls}-n{node}"
        for key, record in msg.content.array_records.items():
            for name, array in record.items():
                np.save(self.transcript / f"{stem}-array-{key}-{name}.npy", array.numpy())
        for key, record in msg.content.config_records.items():
            masked = record.get(Key.MASKED_PARAMETERS) if hasattr(record, "get") else None
            if masked:
                for j, blob in enumerate(masked):
                    target = self.transcript / f"{stem}-masked-{key}-{j}.npy"
                    np.save(target, bytes_to_ndarray(blob))


class _QueryStrategy(Strategy):
    """Asks exactly the participating sites; keeps what SecAgg+ hands to aggregate_fit."""

    def __init__(self) -> None:
        self.proxies: list[GridClientProxy] = []
        self.config: dict = {}
        self.results: list | None = None
        self.failures: list | None = None

    def initialize_parameters(self, client_manager):
        return None

    def configure_fit(self, server_round, parameters, client_manager):
        ins = FitIns(parameters, dict(self.config))
        return [(proxy, ins) for proxy in self.proxies]

    def aggregate_fit(self, server_round, results, failures):
        self.results, self.failures = list(results), list(failures)
        if not results:
            return None, {}
        return results[0][1].parameters, {}

    def configure_evaluate(self, server_round, parameters, client_manager):
        return []

    def aggregate_evaluate(self, server_round, results, failures):
        return None, {}

    def evaluate(self, server_round, parameters):
        return None


def secagg_workflow(n_asked: int, planned: int, *, timeout: float) -> SecAggPlusWorkflow:
    """Flower's SecAgg+ workflow over ``n_asked`` sites, unmasking only with ``planned`` shares.

    ``planned`` is the plan's n − t, fixed for the whole fit: after a site dropped in an
    earlier round, fewer sites are asked but the threshold stays, so a sum is never unmasked
    from fewer noise shares than the accounting assumes. Flower refuses an integer threshold
    equal to the number of shares, so "every share" (t = 0, or after t dropouts) is given as
    the fraction 1.0, which Flower turns back into ``n_asked``.

    >>> secagg_workflow(3, 2, timeout=1.0).reconstruction_threshold
    2
    >>> secagg_workflow(3, 3, timeout=1.0).reconstruction_threshold
    1.0
    """
    if not 2 <= planned <= n_asked:
        raise FederationError(
            f"cannot unmask with {planned} of {n_asked} shares",
            fix="a SecAgg+ round needs at least the plan's n - t sites and n - t >= 2",
        )
    return SecAggPlusWorkflow(
        num_shares=n_asked,
        reconstruction_threshold=planned if planned < n_asked else 1.0,
        max_weight=1.0,
        clipping_range=float(CLIPPING_RANGE),
        quantization_range=QUANTIZATION_RANGE,
        modulus_range=MODULUS,
        timeout=timeout,
    )


class FlowerSecureSum:
    """Secure sums over the sites of a Flower run (the production SecureSum).

    Args:
        grid: the ServerApp's grid.
        context: the ServerApp's context.
        n_sites: sites expected.
        dropouts: t, the sites that may drop out of a round; SecAgg+ unmasks only with the
            planned n − t shares, whatever the number still asked.
        timeout: seconds to wait for replies in each SecAgg+ stage.
        transcript: folder for the server-side transcript (see :class:`RecordingGrid`).
    """

    def __init__(
        self,
        grid,
        context: Context,
        *,
        n_sites: int,
        dropouts: int,
        timeout: float = 120.0,
        transcript: Path | None = None,
    ) -> None:
        self.grid = RecordingGrid(grid, transcript)
        self.n_sites = n_sites
        self.dropouts = dropouts
        self.timeout = float(timeout)
        self.strategy = _QueryStrategy()
        self.context = LegacyContext(
            context=context, config=ServerConfig(num_rounds=1), strategy=self.strategy
        )
        self.sites: dict[int, str] = {}
        self.dropped: dict[int, str] = {}
        self.hello_replies: dict[str, dict] = {}
        self.round = 0

    # -- joining -----------------------------------------------------------------------------

    def wait_for_sites(self, connect_timeout: float) -> list[int]:
        """Node ids of the connected SuperNodes once ``n_sites`` are online.

        Raises:
            FederationError: fewer than ``n_sites`` connected within ``connect_timeout``.
        """
        end = time.time() + connect_timeout
        while True:
            nodes = list(self.grid.get_node_ids())
            if len(nodes) >= self.n_sites or time.time() >= end:
                break
            time.sleep(POLL_SECONDS)
        if len(nodes) < self.n_sites:
            raise FederationError(
                f"only {len(nodes)} of {self.n_sites} sites connected to the SuperLink within "
                f"{connect_timeout:g} s",
                fix="start the missing SuperNodes (`synthema federate up` starts all of them) "
                "or run with fewer sites",
            )
        return nodes

    def hello(self, nodes: list[int], config: dict) -> dict[str, dict]:
        """Ask every site whether it joins a fit (plain message; nothing data-dependent).

        Returns:
            site name -> its reply (``accepts``, ``reason``, budget figures).

        Raises:
            FederationError: a site did not answer, answered twice under one name, or refused.
        """
        content = compat.getpropertiesins_to_recorddict(GetPropertiesIns(dict(config)))
        messages = [
            Message(content=content, dst_node_id=n, message_type=MessageTypeLegacy.GET_PROPERTIES)
            for n in nodes
        ]
        self.grid.tag, self.grid.calls = "hello", 0
        replies = self.grid.send_and_receive(messages, timeout=self.timeout)
        answered: dict[str, dict] = {}
        problems: list[str] = []
        for msg in replies:
            node = msg.metadata.src_node_id
            if msg.has_error():
                text = _reason(msg.error.reason)
                problems.append(refusal_text(text) or f"SuperNode {node}: {text}")
                continue
            props = dict(compat.recorddict_to_getpropertiesres(msg.content).properties)
            name = str(props.get("site", f"node-{node}"))
            if name in answered:
                problems.append(f"two SuperNodes call themselves {name!r}")
                continue
            answered[name] = props
            self.sites[node] = name
        silent = len(nodes) - len(replies)
        if silent:
            problems.append(f"{silent} SuperNode(s) did not answer within {self.timeout:g} s")
        problems += [str(p["reason"]) for p in answered.values() if not p.get("accepts")]
        if problems:
            raise FederationError(
                "the fit cannot start: " + "; ".join(problems),
                fix="nothing was measured or charged; fix the site(s) named and run again",
            )
        if len(answered) != self.n_sites:
            raise FederationError(
                f"{len(answered)} sites answered ({', '.join(sorted(answered))}), the run "
                f"expects {self.n_sites}",
                fix="set --sites to the number of SuperNodes connected",
            )
        self.hello_replies = answered
        return answered

    # -- one secure sum ------------------------------------------------------------------------

    def secure_sum(self, query: Query, dimension: int) -> SumResult:
        """One SecAgg+ round over the participating sites."""
        self.round += 1
        self.grid.tag, self.grid.calls = f"r{self.round:03d}", 0
        run_id = self.context.run_id
        self.strategy.proxies = [
            GridClientProxy(node, self.grid, run_id) for node in sorted(self.sites)
        ]
        self.strategy.config = query.to_config()
        self.strategy.results = self.strategy.failures = None
        cfg = ConfigRecord()
        cfg[WorkflowKey.CURRENT_ROUND] = self.round
        cfg[WorkflowKey.START_TIME] = time.time()
        self.context.state.config_records[MAIN_CONFIGS_RECORD] = cfg
        self.context.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
            ndarrays_to_parameters([np.zeros(1)]), keep_input=True
        )
        n = len(self.strategy.proxies)
        planned = self.n_sites - self.dropouts
        if n < max(3, planned):  # never unmask a sum of fewer than the plan's n - t shares
            return SumResult(vector=None, contributors=[], failures=[
                SiteFailure(name, "dropped out in an earlier round")
                for name in sorted(self.dropped.values())])  # fmt: skip
        workflow = secagg_workflow(n, planned, timeout=self.timeout)
        received_before = self.grid.bytes_received
        replies_before = len(self.grid.replies)
        workflow(self.grid, self.context)
        new_replies = self.grid.replies[replies_before:]
        results = self.strategy.results or []
        contributors, charges = [], {}
        for proxy, fitres in results:
            name = self.sites.get(proxy.node_id, f"node-{proxy.node_id}")
            contributors.append(name)
            if "rho" in fitres.metrics:
                charges[name] = float(fitres.metrics["rho"])
        failures = self._failures(new_replies, contributors)
        for failure in failures:
            if not failure.refused:  # a crashed or silent site is not asked again in this fit
                for node, name in list(self.sites.items()):
                    if name == failure.site:
                        self.dropped[node] = self.sites.pop(node)
                        _LOG.warning("site %s dropped out: %s", name, failure.reason)
        vector = None
        if results:
            mean = parameters_to_ndarrays(results[0][1].parameters)[0]
            total = mean.astype(np.float64) * len(results)
            vector = np.rint(total).astype(np.int64)
            if vector.shape != (dimension,) or np.abs(total - vector).max(initial=0) > 1e-6:
                raise FederationError(
                    f"round {self.round}: the secure sum is not an exact integer vector of "
                    f"{dimension} cells (got shape {vector.shape})",
                    fix="report this: the SecAgg+ parameters no longer give exact sums",
                )
        return SumResult(
            vector=vector,
            contributors=contributors,
            failures=failures,
            charges=charges,
            bytes_received=self.grid.bytes_received - received_before,
        )

    def _failures(self, replies: list[Message], contributors: list[str]) -> list[SiteFailure]:
        """Every participating site that is not among the contributors, with its reason."""
        reasons: dict[str, str] = {}
        for msg in replies:
            if msg.has_error():
                name = self.sites.get(msg.metadata.src_node_id, f"node-{msg.metadata.src_node_id}")
                reasons.setdefault(name, _reason(msg.error.reason))
        out = []
        for name in sorted(set(self.sites.values()) - set(contributors)):
            out.append(SiteFailure(name, reasons.get(name, "no reply (dropped out or timed out)")))
        return out


def _reason(text: str) -> str:
    """Flower's error reason, e.g. ``<class 'X'>:<'message'>``, reduced to the message."""
    if ":<'" in text:
        text = text.split(":<'", 1)[1]
        if text.endswith("'>"):
            text = text[:-2]
    return text

