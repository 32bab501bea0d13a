"""Clinical rules: a small, safe expression language over the columns of one row.

Rules are parsed by a hand-written recursive-descent parser and evaluated column-wise on
a DataFrame; nothing is passed to Python's ``eval``. The grammar (also in
``docs/rules.md``), loosest binding first::

    rule     := implies
    implies  := or_ [ ("=>" | "implies") implies ]      a => b  is  (not a) or b
    or_      := and_ { "or" and_ }
    and_     := not_ { "and" not_ }
    not_     := "not" not_ | compare
    compare  := sum { CMP sum }                          CMP: < <= > >= == !=; chains allowed
              | sum ["not"] "in" "[" literal {"," literal} "]"
              | sum "is" ["not"] "missing"
    sum      := product { ("+" | "-") product }
    product  := unary { ("*" | "/") unary }
    unary    := "-" unary | atom
    atom     := NUMBER | STRING | "true" | "false" | NAME | `quoted name`
              | FUNC "(" rule {"," rule} ")" | "(" rule ")"
    FUNC     := abs | min | max | count

Three-valued logic (Kleene): a comparison with a missing value is *missing*; ``false and
missing`` is false, ``true or missing`` is true. A rule whose value is missing on a row is
*not applicable* there, never violated. ``x is missing`` is always true or false.
Booleans count as 0/1 in arithmetic; dates compare with ISO date strings and subtract to
days; ordinal columns compare with their category strings by category order.
``count(a, b, ...)`` is the number of arguments known to be true.

>>> import pandas as pd
>>> r = Rule.parse("efs_days <= os_days")
>>> df = pd.DataFrame({"efs_days": [10, 50, None], "os_days": [20, 40, 30]})
>>> r.evaluate(df).tolist()
[True, False, <NA>]
>>> Rule.parse("relapse => relapse_days is not missing").columns
('relapse', 'relapse_days')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthema.errors import RuleSyntaxError

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<qname>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>=>|<=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "missing", "true", "false", "implies"}
_FUNCS = {"abs", "min", "max", "count"}
_CMP = {"<", "<=", ">", ">=", "==", "!="}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, name, kw, op, end
    text: str
    pos: int


def _tokenize(expr: str, source: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN_RE.match(expr, pos)
        if not m:
            raise RuleSyntaxError(
                f"{source}: rule {expr!r}: unexpected character {expr[pos]!r} "
                f"at position {pos + 1}",
                fix="see docs/rules.md for the rule grammar",
            )
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "name" and text in _KEYWORDS:
            kind = "kw"
        elif kind == "qname":
            kind, text = "name", text[1:-1]
        elif kind == "str":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind != "ws":
            toks.append(_Tok(kind, text, pos))
        pos = m.end()
    toks.append(_Tok("end", "", len(expr)))
    return toks


# AST nodes are plain tuples: ("col", name) ("lit", value) ("not", a) ("and", a, b)
# ("or", a, b) ("cmp", op, a, b) ("in", a, values, negate) ("missing", a, negate)
# ("arith", op, a, b) ("neg", a) ("call", func, args)


class _Parser:
    def __init__(self, expr: str, source: str) -> None:
        self.expr = expr
        self.source = source
        self.toks = _tokenize(expr, source)
        self.i = 0

    def error(self, msg: str) -> RuleSyntaxError:
        tok = self.toks[self.i]
        where = "end" if tok.kind == "end" else f"position {tok.pos + 1} ({tok.text!r})"
        return RuleSyntaxError(
            f"{self.source}: rule {self.expr!r}: {msg} at {where}",
            fix="see docs/rules.md for the rule grammar",
        )

    def peek(self, *texts: str) -> bool:
        tok = self.toks[self.i]
        return tok.kind in ("kw", "op") and tok.text in texts

    def take(self, text: str) -> None:
        if not self.peek(text):
            raise self.error(f"expected '{text}'")
        self.i += 1

    def parse(self) -> tuple:
        node = self.implies()
        if self.toks[self.i].kind != "end":
            raise self.error("unexpected token")
        return node

    def implies(self) -> tuple:
        left = self.or_()
        if self.peek("=>", "implies"):
            self.i += 1
            right = self.implies()
            return ("or", ("not", left), right)
        return left

    def or_(self) -> tuple:
        node = self.and_()
        while self.peek("or"):
            self.i += 1
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple:
        node = self.not_()
        while self.peek("and"):
            self.i += 1
            node = ("and", node, self.not_())
        return node

    def not_(self) -> tuple:
        if self.peek("not"):
            self.i += 1
            return ("not", self.not_())
        return self.compare()

    def compare(self) -> tuple:
        left = self.sum_()
        if self.peek("is"):
            self.i += 1
            negate = self.peek("not")
            if negate:
                self.i += 1
            self.take("missing")
            return ("missing", left, negate)
        if self.peek("in") or (self.peek("not") and self.toks[self.i + 1].text == "in"):
            negate = self.peek("not")
            self.i += 2 if negate else 1
            return ("in", left, self.literal_list(), negate)
        node = None
        while self.toks[self.i].kind == "op" and self.toks[self.i].text in _CMP:
            op = self.toks[self.i].text
            self.i += 1
            right = self.sum_()
            cmp = ("cmp", op, left, right)
            node = cmp if node is None else ("and", node, cmp)
            left = right
        return left if node is None else node

    def literal_list(self) -> tuple:
        self.take("[")
        values = [self.literal()]
        while self.peek(","):
            self.i += 1
            values.append(self.literal())
        self.take("]")
        return tuple(values)

    def literal(self) -> Any:
        tok = self.toks[self.i]
        neg = False
        if tok.kind == "op" and tok.text == "-":
            neg, self.i = True, self.i + 1
            tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "num":
            return -float(tok.text) if neg else float(tok.text)
        if tok.kind == "str" and not neg:
            return tok.text
        if tok.kind == "kw" and tok.text in ("true", "false") and not neg:
            return tok.text == "true"
        self.i -= 1
        raise self.error("expected a number, a quoted string, true or false")

    def sum_(self) -> tuple:
        node = self.product()
        while self.peek("+", "-"):
            op = self.toks[self.i].text
            self.i += 1
            node = ("arith", op, node, self.product())
        return node

    def product(self) -> tuple:
        node = self.unary()
        while self.peek("*", "/"):
            op = self.toks[self.i].text
            self.i += 1
            node = ("arith", op, node, self.unary())
        return node

    def unary(self) -> tuple:
        if self.peek("-"):
            self.i += 1
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> tuple:
        tok = self.toks[self.i]
        if tok.kind == "num":
            self.i += 1
            return ("lit", float(tok.text))
        if tok.kind == "str":
            self.i += 1
            return ("lit", tok.text)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            self.i += 1
            return ("lit", tok.text == "true")
        if tok.kind == "name":
            self.i += 1
            if self.peek("("):
                if tok.text not in _FUNCS:
                    self.i -= 1
                    raise self.error(f"unknown function; use one of {', '.join(sorted(_FUNCS))}")
                self.i += 1
                args = [self.implies()]
                while self.peek(","):
                    self.i += 1
                    args.append(self.implies())
                self.take(")")
                if tok.text == "abs" and len(args) != 1:
                    raise self.error("abs() takes one argument")
                return ("call", tok.text, tuple(args))
            return ("col", tok.text)
        if self.peek("("):
            self.i += 1
            node = self.implies()
            self.take(")")
            return node
        raise self.error("expected a value, a column name or '('")


def _columns(node: tuple, out: dict[str, None]) -> None:
    kind = node[0]
    if kind == "col":
        out[node[1]] = None
    for child in node[1:]:
        if isinstance(child, tuple) and child and isinstance(child[0], str):
            _columns(child, out)
        elif isinstance(child, tuple):
            for c in child:
                if isinstance(c, tuple):
                    _columns(c, out)


# -- evaluation -------------------------------------------------------------------------------
_EPOCH = pd.Timestamp("1970-01-01")


@dataclass
class _Val:
    kind: str  # "bool", "num", "str", "date"
    data: Any  # pd.Series (boolean / Float64 / string) or a scalar
    ordinal: tuple[str, ...] = ()  # category order, for ordinal columns
    cats: tuple[str, ...] = ()  # allowed categories, known while type-checking


def _as_series(val: _Val, index: pd.Index) -> pd.Series:
    """A literal ``val`` repeated over ``index``, in its kind's nullable dtype."""
    dtype = {"bool": "boolean", "num": "Float64", "str": "string", "date": "Float64"}[val.kind]
    return pd.Series([val.data] * len(index), index=index, dtype=dtype)


def evaluate_rules(
    rules: Sequence[Rule],
    df: pd.DataFrame,
    *,
    ordinals: Mapping[str, tuple[str, ...]] | None = None,
) -> list[pd.Series]:
    """:meth:`Rule.evaluate` of each rule on the same frame, converting each column once.

    >>> rules = [Rule.parse("age >= 18"), Rule.parse("age < 100")]
    >>> [r.tolist() for r in evaluate_rules(rules, pd.DataFrame({"age": [17, None]}))]
    [[False, <NA>], [True, <NA>]]
    """
    ev = _Evaluator(df, ordinals or {})
    return [rule._result(ev) for rule in rules]


def _as(s: pd.Series, dtype: str) -> pd.Series:
    """``s`` as ``dtype``; ``s`` itself when it has it (the evaluator never writes in place)."""
    return s if s.dtype == dtype else s.astype(dtype)


def _date_literal(text: str) -> float:
    return float((pd.Timestamp(dt.date.fromisoformat(text)) - _EPOCH).days)


@dataclass(frozen=True)
class Rule:
    """A parsed clinical rule. ``evaluate`` gives True (holds), False (violated), NA (n/a)."""

    expr: str
    name: str = ""
    description: str = ""
    tree: tuple = field(default=(), repr=False, compare=False)

    @classmethod
    def parse(
        cls, expr: str, *, name: str = "", description: str = "", source: str = "<rule>"
    ) -> Rule:
        """Parse ``expr``; raises :class:`RuleSyntaxError` naming the position on failure."""
        tree = _Parser(expr, source).parse()
        return cls(expr=expr, name=name or expr, description=description, tree=tree)

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the rule reads, in order of first use."""
        out: dict[str, None] = {}
        _columns(self.tree, out)
        return tuple(out)

    def to_mapping(self) -> dict[str, str] | str:
        """YAML form: the bare expression when it has no name or description of its own."""
        if self.name == self.expr and not self.description:
            return self.expr
        out = {"name": self.name, "expr": self.expr}
        if self.description:
            out["description"] = self.description
        return out

    def evaluate(
        self, df: pd.DataFrame, *, ordinals: Mapping[str, tuple[str, ...]] | None = None
    ) -> pd.Series:
        """Evaluate on every row of ``df`` (a nullable ``boolean`` Series, NA = not applicable).

        ``ordinals`` maps ordinal column names to their categories in order, so that
        ``risk >= "intermediate"`` (categories low, intermediate, high) compares by rank.
        """
        return self._result(_Evaluator(df, ordinals or {}))

    def _result(self, ev: _Evaluator) -> pd.Series:
        out = ev.eval(self.tree)
        if out.kind != "bool":
            raise TypeError(f"rule {self.expr!r} does not give true/false")
        return ev.series(out).astype("boolean")

    def check_types(
        self,
        kinds: Mapping[str, str],
        categories: Mapping[str, tuple[str, ...]],
        ordinals: Mapping[str, tuple[str, ...]],
    ) -> None:
        """Evaluate once on an empty typed frame to catch type errors and unknown categories.

        ``kinds`` maps each column to bool/num/str/date; ``categories`` gives the allowed
        values of text columns, ``ordinals`` the order of ordinal ones. Raises
        ``TypeError`` or ``ValueError`` with the reason.
        """
        empty = {}
        for col in self.columns:
            kind = kinds[col]
            dtype = {"bool": "boolean", "num": "Float64", "str": "string"}.get(kind)
            empty[col] = pd.Series([], dtype=dtype or "datetime64[ns]")
        ev = _Evaluator(pd.DataFrame(empty), ordinals, categories=categories)
        out = ev.eval(self.tree)
        if out.kind != "bool":
            raise TypeError("the rule is not a true/false condition")


class _Evaluator:
    def __init__(
        self,
        df: pd.DataFrame,
        ordinals: Mapping[str, tuple[str, ...]],
        categories: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.df = df
        self.index = df.index
        self.ordinals = ordinals
        self.categories = categories  # set only while type-checking
        # each column converted, and each literal broadcast, once per frame (rules share them)
        self._columns: dict[str, tuple[str, pd.Series]] = {}
        self._literals: dict[tuple[str, Any], pd.Series] = {}

    def column(self, name: str) -> _Val:
        if name not in self._columns:
            self._columns[name] = self._convert(name)
        kind, data = self._columns[name]
        ordinal = tuple(self.ordinals.get(name, ())) if kind == "str" else ()
        return _Val(kind, data, ordinal=ordinal)

    def _convert(self, name: str) -> tuple[str, pd.Series]:
        if name not in self.df.columns:
            raise KeyError(f"column '{name}' is not in the data")
        s = self.df[name]
        if isinstance(s.dtype, pd.BooleanDtype) or s.dtype == bool:
            return "bool", s.astype("boolean")
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            days = (s - _EPOCH).dt.days
            return "date", days.astype("Float64")
        if pd.api.types.is_numeric_dtype(s.dtype):
            return "num", s.astype("Float64")
        return "str", s.astype("string")

    def series(self, val: _Val) -> pd.Series:
        """``val`` as a Series over the frame's rows (a literal broadcast, once per value)."""
        if isinstance(val.data, pd.Series):
            return val.data
        key = (val.kind, val.data)
        if key not in self._literals:
            self._literals[key] = _as_series(val, self.index)
        return self._literals[key]

    def num(self, val: _Val) -> pd.Series:
        """Numeric view: booleans as 0/1, dates as days since 1970-01-01.

        Callers refuse text first (``_numeric``, or a comparison's text branch).
        """
        return _as(self.series(val), "Float64")

    def eval(self, node: tuple) -> _Val:  # noqa: C901 - a dispatch table over node kinds
        kind = node[0]
        match kind:
            case "col":
                val = self.column(node[1])
                if self.categories is not None:
                    val.cats = tuple(self.categories.get(node[1], ()))
                return val
            case "lit":
                v = node[1]
                if isinstance(v, bool):
                    return _Val("bool", v)
                if isinstance(v, float):
                    return _Val("num", v)
                return _Val("str", v)
            case "not":
                a = self._bool(self.eval(node[1]))
                return _Val("bool", ~a)
            case "and" | "or":
                a = self._bool(self.eval(node[1]))
                b = self._bool(self.eval(node[2]))
                return _Val("bool", (a & b) if kind == "and" else (a | b))
            case "missing":
                a = self.eval(node[1])
                isna = self.series(a).isna().astype("boolean")
                return _Val("bool", ~isna if node[2] else isna)
            case "in":
                a = self.eval(node[1])
                values = node[2]
                self._check_categories(a, [v for v in values if isinstance(v, str)])
                s = self.series(a)
                if a.kind == "str":
                    hit = s.isin([str(v) for v in values])
                else:
                    hit = self.num(a).isin([float(v) for v in values])
                hit = hit.astype("boolean").mask(s.isna())
                return _Val("bool", ~hit if node[3] else hit)
            case "cmp":
                return self.compare(node[1], self.eval(node[2]), self.eval(node[3]))
            case "arith":
                a = self.num(self._numeric(self.eval(node[2])))
                b = self.num(self._numeric(self.eval(node[3])))
                op = node[1]
                if op == "/":
                    b = b.mask(b == 0)
                res = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
                return _Val("num", res)
            case "neg":
                return _Val("num", -self.num(self._numeric(self.eval(node[1]))))
            case "call":
                return self.call(node[1], [self.eval(a) for a in node[2]])
            case _:
                raise ValueError(f"unknown rule node {kind!r}")

    def _bool(self, val: _Val) -> pd.Series:
        if val.kind != "bool":
            raise TypeError(f"a {val.kind} value was used where true/false is needed")
        return _as(self.series(val), "boolean")

    def _numeric(self, val: _Val) -> _Val:
        if val.kind == "str":
            raise TypeError("a text value was used in arithmetic")
        return val

    def _check_categories(self, val: _Val, literals: list[str]) -> None:
        if val.kind != "str" or not val.cats:
            return
        bad = [x for x in literals if x not in val.cats]
        if bad:
            raise ValueError(
                f"{', '.join(repr(b) for b in bad)} is not a category (allowed: "
                f"{', '.join(val.cats)})"
            )

    def compare(self, op: str, a: _Val, b: _Val) -> _Val:
        # date vs ISO string literal
        for x, y in ((a, b), (b, a)):
            if x.kind == "date" and y.kind == "str" and not isinstance(y.data, pd.Series):
                try:
                    y.kind, y.data = "date", _date_literal(y.data)
                except ValueError:
                    raise ValueError(f"{y.data!r} is not an ISO date (YYYY-MM-DD)") from None
        if a.kind == "str" or b.kind == "str":
            if a.kind != "str" or b.kind != "str":
                raise TypeError("text compared with a number")
            self._check_categories(a, [b.data] if not isinstance(b.data, pd.Series) else [])
            self._check_categories(b, [a.data] if not isinstance(a.data, pd.Series) else [])
            sa, sb = self.series(a), self.series(b)
            if op in ("==", "!="):
                res = sa == sb if op == "==" else sa != sb
                return _Val("bool", _as(res, "boolean"))
            order = a.ordinal or b.ordinal
            if not order:
                raise TypeError(f"'{op}' on text needs an ordinal column")
            rank = {c: float(i) for i, c in enumerate(order)}
            ra = sa.map(rank, na_action="ignore").astype("Float64")
            rb = sb.map(rank, na_action="ignore").astype("Float64")
            return self._cmp_num(op, ra, rb)
        return self._cmp_num(op, self.num(a), self.num(b))

    @staticmethod
    def _cmp_num(op: str, a: pd.Series, b: pd.Series) -> _Val:
        res = {
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
            "==": a == b,
            "!=": a != b,
        }[op]
        return _Val("bool", _as(res, "boolean"))

    def call(self, func: str, args: list[_Val]) -> _Val:
        if func == "count":
            total = pd.Series(np.zeros(len(self.index)), index=self.index, dtype="Float64")
            for a in args:
                total = total + self._bool(a).fillna(False).astype("Float64")
            return _Val("num", total)
        nums = [self.num(self._numeric(a)) for a in args]
        if func == "abs":
            return _Val("num", nums[0].abs())
        frame = pd.concat(nums, axis=1)
        res = frame.min(axis=1, skipna=False) if func == "min" else frame.max(axis=1, skipna=False)
        return _Val("num", res.astype("Float64"))
