"""Flower ClientApp: a hospital's SuperNode answers synthema queries from its own data.

Runs on the hospital's machine (``flower-supernode`` starts it for every message). Two kinds of
message arrive: the *hello* (legacy ``get_properties``: will the site join a fit that may
spend ρ?) and the SecAgg+ *train* rounds, where ``secaggplus_mod`` handles the key exchange and
masking and calls :meth:`SiteClient.fit` once per query, in the masked-vector stage. Every
SecAgg+ message first passes :func:`guarded_secaggplus_mod`, which checks the round against
the plan the site agreed to (:mod:`synthema.federation.guard`) before Flower's mod answers.
The site's settings come from its own node config
(:class:`~synthema.federation.site.SiteConfig`); the run config only names the dictionary.
"""

from __future__ import annotations

import math

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MessageType
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.client.mod.secure_aggregation.secaggplus_mod import SecAggPlusState
from flwr.common.secure_aggregation.secaggplus_constants import (
    RECORD_KEY_CONFIGS,
    RECORD_KEY_STATE,
    Key,
    Stage,
)
from flwr.compat.common import recorddict_compat as compat

from synthema.federation.guard import SecAggSetup, check_plan, check_setup, check_unmask
from synthema.federation.protocol import Query
from synthema.federation.site import Site, SiteConfig

PLAN_RECORD = "synthema.secagg-plan"
"""The site's own state between SecAgg+ stages: the n − t of the round's query."""


class SiteClient(NumPyClient):
    """The site's answers, built fresh for every message from the node and run config."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def _site(self) -> Site:
        config = SiteConfig.from_node_config(self.context.node_config)
        return Site(config, str(self.context.run_config.get("dictionary", "aml")))

    def get_properties(self, config):
        site = self._site()
        n_sites, dropouts = config.get("n-sites"), config.get("dropouts")
        return site.hello(
            fingerprint=str(config["fingerprint"]),
            planned_rho=float(config["planned-rho"]),
            n_sites=int(n_sites) if n_sites is not None else None,
            dropouts=int(dropouts) if dropouts is not None else None,
        )

    def fit(self, parameters, config):
        site = self._site()
        vector, rho = site.answer(Query.from_config(config))
        # weight 1 (= SecAgg+ max_weight): the workflow's mean times the contributors is the sum
        metrics = {"site": site.name, "rho": rho if math.isfinite(rho) else -1.0}
        return [vector.astype(np.float64)], 1, metrics


def client_fn(context: Context):
    return SiteClient(context).to_client()


def _setup_of(values) -> SecAggSetup:
    return SecAggSetup(
        sample_num=int(values[Key.SAMPLE_NUMBER]),
        share_num=int(values[Key.SHARE_NUMBER]),
        threshold=int(values[Key.THRESHOLD]),
        clipping_range=float(values[Key.CLIPPING_RANGE]),
        target_range=int(values[Key.TARGET_RANGE]),
        mod_range=int(values[Key.MOD_RANGE]),
        max_weight=float(values[Key.MAX_WEIGHT]),
    )


def guarded_secaggplus_mod(msg: Message, ctxt: Context, call_next) -> Message:
    """Flower's ``secaggplus_mod``, behind the site's own checks of each SecAgg+ stage.

    Setup: the parameters must be the protocol's (ranges, every site sharing with every
    other, a threshold above half of the shares, no more sites than ``consortium-sites``).
    Masked vectors: the threshold must equal the query's planned n − t, checked before the
    site counts, charges its ledger or sends anything. Unmask: no site both active and dead,
    only sites that shared keys, this site active, at least n − t active. A failed check
    raises the site's refusal, so the server gets an error instead of key shares.
    """
    if msg.metadata.message_type != MessageType.TRAIN:
        return call_next(msg, ctxt)
    configs = msg.content.config_records.get(RECORD_KEY_CONFIGS)
    stage = configs.get(Key.STAGE) if configs is not None else None
    site = SiteConfig.from_node_config(ctxt.node_config)
    records = ctxt.state.config_records
    if stage == Stage.SETUP:
        check_setup(_setup_of(configs), site=site.name, consortium_sites=site.consortium_sites)
        records[PLAN_RECORD] = ConfigRecord({})
    elif stage in (Stage.COLLECT_MASKED_VECTORS, Stage.UNMASK) and RECORD_KEY_STATE in records:
        state = SecAggPlusState(**records[RECORD_KEY_STATE])
        setup = SecAggSetup(state.sample_num, state.share_num, state.threshold,
                            state.clipping_range, state.target_range, state.mod_range,
                            state.max_weight)  # fmt: skip
        plan = records.get(PLAN_RECORD, ConfigRecord({}))
        if stage == Stage.COLLECT_MASKED_VECTORS:
            query = Query.from_config(compat.recorddict_to_fitins(msg.content, True).config)
            check_plan(setup, query, site=site.name)
            records[PLAN_RECORD] = ConfigRecord({"min-contributors": query.min_contributors})
        else:
            check_unmask(
                list(configs[Key.ACTIVE_NODE_ID_LIST]),
                list(configs[Key.DEAD_NODE_ID_LIST]),
                neighbours=set(state.public_keys_dict),
                own=int(state.nid),
                # no plan recorded (no answer sent this round): demand every share
                min_contributors=int(plan.get("min-contributors", state.share_num)),
                site=site.name,
            )
    return secaggplus_mod(msg, ctxt, call_next)


app = ClientApp(client_fn=client_fn, mods=[guarded_secaggplus_mod])
