"""Tests of ptlib.scaling (chapter 10): the power-law fit, parameter counts, FLOPs."""

import numpy as np
import pytest
from torch import nn
from transformers import BertConfig, BertForMaskedLM

from ptlib import scaling


def test_fit_recovers_known_power_law_with_irreducible_loss():
    n = np.array([1e4, 3e4, 1e5, 3e5, 1e6, 3e6])
    true = scaling.PowerLawFit(a=40.0, alpha=0.3, c=1.7)
    fit = scaling.fit_power_law(n, true(n))
    assert fit.alpha == pytest.approx(0.3, rel=1e-3)
    assert fit.a == pytest.approx(40.0, rel=1e-2)
    assert fit.c == pytest.approx(1.7, abs=1e-3)


def test_fit_without_irreducible_matches_loglog_least_squares():
    rng = np.random.default_rng(0)
    n = np.logspace(3, 6, 7)
    loss = 5.0 * n**-0.2 * np.exp(rng.normal(0, 0.01, n.size))
    fit = scaling.fit_power_law(n, loss, irreducible=False)
    slope, intercept = np.polyfit(np.log(n), np.log(loss), 1)  # independent reference
    assert fit.alpha == pytest.approx(-slope)
    assert fit.a == pytest.approx(np.exp(intercept))
    assert fit.c == 0.0


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="sizes"):
        scaling.fit_power_law([], [])
    with pytest.raises(ValueError, match="losses"):
        scaling.fit_power_law([1, 2, 3], [1.0, np.nan, 0.5])
    with pytest.raises(ValueError, match="length"):
        scaling.fit_power_law([1, 2, 3], [1.0, 0.5])
    with pytest.raises(ValueError, match="at least 3"):
        scaling.fit_power_law([1, 2], [1.0, 0.5])


def test_non_embedding_parameters_excludes_embeddings_and_tied_output():
    config = BertConfig(
        vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=20,
    )  # fmt: skip
    model = BertForMaskedLM(config)
    total = sum(p.numel() for p in model.parameters())  # torch counts tied weights once
    emb = sum(
        p.numel() for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()
    )
    assert scaling.non_embedding_parameters(model) == total - emb
    # by hand for a model without embeddings: a Linear(3, 2) has 3*2 + 2 parameters
    assert scaling.non_embedding_parameters(nn.Sequential(nn.Linear(3, 2))) == 8
    tied = nn.ModuleDict({"emb": nn.Embedding(10, 4), "out": nn.Linear(4, 10, bias=False)})
    tied["out"].weight = tied["emb"].weight
    assert scaling.non_embedding_parameters(tied) == 0


def test_training_flops_and_utilisation():
    assert scaling.training_flops(175e9, 300e9) == pytest.approx(3.15e23)  # GPT-3, about
    assert scaling.flops_utilisation(1e12, 10.0, 1e12) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="tokens"):
        scaling.training_flops(1.0, float("nan"))
    with pytest.raises(ValueError, match="seconds"):
        scaling.flops_utilisation(1.0, 0.0, 1.0)
