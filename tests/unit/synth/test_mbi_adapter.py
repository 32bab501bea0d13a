"""The mbi adapter: measurements in, potentials out, same answer as mbi's own estimate."""

from __future__ import annotations

import numpy as np
import pytest

from synthema.schema import Dictionary
from synthema.stats import CentralSource, Domain
from synthema.synth import _mbi
from synthema.synth.graphical_model import GraphicalModel


@pytest.fixture(scope="module")
def tiny():
    d = Dictionary.from_mapping(
        {
            "name": "tiny",
            "version": 1,
            "variables": [
                {"name": "a", "type": "categorical", "categories": ["x", "y", "z"]},
                {"name": "b", "type": "boolean"},
                {"name": "c", "type": "integer", "min": 0, "max": 3},
            ],
        }
    )
    rng = np.random.default_rng(0)
    import pandas as pd

    a = rng.choice(["x", "y", "z"], size=500, p=[0.5, 0.3, 0.2])
    b = (a == "x") ^ (rng.random(500) < 0.2)
    c = np.where(b, rng.integers(0, 2, 500), rng.integers(2, 4, 500))
    df = pd.DataFrame(
        {
            "a": pd.array(a, dtype="string"),
            "b": pd.array(b, dtype="boolean"),
            "c": pd.array(c, dtype="Int64"),
        }
    )
    return Domain.from_dictionary(d), CentralSource(df, d)


def test_domain_and_measurements_convert(tiny):
    # Setup
    domain, source = tiny
    ms = source.measure([("a",), ("a", "b")], sigma=2.0)

    # Run
    dom = _mbi.mbi_domain(domain)
    linear = _mbi.linear_measurements(ms)

    # Assert
    assert dom.attributes == ("a", "b", "c") and dom.shape == (4, 3, 5)
    assert [m.clique for m in linear] == [("a",), ("a", "b")]
    assert linear[1].stddev == 2.0
    np.testing.assert_array_equal(np.asarray(linear[1].noisy_measurement), ms[1].noisy_counts)


def test_exact_measurements_are_reproduced(tiny):
    # Setup
    domain, source = tiny
    ms = source.measure([("a", "b"), ("b", "c")], sigma=0)

    # Run
    fitted = _mbi.estimate(domain, ms, iters=2000)
    nodes, edges = _mbi.junction_tree_of(domain, fitted.cliques)
    model = GraphicalModel(
        dict(zip(domain.names, domain.shape, strict=True)), fitted.potentials, nodes, edges
    )

    # Assert
    assert fitted.total == 500
    for m in ms:
        got = model.marginal(m.clique).ravel() * 500
        np.testing.assert_allclose(got, m.noisy_counts, atol=1.0)


def test_matches_mbi_public_estimate(tiny):
    # Setup
    import mbi
    from mbi import estimation

    domain, source = tiny
    ms = source.measure([("a", "b"), ("b", "c"), ("a",)], sigma=3.0)

    # Run
    ours = _mbi.estimate(domain, ms, iters=500)
    theirs = estimation.MirrorDescent().estimate(
        _mbi.mbi_domain(domain), _mbi.linear_measurements(ms), iters=500
    )

    # Assert: the hand-driven loop gives mbi's own iterates
    assert ours.cliques == tuple(theirs.cliques)
    for clique in ours.cliques:
        np.testing.assert_allclose(
            ours.potentials[clique], np.asarray(theirs.potentials[clique].values), atol=1e-6
        )
    assert isinstance(theirs, mbi.MarkovRandomField)


def test_junction_tree_covers_unmeasured_attributes(tiny):
    # Setup
    domain, _ = tiny

    # Run
    nodes, edges = _mbi.junction_tree_of(domain, [("a", "b")])

    # Assert
    assert set(nodes) == {("a", "b"), ("c",)} and edges == ()
    assert _mbi.largest_node(domain, [("a", "b"), ("b", "c")]) == 15
    assert _mbi.model_cells(domain, [("a", "b"), ("b", "c")]) == 12 + 15


def test_estimate_refuses_nothing_to_fit(tiny):
    # Setup
    domain, _ = tiny

    # Run / Assert
    with pytest.raises(ValueError, match="at least one"):
        _mbi.estimate(domain, [], iters=10)
