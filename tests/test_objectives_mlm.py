"""Tests of the MLM part of ptlib.objectives: the formula equals the library's loss, logits at
masked positions only change nothing, and the evaluation and unigram baseline are right."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForMaskedLM

from ptlib import objectives, text

V = 50


@pytest.fixture(scope="module")
def model_and_batch():
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=V,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = BertForMaskedLM(config).eval()
    ids = torch.randint(5, V, (4, 16))
    ids[:, 0], ids[:, -1] = 2, 3
    attention = torch.ones_like(ids)
    ids[0, 12:-1], attention[0, 12:] = 0, 0  # one padded row
    inputs, labels = text.mask_tokens(
        ids,
        4,
        V,
        (0, 2, 3),
        0.3,
        attention_mask=attention,
        generator=torch.Generator().manual_seed(1),
    )
    return model, {"input_ids": inputs, "attention_mask": attention, "labels": labels}


def test_mlm_loss_is_the_mean_negative_log_likelihood_of_the_masked_tokens() -> None:
    logits = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0], [1.0, 1.0, 3.0]]])
    labels = torch.tensor([[0, -100], [2, 2]])  # M = {(0,0), (1,0), (1,1)}
    p = [
        math.exp(2) / (math.exp(2) + 2),  # p(x=0 | ...) at (0, 0)
        1 / 3,  # uniform at (1, 0)
        math.exp(3) / (2 * math.e + math.exp(3)),  # p(x=2 | ...) at (1, 1)
    ]
    expected = -sum(math.log(q) for q in p) / 3  # L_MLM / |M|
    assert objectives.mlm_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(
        objectives.mlm_loss(logits, labels),
        F.cross_entropy(logits.view(-1, 3), labels.view(-1), ignore_index=-100),
    )


def test_uniform_predictions_have_perplexity_v() -> None:
    logits = torch.zeros(3, 7, V)
    labels = torch.randint(0, V, (3, 7))
    loss = objectives.mlm_loss(logits, labels)
    assert loss.item() == pytest.approx(math.log(V))
    assert math.exp(loss.item()) == pytest.approx(V)


def test_mlm_loss_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no masked"):
        objectives.mlm_loss(torch.zeros(2, 3, V), torch.full((2, 3), -100))
    with pytest.raises(ValueError, match="match"):
        objectives.mlm_loss(torch.zeros(2, 3, V), torch.zeros(2, 4, dtype=torch.long))


def test_formula_equals_bert_for_masked_lm_loss(model_and_batch) -> None:
    model, batch = model_and_batch
    with torch.no_grad():
        library = model(**batch).loss
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    ours = objectives.mlm_loss(logits, batch["labels"])
    torch.testing.assert_close(ours, library, rtol=1e-6, atol=1e-6)


def test_logits_at_masked_positions_only_give_the_same_loss_and_gradients(model_and_batch) -> None:
    model, batch = model_and_batch
    args = (model, batch["input_ids"], batch["labels"], batch["attention_mask"])
    full_logits, full_labels = objectives.mlm_logits(*args, masked_only=False)
    few_logits, few_labels = objectives.mlm_logits(*args, masked_only=True)
    n_masked = (batch["labels"] != -100).sum().item()
    assert few_logits.shape == (n_masked, V) and full_logits.shape == (4, 16, V)
    loss_full = objectives.mlm_loss(full_logits, full_labels)
    loss_few = objectives.mlm_loss(few_logits, few_labels)
    torch.testing.assert_close(loss_few, loss_full, rtol=1e-6, atol=1e-6)
    grads = []
    for loss in (loss_full, loss_few):
        model.zero_grad()
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(objectives.mlm_batch_loss(model, batch), loss_full.detach())
    with pytest.raises(TypeError):
        objectives.mlm_logits(torch.nn.Linear(2, 2), *args[1:])


def test_mlm_evaluate_pools_tokens_over_batches(model_and_batch) -> None:
    model, batch = model_and_batch
    halves = [{k: v[:1] for k, v in batch.items()}, {k: v[1:] for k, v in batch.items()}]
    r = objectives.mlm_evaluate(model, halves)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    masked = batch["labels"] != -100
    assert r["tokens"] == masked.sum().item()
    assert r["loss"] == pytest.approx(objectives.mlm_loss(logits, batch["labels"]).item(), rel=1e-5)
    assert r["perplexity"] == pytest.approx(math.exp(r["loss"]))
    acc = (logits[masked].argmax(-1) == batch["labels"][masked]).float().mean().item()
    assert r["accuracy"] == pytest.approx(acc)
    assert objectives.mlm_evaluate(model, halves, top_k=V)["accuracy"] == 1.0


def test_unigram_baseline() -> None:
    counts = np.array([0, 0, 0, 0, 0, 6, 3, 1])  # token 5 is the most frequent
    labels = torch.tensor([[5, -100, 6], [7, 5, -100]])
    r = objectives.unigram_baseline(counts, labels, smoothing=0.0)
    expected = -(2 * math.log(0.6) + math.log(0.3) + math.log(0.1)) / 4
    assert r["loss"] == pytest.approx(expected)
    assert r["perplexity"] == pytest.approx(math.exp(expected))
    assert r["accuracy"] == pytest.approx(0.5)
    smoothed = objectives.unigram_baseline(counts, labels)  # add-one: no infinite loss
    assert np.isfinite(smoothed["loss"]) and smoothed["loss"] > r["loss"]
    with pytest.raises(ValueError):
        objectives.unigram_baseline(counts, torch.full((2, 2), -100))
