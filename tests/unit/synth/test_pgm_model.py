"""The numpy graphical model: exact inference, sampling, conditionals, arrays round trip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from synthema.synth.graphical_model import GraphicalModel

SIZES = {"a": 3, "b": 4, "c": 2, "d": 5}
NODES = (("a", "b"), ("b", "c", "d"))


@pytest.fixture(scope="module")
def model_and_joint():
    rng = np.random.default_rng(0)
    pots = {
        ("a", "b"): rng.normal(size=(3, 4)),
        ("c", "b"): rng.normal(size=(2, 4)),
        ("b", "d", "c"): rng.normal(size=(4, 5, 2)),
    }
    joint = np.zeros((3, 4, 2, 5))
    for a, b, c, d in itertools.product(range(3), range(4), range(2), range(5)):
        joint[a, b, c, d] = (
            pots[("a", "b")][a, b] + pots[("c", "b")][c, b] + pots[("b", "d", "c")][b, d, c]
        )
    joint = np.exp(joint)
    return GraphicalModel(SIZES, pots, NODES, ((0, 1),)), joint / joint.sum()


def test_marginals_are_exact(model_and_joint):
    # Setup
    model, joint = model_and_joint

    # Run / Assert
    np.testing.assert_allclose(model.marginal(("a", "b")), joint.sum(axis=(2, 3)), atol=1e-12)
    np.testing.assert_allclose(model.marginal(("d", "c")), joint.sum(axis=(0, 1)).T, atol=1e-12)
    with pytest.raises(ValueError, match="not inside one"):
        model.marginal(("a", "d"))


def test_samples_follow_the_joint(model_and_joint):
    # Setup
    model, joint = model_and_joint

    # Run
    codes = model.sample(200_000, rng=np.random.default_rng(1))

    # Assert
    counts = np.zeros(joint.shape)
    np.add.at(counts, tuple(codes.T), 1)
    assert np.abs(counts / counts.sum() - joint).max() < 0.003


def test_conditional_of_one_attribute_given_the_rest(model_and_joint):
    # Setup
    model, joint = model_and_joint
    codes = model.sample(20, rng=np.random.default_rng(2))

    # Run
    logp = model.conditional_logp("b", codes)

    # Assert
    for row, (a, _, c, d) in zip(logp, codes, strict=True):
        expected = joint[a, :, c, d] / joint[a, :, c, d].sum()
        np.testing.assert_allclose(np.exp(row), expected, atol=1e-12)


def test_arrays_round_trip(model_and_joint):
    # Setup
    model, _ = model_and_joint

    # Run
    meta, arrays = model.to_arrays()
    again = GraphicalModel.from_arrays(meta, arrays)

    # Assert
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(model.sample(100, rng=rng_a), again.sample(100, rng=rng_b))
    with pytest.raises(ValueError, match="not a saved graphical model"):
        GraphicalModel.from_arrays({"sizes": {}}, {})


def test_from_marginals_reproduces_consistent_targets(model_and_joint):
    # Setup
    _, joint = model_and_joint
    targets = {("a", "b"): joint.sum(axis=(2, 3)), ("b", "c", "d"): joint.sum(axis=0)}

    # Run
    model = GraphicalModel.from_marginals(SIZES, NODES, ((0, 1),), targets)

    # Assert
    np.testing.assert_allclose(model.marginal(("a", "b")), targets[("a", "b")], atol=1e-3)


def test_structure_must_cover_every_attribute():
    # Run / Assert
    with pytest.raises(ValueError, match="misses attributes"):
        GraphicalModel(SIZES, {}, (("a", "b"),), ())


def test_independent_model_and_zero_probabilities():
    # Setup
    model = GraphicalModel.independent({"x": np.array([0.0, 1.0, 3.0])})

    # Run
    codes = model.sample(1000, rng=np.random.default_rng(0))

    # Assert
    assert (codes[:, 0] != 0).all()
    assert abs((codes[:, 0] == 2).mean() - 0.75) < 0.05
