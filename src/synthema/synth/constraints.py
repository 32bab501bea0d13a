"""Clinical rules at sampling time: no synthetic row ever breaks a dictionary rule.

A marginal model knows the rules only through the marginals it was fitted to, and values
drawn uniformly within bins can break comparisons the bins cannot see (``efs_days <= os_days``
when both fall in the same bin). :func:`enforce_rules` draws rows and then, for rows that break a
rule (False under :meth:`synthema.schema.Dictionary.evaluate_rules`; NA is *not applicable*,
never a violation), tries in order:

1. **redraw**: draw the numeric and date values of the broken rules' columns again within
   their bins (codes, hence every modelled marginal, unchanged), up to :data:`REDRAW_TRIES`
   times;
2. **resample** (rejection sampling): replace the row by a fresh model row that breaks
   nothing (after its own redraw), in batches sized from the share of valid rows drawn so
   far, within a budget of :data:`MAX_DRAWS` rows drawn per row asked for (:data:`MIN_DRAWS`
   at least) and :data:`RESAMPLE_ROUNDS` batches. For rules on codes (categories, booleans,
   whole bins) the rows kept are then drawn from the model *given that every rule holds*,
   and nothing is moved; a combination of bins where only some values satisfy a rule is kept
   when one of the redraws finds such values, i.e. more often than its within-bin share (the
   model knows bins, not values). It stops early when under :data:`MIN_ACCEPTANCE` of at
   least :data:`MIN_DRAWS` drawn rows are valid (repairing is then the better use of time);
3. **repair**: a rule-aware local search (min-conflicts with WalkSAT noise, weighted by the
   model's conditionals; see :meth:`RuleEnforcer.repair_sweep`) over the rules split into
   clauses (:func:`clauses`), up to :data:`REPAIR_SWEEPS` sweeps; a ``required`` variable is
   never moved to missing;
4. **reject**: drop rows still broken; their places are filled with copies of random valid
   rows, so the output has exactly ``n`` rows (counted as ``rows_duplicated``).

Samples larger than :data:`MAX_BATCH` rows go through these steps in chunks of that size, so
memory stays bounded. The output never violates a rule (checked once more at the end). The
report (the synthesizer's ``sampling_report_``) counts, per rule, the drawn rows that broke it
when first drawn and what then happened to them, and each row written that broke a rule when
first drawn once, by what its place took (redrawn, resampled, repaired or rejected); nothing is
dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from synthema.errors import SynthemaError
from synthema.schema import Dictionary, Rule, VariableType
from synthema.schema.rules import evaluate_rules
from synthema.stats import Domain
from synthema.stats.domain import orderings
from synthema.synth import progress

_LOG = logging.getLogger(__name__)

Draw = Callable[[int, np.random.Generator], np.ndarray]
ConditionalLogp = Callable[[str, np.ndarray], np.ndarray]

REDRAW_TRIES = 4
RESAMPLE_ROUNDS = 32
MAX_DRAWS = 20  # rows drawn (first draw included) per row asked for, at most, before repair
BATCH_MARGIN = 1.25  # a resampling batch expects this many valid rows per broken row
MAX_BATCH = 50_000  # rows drawn at once, at most (bounds memory; larger samples go in chunks)
MIN_DRAWS = 1_000  # rows drawn before low acceptance may end resampling (and its least budget)
REPAIR_SWEEPS = 16
WALK_NOISE = 0.1
NA_PENALTY = 0.5
MIN_ACCEPTANCE = 0.05  # below this share of valid draws, repair instead
MAX_CLAUSES = 32  # a rule is split into at most this many clauses for repair
OUTCOMES = ("redrawn", "resampled", "repaired", "rejected")


@dataclass
class _Tally:
    """Per-rule counters, turned into ``sampling_report_`` at the end."""

    rules: tuple[str, ...]
    violated: np.ndarray = field(init=False)
    outcome: dict[str, np.ndarray] = field(init=False)
    rows: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.violated = np.zeros(len(self.rules), dtype=np.int64)
        self.outcome = {k: np.zeros(len(self.rules), dtype=np.int64) for k in OUTCOMES}
        self.rows = {"drawn": 0, **{k: 0 for k in OUTCOMES}, "duplicated": 0}

    def add(self, kind: str, first: np.ndarray) -> None:
        """Count rows (their first-draw violations ``first``, rows x rules) under ``kind``."""
        if len(first):
            self.outcome[kind] += first.sum(axis=0)
            self.rows[kind] += len(first)

    def report(self, n: int) -> dict:
        per_rule = {
            name: {"violated": int(self.violated[i])}
            | {k: int(self.outcome[k][i]) for k in OUTCOMES}
            for i, name in enumerate(self.rules)
        }
        return {
            "rows": n,
            "rows_drawn": self.rows["drawn"],
            "rows_redrawn": self.rows["redrawn"],
            "rows_resampled": self.rows["resampled"],
            "rows_repaired": self.rows["repaired"],
            "rows_rejected": self.rows["rejected"],
            "rows_duplicated": self.rows["duplicated"],
            "violations_in_output": 0,
            "rules": per_rule,
        }


def _copy_rows(
    dst: pd.DataFrame, rows: np.ndarray, src: pd.DataFrame, src_rows: np.ndarray
) -> None:
    """dst.iloc[rows] = src.iloc[src_rows], column by column (keeps the typed dtypes)."""
    for column in dst.columns:
        dst.loc[dst.index[rows], column] = src[column].iloc[src_rows].array


def clauses(tree: tuple) -> list[tuple]:
    """A rule's tree as a conjunction of smaller trees, for a finer repair cost.

    ``A and B`` gives the clauses of A and of B; ``P or (X and Y)`` (the form of
    ``not P => X and Y``) gives ``P or X`` and ``P or Y``, while at most
    :data:`MAX_CLAUSES` come out; ``count(a, b, ...) == 0`` gives ``a is missing or not a``
    for each argument. Kleene's three-valued logic is distributive, so the rule is
    True / False / NA exactly when the conjunction of its clauses is. A row that breaks
    ``not hsct => hsct_days is missing and hsct_status is missing`` then gets one step
    closer with each value emptied, instead of none until the last.
    """
    if tree and tree[0] == "and":
        return clauses(tree[1]) + clauses(tree[2])
    if tree and tree[0] == "cmp" and tree[1] == "==" and tree[3] == ("lit", 0.0) and (
            tree[2][0] == "call" and tree[2][1] == "count"):
        # count(a, b, ...) == 0: none of them known to be true, i.e. each missing or false
        return [("or", ("missing", a, False), ("not", a)) for a in tree[2][2]]
    if tree and tree[0] == "or":
        left, right = clauses(tree[1]), clauses(tree[2])
        if len(left) * len(right) <= MAX_CLAUSES:
            return [("or", a, b) for a in left for b in right]
    return [tree]


@dataclass(frozen=True)
class _MoveBlock:
    """The candidate moves of one column: every code, for each broken row that picked a rule
    on it (``pos``: those rows' positions among the broken rows; ``take``: their rows)."""

    column: str
    pos: np.ndarray
    k: int
    cand: np.ndarray
    ratio: np.ndarray
    current: np.ndarray
    rules: list[int]
    forbidden: np.ndarray
    take: np.ndarray


def _cheapest_likely_moves(pos_v: np.ndarray, cost: np.ndarray, logw: np.ndarray,
                           never: np.ndarray, n_rows: int, rng: np.random.Generator
                           ) -> np.ndarray:
    """For each broken row, the candidate it takes: among its cheapest moves (or any move,
    for the :data:`WALK_NOISE` share of rows) one drawn in proportion to its weight
    (Gumbel-max); a forbidden move never (see :meth:`RuleEnforcer._move_blocks`)."""
    cost = np.where(never, np.inf, cost)
    best = np.full(n_rows, np.inf)
    np.minimum.at(best, pos_v, cost)
    noisy = rng.random(n_rows) < WALK_NOISE
    allowed = ((cost <= best[pos_v] + 1e-9) | noisy[pos_v]) & ~never
    key = np.where(allowed, logw + rng.gumbel(size=len(logw)), -np.inf)
    order = np.lexsort((-key, pos_v))
    _, first = np.unique(pos_v[order], return_index=True)
    return order[first]


class RuleEnforcer:
    """Evaluates rules on synthetic rows and fixes the rows that break them.

    Args:
        draw: ``draw(n, rng)`` returns n rows of codes from the model (domain order).
        conditional_logp: ``f(name, codes)`` returns log P(name = v | rest of the row).
        domain: the discretised domain (decodes codes into typed values).
        dictionary: the rules and their column types.
    """

    def __init__(
        self,
        draw: Draw,
        conditional_logp: ConditionalLogp,
        *,
        domain: Domain,
        dictionary: Dictionary,
    ) -> None:
        self.draw = draw
        self.conditional_logp = conditional_logp
        self.domain = domain
        self.dictionary = dictionary
        # repair works on clauses (see :func:`clauses`); reports count the dictionary's rules
        self.parents: tuple[Rule, ...] = dictionary.rules
        # declared orderings between two columns: times on one grid are drawn in that order
        self.order = orderings(self.parents)
        parts = [(p, replace(rule, tree=tree)) for p, rule in enumerate(self.parents)
                 for tree in clauses(rule.tree)]  # fmt: skip
        self.rules: tuple[Rule, ...] = tuple(rule for _, rule in parts)
        owner = np.array([p for p, _ in parts], dtype=np.intp)
        self.starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        self.ordinals = dictionary.ordinals
        self.index = {a: j for j, a in enumerate(domain.names)}
        self.binned = {
            v.name for v in dictionary.variables if v.type.is_numeric or v.type is VariableType.DATE
        }
        # a required variable is never missing: no repair move may pick its missing code (a
        # missing value would make every rule on it not applicable and so "fix" the row)
        self.required = [v.name for v in dictionary.variables if v.required and v.name in domain]
        self.never = {name: domain[name].missing_code for name in self.required}
        self.by_column: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for c in rule.columns:
                self.by_column.setdefault(c, []).append(i)
        # rules whose columns include a binned (numeric or date) one, and the rules that share
        # a column with each rule (whose truth can change when that rule's columns change)
        self.binned_rules = [
            i for i, rule in enumerate(self.rules) if set(rule.columns) & self.binned
        ]
        self.related = {
            i: sorted({q for c in rule.columns for q in self.by_column[c]})
            for i, rule in enumerate(self.rules)
        }

    # -- evaluation ---------------------------------------------------------------------------
    def violations(self, frame: pd.DataFrame, rules: list[int] | None = None) -> np.ndarray:
        """Bool matrix (rows x rules): True where a rule is False (NA is not a violation)."""
        rules = list(range(len(self.rules))) if rules is None else rules
        out = np.zeros((len(frame), len(rules)), dtype=bool)
        results = evaluate_rules([self.rules[i] for i in rules], frame, ordinals=self.ordinals)
        for j, res in enumerate(results):
            out[:, j] = res.eq(False).fillna(False).to_numpy(dtype=bool)
        return out

    def per_rule(self, bad: np.ndarray) -> np.ndarray:
        """Clause violations (rows x clauses) as the dictionary's rule violations."""
        if not len(self.rules):
            return bad
        return np.logical_or.reduceat(bad, self.starts, axis=1)

    def status(self, frame: pd.DataFrame, rules: list[int]) -> list[np.ndarray]:
        """Per rule, an int8 vector per row: 1 holds, 0 broken, 2 not applicable (NA)."""
        out = []
        for res in evaluate_rules([self.rules[i] for i in rules], frame, ordinals=self.ordinals):
            holds = res.fillna(False).to_numpy(dtype=bool)
            na = res.isna().to_numpy(dtype=bool)
            out.append(np.where(na, 2, np.where(holds, 1, 0)).astype(np.int8))
        return out

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        return self.domain.decode(codes, rng=rng, order=self.order)

    # -- step 1: redraw values within bins ----------------------------------------------------
    def redraw(
        self, codes: np.ndarray, frame: pd.DataFrame, bad: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Redraw binned values of broken rules' columns (same codes); returns new violations."""
        for _ in range(REDRAW_TRIES):
            rows = np.flatnonzero(bad[:, self.binned_rules].any(axis=1))
            if not len(rows):
                break
            for i in self.binned_rules:
                hit = rows[bad[rows, i]]
                if not len(hit):
                    continue
                cols = [c for c in self.rules[i].columns if c in self.binned]
                sub = self.domain.project(cols).decode(
                    codes[np.ix_(hit, [self.index[c] for c in cols])], rng=rng
                )
                for c in cols:
                    frame.loc[frame.index[hit], c] = sub[c].array
            touched = sorted({q for i in self.binned_rules for q in self.related[i]})
            bad[np.ix_(rows, touched)] = self.violations(frame.iloc[rows], touched)
        return bad

    def fresh(self, m: int, rng: np.random.Generator, tally: _Tally):
        """m new rows: codes, values, violations after redraw, and first-draw violations."""
        codes = self.draw(m, rng)
        frame = self.decode(codes, rng)
        bad = self.violations(frame)
        first = self.per_rule(bad)
        tally.rows["drawn"] += m
        tally.violated += first.sum(axis=0)
        bad = self.redraw(codes, frame, bad, rng)
        return codes, frame, bad, first

    # -- step 3: rule-aware local search ------------------------------------------------------
    def repair_sweep(
        self, codes: np.ndarray, frame: pd.DataFrame, bad: np.ndarray, rng: np.random.Generator
    ) -> None:
        """One min-conflicts move per broken row, weighted by the model's conditionals.

        Each broken row picks one of its broken rules at random. Every code of every column
        of that rule is a candidate move; a move's cost is the change in the number of broken
        rules of the row (only rules on the moved column can change). Among the cheapest moves
        (keeping the row as it is costs 0, so rows never get worse) one is drawn with
        probability proportional to P(row after move) / P(row now) under the model; a few
        rows take a random move instead (WalkSAT noise), which lets them leave plateaus. A
        broken rule made not applicable costs :data:`NA_PENALTY` (a dodge, not a fix); the
        missing code of a ``required`` variable, and any code the model gives zero
        probability given the rest of the row (its structural zeros), is never a move.
        """
        rows = np.flatnonzero(bad.any(axis=1))
        if not len(rows):
            return
        blocks = self._move_blocks(rows, codes, bad, rng)
        offsets = np.cumsum([0, *(len(b.cand) for b in blocks)])
        big = self._candidate_rows(blocks, offsets, frame, rng)
        status = self._candidate_status(big, blocks, offsets)
        pos_v, cost, logw = self._move_costs(blocks, offsets, status)
        chosen = _cheapest_likely_moves(pos_v, cost, logw, np.concatenate(
            [b.forbidden for b in blocks]), len(rows), rng)
        block_v = np.concatenate([np.full(len(b.cand), i) for i, b in enumerate(blocks)])[chosen]
        row_in_big = np.arange(offsets[-1])[chosen]
        for b, block in enumerate(blocks):
            sel = block_v == b
            if not sel.any():
                continue
            r = rows[pos_v[chosen][sel]]
            where = row_in_big[sel]
            codes[r, self.index[block.column]] = block.cand[where - offsets[b]]
            frame.loc[frame.index[r], block.column] = big[block.column].iloc[where].array
            for q in block.rules:  # the rules on the moved column, as evaluated in ``big``
                bad[r, q] = status[q][where] == 0

    def _move_blocks(self, rows: np.ndarray, codes: np.ndarray, bad: np.ndarray,
                     rng: np.random.Generator) -> list[_MoveBlock]:
        """Each broken row picks one of its broken rules; every code of every column of it
        is a candidate move, weighted by the model's conditional against the row as it is."""
        picked = [self.rules[int(rng.choice(np.flatnonzero(bad[r])))] for r in rows]
        per_column: dict[str, list[int]] = {}
        for pos, rule in enumerate(picked):
            for c in rule.columns:
                per_column.setdefault(c, []).append(pos)
        blocks = []
        for column in sorted(per_column):
            pos = np.array(per_column[column])
            r = rows[pos]
            k = self.domain[column].size
            j = self.index[column]
            logp = self.conditional_logp(column, codes[r])
            now = logp[np.arange(len(r)), codes[r, j]]
            ratio = logp - np.where(np.isfinite(now), now, -50.0)[:, None]
            ratio = np.clip(np.nan_to_num(ratio, nan=-50.0, neginf=-50.0), -50.0, 50.0)
            cand = np.tile(np.arange(k), len(r))
            current = np.repeat(codes[r, j], k) == cand
            # never a move the model gives zero probability given the rest of the row (a
            # structural zero: a rule's cell, or *missing* where the data have none), nor a
            # required variable's missing code; staying put is always allowed, and a row
            # whose every code has zero probability (a context the model never gives) keeps
            # every move
            zero = np.isneginf(logp)
            zero &= ~zero.all(axis=1, keepdims=True)
            impossible = zero.ravel() & ~current
            blocks.append(_MoveBlock(
                column=column, pos=pos, k=k, cand=cand, ratio=ratio.ravel(),
                current=current, rules=self.by_column[column],
                forbidden=(cand == self.never.get(column, -1)) | impossible,
                take=np.repeat(r, k)))
        return blocks

    def _candidate_rows(self, blocks: list[_MoveBlock], offsets: np.ndarray,
                        frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """One row per candidate move: the row with the moved column's value decoded."""
        needed = sorted({c for rule in self.rules for c in rule.columns})
        big = frame.iloc[np.concatenate([b.take for b in blocks])][needed].reset_index(drop=True)
        for b, block in enumerate(blocks):
            lo, hi = offsets[b], offsets[b + 1]
            column = block.column
            values = self.domain.project([column]).decode(block.cand[:, None], rng=rng)[column]
            new = values.to_numpy(dtype=object)
            new[block.current] = big[column].iloc[lo:hi].to_numpy(dtype=object)[block.current]
            big.iloc[lo:hi, big.columns.get_loc(column)] = pd.array(new, dtype=values.dtype)
        return big

    def _candidate_status(self, big: pd.DataFrame, blocks: list[_MoveBlock],
                          offsets: np.ndarray) -> dict[int, np.ndarray]:
        """Per rule, its status (1 holds, 0 broken, 2 not applicable) on each candidate row.

        Each rule is evaluated only on the candidate rows of the columns it mentions.
        """
        ranges: dict[int, list[np.ndarray]] = {}
        for b, block in enumerate(blocks):
            for q in block.rules:
                ranges.setdefault(q, []).append(np.arange(offsets[b], offsets[b + 1]))
        status: dict[int, np.ndarray] = {}
        for q, parts in ranges.items():
            idx = np.concatenate(parts)
            full = np.full(len(big), 1, dtype=np.int8)
            cols = list(self.rules[q].columns)
            full[idx] = self.status(big[cols].iloc[idx], [q])[0]
            status[q] = full
        return status

    @staticmethod
    def _move_costs(blocks: list[_MoveBlock], offsets: np.ndarray,
                    status: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each candidate's broken row, cost and log-weight, in candidate order.

        cost = broken rules + NA_PENALTY x broken rules made not applicable (a missing value
        dodges a rule without satisfying it), relative to the row as it is now; a rule that
        holds and becomes not applicable costs nothing (not hsct => hsct_days missing makes
        hsct_days <= os_days not applicable, as it should).
        """
        pos_all, cost_all = [], []
        for b, block in enumerate(blocks):
            lo, hi = offsets[b], offsets[b + 1]
            here = block.current.reshape(-1, block.k)
            after = np.zeros((len(block.pos), block.k))
            for q in block.rules:
                st = status[q][lo:hi].reshape(-1, block.k)
                was_broken = (st[here] == 0)[:, None]
                after += (st == 0) + NA_PENALTY * ((st == 2) & was_broken)
            now = after[here]
            pos_all.append(np.repeat(block.pos, block.k))
            cost_all.append((after - now[:, None]).ravel())
        return (np.concatenate(pos_all), np.concatenate(cost_all),
                np.concatenate([b.ratio for b in blocks]))

    @staticmethod
    def _replace(codes, frame, bad, first, take, c2, f2, first2, ok, tally) -> None:
        """Put fresh valid rows ``ok`` in the places ``take`` of broken ones."""
        tally.add("resampled", first[take])  # a written row counts once, by what its slot took
        codes[take] = c2[ok]
        _copy_rows(frame, take, f2, ok)
        bad[take] = False
        first[take] = first2[ok]

    def _sample_chunk(self, n: int, rng: np.random.Generator, tally: _Tally, text: str,
                      offset: int, total: int) -> pd.DataFrame:
        """``n`` valid rows (a chunk of at most :data:`MAX_BATCH`): drawn, then redrawn,
        resampled, repaired or rejected as the module says; ``offset``/``total`` for progress."""
        codes, frame, bad, first = self.fresh(n, rng, tally)
        progress.advance(text, offset + n - int(bad.any(axis=1).sum()), total, kind="sample")
        redrawn = first.any(axis=1) & ~bad.any(axis=1)
        tally.add("redrawn", first[redrawn])
        # rejection sampling: broken rows are replaced by fresh valid ones, each batch sized
        # from the share of valid rows seen so far, within a budget of MAX_DRAWS rows drawn per
        # row asked for (MIN_DRAWS at least). Low acceptance ends it only once MIN_DRAWS rows
        # were seen, so a small sample is not sent to repair on the evidence of a few rows.
        drawn, valid_seen = n, int((~bad.any(axis=1)).sum())
        budget = max(MAX_DRAWS * n, MIN_DRAWS)
        rounds = 0
        while rounds < RESAMPLE_ROUNDS:
            slots = np.flatnonzero(bad.any(axis=1))
            if not len(slots) or drawn >= budget:
                break
            acceptance = valid_seen / drawn
            if acceptance < MIN_ACCEPTANCE and drawn >= MIN_DRAWS:
                break  # the model rarely draws valid rows: repairing is the better use of time
            want = BATCH_MARGIN * len(slots) / max(acceptance, MIN_ACCEPTANCE, 1e-3)
            m = int(min(max(np.ceil(want), 16), budget - drawn, MAX_BATCH))
            rounds += m < MAX_BATCH  # a batch cut to MAX_BATCH is part of a longer round
            c2, f2, b2, first2 = self.fresh(m, rng, tally)
            valid = np.flatnonzero(~b2.any(axis=1))
            drawn, valid_seen = drawn + m, valid_seen + len(valid)
            ok = valid[: len(slots)]
            if len(ok):
                self._replace(codes, frame, bad, first, slots[: len(ok)], c2, f2, first2, ok, tally)
            progress.advance(text, offset + n - int(bad.any(axis=1).sum()), total, kind="sample")
        slots = np.flatnonzero(bad.any(axis=1))
        if len(slots):
            before = first[slots]
            repair = f"repairing {len(slots)} row(s) that still break a rule"
            progress.stage(repair, kind="repair")
            for _ in range(REPAIR_SWEEPS):
                if not bad.any():
                    break
                self.repair_sweep(codes, frame, bad, rng)
                progress.advance(repair, len(slots) - int(bad[slots].any(axis=1).sum()),
                                 len(slots), kind="repair")
                _LOG.debug("repair sweep: %d row(s) still break a rule", int(bad.any(axis=1).sum()))
            still = bad[slots].any(axis=1)
            tally.add("repaired", before[~still])
            rejected = slots[still]
            if len(rejected):
                tally.add("rejected", before[still])
                valid = np.flatnonzero(~bad.any(axis=1))
                if not len(valid):
                    raise SynthemaError(
                        "no synthetic row satisfies the dictionary rules",
                        fix="check that the rules can hold together, or fit with more budget",
                    )
                donors = rng.choice(valid, size=len(rejected))
                codes[rejected] = codes[donors]
                _copy_rows(frame, rejected, frame.copy(), donors)
                tally.rows["duplicated"] += len(rejected)
                _LOG.warning(
                    "%d synthetic row(s) still broke a rule after repair; replaced by copies "
                    "of valid rows (see sampling_report_)",
                    len(rejected),
                )
        return frame.reset_index(drop=True)

    # -- the whole procedure ------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
        tally = _Tally(tuple(r.name for r in self.parents))
        text = f"sampling {n} rows that satisfy every rule"
        progress.stage(text, kind="sample")
        # larger samples go in chunks of MAX_BATCH rows (bounded memory); n = 0 is one empty one
        frames = [self._sample_chunk(min(MAX_BATCH, n - start), rng, tally, text, start, n)
                  for start in range(0, max(n, 1), MAX_BATCH)]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        final = self.violations(frame)
        # defensive: never hand out a row that breaks a rule or lacks a required value
        broken = final.any(axis=1) | frame[self.required].isna().to_numpy().any(axis=1)
        if broken.any():
            raise SynthemaError(
                f"internal error: {int(broken.sum())} synthetic row(s) break a rule or leave "
                "a required value empty",
                fix="report this as a bug in synthema.synth.constraints",
            )
        return frame, tally.report(n)


def enforce_rules(
    draw: Draw,
    conditional_logp: ConditionalLogp,
    *,
    domain: Domain,
    dictionary: Dictionary,
    n: int,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict]:
    """``n`` decoded rows from ``draw`` that satisfy every rule of ``dictionary``, and a report.

    Raises:
        SynthemaError: not a single drawn row could be made valid.
    """
    enforcer = RuleEnforcer(draw, conditional_logp, domain=domain, dictionary=dictionary)
    return enforcer.sample(n, rng)
