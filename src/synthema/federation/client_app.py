"""Flower ClientApp: a hospital's SuperNode answers synthema queries from its own data.

Runs on the hospital's machine (``flower-supernode`` starts it for every message). Two kinds of
message arrive: the *hello* (legacy ``get_properties``: will the site join a fit that may
spend ρ?) and the SecAgg+ *train* rounds, where ``secaggplus_mod`` handles the key exchange and
masking and calls :meth:`SiteClient.fit` once per query, in the masked-vector stage. The site's
settings come from its own node config (:class:`~synthema.federation.site.SiteConfig`); the
run config only names the dictionary.
"""

from __future__ import annotations

import math

import numpy as np
from flwr.app import Context
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod

from synthema.federation.protocol import Query
from synthema.federation.site import Site, SiteConfig


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


app = ClientApp(client_fn=client_fn, mods=[secaggplus_mod])
