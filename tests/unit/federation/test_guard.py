"""The site-side SecAgg+ guard, driven with real Flower messages through the real ClientApp.

A small in-process server (:class:`Round`) plays Flower's four SecAgg+ stages against three
sites, each with its own Context, data file and ledger, exactly as ``flower-supernode`` would
call the ClientApp. An honest round passes; a threshold below the plan is refused before the
site counts or charges anything; an unmask request that lists a site as both active and dead
(Flower 1.41's own mod would answer it with both of that site's secrets) is refused without a
key share.
"""

from __future__ import annotations

import pytest
from fedhelpers import make_site
from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.common import FitIns, ndarrays_to_parameters
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.compat.common import recorddict_compat as compat
from flwr.supercore.task_identity import TaskIdentity

from synthema.errors import FederationError
from synthema.federation.client_app import app
from synthema.federation.guard import SecAggSetup, check_plan, check_setup, check_unmask
from synthema.federation.protocol import (
    CLIPPING_RANGE,
    MODULUS,
    QUANTIZATION_RANGE,
    REFUSAL,
    Query,
)
from synthema.privacy.ledger import BudgetLedger

NODES = (101, 202, 303)


def _setup(**changes) -> SecAggSetup:
    values = dict(sample_num=3, share_num=3, threshold=2, clipping_range=float(CLIPPING_RANGE),
                  target_range=QUANTIZATION_RANGE, mod_range=MODULUS, max_weight=1.0)  # fmt: skip
    values.update(changes)
    return SecAggSetup(**values)


# -- the pure checks --------------------------------------------------------------------------


def test_setup_check_accepts_the_protocol_and_refuses_each_deviation():
    check_setup(_setup(), site="a", consortium_sites=3)
    check_setup(_setup(threshold=3), site="a", consortium_sites=3)  # t = 0: every share
    bad = {
        "clipping range": _setup(clipping_range=2.0**30),
        "quantization range": _setup(target_range=2**20),
        "modulus": _setup(mod_range=2**40),
        "max weight": _setup(max_weight=2.0),
        "every site must hold": _setup(share_num=2, threshold=2),
        "consortium-sites=3": _setup(sample_num=4, share_num=4, threshold=3),
        "more than half": _setup(threshold=1),
    }
    for message, setup in bad.items():
        with pytest.raises(FederationError, match=message) as info:
            check_setup(setup, site="a", consortium_sites=3)
        assert str(info.value).startswith(f"{REFUSAL}: site 'a'")
    # 2 of 4 shares would let two disjoint halves each rebuild one secret of the same site
    with pytest.raises(FederationError, match="more than half"):
        check_setup(_setup(sample_num=4, share_num=4, threshold=2), site="a", consortium_sites=4)


def test_plan_check_pins_the_threshold_to_the_planned_n_minus_t():
    query = Query("q", (("sex",),), share_sigma=2.0, n_sites=3, min_contributors=3,
                  fingerprint="f")  # fmt: skip  (t = 0)
    check_plan(_setup(threshold=3), query, site="a")
    with pytest.raises(FederationError, match="threshold is 2 but the plan counts on 3"):
        check_plan(_setup(threshold=2), query, site="a")  # the old n - max(t, 1)
    after_dropout = Query("q", (("sex",),), share_sigma=2.0, n_sites=4, min_contributors=3,
                          fingerprint="f")  # fmt: skip
    check_plan(_setup(threshold=3), after_dropout, site="a")  # 3 of 3 still asked
    with pytest.raises(FederationError, match="threshold is 2"):
        check_plan(_setup(threshold=2), after_dropout, site="a")
    with pytest.raises(FederationError, match="over 5 sites, the plan has 4"):
        check_plan(_setup(sample_num=5, share_num=5, threshold=3), after_dropout, site="a")


def test_unmask_check_refuses_overlap_unknown_small_and_self_dead():
    ok = dict(neighbours={1, 2, 3}, own=1, min_contributors=2, site="a")
    check_unmask([1, 2], [3], **ok)
    check_unmask([1, 2, 3], [], **ok)
    cases = {
        "both contributing and dropped": ([1, 2, 3], [3]),
        "repeats a site": ([1, 2, 2], []),
        "never shared keys": ([1, 2, 9], []),
        "lists this site as dropped": ([2, 3], [1]),
        "sums 1 sites": ([1], [2, 3]),
    }
    for message, (active, dead) in cases.items():
        with pytest.raises(FederationError, match=message):
            check_unmask(active, dead, **ok)


# -- the mod, inside the real ClientApp -------------------------------------------------------


@pytest.fixture()
def task_identity(monkeypatch):
    """Flower stamps messages with the process's task identity (a SuperNode sets it)."""
    for name, value in (("_task_id", 1), ("_run_id", 7), ("_node_id", 0)):
        monkeypatch.setattr(TaskIdentity, name, value)


class Round:
    """Flower's four SecAgg+ stages, played by a test server against the real ClientApp."""

    def __init__(self, contexts: dict[int, Context]) -> None:
        self.contexts = contexts

    def send(
        self, nid: int, configs: dict, content: RecordDict | None = None
    ) -> Message | Exception:
        """The site's reply, or the exception it raised (a SuperNode sends it as an error)."""
        content = content if content is not None else RecordDict()
        content.config_records[RECORD_KEY_CONFIGS] = ConfigRecord(configs)
        msg = Message(content=content, dst_node_id=nid, message_type=MessageType.TRAIN)
        try:
            return app(msg, self.contexts[nid])
        except Exception as exc:  # noqa: BLE001 - what the server would receive as an error
            return exc

    def keys(self, threshold: int) -> dict[int, Message]:
        setup = {Key.STAGE: Stage.SETUP, Key.SAMPLE_NUMBER: len(self.contexts),
                 Key.SHARE_NUMBER: len(self.contexts), Key.THRESHOLD: threshold,
                 Key.CLIPPING_RANGE: float(CLIPPING_RANGE), Key.TARGET_RANGE: QUANTIZATION_RANGE,
                 Key.MOD_RANGE: MODULUS, Key.MAX_WEIGHT: 1.0}  # fmt: skip
        replies = {nid: self.send(nid, dict(setup)) for nid in self.contexts}
        public = {str(nid): [r.content.config_records[RECORD_KEY_CONFIGS][Key.PUBLIC_KEY_1],
                             r.content.config_records[RECORD_KEY_CONFIGS][Key.PUBLIC_KEY_2]]
                  for nid, r in replies.items()}  # fmt: skip
        shares = {nid: self.send(nid, {Key.STAGE: Stage.SHARE_KEYS, **public})
                  for nid in self.contexts}  # fmt: skip
        self.inbox: dict[int, tuple[list, list]] = {nid: ([], []) for nid in self.contexts}
        for src, reply in shares.items():
            record = reply.content.config_records[RECORD_KEY_CONFIGS]
            for dst, text in zip(record[Key.DESTINATION_LIST], record[Key.CIPHERTEXT_LIST],
                                 strict=True):  # fmt: skip
                self.inbox[dst][0].append(src)
                self.inbox[dst][1].append(text)
        return shares

    def collect(self, query: Query) -> dict[int, Message]:
        out = {}
        for nid in self.contexts:
            fitins = FitIns(ndarrays_to_parameters([]), query.to_config())
            content = compat.fitins_to_recorddict(fitins, True)
            srcs, texts = self.inbox[nid]
            out[nid] = self.send(nid, {Key.STAGE: Stage.COLLECT_MASKED_VECTORS,
                                       Key.CIPHERTEXT_LIST: texts, Key.SOURCE_LIST: srcs},
                                 content)  # fmt: skip
        return out

    def unmask(self, nid: int, active: list[int], dead: list[int]) -> Message:
        return self.send(nid, {Key.STAGE: Stage.UNMASK, Key.ACTIVE_NODE_ID_LIST: active,
                               Key.DEAD_NODE_ID_LIST: dead})  # fmt: skip


@pytest.fixture()
def federation(tmp_path, site_files, small_dictionary, task_identity):
    contexts, sites = {}, {}
    for nid, path in zip(NODES, site_files, strict=False):
        site = make_site(tmp_path, path, small_dictionary, f"site-{nid}")
        sites[nid] = site
        node_config = {"site-name": site.name, "data": str(path),
                       "ledger": str(site.config.ledger), "epsilon-max": 4.0,
                       "consortium-sites": 3}  # fmt: skip
        run_config = {"dictionary": str(tmp_path / "small.yaml")}
        (tmp_path / "small.yaml").write_text(small_dictionary.to_yaml(), encoding="utf-8")
        contexts[nid] = Context(run_id=7, node_id=nid, node_config=node_config,
                                state=RecordDict(), run_config=run_config)  # fmt: skip
    return Round(contexts), sites


def _query(site, *, qid: str, m: int) -> Query:
    return Query(qid, (("sex",), ("eln2022", "npm1")), share_sigma=3.0, n_sites=3,
                 min_contributors=m, fingerprint=site.fingerprint)  # fmt: skip


def _charges(site) -> list:
    if not site.config.ledger.exists():
        return []
    with BudgetLedger(site.config.ledger) as ledger:
        return ledger.charges()


def _error(reply: Message | Exception) -> str:
    return str(reply) if isinstance(reply, Exception) else ""


def test_an_honest_round_passes_every_check(federation):
    # Setup
    server, sites = federation
    query = _query(sites[NODES[0]], qid="honest", m=2)

    # Run
    server.keys(threshold=2)
    masked = server.collect(query)
    unmasked = {nid: server.unmask(nid, list(NODES), []) for nid in NODES}

    # Assert: masked vectors and key shares came back; each site charged exactly once
    errors = [_error(r) for r in [*masked.values(), *unmasked.values()]]
    assert errors == [""] * 6, errors
    for nid in NODES:
        record = unmasked[nid].content.config_records[RECORD_KEY_CONFIGS]
        assert sorted(record[Key.NODE_ID_LIST]) == sorted(NODES)
        assert [c.query_id for c in _charges(sites[nid])] == ["honest"]


def test_a_threshold_below_the_plan_is_refused_before_anything_is_charged(federation):
    # Setup: the plan is t = 0 (every share); the server asks SecAgg+ for 2 of 3
    server, sites = federation
    query = _query(sites[NODES[0]], qid="low-threshold", m=3)

    # Run
    server.keys(threshold=2)
    masked = server.collect(query)

    # Assert: every site refused (an error instead of its masked vector), no ledger charged
    for nid in NODES:
        assert REFUSAL in _error(masked[nid]) and "threshold is 2" in _error(masked[nid])
        assert _charges(sites[nid]) == []


def test_an_overlapping_unmask_request_gets_no_key_share(federation):
    # Setup: an honest round up to the masked vectors
    server, sites = federation
    server.keys(threshold=2)
    masked = server.collect(_query(sites[NODES[0]], qid="target", m=2))
    assert [_error(r) for r in masked.values()] == ["", "", ""]
    victim = NODES[2]

    # Run: the malicious server lists the victim as active AND dead to two other sites
    replies = [server.unmask(nid, list(NODES), [victim]) for nid in NODES[:2]]

    # Assert: both refuse, naming the problem: an error goes back instead of any share
    for reply in replies:
        assert REFUSAL in _error(reply) and "both contributing and dropped" in _error(reply)
    # the charge for the masked vector stays (made before it left), nothing more
    assert [c.query_id for c in _charges(sites[NODES[0]])] == ["target"]
