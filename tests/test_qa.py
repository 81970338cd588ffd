"""Tests of ptlib.qa on hand-checked cases (the rules of the official SQuAD v1.1 script)."""

from __future__ import annotations

import numpy as np
import pytest

from ptlib import qa


def test_normalize_answer_follows_the_official_order() -> None:
    assert qa.normalize_answer("The  Cat's hat!") == "cats hat"
    assert qa.normalize_answer("An apple a day") == "apple day"
    # articles are removed as whole words only, after punctuation: "the-end" -> "theend"
    assert qa.normalize_answer("theatre the-end") == "theatre theend"
    assert qa.normalize_answer("  ") == ""
    with pytest.raises(TypeError, match="text"):
        qa.normalize_answer(3)  # type: ignore[arg-type]


def test_exact_match_takes_the_best_reference() -> None:
    assert qa.exact_match("the Denver Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert qa.exact_match("Denver", ["Denver Broncos", "Broncos"]) == 0.0
    with pytest.raises(ValueError, match="ground_truths"):
        qa.exact_match("x", [])
    with pytest.raises(ValueError, match="ground_truths"):
        qa.exact_match("x", "x")


def test_f1_hand_computed() -> None:
    # 3 predicted tokens, 2 reference tokens, 2 shared: P = 2/3, R = 1, F1 = 0.8
    assert qa.f1_score("Denver Broncos team", ["Denver Broncos"]) == pytest.approx(0.8)
    # repeated tokens count once per occurrence in both: "x x y" vs "x y" shares 2 tokens
    assert qa.f1_score("x x y", ["x y"]) == pytest.approx(0.8)
    # the best reference wins; no overlap gives 0
    assert qa.f1_score("Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert qa.f1_score("Panthers", ["Denver Broncos"]) == 0.0
    # a prediction that normalises to nothing scores 0, not an error
    assert qa.f1_score("the", ["Denver"]) == 0.0


def test_squad_scores_are_percent_means() -> None:
    scores = qa.squad_scores(
        ["Denver Broncos", "Denver Broncos team", "Panthers"],
        [["Denver Broncos"], ["Denver Broncos"], ["Carolina"]],
    )
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 0.8 + 0) / 3)
    with pytest.raises(ValueError, match="length"):
        qa.squad_scores(["a"], [["a"], ["b"]])
    with pytest.raises(ValueError, match="predictions"):
        qa.squad_scores([], [])


# A window "[CLS] who ? [SEP] denver won the game [SEP]" over the context "Denver won the game".
OFFSETS = [None, None, None, None, (0, 6), (7, 10), (11, 14), (15, 19), None]


def test_best_span_ignores_question_tokens_and_maps_to_characters() -> None:
    start = np.array([9.0, 8.0, 0, 0, 5.0, 1.0, 0, 0, 0])  # question tokens score higher
    end = np.array([9.0, 0, 8.0, 0, 4.0, 1.0, 0, 0, 0])
    span = qa.best_span(start, end, OFFSETS)
    assert span is not None
    assert (span.start, span.end, span.score) == (0, 6, 9.0)
    assert "Denver won the game"[span.start : span.end] == "Denver"


def test_best_span_needs_end_after_start_and_respects_the_length_limit() -> None:
    start = np.array([0, 0, 0, 0, 0, 0, 0, 5.0, 0])  # best start: "game"
    end = np.array([0, 0, 0, 0, 4.0, 0, 3.0, 1.0, 0])  # best end "denver" comes before it
    span = qa.best_span(start, end, OFFSETS)
    assert span is not None and (span.start, span.end) == (15, 19)  # "game" alone, 5 + 1
    start = np.array([0, 0, 0, 0, 5.0, 0, 0, 0, 0])
    end = np.array([0, 0, 0, 0, 0, 0, 0, 5.0, 0])
    long = qa.best_span(start, end, OFFSETS)
    assert long is not None and (long.start, long.end) == (0, 19)  # 4 tokens
    short = qa.best_span(start, end, OFFSETS, qa.SpanConfig(max_answer_tokens=2))
    assert short is not None and short.score == 5.0 and short.end - short.start <= 10


def test_best_span_rejects_bad_input() -> None:
    assert qa.best_span(np.zeros(2), np.zeros(2), [None, None]) is None
    with pytest.raises(ValueError, match="offsets"):
        qa.best_span(np.zeros(3), np.zeros(3), OFFSETS)
    with pytest.raises(ValueError, match="NaN"):
        qa.best_span(np.full(9, np.nan), np.zeros(9), OFFSETS)
    with pytest.raises(ValueError, match="one length"):
        qa.best_span(np.zeros(9), np.zeros(8), OFFSETS)


def test_answer_token_span_inside_and_outside_the_window() -> None:
    assert qa.answer_token_span(OFFSETS, 7, 14) == (5, 6)  # "won the"
    assert qa.answer_token_span(OFFSETS, 8, 12) == (5, 6)  # a span inside tokens widens to them
    window = [None, (20, 25), (26, 30), None]  # a later window of a longer context
    assert qa.answer_token_span(window, 7, 14) is None
    assert qa.answer_token_span(window, 22, 31) is None  # cut by the window's edge
    with pytest.raises(ValueError, match="char_start"):
        qa.answer_token_span(OFFSETS, 5, 5)
