"""Distance-based privacy: closest records, neighbour ratios and a membership-inference attack.

Every test compares training rows with real holdout rows the generator never saw, subsampled to
the same size (:meth:`EvaluationContext.privacy_pair`): a generator that does not memorise is as
close to one as to the other. Distances are Euclidean on the public mixed-type encoding
(:mod:`synthema.evaluate.encoding`).

>>> d, i = nearest(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0]]), k=2)
>>> d.tolist(), i.tolist()
([[1.0, 5.0]], [[1, 0]])
"""

from __future__ import annotations

import numpy as np

from synthema.evaluate.metric import AtMostHalfBetter, Goal, Metric, Outcome, finite
from synthema.evaluate.null import auroc_null_sd, share_limits

_CHUNK = 2048
_ZERO = 1e-6
_BINS = 30


def nearest(queries: np.ndarray, refs: np.ndarray, *, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices of the ``k`` nearest ``refs`` of each query (brute force).

    Candidates are found with float32 matrix products, then their distances are recomputed
    exactly in float64, so an exact copy is at distance 0, not at rounding noise.
    """
    k = min(k, len(refs))
    q32, r32 = queries.astype(np.float32), refs.astype(np.float32)
    rn = (r32 * r32).sum(axis=1)
    dist = np.empty((len(queries), k))
    idx = np.empty((len(queries), k), dtype=np.int64)
    extra = min(k + 2, len(refs))
    for s in range(0, len(queries), _CHUNK):
        q = q32[s:s + _CHUNK]
        d2 = rn[None, :] - 2.0 * (q @ r32.T)  # |q|^2 is the same for every candidate
        cand = np.argpartition(d2, extra - 1, axis=1)[:, :extra] if extra < len(refs) else \
            np.broadcast_to(np.arange(len(refs)), (len(q), len(refs)))
        diff = queries[s:s + _CHUNK, None, :].astype(float) - refs[cand].astype(float)
        exact = np.sqrt((diff * diff).sum(axis=2))
        order = np.argsort(exact, axis=1, kind="stable")[:, :k]
        dist[s:s + _CHUNK] = np.take_along_axis(exact, order, axis=1)
        idx[s:s + _CHUNK] = np.take_along_axis(cand, order, axis=1)
    dist[dist < _ZERO] = 0.0
    return dist, idx


def neighbours(real, synthetic, context) -> dict:
    """Nearest-neighbour distances shared by DCR, NNDR and the membership attack."""
    train, holdout = context.privacy_pair(real)

    def run() -> dict:
        xt, xh = context.encode(train, real), context.encode(holdout, real)
        xs = context.encode(synthetic, real)
        syn_train, _ = nearest(xs, xt, k=2)
        syn_hold, _ = nearest(xs, xh, k=1)
        hold_train, _ = nearest(xh, xt, k=2)
        m = min(len(xt), context.max_rows)
        rng = context.rng("membership")
        members = xt[rng.choice(len(xt), size=m, replace=False)]
        others = xh[rng.choice(len(xh), size=m, replace=False)]
        return {"syn_train": syn_train, "syn_hold": syn_hold[:, 0], "hold_train": hold_train,
                "members": nearest(members, xs)[0][:, 0], "others": nearest(others, xs)[0][:, 0],
                "n": len(xt)}

    return context.memo("neighbours", (real, synthetic, context.holdout), run)


def _ratio(d: np.ndarray) -> np.ndarray:
    """d1 / d2 with 0/0 = 1 (an exact tie between two records singles out neither)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = d[:, 0] / d[:, 1]
    return np.where(d[:, 1] == 0, 1.0, r)


def _histogram(a: np.ndarray, b: np.ndarray) -> dict:
    top = float(max(np.quantile(a, 0.99) if len(a) else 0, np.quantile(b, 0.99) if len(b) else 0))
    edges = np.linspace(0.0, top if top > 0 else 1.0, _BINS + 1)
    ca = np.histogram(np.clip(a, 0, edges[-1]), bins=edges)[0]
    cb = np.histogram(np.clip(b, 0, edges[-1]), bins=edges)[0]
    return {"edges": [finite(e) for e in edges],
            "synthetic": [finite(c) for c in ca / max(len(a), 1)],
            "holdout": [finite(c) for c in cb / max(len(b), 1)]}


class DCRShare(AtMostHalfBetter):
    """Share of synthetic rows closer to a training row than to any holdout row (0.5 ideal)."""

    name = "dcr_share"
    group = "privacy"
    unit = "share"
    thresholds = (0.55, 0.60)
    description = ("share of synthetic rows whose closest training row is closer than their "
                   "closest holdout row (ties count 1/2); 0.5 = no memorisation")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """DCR to training rows, compared with the holdout's own DCR as a baseline."""
        nb = neighbours(real, synthetic, context)
        dt, dh = nb["syn_train"][:, 0], nb["syn_hold"]
        share = float(np.mean(dt < dh) + 0.5 * np.mean(dt == dh))
        base = nb["hold_train"][:, 0]
        p5 = float(np.quantile(base, 0.05))
        return Outcome(share, {
            "rows_per_side": nb["n"],
            "rows_used": {"training": nb["n"], "holdout": nb["n"], "synthetic": len(dt)},
            "dcr_synthetic_median": finite(np.median(dt)),
            "dcr_holdout_median": finite(np.median(base)),
            "share_exact_copies": finite(np.mean(dt == 0)),
            "holdout_share_exact": finite(np.mean(base == 0)),
            "share_below_holdout_p5": finite(np.mean(dt < p5)),
            "histogram": _histogram(dt, base),
        }, share_limits(cls, share, 0.5, len(dt), what="a coin toss"))


class NNDRRisk(Metric):
    """Share of synthetic rows with a nearest-neighbour distance ratio below the holdout's 5th
    percentile (0.05 expected when the generator does not memorise)."""

    name = "nndr_risk"
    group = "privacy"
    goal = Goal.MINIMIZE
    unit = "share"
    thresholds = (0.10, 0.20)
    description = ("share of synthetic rows whose NNDR (closest / second closest training row) "
                   "is below the 5th percentile of real holdout rows' NNDR; expected 0.05")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Low ratios mean one training record stands out as the source of a synthetic row."""
        nb = neighbours(real, synthetic, context)
        rs, rh = _ratio(nb["syn_train"]), _ratio(nb["hold_train"])
        p5 = float(np.quantile(rh, 0.05))
        value = float(np.mean(rs < p5))
        # binomial spread of the share, plus that of the holdout's own 5th percentile
        var = 0.05 * 0.95 * (1 / max(len(rs), 1) + 1 / max(len(rh), 1))
        return Outcome(value, {
            "nndr_synthetic_mean": finite(rs.mean()), "nndr_holdout_mean": finite(rh.mean()),
            "holdout_p5": finite(p5), "histogram": _histogram(rs, rh),
            "rows_used": {"training": nb["n"], "holdout": len(rh), "synthetic": len(rs)}},
            share_limits(cls, value, 0.05, len(rs), variance=var,
                         what="the expected share"))


class MembershipInference(AtMostHalfBetter):
    """AUROC of a distance attack telling training members from holdout rows (0.5 ideal)."""

    name = "membership_inference_auroc"
    group = "privacy"
    unit = "AUROC"
    thresholds = (0.55, 0.60)
    description = ("attacker scores a real record by its distance to the closest synthetic row "
                   "(closer = member); AUROC on training members vs holdout non-members")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Equal numbers of members and non-members (at most ``max_rows`` each)."""
        from sklearn.metrics import roc_auc_score

        nb = neighbours(real, synthetic, context)
        score = -np.r_[nb["members"], nb["others"]]
        label = np.r_[np.ones(len(nb["members"])), np.zeros(len(nb["others"]))]
        value = float(roc_auc_score(label, score))
        sd = auroc_null_sd(len(nb["members"]), len(nb["others"]))
        return Outcome(value, {
            "records_per_side": len(nb["members"]),
            "distance_members_median": finite(np.median(nb["members"])),
            "distance_nonmembers_median": finite(np.median(nb["others"])),
            "rows_used": {"members": len(nb["members"]), "non_members": len(nb["others"]),
                          "synthetic": len(synthetic)}},
            share_limits(cls, value, 0.5, 1, variance=sd * sd, what="an AUROC at chance"))
