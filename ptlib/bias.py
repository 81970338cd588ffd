"""Measuring social bias in pre-trained models, and one way to reduce it.

Four families of measurements, each formula written once:

- embedding association tests: WEAT (Caliskan et al. 2017) on word vectors and SEAT (May et al.
  2019) on sentence vectors, with the effect size and a permutation p-value;
- masked-LM benchmarks: the CrowS-Pairs metric (Nangia et al. 2020: the pseudo-log-likelihood of
  the tokens two sentences share) and StereoSet intrasentence (Nadeem et al. 2021: SS, LMS, ICAT);
- uncertainty: percentile bootstrap confidence intervals over the test items;
- downstream fairness: group rates (selection rate, TPR, FPR), demographic-parity and
  equalized-odds differences, and Kamiran & Calders' reweighing weights.

And one mitigation for pre-training data: counterfactual data augmentation (CDA), which adds a
copy of every document with its gendered words swapped.

Introduced in chapter 9 (bias evaluation).
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import re
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ptlib import checks

# -- embedding association tests: WEAT and SEAT -------------------------------------------------


#: Rows of word or sentence vectors (one per word or sentence of a set).
Vectors = np.ndarray


class WEATResult(NamedTuple):
    """The outcome of one association test. Introduced in chapter 9 (bias evaluation)."""

    effect_size: float  # d: difference of mean associations in pooled standard deviations
    p_value: float  # one-sided permutation p-value of the test statistic
    exact: bool  # True: every partition was enumerated; False: random partitions


def _unit_rows(x: np.ndarray, name: str) -> np.ndarray:
    x = checks.finite_array(x, name, ndim=2)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(
            f"{name} holds a zero vector, which has no direction: cosine similarity is "
            "undefined; drop it (an empty text or an unknown word embeds to zeros)"
        )
    return x / norms


def _vector_sets(**sets: np.ndarray) -> list[np.ndarray]:
    """The named sets of vectors as unit rows, checked: finite, (n, dim), one ``dim`` for all."""
    rows = [_unit_rows(v, name) for name, v in sets.items()]
    dims = {name: r.shape[1] for name, r in zip(sets, rows, strict=True)}
    if len(set(dims.values())) > 1:
        raise ValueError(f"the vectors must all have one dimension, got {dims}")
    return rows


def association(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``s(w, A, B) = mean_{a in A} cos(w, a) - mean_{b in B} cos(w, b)`` for every row ``w``.

    ``w``: (n, dim) vectors; ``a``, ``b``: the two attribute sets, (n_a, dim) and (n_b, dim).
    Returns an array of n associations: positive means ``w`` is closer to ``A`` than to ``B``.
    Introduced in chapter 9 (bias evaluation).
    """
    w, a, b = _vector_sets(w=w, a=a, b=b)
    return (w @ a.T).mean(axis=1) - (w @ b.T).mean(axis=1)


def weat_effect_size(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """WEAT's effect size: ``(mean_x s(x,A,B) - mean_y s(y,A,B)) / std_{w in X u Y} s(w,A,B)``.

    ``x``, ``y``: the target sets (e.g. male and female names), ``a``, ``b``: the attribute
    sets (e.g. career and family words), each an (n, dim) array of embeddings. The standard
    deviation is the sample one (``ddof=1``) over the pooled targets, as in the SEAT code.
    Like Cohen's d it lies in about [-2, 2]; positive means X is closer to A (and Y to B).
    Introduced in chapter 9 (bias evaluation).
    """
    _vector_sets(x=x, y=y, a=a, b=b)  # checked here, so errors name x, y, a, b
    sx, sy = association(x, a, b), association(y, a, b)
    pooled = np.concatenate([sx, sy])
    std = pooled.std(ddof=1)
    if std == 0:
        raise ValueError(
            "every target in x and y has the same association: the effect size is undefined"
        )
    return float((sx.mean() - sy.mean()) / std)


def weat_p_value(
    x: Vectors, y: Vectors, a: Vectors, b: Vectors, *, n_permutations: int = 100_000, seed: int = 0
) -> tuple[float, bool]:
    """One-sided permutation p-value of WEAT's statistic ``s(X,Y,A,B) = sum_x s(x) - sum_y s(y)``.

    The null hypothesis: the target labels are exchangeable. Under it every split of ``X u Y``
    into sets ``X_i`` (of size ``|X|``) and ``Y_i`` is as likely as the observed one. The
    p-value is the fraction of splits whose statistic is at least the observed one. When there
    are at most ``n_permutations`` splits they are all enumerated (``exact=True``, e.g. the
    12,870 splits of 8 + 8 targets); otherwise ``n_permutations`` random splits are drawn and
    ``p = (1 + #{at least observed}) / (1 + n_permutations)``, which is never 0.
    (Caliskan et al. count splits strictly above the observed value; counting ties too, and the
    observed split itself, keeps the test valid and only makes p slightly larger.)
    Returns ``(p_value, exact)``. Introduced in chapter 9 (bias evaluation).
    """
    _vector_sets(x=x, y=y, a=a, b=b)  # checked here, so errors name x, y, a, b
    n_permutations = checks.positive_int(n_permutations, "n_permutations")
    s = np.concatenate([association(x, a, b), association(y, a, b)])
    n, n_x = len(s), len(x)
    observed = s[:n_x].sum()  # s(X,Y,A,B) = 2 sum_X s - sum_all s, so comparing sum_X suffices
    tol = 1e-10 * max(1.0, float(np.abs(s).sum()))
    if math.comb(n, n_x) <= n_permutations:
        idx = np.array(list(itertools.combinations(range(n), n_x)), dtype=np.int64)
        sums = s[idx].sum(axis=1)
        return float(np.mean(sums >= observed - tol)), True
    rng = np.random.default_rng(seed)
    count, done = 0, 0
    while done < n_permutations:
        chunk = min(10_000, n_permutations - done)
        idx = rng.random((chunk, n)).argsort(axis=1)[:, :n_x]  # chunk random subsets of size |X|
        count += int(np.sum(s[idx].sum(axis=1) >= observed - tol))
        done += chunk
    return (1 + count) / (1 + n_permutations), False


def weat(
    x: np.ndarray,
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    n_permutations: int = 100_000,
    seed: int = 0,
) -> WEATResult:
    """WEAT (or SEAT, on sentence embeddings): effect size and one-sided permutation p-value.

    See :func:`weat_effect_size` and :func:`weat_p_value`.
    Introduced in chapter 9 (bias evaluation).
    """
    p, exact = weat_p_value(x, y, a, b, n_permutations=n_permutations, seed=seed)
    return WEATResult(weat_effect_size(x, y, a, b), p, exact)


# -- masked language models: scoring tokens under a [MASK] ----------------------------------------


def _is_plain_bert_mlm(model: torch.nn.Module) -> bool:
    """A ``BertForMaskedLM``-like model whose last layer :func:`_bert_read_position` can run."""
    bert, head = getattr(model, "bert", None), getattr(model, "cls", None)
    layers = getattr(getattr(bert, "encoder", None), "layer", None)
    config = getattr(model, "config", None)
    if head is None or layers is None or len(layers) == 0 or config is None:
        return False
    last = layers[-1]
    return (
        not getattr(config, "is_decoder", False)
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and all(hasattr(last, name) for name in ("attention", "intermediate", "output"))
        and all(hasattr(last.attention.self, n) for n in ("query", "key", "value", "scaling"))
    )


def _bert_read_position(
    model: torch.nn.Module, ids: torch.Tensor, attn: torch.Tensor, pos: torch.Tensor
) -> torch.Tensor:
    """The last hidden state of a BERT at one position per row: (batch, hidden).

    Runs the embeddings and all layers but the last on every position, then the last layer
    (self-attention, residual and LayerNorm, feed-forward, residual and LayerNorm, as in
    ``BertLayer``) only for the query at ``pos``. Exact, in eval mode (no dropout).
    """
    encoder = model.bert.encoder
    layers = encoder.layer
    encoder.layer = torch.nn.ModuleList(list(layers)[:-1])  # the first L-1 layers only
    try:
        hidden = model.bert(input_ids=ids, attention_mask=attn).last_hidden_state  # (B, T, d)
    finally:
        encoder.layer = layers
    last = layers[-1]
    sa = last.attention.self
    b, t, _ = hidden.shape
    h, dh = sa.num_attention_heads, sa.attention_head_size
    x = hidden[torch.arange(b, device=hidden.device), pos]  # (B, d): the read positions
    q = sa.query(x).view(b, h, 1, dh)
    k = sa.key(hidden).view(b, t, h, dh).transpose(1, 2)  # (B, h, T, dh)
    v = sa.value(hidden).view(b, t, h, dh).transpose(1, 2)
    scores = (q @ k.transpose(-1, -2)) * sa.scaling  # (B, h, 1, T)
    scores = scores.masked_fill(~attn.bool()[:, None, None, :], float("-inf"))
    context = (scores.softmax(dim=-1) @ v).reshape(b, h * dh)  # (B, d)
    attended = last.attention.output(context, x)  # dense, residual, LayerNorm
    return last.output(last.intermediate(attended), attended)  # feed-forward, residual, LayerNorm


@torch.inference_mode()
def masked_log_probs(
    model: torch.nn.Module,
    rows: Sequence[Sequence[int]],
    positions: Sequence[int],
    targets: Sequence[int],
    pad_token_id: int = 0,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> np.ndarray:
    """``log p(targets[i] | rows[i])`` read at ``positions[i]`` (where ``rows[i]`` has a [MASK]).

    ``rows`` are token-id sequences with special tokens, each already holding the ``[MASK]``
    to be read. Rows are sorted by length and padded in batches of ``batch_size``. For a
    ``BertForMaskedLM`` the last encoder layer and the prediction head run only at the read
    positions (:func:`_bert_read_position`): every position needs the earlier layers, whose
    outputs are the keys and values of the last one, but only the read position needs the last
    layer's output. That is exact and saves about 40% of the work of a 2-layer model. Any other
    model is called as ``model(input_ids=, attention_mask=)`` and must return ``.logits`` (or a
    tensor) of shape (batch, tokens, vocabulary). Computed in float32.
    Returns a float64 array of ``len(rows)`` log-probabilities (natural log).
    Introduced in chapter 9 (bias evaluation).
    """
    if not len(rows) == len(positions) == len(targets):
        raise ValueError(
            f"rows, positions and targets must have the same length, got {len(rows)}, "
            f"{len(positions)} and {len(targets)}"
        )
    if len(rows) == 0:
        raise ValueError("rows is empty: give at least one token sequence to score")
    batch_size = checks.positive_int(batch_size, "batch_size")
    for i, (row, pos) in enumerate(zip(rows, positions, strict=True)):
        if not 0 <= pos < len(row):
            raise ValueError(f"positions[{i}] = {pos} is outside rows[{i}] ({len(row)} tokens)")
    vocab_size = getattr(getattr(model, "config", None), "vocab_size", None)
    if vocab_size is not None and not all(0 <= t < vocab_size for t in targets):
        raise ValueError(f"targets must be token ids in [0, {vocab_size}), the model's vocabulary")
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    out = np.empty(len(rows), dtype=np.float64)
    order = np.argsort([len(r) for r in rows], kind="stable")
    starts = range(0, len(rows), batch_size)
    for start in tqdm(starts, desc="scoring", unit="batch", disable=not progress):
        idx = order[start : start + batch_size]
        width = max(len(rows[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_token_id, dtype=torch.long)
        attn = torch.zeros((len(idx), width), dtype=torch.long)
        for j, i in enumerate(idx):
            ids[j, : len(rows[i])] = torch.as_tensor(list(rows[i]), dtype=torch.long)
            attn[j, : len(rows[i])] = 1
        ids, attn = ids.to(device), attn.to(device)
        pos = torch.as_tensor([positions[i] for i in idx], device=device)
        tgt = torch.as_tensor([targets[i] for i in idx], device=device)
        arange = torch.arange(len(idx), device=device)
        if _is_plain_bert_mlm(model):
            logits = model.cls(_bert_read_position(model, ids, attn, pos))  # (batch, V)
        else:
            output = model(input_ids=ids, attention_mask=attn)
            logits = getattr(output, "logits", output)[arange, pos]
        log_p = torch.log_softmax(logits.float(), dim=-1)
        out[idx] = log_p[arange, tgt].double().cpu().numpy()
    return out


def _special_ids(tokenizer: object) -> tuple[int, int, int, int]:
    ids = [getattr(tokenizer, f"{t}_token_id", None) for t in ("cls", "sep", "mask", "pad")]
    if any(i is None for i in ids):
        raise ValueError("a BERT-style tokenizer with [CLS], [SEP], [MASK] and [PAD] is needed")
    return ids[0], ids[1], ids[2], ids[3]


def _encode(tokenizer: object, texts: Sequence[str]) -> list[list[int]]:
    if not texts:
        return []
    return [list(t) for t in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


# -- CrowS-Pairs ----------------------------------------------------------------------------------


def shared_token_positions(
    ids_a: Sequence[int], ids_b: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Positions of the tokens two sequences share, aligned by ``difflib.SequenceMatcher``.

    CrowS-Pairs sentences differ in a few words (the "modified" tokens: *black*/*white*);
    everything else is shared. Returns ``(positions in a, positions in b)``, equally long, in
    order: the i-th shared token is ``ids_a[pa[i]] == ids_b[pb[i]]``.
    Introduced in chapter 9 (bias evaluation).
    """
    matcher = difflib.SequenceMatcher(None, list(ids_a), list(ids_b), autojunk=False)
    pa: list[int] = []
    pb: list[int] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pa.extend(range(a0, a1))
            pb.extend(range(b0, b1))
    return pa, pb


def crows_pairs_scores(
    model: torch.nn.Module,
    tokenizer: object,
    sent_more: Sequence[str],
    sent_less: Sequence[str],
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """The CrowS-Pairs score of both sentences of every pair (Nangia et al. 2020).

    Each sentence's score is the pseudo-log-likelihood of its *unmodified* tokens, the tokens
    both sentences share (:func:`shared_token_positions`): mask one shared token at a time,
    read ``log p(token | the rest)``, and sum. Both sentences are scored on the same tokens,
    so a difference between them comes from the words that differ, as context, and not from
    how likely those words are by themselves (frequent names or groups would otherwise win).
    ``[CLS]`` and ``[SEP]`` are never scored. Returns a DataFrame with columns ``score_more``,
    ``score_less`` (sums of natural-log probabilities) and ``n_shared`` (tokens scored).
    Introduced in chapter 9 (bias evaluation).
    """
    sent_more, sent_less = (
        checks.texts(sent_more, "sent_more"),
        checks.texts(sent_less, "sent_less"),
    )
    if len(sent_more) != len(sent_less):
        raise ValueError(
            f"sent_more and sent_less must have the same length (one pair each), got "
            f"{len(sent_more)} and {len(sent_less)}"
        )
    cls, sep, mask, pad = _special_ids(tokenizer)
    more, less = _encode(tokenizer, sent_more), _encode(tokenizer, sent_less)
    rows: list[list[int]] = []
    positions: list[int] = []
    targets: list[int] = []
    owner: list[int] = []  # 2 * pair (more) or 2 * pair + 1 (less)
    n_shared = []
    for k, (a, b) in enumerate(zip(more, less, strict=True)):
        pa, pb = shared_token_positions(a, b)
        n_shared.append(len(pa))
        for side, (ids, shared) in enumerate(((a, pa), (b, pb))):
            full = [cls, *ids, sep]
            for p in shared:
                row = list(full)
                row[p + 1] = mask
                rows.append(row)
                positions.append(p + 1)
                targets.append(full[p + 1])
                owner.append(2 * k + side)
    log_p = masked_log_probs(
        model, rows, positions, targets, pad, batch_size, device, progress=progress
    )
    sums = np.bincount(np.asarray(owner, dtype=np.int64), weights=log_p, minlength=2 * len(more))
    return pd.DataFrame({"score_more": sums[0::2], "score_less": sums[1::2], "n_shared": n_shared})


def crows_pairs_metric(score_more: Sequence[float], score_less: Sequence[float]) -> float:
    """The CrowS-Pairs metric: the percentage of pairs whose ``sent_more`` scores higher.

    ``sent_more`` is the more stereotypical sentence of the pair (``stereo`` rows: it states a
    stereotype about a historically disadvantaged group; ``antistereo`` rows: ``sent_less``
    violates one). A model without preference picks it half the time, so 50 is the ideal and
    100 means the model always prefers the stereotypical sentence.
    Ties count as no preference (a model that ignores context ties every pair and scores 0).
    Introduced in chapter 9 (bias evaluation).
    """
    more = checks.finite_array(score_more, "score_more", ndim=1)
    less = checks.finite_array(score_less, "score_less", ndim=1)
    if more.shape != less.shape:
        raise ValueError(
            f"score_more and score_less must be equally long, got {more.size} and {less.size}"
        )
    return float(100.0 * np.mean(more > less))


# -- StereoSet intrasentence -----------------------------------------------------------------------

#: The three candidates of a StereoSet intrasentence example, in the loader's column names.
STEREOSET_CANDIDATES: tuple[str, str, str] = ("stereotype", "anti_stereotype", "unrelated")


def stereoset_scores(
    model: torch.nn.Module,
    tokenizer: object,
    examples: pd.DataFrame,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """How likely a masked LM finds each candidate word of StereoSet's intrasentence examples.

    ``examples`` has a ``context`` with ``BLANK`` and the candidate words in the columns
    :data:`STEREOSET_CANDIDATES` (``ptlib.data.load_stereoset(split="intrasentence")``). As in
    the benchmark's reference code for masked LMs, a candidate's word pieces are filled in left
    to right: piece k is predicted at a ``[MASK]`` with pieces 1..k-1 in place and the later
    ones absent, and the candidate's score is the mean of those probabilities. (A second
    ``BLANK`` in a context, which two examples have, is filled with the candidate word.)
    Returns a DataFrame with the same index and one column of scores per candidate.
    Introduced in chapter 9 (bias evaluation).
    """
    missing = [c for c in ("context", *STEREOSET_CANDIDATES) if c not in examples.columns]
    if missing:
        raise ValueError(
            f"examples has no column(s) {missing}: pass "
            "ptlib.data.load_stereoset(split='intrasentence')"
        )
    if len(examples) == 0:
        raise ValueError("examples is empty: there is nothing to score")
    for column in ("context", *STEREOSET_CANDIDATES):
        checks.texts(examples[column], f"examples[{column!r}]")
    cls, sep, mask, pad = _special_ids(tokenizer)
    contexts = list(examples["context"])
    no_blank = [i for i, c in enumerate(contexts) if "BLANK" not in c]
    if no_blank:
        raise ValueError(
            f"every context must contain BLANK (where the candidate goes); row {no_blank[0]} "
            f"does not: {contexts[no_blank[0]]!r}"
        )
    rows: list[list[int]] = []
    positions: list[int] = []
    targets: list[int] = []
    owner: list[int] = []
    n_cand = len(STEREOSET_CANDIDATES)
    for k, context in enumerate(contexts):
        head, tail = context.split("BLANK", 1)
        for c, column in enumerate(STEREOSET_CANDIDATES):
            word = examples[column].iloc[k]
            prefix, word_ids, suffix = _encode(tokenizer, [head, word, tail.replace("BLANK", word)])
            if not word_ids:
                raise ValueError(f"candidate {word!r} has no tokens")
            for j, target in enumerate(word_ids):
                row = [cls, *prefix, *word_ids[:j], mask, *suffix, sep]
                rows.append(row)
                positions.append(1 + len(prefix) + j)
                targets.append(target)
                owner.append(k * n_cand + c)
    log_p = masked_log_probs(
        model, rows, positions, targets, pad, batch_size, device, progress=progress
    )
    owner_arr = np.asarray(owner, dtype=np.int64)
    total = np.bincount(owner_arr, weights=np.exp(log_p), minlength=len(contexts) * n_cand)
    count = np.bincount(owner_arr, minlength=len(contexts) * n_cand)
    mean = (total / count).reshape(len(contexts), n_cand)
    return pd.DataFrame(mean, index=examples.index, columns=list(STEREOSET_CANDIDATES))


def icat(lms: float, ss: float) -> float:
    """StereoSet's idealized CAT score: ``ICAT = LMS * min(SS, 100 - SS) / 50``.

    100 for a model that always prefers a meaningful candidate (LMS 100) and has no preference
    between stereotype and anti-stereotype (SS 50); 0 for a model that always prefers one of
    them (SS 0 or 100) or never prefers meaningful words (LMS 0). A random model: 50.
    Introduced in chapter 9 (bias evaluation).
    """
    lms = checks.finite_number(lms, "lms", low=0.0, high=100.0)
    ss = checks.finite_number(ss, "ss", low=0.0, high=100.0)
    return float(lms * min(ss, 100.0 - ss) / 50.0)


def stereoset_metrics(
    stereotype: Sequence[float],
    anti_stereotype: Sequence[float],
    unrelated: Sequence[float],
    targets: Sequence[str] | None = None,
) -> dict[str, float]:
    """StereoSet's stereotype score SS, language-modelling score LMS and ICAT (0-100 each).

    Per example: *stereotype preferred* if its score beats the anti-stereotype's (ties count
    as anti-stereotype, as in the reference code); *meaningful preferred*, counted twice per
    example, if the stereotype and, separately, the anti-stereotype beat the unrelated word.
    SS is the percentage of stereotype preferences (50 is the ideal), LMS the percentage of
    meaningful preferences (100 is the ideal, 50 is chance), ICAT = :func:`icat`. With
    ``targets`` (the ``target`` column) SS and LMS are computed per target term and averaged
    over terms, as Nadeem et al. do; without, they are pooled over examples.
    Returns ``{"ss", "lms", "icat", "n"}``. Introduced in chapter 9 (bias evaluation).
    """
    st = checks.finite_array(stereotype, "stereotype", ndim=1)
    an = checks.finite_array(anti_stereotype, "anti_stereotype", ndim=1)
    un = checks.finite_array(unrelated, "unrelated", ndim=1)
    if not st.shape == an.shape == un.shape:
        raise ValueError(
            f"stereotype, anti_stereotype and unrelated must be equally long (one score per "
            f"example), got {st.size}, {an.size} and {un.size}"
        )
    pro = (st > an).astype(float)
    related = ((st > un).astype(float) + (an > un).astype(float)) / 2.0
    if targets is None:
        ss, lms = 100.0 * pro.mean(), 100.0 * related.mean()
    else:
        t = np.asarray(targets)
        if len(t) != len(st):
            raise ValueError(f"targets must have one entry per example ({len(st)}), got {len(t)}")
        _, codes = np.unique(t if t.dtype.kind in "iu" else t.astype(str), return_inverse=True)
        n_term = np.bincount(codes)
        ss = 100.0 * float(np.mean(np.bincount(codes, weights=pro) / n_term))
        lms = 100.0 * float(np.mean(np.bincount(codes, weights=related) / n_term))
    return {"ss": float(ss), "lms": float(lms), "icat": icat(lms, ss), "n": int(st.size)}


# -- uncertainty -------------------------------------------------------------------------------


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: Sequence | np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic(*arrays)`` over the test items.

    Rows are resampled with replacement, jointly across ``arrays`` (so paired data, e.g. two
    models scored on the same items, stay paired and the interval of their difference is
    that of a paired comparison). Returns ``(low, high)``, the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the ``n_resamples`` bootstrap statistics. The
    interval reflects only the sampling of the items, not of the model's training run.
    Introduced in chapter 9 (bias evaluation).
    """
    if not arrays:
        raise ValueError("give at least one array to resample")
    data = [np.asarray(a) for a in arrays]
    if any(a.ndim == 0 for a in data):
        raise ValueError("arrays must be sequences (one entry per test item), not single values")
    n = len(data[0])
    if n == 0 or any(len(a) != n for a in data):
        raise ValueError(
            f"the arrays must be non-empty and equally long, got lengths {[len(a) for a in data]}"
        )
    n_resamples = checks.positive_int(n_resamples, "n_resamples")
    confidence = checks.finite_number(confidence, "confidence", low=0.0, low_open=True)
    if confidence >= 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence}")
    rng = np.random.default_rng(seed)
    stats = np.empty(n_resamples)
    for r in range(n_resamples):
        idx = rng.integers(0, n, n)
        stats[r] = statistic(*(a[idx] for a in data))
        if not math.isfinite(stats[r]):
            raise ValueError(
                f"statistic returned {stats[r]} on bootstrap resample {r}: the interval would be "
                "meaningless; check the arrays for NaN, or a statistic undefined on some resamples "
                "(e.g. the mean of an empty group)"
            )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


# -- counterfactual data augmentation ----------------------------------------------------------

#: Gendered English words as (male, female) pairs, lower case. The pronouns ``him``, ``his``
#: and ``her`` are handled by :func:`gender_swap` itself (``her`` maps to ``him`` or ``his``).
GENDER_PAIRS: tuple[tuple[str, str], ...] = (
    ("he", "she"), ("himself", "herself"),
    ("man", "woman"), ("men", "women"), ("boy", "girl"), ("boys", "girls"),
    ("male", "female"), ("males", "females"), ("masculine", "feminine"),
    ("gentleman", "lady"), ("gentlemen", "ladies"), ("guy", "gal"), ("guys", "gals"),
    ("father", "mother"), ("fathers", "mothers"), ("dad", "mom"), ("dads", "moms"),
    ("daddy", "mommy"), ("son", "daughter"), ("sons", "daughters"),
    ("brother", "sister"), ("brothers", "sisters"), ("husband", "wife"), ("husbands", "wives"),
    ("boyfriend", "girlfriend"), ("boyfriends", "girlfriends"), ("uncle", "aunt"),
    ("uncles", "aunts"), ("nephew", "niece"), ("nephews", "nieces"),
    ("grandfather", "grandmother"), ("grandfathers", "grandmothers"), ("grandpa", "grandma"),
    ("grandson", "granddaughter"), ("grandsons", "granddaughters"),
    ("stepfather", "stepmother"), ("stepson", "stepdaughter"), ("widower", "widow"),
    ("groom", "bride"), ("grooms", "brides"), ("fiance", "fiancee"),
    ("king", "queen"), ("kings", "queens"), ("prince", "princess"), ("princes", "princesses"),
    ("duke", "duchess"), ("emperor", "empress"),
    ("mr", "mrs"), ("sir", "madam"), ("monk", "nun"), ("monks", "nuns"),
    ("actor", "actress"), ("actors", "actresses"), ("hero", "heroine"), ("heroes", "heroines"),
    ("waiter", "waitress"), ("waiters", "waitresses"), ("host", "hostess"),
    ("businessman", "businesswoman"), ("businessmen", "businesswomen"),
    ("chairman", "chairwoman"), ("spokesman", "spokeswoman"), ("policeman", "policewoman"),
    ("policemen", "policewomen"), ("salesman", "saleswoman"), ("landlord", "landlady"),
    ("schoolboy", "schoolgirl"), ("schoolboys", "schoolgirls"), ("wizard", "witch"),
    ("fatherhood", "motherhood"), ("brotherhood", "sisterhood"), ("manhood", "womanhood"),
    ("paternal", "maternal"), ("patriarch", "matriarch"), ("masculinity", "femininity"),
)  # fmt: skip

#: Words after which ``her`` is an object (``saw her and``, ``gave her the``), so it becomes
#: ``him``; before other words it is a possessive (``her car``) and becomes ``his``.
_OBJECT_CONTEXT = frozenset(
    "a about after again all alone and anymore as at away back be because before but by down "
    "for from go here home how i if in into is it just like more never no not now of off on "
    "once or out over so than that the then there these they this those through to too up "
    "until very was we were what when where while who why will with would you".split()
)
#: A word: a maximal run of letters and digits (so *he's* holds the word *he*, *he2* none).
_WORD = re.compile(r"([^\W_]+)")
_PRONOUNS = frozenset({"her", "his", "him", "hers"})


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@functools.lru_cache(maxsize=8)
def _swap_table(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for male, female in pairs:
        table.setdefault(male.lower(), female.lower())
        table.setdefault(female.lower(), male.lower())
    for pronoun in _PRONOUNS:
        table.pop(pronoun, None)  # handled by gender_swap itself
    return table


def gender_swap(text: str, pairs: Sequence[tuple[str, str]] | None = None) -> str:
    """``text`` with every gendered word replaced by its counterpart: *he* <-> *she*, *man* <->
    *woman*, *actor* <-> *actress*, ... (``pairs``, default :data:`GENDER_PAIRS`).

    Whole words only (*hermit*, *manage*, *shepherd* stay), case kept (*He* -> *She*, *HIS* ->
    *HER*), punctuation and spacing untouched (*he's* -> *she's*). The pronouns are not
    one-to-one: *his* -> *her* (*hers* at the end of a clause), *him* -> *her*, *hers* -> *his*,
    and *her* -> *him* or *his*, decided by the next word: *him* before punctuation or a
    function word (*saw her and*), *his* before anything else, e.g. a noun (*her car*). That
    heuristic is sometimes wrong (*I told her stories*), and names are not swapped at all.
    Introduced in chapter 9 (bias evaluation).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {text!r} ({type(text).__name__})")
    table = _swap_table(GENDER_PAIRS if pairs is None else tuple(map(tuple, pairs)))
    parts = _WORD.split(text)  # [between, word, between, word, ..., between]
    for i in range(1, len(parts), 2):
        word = parts[i]
        lower = word.lower()
        if lower in table:
            parts[i] = _match_case(table[lower], word)
        elif lower in _PRONOUNS:
            after = parts[i + 1]  # what separates it from the next word (or the text's end)
            clause_end = i + 2 >= len(parts) or after.strip() != ""
            if lower == "her":
                nxt = "" if clause_end else parts[i + 2].lower()
                new = "him" if clause_end or nxt in _OBJECT_CONTEXT else "his"
            elif lower == "his":
                new = "hers" if clause_end else "her"
            else:
                new = "her" if lower == "him" else "his"
            parts[i] = _match_case(new, word)
    return "".join(parts)


def counterfactual_augment(
    docs: Sequence[str], swap: Callable[[str], str] = gender_swap
) -> list[str]:
    """Two-sided counterfactual data augmentation: every document followed by its swapped copy.

    Returns ``[d_1, swap(d_1), d_2, swap(d_2), ...]``: twice as many documents, in which every
    gendered context occurs once as written and once with the genders exchanged (Lu et al.
    2020; Webster et al. 2020 call this two-sided CDA). Documents without gendered words appear
    twice, so their share of the corpus does not change.
    Introduced in chapter 9 (bias evaluation).
    """
    docs = checks.texts(docs, "docs")
    out: list[str] = []
    for doc in docs:
        out.extend((doc, swap(doc)))
    return out


# -- downstream fairness -----------------------------------------------------------------------


def _binary(values: Sequence[int], name: str) -> np.ndarray:
    """``values`` as a 1-D int array of 0s and 1s; NaN, empty or other values raise."""
    arr = checks.finite_array(values, name, ndim=1)
    if not np.isin(arr, (0.0, 1.0)).all():
        bad = arr[~np.isin(arr, (0.0, 1.0))][0]
        raise ValueError(
            f"{name} must hold binary predictions or labels, 0 and 1, got {bad}: threshold "
            "scores first (e.g. (p >= 0.5).astype(int))"
        )
    return arr.astype(int)


def _groups(groups: Sequence[object], n: int, names: str) -> np.ndarray:
    """``groups`` as an array of ``n`` group labels without missing values."""
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n:
        raise ValueError(f"{names} and groups must be equally long, got {n} and {len(g)} entries")
    missing = pd.isna(g)
    if missing.any():
        raise ValueError(
            f"groups holds {int(missing.sum())} missing value(s) (None/NaN): drop those rows "
            "or give them a group of their own"
        )
    return g


def group_rates(
    y_true: Sequence[int], y_pred: Sequence[int], groups: Sequence[object]
) -> pd.DataFrame:
    """Per-group counts and rates of a binary classifier: ``n``, ``selection_rate`` (share
    predicted 1), ``tpr`` (true-positive rate), ``fpr`` (false-positive rate) and
    ``accuracy``, one row per group (sorted). A rate with no cases to count is NaN.
    ``fairlearn.metrics.MetricFrame`` computes the same; this is the dependency-free version
    used inside bootstrap loops. Introduced in chapter 9 (bias evaluation).
    """
    yt, yp = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    if len(yt) != len(yp):
        raise ValueError(f"y_true and y_pred must be equally long, got {len(yt)} and {len(yp)}")
    g = _groups(groups, len(yt), "y_true, y_pred")
    rows = {}
    for value in np.unique(g):
        m = g == value
        t, p = yt[m], yp[m]
        rows[value] = {
            "n": int(m.sum()),
            "selection_rate": float(p.mean()),
            "tpr": float(p[t == 1].mean()) if (t == 1).any() else float("nan"),
            "fpr": float(p[t == 0].mean()) if (t == 0).any() else float("nan"),
            "accuracy": float((p == t).mean()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def demographic_parity_difference(y_pred: Sequence[int], groups: Sequence[object]) -> float:
    """The largest difference in selection rate ``P(y_hat = 1 | group)`` between two groups.

    0 means every group is selected at the same rate (demographic parity). Equals
    ``fairlearn.metrics.demographic_parity_difference``.
    Introduced in chapter 9 (bias evaluation).
    """
    yp = _binary(y_pred, "y_pred")
    g = _groups(groups, len(yp), "y_pred")
    values = np.unique(g)
    if len(values) == 1:
        warnings.warn(
            f"groups holds one group only ({values.tolist()[0]!r}): there is no other group to compare "
            "with, so the difference is 0",
            UserWarning,
            stacklevel=2,
        )
    rates = [yp[g == value].mean() for value in values]
    return float(max(rates) - min(rates))


def equalized_odds_difference(
    y_true: Sequence[int], y_pred: Sequence[int], groups: Sequence[object]
) -> float:
    """The larger of the between-group differences in true-positive and false-positive rate.

    0 means the classifier's errors do not depend on the group given the true label (equalized
    odds, Hardt et al. 2016). Equals ``fairlearn.metrics.equalized_odds_difference``.
    Introduced in chapter 9 (bias evaluation).
    """
    rates = group_rates(y_true, y_pred, groups)
    tpr, fpr = rates["tpr"].to_numpy(), rates["fpr"].to_numpy()
    if np.isnan(tpr).all() or np.isnan(fpr).all():
        raise ValueError(
            "y_true holds one class only: the true-positive or false-positive rate is "
            "undefined in every group; evaluate on data with both labels"
        )
    return float(max(np.nanmax(tpr) - np.nanmin(tpr), np.nanmax(fpr) - np.nanmin(fpr)))


def reweighing_weights(y: Sequence[object], groups: Sequence[object]) -> np.ndarray:
    """Kamiran & Calders' (2012) reweighing: ``w(g, y) = P(g) P(y) / P(g, y)`` per example.

    Training with these sample weights makes the label statistically independent of the
    group in the weighted data (each group gets the overall label distribution), while each
    group keeps its total weight. Returns an array of ``len(y)`` positive weights with mean 1.
    Introduced in chapter 9 (bias evaluation).
    """
    yv = checks.labels(y, "y")
    g = _groups(groups, len(yv), "y")
    weights = np.empty(len(yv), dtype=np.float64)
    for gv in np.unique(g):
        for label in np.unique(yv):
            m = (g == gv) & (yv == label)
            if m.any():
                weights[m] = (g == gv).mean() * (yv == label).mean() / m.mean()
    return weights


__all__ = [
    "GENDER_PAIRS",
    "STEREOSET_CANDIDATES",
    "WEATResult",
    "association",
    "bootstrap_ci",
    "counterfactual_augment",
    "crows_pairs_metric",
    "crows_pairs_scores",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "gender_swap",
    "group_rates",
    "icat",
    "masked_log_probs",
    "reweighing_weights",
    "shared_token_positions",
    "stereoset_metrics",
    "stereoset_scores",
    "weat",
    "weat_effect_size",
    "weat_p_value",
]
