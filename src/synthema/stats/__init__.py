"""The statistics interface: a public discretised domain and noisy marginal answers.

A synthesizer sees data only through a :class:`StatisticsSource`: it asks for marginals over
cliques of the public :class:`Domain` and gets :class:`Measurement` objects back. This package
knows no model; ``synth/`` knows no rows. See ``docs/statistics.md``.
"""

from synthema.stats._api import Clique, Measurement, StatisticsSource
from synthema.stats.binning import DEFAULT_MAX_BINS, date_edges, numeric_edges
from synthema.stats.central import CentralSource
from synthema.stats.domain import Attribute, Domain, Encoding
from synthema.stats.marginals import partial_counts, reduce_counts

__all__ = [
    "DEFAULT_MAX_BINS",
    "Attribute",
    "CentralSource",
    "Clique",
    "Domain",
    "Encoding",
    "Measurement",
    "StatisticsSource",
    "date_edges",
    "numeric_edges",
    "partial_counts",
    "reduce_counts",
]
