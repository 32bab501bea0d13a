"""Federated synthesis over Flower: sites answer noisy marginals, SecAgg+ sums them.

- :mod:`~synthema.federation.protocol`: the query format and the noise/accounting arithmetic
  (no Flower import);
- :mod:`~synthema.federation.site`: a hospital's side: its data, budget ledger and answers;
- :mod:`~synthema.federation.source`: :class:`FederatedSource`, the statistics seam the
  synthesizers use, exactly like ``CentralSource``;
- :mod:`~synthema.federation.flower`, :mod:`~synthema.federation.server_app`,
  :mod:`~synthema.federation.client_app`: the Flower 1.41 ServerApp/ClientApp with SecAgg+;
- :mod:`~synthema.federation.deploy`: local deployment (certificates, SuperLink, SuperNodes).

Only this package imports ``flwr``.
"""

from synthema.federation.protocol import Query
from synthema.federation.site import Site, SiteConfig
from synthema.federation.source import FederatedSource, SecureSum, SumResult

__all__ = ["FederatedSource", "Query", "SecureSum", "Site", "SiteConfig", "SumResult"]
