"""Extractive question answering: windows over long contexts, answer spans, and SQuAD scoring.

An extractive reader scores every token of a (question, context) window as the start and as the
end of the answer; the answer is the best-scoring valid span, mapped back to characters of the
context through the tokenizer's offsets. SQuAD v1.1 scores a predicted string against the
reference answers with exact match and token F1 after the official normalisation
(lower case, no punctuation, no articles, single spaces) {cite:p}`rajpurkar2016squad`.
Introduced in chapter 6 (NLP applications).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ptlib import checks

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD v1.1 normalisation: lower case, remove punctuation, remove the articles
    "a", "an" and "the", and collapse white space (in that order, as ``evaluate-v1.1.py`` does).

    Introduced in chapter 6 (NLP applications).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _check_answers(prediction: str, ground_truths: Sequence[str]) -> None:
    if not isinstance(prediction, str):
        raise TypeError(
            f"prediction must be a string (the predicted answer; '' for none), got "
            f"{prediction!r} ({type(prediction).__name__})"
        )
    if isinstance(ground_truths, str) or len(ground_truths) == 0:
        raise ValueError(
            "ground_truths must be a non-empty list of reference answers (wrap a single answer "
            "in a list)"
        )
    checks.texts(ground_truths, "ground_truths")


def exact_match(prediction: str, ground_truths: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised reference answer, else 0.0.

    Introduced in chapter 6 (NLP applications).
    """
    _check_answers(prediction, ground_truths)
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(t) for t in ground_truths))


def _token_f1(prediction: str, truth: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    truth_tokens = normalize_answer(truth).split()
    common = Counter(pred_tokens) & Counter(truth_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, ground_truths: Sequence[str]) -> float:
    """The best token-overlap F1 between the normalised prediction and any reference answer
    (bag of words: precision = shared tokens / predicted tokens, recall = shared / reference).

    Introduced in chapter 6 (NLP applications).
    """
    _check_answers(prediction, ground_truths)
    return max(_token_f1(prediction, t) for t in ground_truths)


def squad_scores(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Exact match and F1 averaged over questions, in percent, as the official script reports
    them: ``{"exact_match": ..., "f1": ...}``. ``references[i]`` lists question ``i``'s answers.

    Introduced in chapter 6 (NLP applications).
    """
    if isinstance(predictions, str) or len(predictions) == 0:
        raise ValueError("predictions must be a non-empty list of strings")
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length: {len(predictions)} vs {len(references)}"
        )
    checks.texts(predictions, "predictions")
    em = [exact_match(p, r) for p, r in zip(predictions, references, strict=True)]
    f1 = [f1_score(p, r) for p, r in zip(predictions, references, strict=True)]
    return {"exact_match": 100.0 * float(np.mean(em)), "f1": 100.0 * float(np.mean(f1))}


@dataclass(frozen=True)
class SpanConfig:
    """Limits of answer-span decoding: the longest answer in tokens, and how many of the best
    start and end positions are combined. Introduced in chapter 6 (NLP applications).
    """

    max_answer_tokens: int = 30
    top_k: int = 20


@dataclass(frozen=True)
class Span:
    """An answer span in characters of the context, ``context[start:end]``, and its score (start
    logit + end logit). Introduced in chapter 6 (NLP applications).
    """

    start: int
    end: int
    score: float


def best_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: Sequence[tuple[int, int] | None],
    config: SpanConfig = SpanConfig(),
) -> Span | None:
    """The best valid answer span of one window: maximise ``start_logits[s] + end_logits[e]``
    over ``s <= e < s + max_answer_tokens``, where both tokens belong to the context
    (``offsets[i]`` is the ``(start, end)`` character range of token ``i`` in the context, or
    ``None`` for question, special and padding tokens). Only the ``top_k`` best starts and ends
    are combined, as in the usual SQuAD post-processing. Returns ``None`` if the window has no
    context token. Introduced in chapter 6 (NLP applications).
    """
    start_logits = np.asarray(start_logits, dtype=np.float64)
    end_logits = np.asarray(end_logits, dtype=np.float64)
    if start_logits.ndim != 1 or start_logits.shape != end_logits.shape:
        raise ValueError("start_logits and end_logits must be 1-D arrays of one length")
    if len(offsets) != len(start_logits):
        raise ValueError(f"offsets has {len(offsets)} entries for {len(start_logits)} tokens")
    if np.isnan(start_logits).any() or np.isnan(end_logits).any():
        raise ValueError("start_logits and end_logits must not contain NaN")
    checks.positive_int(config.max_answer_tokens, "config.max_answer_tokens")
    checks.positive_int(config.top_k, "config.top_k")
    if np.isposinf(start_logits).any() or np.isposinf(end_logits).any():
        raise ValueError("start_logits and end_logits must not contain +inf (a diverged model?)")
    valid = np.array([o is not None for o in offsets])
    if not valid.any():
        return None
    masked_start = np.where(valid, start_logits, -np.inf)
    masked_end = np.where(valid, end_logits, -np.inf)
    starts = np.argsort(-masked_start, kind="stable")[: config.top_k]
    ends = np.argsort(-masked_end, kind="stable")[: config.top_k]
    best: Span | None = None
    for s in starts:
        for e in ends:
            if not (valid[s] and valid[e]) or e < s or e - s + 1 > config.max_answer_tokens:
                continue
            score = float(start_logits[s] + end_logits[e])
            if best is None or score > best.score:
                best = Span(int(offsets[s][0]), int(offsets[e][1]), score)
    return best


def answer_token_span(
    offsets: Sequence[tuple[int, int] | None], char_start: int, char_end: int
) -> tuple[int, int] | None:
    """The first and last token of a window that cover the answer ``context[char_start:char_end]``
    (``offsets`` as in :func:`best_span`), or ``None`` if the answer is not wholly inside the
    window's context tokens (the window is then trained to point at ``[CLS]``).

    Introduced in chapter 6 (NLP applications).
    """
    checks.positive_int(char_start, "char_start", minimum=0)
    checks.positive_int(char_end, "char_end", minimum=0)
    if char_end <= char_start:
        raise ValueError(f"need 0 <= char_start < char_end, got {char_start}, {char_end}")
    inside = [i for i, o in enumerate(offsets) if o is not None]
    if not inside or offsets[inside[0]][0] > char_start or offsets[inside[-1]][1] < char_end:
        return None
    first = next(i for i in inside if offsets[i][1] > char_start)
    last = next(i for i in reversed(inside) if offsets[i][0] < char_end)
    return first, last
