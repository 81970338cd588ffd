"""Tests of ptlib.bias (chapter 9): every metric against a naive reference or a hand-made case
whose answer is known, and the ``docs`` option of ptlib.mlm's pre-training."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from transformers import BertForMaskedLM

from ptlib import bias, mlm

# -- WEAT / SEAT ----------------------------------------------------------------------------------


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _s_naive(w, A, B) -> float:
    return sum(_cos(w, a) for a in A) / len(A) - sum(_cos(w, b) for b in B) / len(B)


def _sets(seed: int, nx: int = 6, ny: int = 5, na: int = 4, nb: int = 7, dim: int = 10):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=(n, dim)) for n in (nx, ny, na, nb))


def test_association_and_effect_size_match_the_loop_formulas():
    X, Y, A, B = _sets(0)
    assert np.allclose(bias.association(X, A, B), [_s_naive(x, A, B) for x in X])
    sx, sy = [_s_naive(x, A, B) for x in X], [_s_naive(y, A, B) for y in Y]
    d_naive = (np.mean(sx) - np.mean(sy)) / np.std(sx + sy, ddof=1)
    assert bias.weat_effect_size(X, Y, A, B) == pytest.approx(d_naive, abs=1e-12)


def test_effect_size_is_antisymmetric_and_ignores_vector_length():
    X, Y, A, B = _sets(1)
    d = bias.weat_effect_size(X, Y, A, B)
    assert bias.weat_effect_size(Y, X, A, B) == pytest.approx(-d)
    assert bias.weat_effect_size(X, Y, B, A) == pytest.approx(-d)
    scaled = bias.weat_effect_size(3.0 * X, Y * np.arange(1, 6)[:, None], A, 0.5 * B)
    assert scaled == pytest.approx(d)


def test_effect_size_of_clearly_separated_sets_is_large_and_positive():
    A, B = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    X = np.array([[1.0, 0.05], [1.0, 0.1], [1.0, 0.0]])
    Y = np.array([[0.05, 1.0], [0.1, 1.0], [0.0, 1.0]])
    assert bias.weat_effect_size(X, Y, A, B) > 1.5


def test_permutation_p_value_is_exact_on_a_tiny_case():
    # s(x) > 0 for both x, s(y) < 0 for both y: of the C(4, 2) = 6 splits only the observed one
    # reaches the observed statistic, so p = 1/6 exactly.
    A, B = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    X = np.array([[1.0, 0.0], [1.0, 0.1]])
    Y = np.array([[0.0, 1.0], [0.2, 1.0]])
    result = bias.weat(X, Y, A, B)
    assert result.exact
    assert result.p_value == pytest.approx(1 / 6, abs=1e-15)
    # The other direction: every split reaches a statistic at least as large, so p = 1.
    assert bias.weat_p_value(Y, X, A, B) == (1.0, True)


def test_permutation_p_value_matches_brute_force_and_monte_carlo_agrees():
    X, Y, A, B = _sets(2, nx=7, ny=7, na=5, nb=5)
    s = [_s_naive(w, A, B) for w in np.vstack([X, Y])]
    observed = sum(s[:7]) - sum(s[7:])
    splits = list(itertools.combinations(range(14), 7))
    stats = [2 * sum(s[i] for i in split) - sum(s) for split in splits]
    p_brute = np.mean([t >= observed - 1e-12 for t in stats])
    p_exact, exact = bias.weat_p_value(X, Y, A, B, n_permutations=math.comb(14, 7))
    assert exact and p_exact == pytest.approx(p_brute, abs=1e-15)
    p_mc, exact_mc = bias.weat_p_value(X, Y, A, B, n_permutations=3000, seed=0)
    assert not exact_mc and abs(p_mc - p_exact) < 0.03
    assert bias.weat_p_value(X, Y, A, B, n_permutations=3000, seed=0)[0] == p_mc  # seeded


def test_weat_rejects_degenerate_input():
    A, B = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    same = np.array([[1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="undefined"):
        bias.weat_effect_size(same, same, A, B)
    with pytest.raises(ValueError, match="zero vector"):
        bias.association(np.zeros((1, 2)), A, B)


# -- a fake tokenizer and masked LM whose log-probabilities the tests control ---------------------

WORDS = ["the", "man", "woman", "is", "nice", "doctor", "very", "good", "fox", "here", "red"]
CLS, SEP, MASK, PAD = 0, 1, 2, 3
VOCAB = {w: i + 4 for i, w in enumerate(WORDS)}
V = len(VOCAB) + 4


class FakeTokenizer:
    """Whitespace tokenizer: one id per word; BERT's special ids."""

    cls_token_id, sep_token_id, mask_token_id, pad_token_id = CLS, SEP, MASK, PAD

    def __call__(self, texts, add_special_tokens=True):
        ids = [[VOCAB[w] for w in t.split()] for t in texts]
        if add_special_tokens:
            ids = [[CLS, *r, SEP] for r in ids]
        return {"input_ids": ids}


class FakeMLM(nn.Module):
    """Logits do not depend on the position; they are ``table_trigger`` in a row that holds the
    token ``trigger`` (among its attended tokens) and ``table`` otherwise. Records every row."""

    def __init__(self, table, table_trigger, trigger: int, one_mask: bool = True):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.table = torch.as_tensor(table, dtype=torch.float32)
        self.table_trigger = torch.as_tensor(table_trigger, dtype=torch.float32)
        self.trigger, self.one_mask, self.rows = trigger, one_mask, []

    def forward(self, input_ids, attention_mask):
        out = []
        for ids, att in zip(input_ids, attention_mask, strict=True):
            real = ids[att.bool()].tolist()
            self.rows.append(real)
            if self.one_mask:
                assert real.count(MASK) == 1, "exactly one token is masked per row"
            t = self.table_trigger if self.trigger in real else self.table
            out.append(t.expand(len(ids), V))
        return SimpleNamespace(logits=torch.stack(out))


def _log_softmax(t) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    return t - np.log(np.exp(t).sum())


def test_masked_log_probs_reads_the_target_at_the_position_with_padding():
    rng = np.random.default_rng(0)
    table, table2 = rng.normal(size=V), rng.normal(size=V)
    model = FakeMLM(table, table2, trigger=VOCAB["woman"])
    rows = [
        [CLS, MASK, VOCAB["is"], SEP],
        [CLS, VOCAB["woman"], MASK, VOCAB["nice"], VOCAB["is"], SEP],
    ]
    out = bias.masked_log_probs(model, rows, [1, 2], [VOCAB["man"], VOCAB["is"]], PAD, batch_size=2)
    assert out == pytest.approx(
        [_log_softmax(table)[VOCAB["man"]], _log_softmax(table2)[VOCAB["is"]]], abs=1e-5
    )
    with pytest.raises(ValueError, match="same length"):
        bias.masked_log_probs(model, rows, [1], [4, 5])


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_masked_log_probs_of_a_bert_equal_the_full_forward_pass(layers: int):
    # The fast path runs the last layer at the read positions only; it must equal the logits
    # of the library's full forward pass, with padding in the batch.
    torch.manual_seed(layers)
    config = mlm.tiny_bert_config(60, "xs", num_hidden_layers=layers)
    model = BertForMaskedLM(config).eval()
    gen = np.random.default_rng(layers)
    rows, positions, targets = [], [], []
    for n in (5, 9, 12, 7, 3):
        row = [CLS, *gen.integers(5, 60, n - 2).tolist(), SEP]
        p = int(gen.integers(1, n - 1))
        targets.append(row[p])
        row[p] = MASK
        rows.append(row)
        positions.append(p)
    fast = bias.masked_log_probs(model, rows, positions, targets, PAD, batch_size=3)
    with torch.no_grad():
        full = [
            torch.log_softmax(model(input_ids=torch.tensor([r])).logits[0, p], dim=-1)[t].item()
            for r, p, t in zip(rows, positions, targets, strict=True)
        ]
    assert fast == pytest.approx(full, abs=1e-5)
    assert len(model.bert.encoder.layer) == layers  # the model is left as it was


def test_shared_token_positions_align_substitutions_and_insertions():
    assert bias.shared_token_positions([1, 2, 3, 4], [1, 5, 3, 4]) == ([0, 2, 3], [0, 2, 3])
    assert bias.shared_token_positions([1, 2, 3], [1, 9, 9, 2, 3]) == ([0, 1, 2], [0, 3, 4])
    assert bias.shared_token_positions([1, 2], [3, 4]) == ([], [])


def test_crows_pairs_scores_sum_log_probs_of_the_shared_tokens_only():
    rng = np.random.default_rng(1)
    table, table2 = rng.normal(size=V), rng.normal(size=V)
    model = FakeMLM(table, table2, trigger=VOCAB["woman"])
    more = ["the woman is nice", "the woman is very nice"]
    less = ["the man is nice", "the man is nice"]  # the second pair differs in length too
    scores = bias.crows_pairs_scores(model, FakeTokenizer(), more, less, progress=False)
    lp, lp2 = _log_softmax(table), _log_softmax(table2)
    shared = [VOCAB[w] for w in ("the", "is", "nice")]
    assert scores["n_shared"].tolist() == [3, 3]
    assert scores["score_more"].to_numpy() == pytest.approx([lp2[shared].sum()] * 2, abs=1e-5)
    assert scores["score_less"].to_numpy() == pytest.approx([lp[shared].sum()] * 2, abs=1e-5)
    # every scored row masks a shared token, never the modified words or [CLS]/[SEP]
    masked_out = {tuple(r) for r in model.rows}
    assert all(r[0] == CLS and r[-1] == SEP for r in masked_out)
    assert len(model.rows) == 12


def test_crows_pairs_metric_counts_preferences_and_ties():
    # The trigger makes the shared tokens more likely: sent_more (with it) wins.
    table = np.zeros(V)
    boost = np.zeros(V)
    boost[[VOCAB["the"], VOCAB["is"], VOCAB["nice"]]] = 2.0
    tok = FakeTokenizer()
    model = FakeMLM(table, boost, trigger=VOCAB["woman"])
    s = bias.crows_pairs_scores(
        model,
        tok,
        ["the woman is nice", "the man is nice"],
        ["the man is nice", "the woman is nice"],
        progress=False,
    )
    assert bias.crows_pairs_metric(s["score_more"], s["score_less"]) == 50.0
    assert s["score_more"][0] > s["score_less"][0] and s["score_more"][1] < s["score_less"][1]
    # A model that ignores the context ties every pair: no pair counts as preferred.
    flat = FakeMLM(table, table, trigger=VOCAB["woman"])
    t = bias.crows_pairs_scores(
        flat, tok, ["the woman is nice"], ["the man is nice"], progress=False
    )
    assert bias.crows_pairs_metric(t["score_more"], t["score_less"]) == 0.0
    assert bias.crows_pairs_metric([3.0, 1.0, 2.0, 0.0], [1.0, 2.0, 1.0, -1.0]) == 75.0
    with pytest.raises(ValueError):
        bias.crows_pairs_metric([], [])


def test_stereoset_scores_fill_word_pieces_left_to_right_and_average_probabilities():
    rng = np.random.default_rng(2)
    table = rng.normal(size=V)
    model = FakeMLM(table, table, trigger=-1)
    examples = pd.DataFrame(
        {
            "context": ["the BLANK is here"],
            "stereotype": ["very good"],  # two pieces
            "anti_stereotype": ["red"],
            "unrelated": ["fox"],
        }
    )
    scores = bias.stereoset_scores(model, FakeTokenizer(), examples, progress=False)
    p = np.exp(_log_softmax(table))
    assert scores.loc[0, "stereotype"] == pytest.approx((p[VOCAB["very"]] + p[VOCAB["good"]]) / 2)
    assert scores.loc[0, "anti_stereotype"] == pytest.approx(p[VOCAB["red"]])
    assert scores.loc[0, "unrelated"] == pytest.approx(p[VOCAB["fox"]])
    the, here, is_ = VOCAB["the"], VOCAB["here"], VOCAB["is"]
    assert [CLS, the, MASK, is_, here, SEP] in model.rows  # first piece: a [MASK], later absent
    assert [CLS, the, VOCAB["very"], MASK, is_, here, SEP] in model.rows  # second: first in place
    with pytest.raises(ValueError, match="BLANK"):
        bias.stereoset_scores(model, FakeTokenizer(), examples.assign(context="no blank"))


def test_stereoset_metrics_on_hand_made_scores():
    st = [0.9, 0.8, 0.1, 0.7]
    an = [0.5, 0.9, 0.2, 0.3]
    un = [0.6, 0.1, 0.3, 0.9]
    m = bias.stereoset_metrics(st, an, un)
    # stereotype beats anti-stereotype in examples 0 and 3: SS = 50
    # meaningful beats unrelated: (1 + 0)/2, (1 + 1)/2, (0 + 0)/2, (0 + 0)/2 -> LMS = 37.5
    assert m == {"ss": 50.0, "lms": 37.5, "icat": 37.5, "n": 4}
    # per target, as Nadeem et al.: target a = examples 0-2 (SS 1/3, LMS 1/2), b = example 3
    by = bias.stereoset_metrics(st, an, un, targets=["a", "a", "a", "b"])
    assert by["ss"] == pytest.approx(100 * (1 / 3 + 1) / 2)
    assert by["lms"] == pytest.approx(100 * (0.5 + 0.0) / 2)
    coded = bias.stereoset_metrics(st, an, un, targets=np.array([0, 0, 0, 1]))
    assert coded == by
    # ties go to the anti-stereotype, as in the reference code
    assert bias.stereoset_metrics([1.0], [1.0], [0.0])["ss"] == 0.0


def test_icat_values():
    assert bias.icat(100, 50) == 100
    assert bias.icat(50, 50) == 50
    assert bias.icat(100, 100) == 0 and bias.icat(100, 0) == 0
    assert bias.icat(80, 30) == pytest.approx(48)
    assert bias.icat(80, 70) == pytest.approx(48)


# -- bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_ci_covers_the_mean_and_has_the_normal_width():
    x = np.random.default_rng(3).normal(10.0, 2.0, size=2000)
    lo, hi = bias.bootstrap_ci(np.mean, x, n_resamples=2000, seed=0)
    assert lo < x.mean() < hi
    se = x.std(ddof=1) / np.sqrt(len(x))
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bias.bootstrap_ci(np.mean, x, n_resamples=200, seed=5) == bias.bootstrap_ci(
        np.mean, x, n_resamples=200, seed=5
    )


def test_bootstrap_keeps_paired_arrays_paired():
    a = np.random.default_rng(4).normal(size=300)
    lo, hi = bias.bootstrap_ci(lambda u, v: float(np.mean(v - u)), a, a + 1.0, n_resamples=100)
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    assert bias.bootstrap_ci(np.mean, np.full(50, 7.0), n_resamples=50) == (7.0, 7.0)
    with pytest.raises(ValueError):
        bias.bootstrap_ci(np.mean, a, a[:-1])
    with pytest.raises(ValueError):
        bias.bootstrap_ci(np.mean, a, confidence=1.5)


# -- counterfactual data augmentation ----------------------------------------------------------


def test_gender_swap_words_case_and_word_boundaries():
    assert bias.gender_swap("He is an actor.") == "She is an actress."
    assert bias.gender_swap("SHE said: 'My Father, his brother and Mr. Smith.'") == (
        "HE said: 'My Mother, her sister and Mrs. Smith.'"
    )
    assert bias.gender_swap("he's the man's brother") == "she's the woman's sister"
    # whole words only
    for text in ("the hermit manages a shepherd's heritage", "mankind, sheep, therapy, ahead"):
        assert bias.gender_swap(text) == text
    assert bias.gender_swap("") == ""


def test_gender_swap_pronoun_heuristic():
    assert bias.gender_swap("I saw her.") == "I saw him."
    assert bias.gender_swap("I gave her the keys") == "I gave him the keys"
    assert bias.gender_swap("her car is red") == "his car is red"
    assert bias.gender_swap("the book is his.") == "the book is hers."
    assert bias.gender_swap("his book; told him; it is hers") == "her book; told her; it is his"


def test_gender_swap_round_trips_unambiguous_text_and_accepts_custom_pairs():
    texts = [
        "He told his sister that the actress was a better actor than her husband.",
        "The king and queen met the boys, the girls, their uncles and aunts.",
        "She thanked him. Her mother and his father were there.",
    ]
    for t in texts:
        swapped = bias.gender_swap(t)
        assert swapped != t
        assert bias.gender_swap(swapped) == t
    assert bias.gender_swap("the cat and the dog", pairs=[("cat", "dog")]) == "the dog and the cat"


def test_counterfactual_augment_is_two_sided_and_interleaved():
    docs = ["he runs", "a quiet film"]
    assert bias.counterfactual_augment(docs) == [
        "he runs",
        "she runs",
        "a quiet film",
        "a quiet film",
    ]
    assert bias.counterfactual_augment(docs, swap=str.upper)[1] == "HE RUNS"
    with pytest.raises(TypeError):
        bias.counterfactual_augment("he runs")


# -- downstream fairness -----------------------------------------------------------------------


def _fair_data(seed: int = 5, n: int = 400):
    rng = np.random.default_rng(seed)
    g = rng.choice(["f", "m", "x"], size=n, p=[0.3, 0.6, 0.1])
    y = (rng.random(n) < np.where(g == "m", 0.4, 0.2)).astype(int)
    yp = np.where(rng.random(n) < 0.8, y, 1 - y)
    return y, yp, g


def test_group_rates_on_a_hand_made_case():
    y = [1, 1, 0, 0, 1, 0]
    yp = [1, 0, 1, 0, 1, 1]
    g = ["a", "a", "a", "a", "b", "b"]
    r = bias.group_rates(y, yp, g)
    assert r.loc["a"].to_dict() == {
        "n": 4,
        "selection_rate": 0.5,
        "tpr": 0.5,
        "fpr": 0.5,
        "accuracy": 0.5,
    }
    assert r.loc["b", "selection_rate"] == 1.0 and r.loc["b", "fpr"] == 1.0
    assert bias.demographic_parity_difference(yp, g) == 0.5
    assert bias.equalized_odds_difference(y, yp, g) == 0.5


def test_fairness_metrics_accept_every_form_of_binary_labels():
    """The checks of issue 17 take what the notebooks pass: ints, floats 0./1. (a threshold
    optimizer's output), bools, pandas Series, integer groups; the numbers do not change."""
    y, yp, g = [1, 1, 0, 0, 1, 0], [1, 0, 1, 0, 1, 1], ["a", "a", "a", "a", "b", "b"]
    forms = (
        np.array(yp, dtype=float),
        np.array(yp, dtype=bool),
        pd.Series(yp),
        torch.tensor(yp),
    )
    for form in forms:
        assert bias.demographic_parity_difference(form, g) == 0.5
        assert bias.equalized_odds_difference(np.array(y, dtype=float), form, g) == 0.5
    assert bias.demographic_parity_difference(yp, [0, 0, 0, 0, 1, 1]) == 0.5


def test_fairness_differences_equal_fairlearn():
    fm = pytest.importorskip("fairlearn.metrics")
    y, yp, g = _fair_data()
    assert bias.demographic_parity_difference(yp, g) == pytest.approx(
        fm.demographic_parity_difference(y, yp, sensitive_features=g)
    )
    assert bias.equalized_odds_difference(y, yp, g) == pytest.approx(
        fm.equalized_odds_difference(y, yp, sensitive_features=g)
    )
    frame = fm.MetricFrame(
        metrics={"selection_rate": fm.selection_rate, "tpr": fm.true_positive_rate},
        y_true=y,
        y_pred=yp,
        sensitive_features=g,
    )
    ours = bias.group_rates(y, yp, g)
    assert np.allclose(ours["selection_rate"], frame.by_group["selection_rate"])
    assert np.allclose(ours["tpr"], frame.by_group["tpr"])


def test_reweighing_makes_the_label_independent_of_the_group():
    y, _, g = _fair_data(6, 1000)
    w = bias.reweighing_weights(y, g)
    assert w.mean() == pytest.approx(1.0) and (w > 0).all()
    for value in np.unique(g):
        m = g == value
        assert np.average(y[m], weights=w[m]) == pytest.approx(y.mean())  # same weighted base rate
        assert w[m].sum() == pytest.approx(m.sum())  # each group keeps its total weight
    # hand case: group a has labels [1, 1, 0], group b [0]: P(a)=3/4, P(y=1)=1/2, P(a, 1)=1/2
    w = bias.reweighing_weights([1, 1, 0, 0], ["a", "a", "a", "b"])
    assert w == pytest.approx([0.75, 0.75, 1.5, 0.5])


# -- the docs option of ptlib.mlm's pre-training ----------------------------------------

DOCS = [
    "the film was wonderful and the actors were wonderful too",
    "a terrible movie with a thin plot and worse acting",
] * 20


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _quick_recipe() -> mlm.MLMRecipe:
    return replace(
        mlm.MLM_RECIPES["cpu"], vocab_size=120, seq_len=16, short_seq_len=8,
        tokens_per_batch=64, max_seconds=None, max_steps=2,
    )  # fmt: skip


def test_mlm_corpus_ids_encodes_given_docs_instead_of_the_corpus(monkeypatch):
    from ptlib import data, text

    def no_corpus(*args, **kwargs):
        raise AssertionError("the corpus must not be read when docs are given")

    tok = text.train_wordpiece(DOCS, 120)
    monkeypatch.setattr(data, "load_corpus", no_corpus)
    ids = mlm.mlm_corpus_ids(_quick_recipe(), tok, docs=DOCS[:2])
    assert ids == text.encode_corpus(DOCS[:2], tok)


def test_pretrain_mlm_on_given_docs_equals_the_default_path_on_the_same_corpus(
    monkeypatch, one_thread
):
    from ptlib import data, text

    # The WordPiece trainer breaks ties in hash order on a tiny corpus, so both runs share one
    # tokenizer here; what is compared is which documents each path uses, and the training.
    tokenizer = text.train_wordpiece(DOCS, 120)
    seen: list[list[str]] = []

    def train_wordpiece(docs, vocab_size, **kwargs):
        seen.append(list(docs))
        return tokenizer

    monkeypatch.setattr(text, "train_wordpiece", train_wordpiece)
    monkeypatch.setattr(data, "load_corpus", lambda name, split=None: list(DOCS))
    recipe = _quick_recipe()
    _, m1, h1 = mlm.pretrain_mlm(recipe, device="cpu", progress=False)
    monkeypatch.setattr(data, "load_corpus", lambda *a, **k: pytest.fail("corpus read"))
    _, m2, h2 = mlm.pretrain_mlm(recipe, device="cpu", progress=False, docs=DOCS)
    assert seen == [DOCS, DOCS]
    assert int(h1["step"].iloc[-1]) == int(h2["step"].iloc[-1]) == 2
    for (name, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.allclose(a, b), name
    # other documents: they reach the tokenizer trainer, and the model trains on other rows
    other = ["a terrible film and worse actors with a thin plot"] * 40
    _, m3, _ = mlm.pretrain_mlm(recipe, device="cpu", progress=False, docs=other)
    assert seen[-1] == other
    changed = [not torch.equal(a, b) for a, b in zip(m1.parameters(), m3.parameters(), strict=True)]
    assert any(changed)
