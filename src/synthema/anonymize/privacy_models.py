"""Privacy models on equivalence classes: k-anonymity, l-diversity, t-closeness.

An equivalence class is the set of records sharing every generalised quasi-identifier. The
models are checked per class; a class that fails is suppressed as a whole (its records are
removed and counted), so what remains satisfies every model exactly.

- k-anonymity: every class holds at least ``k`` records.
- distinct l-diversity: every class shows at least ``l`` distinct values of each sensitive
  attribute; entropy l-diversity: ``exp(H) >= l`` with ``H`` the class's Shannon entropy
  (natural log).
- t-closeness: the earth mover's distance between a class's sensitive distribution and the
  distribution over the whole input is at most ``t``; with equal ground distance
  (``0.5 * sum |p - q|``) for nominal attributes and the ordered distance
  (``sum |cumsum(p - q)| / (m - 1)``) for attributes with an ``order``.

>>> import numpy as np
>>> sizes, distinct, entropy_l, t = class_measures(
...     np.array([0, 0, 1, 1]), np.array([0, 1, 0, 0]), 2, ordered=False)
>>> sizes.tolist(), distinct.tolist(), np.round(entropy_l, 3).tolist(), t.tolist()
([2, 2], [2, 1], [2.0, 1.0], [0.25, 0.25])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthema.anonymize.policy import Models


def class_measures(
    classes: np.ndarray, sensitive: np.ndarray, n_values: int, *, ordered: bool,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Size, distinct values, entropy-l and t distance of each class for one attribute.

    Args:
        classes: class index (0..C-1) of each record.
        sensitive: code (0..n_values-1) of each record's sensitive value.
        n_values: number of sensitive codes.
        ordered: use the ordered distance (codes in order) instead of equal distance.
        reference: distribution t is measured against; the records' own when None.
    """
    n_classes = int(classes.max()) + 1 if len(classes) else 0
    table = np.bincount(classes * n_values + sensitive, minlength=n_classes * n_values)
    table = table.reshape(n_classes, n_values).astype(np.float64)
    sizes = table.sum(axis=1)
    distinct = (table > 0).sum(axis=1)
    p = table / sizes[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    if reference is None:
        reference = table.sum(axis=0) / table.sum()
    diff = p - reference[None, :]
    if ordered and n_values > 1:
        t = np.abs(np.cumsum(diff, axis=1)[:, :-1]).sum(axis=1) / (n_values - 1)
    else:
        t = 0.5 * np.abs(diff).sum(axis=1)
    return sizes.astype(np.int64), distinct, np.exp(entropy), t


@dataclass(frozen=True)
class SensitiveCodes:
    """One sensitive attribute as integer codes, with its whole-input distribution."""

    column: str
    codes: np.ndarray
    n_values: int
    ordered: bool
    reference: np.ndarray


def failing_classes(classes: np.ndarray, sensitive: list[SensitiveCodes],
                    models: Models) -> tuple[np.ndarray, np.ndarray]:
    """Which classes fail any model, and each class's size.

    Returns:
        ``(fail, sizes)``: a boolean per class and the class sizes.
    """
    sizes = np.bincount(classes)
    fail = sizes < models.k
    for attr in sensitive:
        _, distinct, entropy_l, t = class_measures(
            classes, attr.codes, attr.n_values, ordered=attr.ordered, reference=attr.reference)
        if models.l is not None:
            if models.l_variant == "entropy":
                fail |= entropy_l < models.l - 1e-9
            else:
                fail |= distinct < models.l
        if models.t is not None:
            fail |= t > models.t + 1e-12
    return fail, sizes


@dataclass(frozen=True)
class Achieved:
    """The model values a released table reaches (None where there is no released record)."""

    k: int | None
    l_distinct: int | None
    l_entropy: float | None
    t: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready values, entropy-l and t rounded to 6 decimals."""
        return {
            "k": self.k,
            "l_distinct": self.l_distinct,
            "l_entropy": None if self.l_entropy is None else round(self.l_entropy, 6),
            "t": None if self.t is None else round(self.t, 6),
        }


def achieved(classes: np.ndarray, sensitive: list[SensitiveCodes]) -> Achieved:
    """The smallest class, the least diverse class and the farthest class (worst t)."""
    if len(classes) == 0:
        return Achieved(None, None, None, None)
    sizes = np.bincount(classes)
    sizes = sizes[sizes > 0]
    l_d = l_e = t = None
    for attr in sensitive:
        _, distinct, entropy_l, dist = class_measures(
            classes, attr.codes, attr.n_values, ordered=attr.ordered, reference=attr.reference)
        l_d = int(distinct.min()) if l_d is None else min(l_d, int(distinct.min()))
        l_e = float(entropy_l.min()) if l_e is None else min(l_e, float(entropy_l.min()))
        t = float(dist.max()) if t is None else max(t, float(dist.max()))
    return Achieved(int(sizes.min()), l_d, l_e, t)
