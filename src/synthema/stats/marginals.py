"""Marginal counts as a map-reduce: ``partial_counts`` where the data live, ``reduce_counts`` after.

A marginal over a clique (a tuple of attribute names) is the number of patients in each cell of
the clique's discretised domain, flattened in C order over the clique's attributes *in the order
given* (the layout ``mbi`` expects for a ``LinearMeasurement``). It is a SQL ``GROUP BY`` over
integer codes, so each site runs :func:`partial_counts` on its own table and the partials are
summed by :func:`reduce_counts` (in the clear in tests, under secure aggregation in federation).
Because the sum of per-site counts equals the count on the pooled table, federated and central
answers are identical when no noise is added.

Sensitivity (the basis of every noise scale): one row is one patient (enforced through the
dictionary's ``patient_id``). Adding or removing one patient changes exactly one cell of a
marginal by 1, so the L2 sensitivity of one marginal is 1; for k marginals measured together it
is sqrt(k). Under zero-concentrated DP a Gaussian-noised marginal with standard deviation sigma
costs rho = 1 / (2 sigma**2), and rho adds up over marginals.

>>> import numpy as np
>>> from synthema.stats.domain import Attribute, Domain
>>> from synthema.schema import VariableType
>>> dom = Domain((Attribute("cr", VariableType.BOOLEAN, "boolean", categories=("false", "true")),))
>>> partial_counts(np.array([[0], [1], [1], [2]]), ("cr",), dom).tolist()
[1, 2, 1]
>>> reduce_counts([np.array([1, 2, 1]), np.array([0, 3, 0])]).tolist()
[1, 5, 1]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from synthema.stats.domain import Domain


def check_clique(clique: Sequence[str], domain: Domain) -> tuple[str, ...]:
    """The clique as a tuple of known, distinct attribute names.

    Raises:
        ValueError: the clique is a bare string or names an attribute twice.
        KeyError: the clique names an attribute the domain lacks.
    """
    if isinstance(clique, str):
        raise ValueError(f"clique {clique!r} is a string; write a tuple of names: ({clique!r},)")
    names = tuple(clique)
    if len(set(names)) != len(names):
        raise ValueError(f"clique {names} names an attribute twice")
    domain.axes(names)  # raises KeyError naming an unknown attribute
    return names


def partial_counts(
    data: np.ndarray | pd.DataFrame, clique: Sequence[str], domain: Domain
) -> np.ndarray:
    """Exact patient counts of one table over a clique: the site-local half of a marginal.

    Adding or removing one patient changes one cell by 1 (L2 sensitivity 1 per marginal,
    sqrt(k) for k marginals with the same sigma; see the module docstring). The result is exact
    and private: release it only with noise added, or inside secure aggregation.

    Args:
        data: codes of ``domain`` (n x d integers, one row per patient, columns in domain
            order, as :meth:`Domain.encode` makes them) or a typed frame, which is encoded
            here (patient ids checked, clipped values logged).
        clique: attribute names; the empty clique counts all patients.
        domain: the public domain the codes refer to.

    Returns:
        int64 vector of ``domain.size(clique)`` counts in C order over the clique.

    Raises:
        ValueError: bad codes or clique. KeyError: unknown attribute.
        SynthemaError: the frame cannot be encoded (see :meth:`Domain.encode`).
    """
    names = check_clique(clique, domain)
    if isinstance(data, pd.DataFrame):
        sub = domain.project(names)
        return _count(sub.encode(data).codes, tuple(range(len(names))), sub)
    return marginal_counts(data, [names], domain)[0]


def marginal_counts(
    codes: np.ndarray, cliques: Sequence[Sequence[str]], domain: Domain
) -> list[np.ndarray]:
    """Exact counts over several cliques of one code table: :func:`partial_counts` of each.

    The codes are checked once for the whole batch (a model's measurements ask hundreds of
    cliques of the same table), not once per clique.

    >>> from synthema.stats.domain import Attribute, Domain
    >>> from synthema.schema import VariableType
    >>> yes_no = ("false", "true")
    >>> dom = Domain(tuple(Attribute(n, VariableType.BOOLEAN, "boolean", categories=yes_no)
    ...                    for n in ("cr", "relapse")))
    >>> [c.tolist() for c in marginal_counts(np.array([[0, 2], [1, 1]]), [("cr",), ()], dom)]
    [[1, 1, 0], [2]]

    Raises:
        ValueError: bad codes or clique. KeyError: unknown attribute.
    """
    codes = domain.validate_codes(codes)
    out = []
    for clique in cliques:
        names = check_clique(clique, domain)
        out.append(_count(codes, domain.axes(names), domain.project(names)))
    return out


def _count(codes: np.ndarray, axes: tuple[int, ...], sub: Domain) -> np.ndarray:
    """Counts of checked ``codes`` over the columns ``axes``, in ``sub``'s C order."""
    if not axes:
        return np.array([codes.shape[0]], dtype=np.int64)
    flat = np.ravel_multi_index(tuple(codes[:, j] for j in axes), sub.shape)
    return np.bincount(flat, minlength=sub.size()).astype(np.int64, copy=False)


def reduce_counts(partials: Iterable[np.ndarray]) -> np.ndarray:
    """Sum of count vectors from several partitions (sites), as int64.

    Raises:
        ValueError: no partials, vectors of different shapes, or non-integer entries.
    """
    arrays = [np.asarray(p) for p in partials]
    if not arrays:
        raise ValueError("reduce_counts needs at least one partial count vector")
    shape = arrays[0].shape
    for a in arrays:
        if a.shape != shape:
            raise ValueError(f"partial counts have shapes {shape} and {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"partial counts must be integers, got dtype {a.dtype}")
    return np.sum(np.stack(arrays), axis=0, dtype=np.int64)
