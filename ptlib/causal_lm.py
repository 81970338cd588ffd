"""The causal language-modelling objective: next-token cross-entropy on shifted labels.

A decoder-only language model (GPT) reads tokens ``x_1 .. x_T`` and, at every position ``t``,
outputs a distribution over the next token. Its loss is

    L_CLM = -(1/N) * sum_{t=1}^{T-1} log p(x_{t+1} | x_1 .. x_t),

the mean over the ``N`` predicted positions of the batch: the logits of position ``t`` are scored
against the token at ``t + 1`` ("shifted labels"), and the last position has nothing to predict.
Labels equal to -100 (padding, a prompt that should not be trained on) are ignored, as in
PyTorch's ``cross_entropy`` and the Transformers library.

Introduced in chapter 3b (decoder language models and tokenizers).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

#: Label of a position that is not predicted (the ``ignore_index`` of PyTorch's cross-entropy).
IGNORE_INDEX = -100


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The causal-LM loss per predicted token: the next-token cross-entropy.

    ``logits``: (B, T, V) scores of a decoder at every position; ``labels``: (B, T) the token ids
    of the same sequence (usually the input ids themselves), -100 where a token is not to be
    predicted. Position ``t`` is scored against ``labels[:, t + 1]``: the loss is
    ``-(1/N) * sum log softmax(logits[:, t])[labels[:, t + 1]]`` over the ``N`` pairs whose
    label is not -100. It equals the loss ``GPT2LMHeadModel(input_ids, labels=labels)`` returns.
    Computed in float32 (stable under bf16 autocast).
    Introduced in chapter 3b (decoder language models and tokenizers).
    """
    if logits.dim() != 3 or labels.dim() != 2 or logits.shape[:2] != labels.shape:
        raise ValueError(
            f"logits must be (B, T, V) and labels (B, T); got logits {tuple(logits.shape)}, "
            f"labels {tuple(labels.shape)}"
        )
    if labels.shape[1] < 2:
        raise ValueError(
            f"labels need at least 2 positions to predict a next token, got {labels.shape[1]}"
        )
    if torch.isnan(logits).any():
        raise ValueError("logits contain NaN")
    pred = logits[:, :-1].float()  # (B, T-1, V): the predictions for positions 2 .. T
    target = labels[:, 1:]  # (B, T-1): the tokens that actually came next
    keep = target != IGNORE_INDEX
    if not keep.any():
        raise ValueError("labels: every next token is -100, nothing to predict")
    log_p = torch.log_softmax(pred[keep], dim=-1)  # (N, V)
    return -log_p.gather(1, target[keep].unsqueeze(1)).squeeze(1).mean()


def causal_lm_batch_loss(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """:func:`causal_lm_loss` of ``model`` on a batch, the ``loss_fn`` of ``ptlib.train.fit``.

    ``batch["input_ids"]``: (B, T) token ids; ``batch["labels"]`` (optional, default: the input
    ids) the labels; ``batch["attention_mask"]`` (optional) is passed to the model.
    Introduced in chapter 3b (decoder language models and tokenizers).
    """
    if "input_ids" not in batch:
        raise ValueError("batch must contain 'input_ids'")
    input_ids = batch["input_ids"]
    kwargs = {"attention_mask": batch["attention_mask"]} if "attention_mask" in batch else {}
    logits = model(input_ids=input_ids, **kwargs).logits
    return causal_lm_loss(logits, batch.get("labels", input_ids))
