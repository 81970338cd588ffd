"""The pre-training objectives, as derived in the book: masked language modelling (chapter 3),
causal language modelling (chapter 3b) and the contrastive losses InfoNCE / NT-Xent (chapter 4).

Each loss is written to follow its formula on the notation page (``book/notation.md``), and the
tests check it against a reference implementation.
Introduced in chapter 3 (masked language modelling).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ptlib import checks

# -- masked language modelling (chapter 3) -------------------------------------------------------

#: The label of a position that is not predicted (the ``ignore_index`` of PyTorch's
#: cross-entropy). The one definition in ptlib: :mod:`ptlib.text` masks with it.
IGNORE_INDEX = -100


def _check_labels(labels: torch.Tensor, vocab_size: int) -> None:
    """``labels`` must be integer token ids in ``[0, vocab_size)`` or :data:`IGNORE_INDEX`."""
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be integer token ids (torch.long), got {labels.dtype}")
    bad = (labels != IGNORE_INDEX) & ((labels < 0) | (labels >= vocab_size))
    if bad.any():
        raise ValueError(
            f"labels holds token id {int(labels[bad][0])}, outside the model's vocabulary of "
            f"{vocab_size}: the tokenizer and the model do not match"
        )


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The MLM loss per masked token: ``L_MLM / |M|``, with ``L_MLM`` of {eq}`eq-mlm`.

    ``logits``: (..., V) scores over the vocabulary; ``labels``: (...) the original token at
    masked positions and -100 elsewhere. The model's probability of the original token is the
    softmax of the logits at that token, so the loss is
    ``-(1/|M|) * sum_{i in M} log softmax(logits_i)[x_i]``, the sum over every masked position
    of the batch and ``|M|`` their number. It equals ``F.cross_entropy(..., ignore_index=-100)``
    and the loss of ``BertForMaskedLM``. Computed in float32 (stable under bf16 autocast).
    Introduced in chapter 3 (masked language modelling).
    """
    if logits.shape[:-1] != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match labels {tuple(labels.shape)}")
    checks.finite_tensor(logits, "logits")
    _check_labels(labels, logits.shape[-1])
    masked = labels != IGNORE_INDEX  # the set M
    if not masked.any():
        raise ValueError(
            f"labels: no masked token (every label is {IGNORE_INDEX}), so there is nothing to "
            "predict and the mean loss would be NaN; mask some tokens (ptlib.text.mask_tokens)"
        )
    log_p = torch.log_softmax(logits[masked].float(), dim=-1)  # (|M|, V): log p(. | x_\i)
    log_p_true = log_p.gather(1, labels[masked].unsqueeze(1)).squeeze(1)  # log p(x_i | x_\i)
    return -log_p_true.mean()


def mlm_logits(
    model: nn.Module,
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    masked_only: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of a ``BertForMaskedLM`` and their labels, by default at masked positions only.

    The loss only looks at the logits of masked positions, so with ``masked_only`` the encoder's
    hidden states are gathered at those positions first and the prediction head (a dense layer,
    a LayerNorm and the ``d x V`` output projection, the largest matrix product of a small model)
    runs on about 15% of the tokens. Returns ``(logits, labels)``: shapes (|M|, V) and (|M|,)
    with ``masked_only``; (batch, n, V) and (batch, n) without. The loss is the same either way.
    Introduced in chapter 3 (masked language modelling).
    """
    encoder, head = getattr(model, "bert", None), getattr(model, "cls", None)
    if encoder is None or head is None:
        raise TypeError("mlm_logits expects a BertForMaskedLM (with .bert and .cls)")
    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    if not masked_only:
        return head(hidden), labels  # (batch, n, V), (batch, n)
    masked = labels != IGNORE_INDEX
    return head(hidden[masked]), labels[masked]  # (|M|, V), (|M|,)


def mlm_batch_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """``loss_fn`` for :func:`ptlib.train.fit`: :func:`mlm_loss` of a ``BertForMaskedLM`` on a
    batch ``{"input_ids", "attention_mask", "labels"}``, with logits at masked positions only.

    Introduced in chapter 3 (masked language modelling).
    """
    missing = [k for k in ("input_ids", "labels") if k not in batch]
    if missing:
        raise ValueError(f"batch has no {missing}: make batches with ptlib.text.MLMBatches")
    logits, labels = mlm_logits(
        model, batch["input_ids"], batch["labels"], batch.get("attention_mask"), masked_only=True
    )
    return mlm_loss(logits, labels)


@torch.no_grad()
def mlm_evaluate(
    model: nn.Module, batches: list[dict[str, torch.Tensor]], top_k: int = 1
) -> dict[str, float]:
    """Loss per masked token, perplexity and masked-token accuracy over fixed masked batches.

    The loss is averaged over all masked tokens of all ``batches`` (not over batches); the
    perplexity is its exponential, {eq}`eq-ppl`; accuracy is the fraction of masked positions
    whose original token is the model's top prediction (with ``top_k > 1``, among its top k).
    Returns ``{"loss", "perplexity", "accuracy", "tokens"}``.
    Introduced in chapter 3 (masked language modelling).
    """
    top_k = checks.positive_int(top_k, "top_k")
    if len(batches) == 0:
        raise ValueError("batches is empty: give at least one masked batch")
    device = next(model.parameters()).device
    total, correct, count = 0.0, 0, 0
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        logits, labels = mlm_logits(
            model, batch["input_ids"], batch["labels"], batch.get("attention_mask")
        )
        logits = logits.float()
        total += F.cross_entropy(logits, labels, reduction="sum").item()
        top = logits.topk(top_k, dim=-1).indices
        correct += (top == labels.unsqueeze(1)).any(dim=1).sum().item()
        count += labels.numel()
    if count == 0:
        raise ValueError(
            "batches: no token is masked in any batch (every label is -100), so there is "
            "nothing to evaluate"
        )
    loss = total / count
    return {
        "loss": loss,
        "perplexity": float(np.exp(loss)),
        "accuracy": correct / count,
        "tokens": count,
    }


def unigram_baseline(
    counts: np.ndarray, labels: torch.Tensor | np.ndarray, smoothing: float = 1.0
) -> dict[str, float]:
    """What a model that ignores the context scores on the masked tokens ``labels``.

    It predicts every masked token from the token frequencies of the training data, ``counts``
    (per token id; add-``smoothing`` so no token has probability 0). Returns its ``loss`` per
    masked token (the cross-entropy of the unigram distribution on these tokens), its
    ``perplexity``, and ``accuracy``: how often the most frequent training token is the right
    answer. A masked language model has learned something from the context only where it beats
    these numbers.
    Introduced in chapter 3 (masked language modelling).
    """
    counts = checks.finite_array(counts, "counts", ndim=1)
    if (counts < 0).any():
        raise ValueError("counts must be token counts (>= 0), got a negative count")
    smoothing = checks.finite_number(smoothing, "smoothing", low=0.0)
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).reshape(-1)
    targets = labels[labels != IGNORE_INDEX]
    if targets.size == 0:
        raise ValueError("labels: no token is masked (every label is -100), nothing to score")
    if targets.min() < 0 or targets.max() >= len(counts):
        raise ValueError(
            f"labels holds token ids outside counts (0 .. {len(counts) - 1}): count the tokens "
            "with the same tokenizer (ptlib.text.token_counts(rows, len(tokenizer)))"
        )
    p = (counts + smoothing) / (counts + smoothing).sum()
    if (p[targets] == 0).any():
        raise ValueError(
            "a masked token never occurs in counts and smoothing is 0: its probability is 0 and "
            "the loss infinite; use smoothing > 0"
        )
    loss = float(-np.log(p[targets]).mean())
    accuracy = float(np.mean(targets == int(np.argmax(counts))))
    return {"loss": loss, "perplexity": float(np.exp(loss)), "accuracy": accuracy}


# -- contrastive learning: InfoNCE / NT-Xent (chapter 4) ---------------------------------------


def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All cosine similarities ``sim(a_i, b_k)`` of {eq}`eq-sim`: ``[n, d] x [m, d] -> [n, m]``.

    Rows are L2-normalised first, so the result is a matrix of dot products of unit vectors.
    Computed in float32 (float64 inputs stay float64). Introduced in chapter 4 (contrastive
    learning).
    """
    _check_vectors(a, b, "a", "b")
    return _cosine(a, b)


def _check_vectors(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """``a`` and ``b`` must be finite ``[n, d]`` and ``[m, d]`` tensors of one width ``d``."""
    for name, t in ((name_a, a), (name_b, b)):
        checks.finite_tensor(t, name)
        if t.ndim != 2:
            raise ValueError(f"{name} must be [n, d] (one vector per row), got {tuple(t.shape)}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name_a} and {name_b} must have one dimension d, got {a.shape[1]} and {b.shape[1]}"
        )


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """:func:`cosine_similarity_matrix` without the checks, for callers that made them."""
    dtype = torch.float64 if torch.float64 in (a.dtype, b.dtype) else torch.float32
    a = F.normalize(a.to(dtype), dim=-1)
    b = F.normalize(b.to(dtype), dim=-1)
    return a @ b.T


def info_nce(
    queries: torch.Tensor,
    keys: torch.Tensor,
    temperature: float = 0.05,
    positives: torch.Tensor | None = None,
    symmetric: bool = False,
) -> torch.Tensor:
    """InfoNCE with in-batch negatives: query ``i`` must pick its positive key among all keys.

    ``queries``: ``[n, d]``; ``keys``: ``[m, d]``; ``positives[i]``: the index of query ``i``'s
    positive key (default ``i``: query ``i`` and key ``i`` form a pair, every other key is a
    negative). The loss of query ``i`` is
    ``-log exp(sim(q_i, k_p)/tau) / sum_k exp(sim(q_i, k_k)/tau)``, a cross-entropy over the
    ``m`` keys with logits ``sim/tau``, averaged over the queries. With ``symmetric`` (needs
    ``positives=None`` and ``n == m``) the keys also pick their queries and the two losses are
    averaged. This is the ``MultipleNegativesRankingLoss`` of sentence-transformers (which
    writes ``scale = 1/tau``, 20 by default, so ``tau = 0.05``).
    Introduced in chapter 4 (contrastive learning).
    """
    temperature = checks.finite_number(temperature, "temperature", low=0.0, low_open=True)
    _check_vectors(queries, keys, "queries", "keys")
    logits = _cosine(queries, keys) / temperature  # [n, m]
    if positives is None:
        if symmetric and logits.shape[0] != logits.shape[1]:
            raise ValueError("symmetric InfoNCE needs as many queries as keys")
        positives = torch.arange(logits.shape[0], device=logits.device)
    elif symmetric:
        raise ValueError("symmetric=True pairs query i with key i; do not pass positives")
    elif positives.shape != (logits.shape[0],) or positives.is_floating_point():
        raise ValueError(
            f"positives must hold one integer key index per query ({logits.shape[0]}), "
            f"got shape {tuple(positives.shape)} ({positives.dtype})"
        )
    elif (positives < 0).any() or (positives >= logits.shape[1]).any():
        raise ValueError(f"positives must be key indices in [0, {logits.shape[1]})")
    loss = F.cross_entropy(logits, positives.to(logits.device))
    if symmetric:
        loss = (loss + F.cross_entropy(logits.T, positives.to(logits.device))) / 2
    return loss


def nt_xent(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, reduction: str = "mean"
) -> torch.Tensor:
    """The NT-Xent loss of SimCLR, {eq}`eq-ntxent`, for ``N`` pairs of views ``(z1[m], z2[m])``.

    The ``2N`` embeddings are stacked as ``z = [z1; z2]`` (so the partner of view ``i`` is view
    ``i + N``, and vice versa). Every view ``i`` gets the InfoNCE loss {eq}`eq-infonce`
    ``l_i = -log exp(sim(z_i, z_j)/tau) / sum_{k != i} exp(sim(z_i, z_k)/tau)``: a cross-entropy
    over the ``2N - 1`` other views with logits ``sim/tau``, where the similarity of a view with
    itself is masked out. ``reduction="mean"`` returns the average over all ``2N`` views (the
    batch loss); ``"none"`` returns the ``2N`` losses ``l_i`` in the order of ``z``. The book's
    formula numbers the views ``2m-1, 2m`` instead of ``m, m+N``; the loss does not depend on the
    order. Computed in float32. Introduced in chapter 4 (contrastive learning).
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be [N, d], got {tuple(z1.shape)}, {tuple(z2.shape)}")
    temperature = checks.finite_number(temperature, "temperature", low=0.0, low_open=True)
    checks.finite_tensor(z1, "z1")
    checks.finite_tensor(z2, "z2")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    n = z1.shape[0]
    z = torch.cat([z1, z2])  # [2N, d]
    logits = _cosine(z, z) / temperature  # [2N, 2N] (z1 and z2 were checked above)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))  # k != i
    partner = torch.arange(2 * n, device=z.device).roll(n)  # i <-> i + N
    return F.cross_entropy(logits, partner, reduction=reduction)


@torch.no_grad()
def contrastive_accuracy(z1: torch.Tensor, z2: torch.Tensor) -> float:
    """How often a view's most similar other view is its partner (the top-1 accuracy of the
    classification problem NT-Xent trains): 1 is perfect, ``1/(2N - 1)`` is chance.

    Introduced in chapter 4 (contrastive learning).
    """
    checks.finite_tensor(z1, "z1")
    checks.finite_tensor(z2, "z2")
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be [N, d], got {tuple(z1.shape)}, {tuple(z2.shape)}")
    n = z1.shape[0]
    z = torch.cat([z1, z2])
    sim = _cosine(z, z)  # z1 and z2 were checked above
    sim.fill_diagonal_(float("-inf"))
    partner = torch.arange(2 * n, device=z.device).roll(n)
    return float((sim.argmax(dim=1) == partner).float().mean())


# -- chapter 3b: the causal language-modelling objective -------------------------------------


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
    checks.finite_tensor(logits, "logits")
    _check_labels(labels, logits.shape[-1])
    pred = logits[:, :-1].float()  # (B, T-1, V): the predictions for positions 2 .. T
    target = labels[:, 1:]  # (B, T-1): the tokens that actually came next
    keep = target != IGNORE_INDEX
    if not keep.any():
        raise ValueError(
            "labels: every next token is -100, nothing to predict (the mean loss would be NaN); "
            "leave some labels unmasked"
        )
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
