"""ptlib.objectives.causal_lm_loss: the next-token cross-entropy, against hand-checked cases and GPT-2's own loss."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from ptlib.objectives import IGNORE_INDEX, causal_lm_batch_loss, causal_lm_loss


def _tiny_gpt2(vocab: int = 50) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=vocab,
        n_positions=16,
        n_embd=16,
        n_layer=1,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config).eval()
    model.loss_type = "ForCausalLM"  # transformers 5 cannot tell from the class name
    return model


def test_uniform_logits_give_log_v():
    logits = torch.zeros(2, 5, 7)
    labels = torch.randint(0, 7, (2, 5))
    assert causal_lm_loss(logits, labels).item() == pytest.approx(math.log(7))


def test_hand_checked_shift():
    # position t is scored against the token at t + 1: a model that puts all its mass on the
    # next token has loss 0, one that puts it on the current token has a large loss
    labels = torch.tensor([[1, 2, 3]])
    next_token = torch.full((1, 3, 4), -30.0)
    current = torch.full((1, 3, 4), -30.0)
    for t in range(3):
        current[0, t, labels[0, t]] = 30.0
        if t < 2:
            next_token[0, t, labels[0, t + 1]] = 30.0
    assert causal_lm_loss(next_token, labels).item() == pytest.approx(0.0, abs=1e-6)
    assert causal_lm_loss(current, labels).item() > 50
    # two predictions, p = 1/2 and p = 1/4 of the true next token: mean of log 2 and log 4
    logits = torch.log(
        torch.tensor([[[0.25, 0.25, 0.5, 0.0], [0.25, 0.25, 0.25, 0.25], [1, 1, 1, 1]]]) + 1e-12
    )
    loss = causal_lm_loss(logits, labels)
    assert loss.item() == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-5)


def test_equals_gpt2_loss_and_gradient():
    model = _tiny_gpt2()
    input_ids = torch.randint(0, 50, (3, 12))
    labels = input_ids.clone()
    labels[0, :4] = IGNORE_INDEX  # e.g. a prompt that is not trained on
    out = model(input_ids=input_ids, labels=labels)
    ours = causal_lm_loss(out.logits, labels)
    assert ours.item() == pytest.approx(out.loss.item(), abs=1e-6)
    g_ours = torch.autograd.grad(ours, model.lm_head.weight, retain_graph=True)[0]
    g_lib = torch.autograd.grad(out.loss, model.lm_head.weight)[0]
    assert torch.allclose(g_ours, g_lib, atol=1e-6)


def test_batch_loss_for_fit():
    model = _tiny_gpt2()
    input_ids = torch.randint(0, 50, (2, 8))
    expected = model(input_ids=input_ids, labels=input_ids).loss
    assert causal_lm_batch_loss(model, {"input_ids": input_ids}).item() == pytest.approx(
        expected.item(), abs=1e-6
    )
    with pytest.raises(ValueError, match="input_ids"):
        causal_lm_batch_loss(model, {"labels": input_ids})


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="logits"):
        causal_lm_loss(torch.zeros(2, 5), torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="logits"):
        causal_lm_loss(torch.zeros(2, 5, 3), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="at least 2"):
        causal_lm_loss(torch.zeros(2, 1, 3), torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        causal_lm_loss(torch.full((1, 3, 3), float("nan")), torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="nothing to predict"):
        causal_lm_loss(torch.zeros(1, 3, 3), torch.full((1, 3), IGNORE_INDEX))
