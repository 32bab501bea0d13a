"""Small raw AML exports with direct identifiers, and an independent privacy checker."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest

from synthema.cohorts.raw import make_raw_export
from synthema.cohorts.simulate import simulate
from synthema.schema import load_dictionary

KEY = b"6be12b7c7a8bb8308dd4c34f1f1607265b77710f25915c4313952eddfcfbbd13"
#: the date-shift key of the tests: a second secret, never the pseudonym key
DATE_KEY = b"9cf5d21452690aac1e364ccbaca5a5c1424a30c8fa26c9db9a912e79b5e5f63b"
IDENTIFIERS = ["Name", "PID", "Geburtsdatum", "PLZ"]


@pytest.fixture(scope="session")
def raw_aml() -> pd.DataFrame:
    """400 clean AML patients with the German site's identifier columns attached."""
    data = pd.concat([c.data for c in simulate("aml", sites=2, patients=400, seed=11)],
                     ignore_index=True)
    export = make_raw_export(data, load_dictionary("aml"), site=1, age_column="age",
                             index_date_column="diagnosis_date", rng=np.random.default_rng(5))
    idents = export.data[IDENTIFIERS].reset_index(drop=True)
    return pd.concat([idents, data], axis=1)


def brute_force_classes(df: pd.DataFrame, qis: list[str]) -> dict[tuple, list[int]]:
    """Row positions per equivalence class, by plain Python grouping."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(df[qis].astype(object).itertuples(index=False, name=None)):
        groups[tuple("<NA>" if pd.isna(v) else str(v) for v in row)].append(i)
    return groups


def check_models(out: pd.DataFrame, original: pd.DataFrame, qis: list[str], sensitive: str,
                 *, k: int, l: int | None = None, entropy_l: float | None = None,  # noqa: E741
                 t: float | None = None, order: list[str] | None = None) -> list[str]:
    """Every violation of k, distinct/entropy l and t-closeness in ``out`` (empty if none)."""
    problems = []
    values = [("<NA>" if pd.isna(v) else str(v)) for v in original[sensitive]]
    # missing values are one more category, ranked after the ordered ones
    domain = [*order, *(["<NA>"] if "<NA>" in values else [])] if order else sorted(set(values))
    ref = Counter(values)
    q = [ref[v] / len(values) for v in domain]
    for key, rows in brute_force_classes(out, qis).items():
        if len(rows) < k:
            problems.append(f"class {key} has {len(rows)} < k records")
        sens = Counter("<NA>" if pd.isna(out[sensitive].iloc[r]) else str(out[sensitive].iloc[r])
                       for r in rows)
        if l is not None and len(sens) < l:
            problems.append(f"class {key} has {len(sens)} < l distinct values")
        if entropy_l is not None:
            h = -sum(c / len(rows) * math.log(c / len(rows)) for c in sens.values())
            if math.exp(h) < entropy_l - 1e-9:
                problems.append(f"class {key} has entropy-l {math.exp(h):.3f}")
        if t is not None:
            p = [sens[v] / len(rows) for v in domain]
            if order:
                cum, dist = 0.0, 0.0
                for a, b in zip(p[:-1], q[:-1], strict=True):
                    cum += a - b
                    dist += abs(cum)
                dist /= len(domain) - 1
            else:
                dist = 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=True))
            if dist > t + 1e-9:
                problems.append(f"class {key} is {dist:.3f} > t from the whole table")
    return problems


@pytest.fixture
def key() -> bytes:
    """A pseudonym key for tests."""
    return KEY


@pytest.fixture
def date_key() -> bytes:
    """A date-shift key for tests (a second secret, never the pseudonym key)."""
    return DATE_KEY


@pytest.fixture
def identifiers() -> list[str]:
    """The identifier headers of the German site style."""
    return IDENTIFIERS


@pytest.fixture
def checker():
    """The independent brute-force model checker."""
    return check_models


def leaked(secrets: Iterable[str], text: str) -> list[str]:
    """The secrets that occur in ``text`` as a whole token (not inside a longer number/word).

    A 5-digit postcode is bound to occur somewhere inside the digits of a long report (a
    rounded distance, a count), so only whole tokens count: no letter, digit, '_' or '.'
    right before it, no letter, digit or '_' right after it.
    """
    return [s for s in secrets
            if s in text and re.search(rf"(?<![\w.]){re.escape(s)}(?!\w)", text)]


def whole_report(report, html: str) -> str:
    """The JSON report and the HTML page without the inlined plotly.js library."""
    import json

    from plotly.offline import get_plotlyjs

    data = report.to_dict() if hasattr(report, "to_dict") else report
    return json.dumps(data, default=str, ensure_ascii=False) + html.replace(get_plotlyjs(), "")


@pytest.fixture
def scan():
    """``scan(secrets, text)``: the secrets found in ``text`` as whole tokens."""
    return leaked


@pytest.fixture
def report_text():
    """``report_text(report, html)``: the JSON report and the page without plotly.js."""
    return whole_report
