"""The DP-VAE (issue 16): per-record clipping, charge before release, budget refusal, contract.

Training is tiny (a few hundred rows, a few steps, narrow layers) so each test takes seconds.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch  # the neural extra, which `make test` installs: never skipped

import synthema.synth._neural as neural
from synthema.errors import BudgetExceededError, SynthemaError
from synthema.privacy import cdp_epsilon
from synthema.schema import Dictionary, typed_dtype
from synthema.stats import CentralSource
from synthema.synth import PrivacyBudget, create_synthesizer, load_synthesizer
from synthema.synth.dpvae import DPVAESynthesizer, Layout

TINY = {"steps": 3, "hidden": 8, "latent": 2}
pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook")


@pytest.fixture(scope="module")
def rows(aml_data) -> pd.DataFrame:
    return aml_data.iloc[:300].reset_index(drop=True)


@pytest.fixture(scope="module")
def tiny_fit(small_dictionary, rows) -> DPVAESynthesizer:
    synth = create_synthesizer("dpvae", dictionary=small_dictionary, epsilon=1.0,
                               random_state=0, **TINY)
    return synth.fit(rows)


def test_per_record_gradients_are_clipped_as_computed_by_hand():
    # Setup: 6 records of 2 attributes; each record's gradient computed alone, clipped by hand
    layout = Layout((3, 2), np.zeros(5))
    codes = np.array([[0, 1], [2, 0], [1, 1], [0, 0], [2, 1], [1, 0]])
    x = neural.one_hot(codes, layout)
    clip = 0.05
    torch.manual_seed(0)
    model = neural.TabularVAE(layout.width, 4, 2)
    reference = neural.TabularVAE(layout.width, 4, 2)
    reference.load_state_dict(model.state_dict())
    module = neural.GradSampleModule(model, loss_reduction="sum")
    optimizer = neural.DPOptimizer(torch.optim.SGD(module.parameters(), lr=0.1),
                                   noise_multiplier=0.0, max_grad_norm=clip,
                                   expected_batch_size=1)
    eps = torch.randn((6, 2), generator=torch.Generator().manual_seed(5))
    mask = torch.zeros(5)

    # Run: Opacus' clipped sum, and the same by hand
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summed = neural.clipped_gradient_sum(module, optimizer, x, layout,
                                             torch.Generator().manual_seed(5))
    by_hand, norms = np.zeros_like(summed), []
    for i in range(6):
        reference.zero_grad()
        target = torch.from_numpy(x[i:i + 1])
        logits, mu, logvar = reference(target, eps[i:i + 1])
        neural.record_losses(logits, target, mu, logvar, layout, mask).sum().backward()
        g = torch.cat([p.grad.reshape(-1) for p in reference.parameters()]).double().numpy()
        norms.append(np.linalg.norm(g))
        by_hand += g * min(1.0, clip / (norms[-1] + 1e-6))

    # Assert: every record was clipped (the test has teeth) and the sums agree
    assert min(norms) > clip
    np.testing.assert_allclose(summed, by_hand, rtol=1e-4, atol=1e-7)
    assert np.linalg.norm(summed) <= 6 * clip + 1e-6


def test_each_step_is_charged_before_its_noisy_gradient(small_dictionary, rows, monkeypatch):
    # Setup: record the order of ledger charges and noisy releases
    events = []
    charge, noisy = PrivacyBudget.charge, neural.noisy_lattice_sum

    def logged_charge(self, rho, *, label):
        events.append("charge")
        return charge(self, rho, label=label)

    def logged_noise(*args, **kwargs):
        events.append("noise")
        return noisy(*args, **kwargs)

    monkeypatch.setattr(PrivacyBudget, "charge", logged_charge)
    monkeypatch.setattr(neural, "noisy_lattice_sum", logged_noise)
    synth = create_synthesizer("dpvae", dictionary=small_dictionary, epsilon=1.0,
                               random_state=0, **TINY)

    # Run
    synth.fit(rows)

    # Assert
    assert events == ["charge", "noise"] * TINY["steps"]
    assert synth.privacy_spent_["rho"] <= PrivacyBudget(1.0, 1e-6).rho


def test_training_stops_when_the_ledger_refuses(monkeypatch):
    # Setup: a ledger that refuses the third step
    layout = Layout((3, 2), np.zeros(5))
    codes = np.array([[0, 1], [2, 0], [1, 1]] * 10)
    released = []
    monkeypatch.setattr(neural, "noisy_lattice_sum",
                        lambda *a, **k: released.append(1) or (np.zeros(a[0].size, np.int64), 1))

    def charge(step):
        if step == 2:
            raise BudgetExceededError("step 3 would exceed the budget")

    config = neural.TrainConfig(4, 2, 10, 1.0, 0.01, 5.0, 0)

    # Run / Assert: nothing of the refused step is computed or released
    with pytest.raises(BudgetExceededError):
        neural.train_vae(codes, layout, config, charge)
    assert len(released) == 2


def test_a_plan_past_the_budget_is_refused_before_training(small_dictionary, rows, monkeypatch):
    # Setup: σ miscalibrated to half what ε allows, so the plan costs 4x the budget
    calibrated = DPVAESynthesizer.noise_multiplier
    monkeypatch.setattr(DPVAESynthesizer, "noise_multiplier",
                        lambda self, rho: calibrated(self, rho) / 2)
    steps = []
    monkeypatch.setattr(neural, "clipped_gradient_sum",
                        lambda *a, **k: steps.append(1) or np.zeros(1))
    synth = create_synthesizer("dpvae", dictionary=small_dictionary, epsilon=1.0, **TINY)

    # Run / Assert
    with pytest.raises(BudgetExceededError, match="DP-SGD steps"):
        synth.fit(rows)
    assert steps == []


def test_privacy_spent_is_the_budget_and_noise_is_not_seeded(tiny_fit, small_dictionary, rows):
    # Setup
    again = create_synthesizer("dpvae", dictionary=small_dictionary, epsilon=1.0,
                               random_state=0, **TINY).fit(rows)
    spent = tiny_fit.privacy_spent_

    # Assert: the whole budget, not more; same seed, different noise -> different weights
    assert spent["private"] and spent["epsilon"] <= 1.0
    assert spent["epsilon"] == pytest.approx(cdp_epsilon(spent["rho"], 1e-6))
    assert spent["rho"] == pytest.approx(PrivacyBudget(1.0, 1e-6).rho, rel=1e-6)
    w1, w2 = tiny_fit.weights_["decoder.2.weight"], again.weights_["decoder.2.weight"]
    assert not np.allclose(w1, w2)
    assert tiny_fit.training_["noise_multiplier"] > 1


def test_epsilon_inf_is_exact_reproducible_and_labelled_not_private(small_dictionary, rows):
    # Run
    fits = [create_synthesizer("dpvae", dictionary=small_dictionary, epsilon=math.inf,
                               random_state=3, **TINY).fit(rows) for _ in range(2)]

    # Assert
    assert fits[0].privacy_spent_["private"] is False
    for name, w in fits[0].weights_.items():
        np.testing.assert_array_equal(w, fits[1].weights_[name])


def test_samples_are_typed_rule_abiding_and_survive_save_load(tiny_fit, small_dictionary,
                                                               tmp_path):
    # Run
    first = tiny_fit.sample(400, random_state=4)
    path = tiny_fit.save(tmp_path / "m.synth")
    loaded = load_synthesizer(path)

    # Assert
    assert list(first.columns) == list(small_dictionary.columns)
    for var in small_dictionary.variables:
        assert str(first[var.name].dtype) == typed_dtype(var), var.name
    assert not small_dictionary.evaluate_rules(first).eq(False).fillna(False).to_numpy().any()
    assert tiny_fit.sampling_report_["violations_in_output"] == 0
    assert loaded.privacy_spent_ == tiny_fit.privacy_spent_
    pd.testing.assert_frame_equal(loaded.sample(400, random_state=4), first)


def test_a_saved_model_samples_without_torch(tiny_fit, tmp_path):
    # Setup: a fresh interpreter where importing torch fails
    path = tiny_fit.save(tmp_path / "m.synth")
    script = (
        "import sys; sys.modules['torch'] = None; sys.modules['opacus'] = None\n"
        "from synthema.synth import load_synthesizer\n"
        f"print(len(load_synthesizer({str(path)!r}).sample(50, random_state=1)))\n"
    )

    # Run
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=False)

    # Assert
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.strip().splitlines()[-1] == "50"


def test_it_learns_an_association_the_margins_cannot_show():
    # Setup: b is a copy of a (4 categories); independent columns would agree 25 % of the time
    d = Dictionary.from_mapping({"name": "pair", "version": 1, "variables": [
        {"name": "a", "type": "categorical", "categories": list("wxyz"), "required": True},
        {"name": "b", "type": "categorical", "categories": list("wxyz"), "required": True}]})
    rng = np.random.default_rng(0)
    a = rng.choice(list("wxyz"), 400)
    data = pd.DataFrame({"a": a, "b": a}).astype("string")
    synth = DPVAESynthesizer(dictionary=d, epsilon=math.inf, random_state=0, steps=150,
                             hidden=16, latent=2, learning_rate=0.03)

    # Run
    out = synth.fit(data).sample(2000, random_state=1)

    # Assert: far above the 25 % of independent columns (a VAE blurs between its clusters)
    assert (out["a"] == out["b"]).mean() > 0.6
    assert out["a"].isna().sum() == 0


def test_it_refuses_noisy_marginal_sources(small_dictionary, rows, other_source):
    # Setup: any statistics source that is not central (e.g. a federation)
    synth = create_synthesizer("dpvae", dictionary=small_dictionary, epsilon=1.0, **TINY)

    # Run / Assert
    with pytest.raises(SynthemaError, match="cannot fit on a OtherSource"):
        synth.fit(other_source(CentralSource(rows, small_dictionary)))


def test_training_summary_is_saved_as_json(tiny_fit):
    # Run
    meta, arrays = tiny_fit._state()

    # Assert
    json.dumps(meta, allow_nan=False)
    assert meta["training"]["parameters"] == sum(
        v.size for k, v in arrays.items() if k.startswith("w:"))
    assert 0 < meta["training"]["rounding_overhead"] < 1
