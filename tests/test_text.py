"""Tests of ptlib.text: the WordPiece tokenizer, packing, BERT's 80/10/10 masking (checked
statistically and against Transformers' DataCollatorForLanguageModeling), and MLM batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, DataCollatorForLanguageModeling

from ptlib import text

CORPUS = [
    "The film was wonderful, and the actors were wonderful too.",
    "A terrible movie: the plot was thin and the acting was worse.",
    "I watched this movie twice; the second time it was even better.",
    "Nothing happens for two hours, and then the credits roll.",
    "The director's earlier films were better than this one.",
] * 40


@pytest.fixture(scope="module")
def tokenizer():
    return text.train_wordpiece(CORPUS, vocab_size=120, min_frequency=1)


def test_wordpiece_has_bert_special_tokens_first(tokenizer) -> None:
    ids = [tokenizer.convert_tokens_to_ids(t) for t in text.SPECIAL_TOKENS]
    assert ids == [0, 1, 2, 3, 4]
    assert tokenizer.pad_token_id == 0 and tokenizer.mask_token_id == 4
    assert len(tokenizer) <= 120


def test_wordpiece_lowercases_splits_and_wraps(tokenizer) -> None:
    enc = tokenizer("The FILM was wonderful.")
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert "film" in tokens and "." in tokens  # lower-cased; punctuation split off
    # with 120 entries the vocabulary holds frequent words whole and splits rarer ones into
    # known pieces, continuations marked ##; joined, the pieces spell the word
    splits = {w: tokenizer.tokenize(w) for w in "director earlier credits happens".split()}
    assert any(len(pieces) > 1 for pieces in splits.values()), splits
    for word, pieces in splits.items():
        assert not pieces[0].startswith("##") and all(p.startswith("##") for p in pieces[1:])
        assert "".join(p.removeprefix("##") for p in pieces) == word
    assert tokenizer.decode(tokenizer("the film")["input_ids"], skip_special_tokens=True) == (
        "the film"
    )


def test_wordpiece_round_trips_through_save_pretrained(tokenizer, tmp_path: Path) -> None:
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    sentence = "The second film was worse than the first."
    assert loaded(sentence)["input_ids"] == tokenizer(sentence)["input_ids"]
    assert loaded.mask_token == "[MASK]"


def test_encode_corpus_matches_the_tokenizer(tokenizer) -> None:
    ids = text.encode_corpus(CORPUS[:7], tokenizer, batch_size=3)
    assert ids == tokenizer(CORPUS[:7], add_special_tokens=False)["input_ids"]
    # an earlier call with truncation must not cut the documents
    tokenizer(CORPUS[:2], truncation=True, max_length=4, padding="max_length")
    long = " ".join(CORPUS[:20])
    assert len(text.encode_corpus([long], tokenizer)[0]) > 100
    with pytest.raises(TypeError):
        text.encode_corpus("one string", tokenizer)


def test_pack_sequences_fills_rows_with_cls_and_sep() -> None:
    docs = [[10, 11, 12], [], [13, 14], [15, 16, 17, 18, 19]]
    rows = text.pack_sequences(docs, seq_len=5, cls_id=2, sep_id=3)
    # stream: 10 11 12 SEP 13 14 SEP 15 16 17 18 19 SEP -> 13 tokens, 3 per row -> 4 rows
    assert rows.shape == (4, 5)
    assert (rows[:, 0] == 2).all() and (rows[:, -1] == 3).all()
    assert rows[:, 1:-1].reshape(-1).tolist() == [10, 11, 12, 3, 13, 14, 3, 15, 16, 17, 18, 19]
    with pytest.raises(ValueError):
        text.pack_sequences(docs, seq_len=2, cls_id=2, sep_id=3)


def _rates(ids: torch.Tensor, inputs: torch.Tensor, labels: torch.Tensor, maskable: torch.Tensor):
    chosen = labels != -100
    n = chosen.sum().item()
    return {
        "chosen": n / maskable.sum().item(),
        "mask": (inputs[chosen] == 4).float().mean().item(),
        "same": (inputs[chosen] == ids[chosen]).float().mean().item(),
        "n": n,
    }


def test_mask_tokens_follows_the_15_80_10_10_rule() -> None:
    g = torch.Generator().manual_seed(0)
    vocab = 1000
    ids = torch.randint(5, vocab, (200, 128), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
    attention = torch.ones_like(ids)
    ids[:50, 100:] = 0  # padding in a quarter of the rows
    attention[:50, 100:] = 0
    inputs, labels = text.mask_tokens(
        ids, 4, vocab, special_ids=(0, 2, 3), attention_mask=attention, generator=g
    )
    maskable = (attention == 1) & (ids != 2) & (ids != 3)
    chosen = labels != -100
    assert not chosen[~maskable].any()  # never special tokens or padding
    assert torch.equal(labels[chosen], ids[chosen])  # labels keep the originals
    assert torch.equal(inputs[~chosen], ids[~chosen])  # nothing else changes
    r = _rates(ids, inputs, labels, maskable)
    # binomial standard errors with n ~ 3,500 chosen of ~24,000: 4.5 sigma bounds
    assert r["chosen"] == pytest.approx(0.15, abs=0.011)
    assert r["mask"] == pytest.approx(0.80, abs=0.031)
    # "same" = kept (10%) + random that hit the original (~0.1/995)
    assert r["same"] == pytest.approx(0.10, abs=0.023)
    random_pos = chosen & (inputs != 4) & (inputs != ids)
    assert random_pos.sum().item() / r["n"] == pytest.approx(0.10, abs=0.023)
    # random replacements are never special tokens, nor [MASK]
    assert not np.isin(inputs[random_pos].numpy(), [0, 2, 3, 4]).any()
    # repeatable with a seeded generator
    a = text.mask_tokens(ids, 4, vocab, (0, 2, 3), generator=torch.Generator().manual_seed(7))
    b = text.mask_tokens(ids, 4, vocab, (0, 2, 3), generator=torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_mask_tokens_agrees_with_the_transformers_collator(tokenizer) -> None:
    torch.manual_seed(0)
    vocab = len(tokenizer)
    ids = torch.randint(5, vocab, (300, 64))
    ids[:, 0], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id
    maskable = (ids != tokenizer.cls_token_id) & (ids != tokenizer.sep_token_id)
    ours = _rates(ids, *text.mask_tokens(ids, tokenizer.mask_token_id, vocab, (0, 2, 3)), maskable)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=0)
    out = collator.torch_call([{"input_ids": row} for row in ids.tolist()])
    theirs = _rates(ids, out["input_ids"], out["labels"], maskable)
    # two independent samples of ~2,700 chosen positions each: the rates agree within noise
    assert ours["chosen"] == pytest.approx(theirs["chosen"], abs=0.012)
    assert ours["mask"] == pytest.approx(theirs["mask"], abs=0.04)
    # the collator draws random tokens from the whole vocabulary, we from non-special tokens:
    # with a 120-token vocabulary both keep about 10% (+ random hits on the original)
    assert ours["same"] == pytest.approx(theirs["same"], abs=0.03)


def test_mask_tokens_checks_its_probabilities() -> None:
    ids = torch.randint(5, 50, (2, 8))
    with pytest.raises(ValueError):
        text.mask_tokens(ids, 4, 50, mlm_probability=1.5)
    with pytest.raises(ValueError):
        text.mask_tokens(ids, 4, 50, corruption=(0.9, 0.2))
    inputs, labels = text.mask_tokens(ids, 4, 50, mlm_probability=1.0, corruption=(1.0, 0.0))
    assert (inputs == 4).all() and torch.equal(labels, ids)


def test_mlm_batches_are_a_function_of_the_step() -> None:
    rows = torch.arange(10 * 6).view(10, 6) % 40 + 5
    batches = text.MLMBatches(rows, 3, mask_token_id=4, vocab_size=45, special_ids=(0, 2, 3))
    assert batches.batches_per_epoch == 3 and batches.epoch_of(6) == 2.0
    b5 = batches(5)
    batches(0)  # another epoch in between
    again = batches(5)
    assert all(torch.equal(b5[k], again[k]) for k in b5)
    assert set(b5) == {"input_ids", "attention_mask", "labels"}
    assert (b5["attention_mask"] == 1).all()
    # within an epoch every row is used at most once; epochs are shuffled differently
    first = set()
    for s in range(3):
        b = batches(s)
        original = torch.where(b["labels"] != -100, b["labels"], b["input_ids"])
        first |= {tuple(r) for r in original.tolist()}
    assert len(set(first)) == 9
    other = text.MLMBatches(rows, 3, 4, 45, (0, 2, 3), seed=1)
    assert not torch.equal(other(0)["input_ids"], batches(0)["input_ids"])


def test_token_counts() -> None:
    rows = torch.tensor([[2, 5, 5, 3], [2, 6, 5, 3]])
    counts = text.token_counts(rows, 8)
    assert counts.tolist() == [0, 0, 2, 2, 0, 3, 1, 0]
    assert counts.dtype == np.int64


def test_phased_batches_switch_at_the_given_steps() -> None:
    batches = text.PhasedBatches([(0, lambda s: ("short", s)), (5, lambda s: ("long", s))])
    assert batches(0) == ("short", 0) and batches(4) == ("short", 4)
    assert batches(5) == ("long", 0) and batches(9) == ("long", 4)
    assert batches.phase_of(4) == 0 and batches.phase_of(100) == 1
    with pytest.raises(ValueError):
        text.PhasedBatches([(1, lambda s: s)])
    with pytest.raises(ValueError):
        text.PhasedBatches([(0, lambda s: s), (0, lambda s: s)])


def test_wordpiece_ids_are_numbered_canonically() -> None:
    vocab = text.train_wordpiece(CORPUS, vocab_size=120, min_frequency=1).get_vocab()
    tokens = sorted(vocab, key=vocab.get)
    assert tokens[:5] == list(text.SPECIAL_TOKENS)
    assert tokens[5:] == sorted(tokens[5:])  # the same set of tokens always gets the same ids


def test_local_attention_bias_penalises_distance_and_padding() -> None:
    mask = torch.tensor([[1, 1, 1, 0]])
    bias = text.local_attention_bias(1, 4, slope=0.5, attention_mask=mask)
    assert bias.shape == (1, 1, 4, 4)
    assert bias[0, 0, 1, :3].tolist() == [-0.5, 0.0, -0.5]
    assert bias[0, 0, 0, 2].item() == -1.0
    assert (bias[0, 0, :, 3] < -1e30).all()  # padding is never attended to
    assert torch.equal(text.local_attention_bias(2, 3, 0.0), torch.zeros(2, 1, 3, 3))


def test_locality_scaffold_fades_out_and_then_leaves_batches_alone() -> None:
    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        return {"input_ids": torch.full((2, 5), step), "attention_mask": torch.ones(2, 5)}

    scaffold = text.LocalityScaffold(batch_fn, slope=1.0, fade_steps=4)
    assert [scaffold.slope_at(s) for s in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    first = scaffold(0)
    assert first["attention_mask"].shape == (2, 1, 5, 5)
    assert first["attention_mask"][0, 0, 0, 4].item() == -4.0
    assert scaffold(2)["attention_mask"][0, 0, 0, 4].item() == -2.0
    assert scaffold(4)["attention_mask"].shape == (2, 5)  # the plain mask again
    assert torch.equal(scaffold(1)["input_ids"], batch_fn(1)["input_ids"])
    with pytest.raises(ValueError):
        text.LocalityScaffold(batch_fn, slope=-1.0, fade_steps=3)


def test_a_bert_accepts_the_scaffold_as_its_attention_mask() -> None:
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=30,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    model = BertForMaskedLM(cfg).eval()
    ids = torch.randint(5, 30, (2, 8))
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        zero = model(input_ids=ids, attention_mask=text.local_attention_bias(2, 8, 0.0)).logits
        local = model(input_ids=ids, attention_mask=text.local_attention_bias(2, 8, 5.0)).logits
    torch.testing.assert_close(zero, plain, rtol=1e-5, atol=1e-5)  # slope 0: no change
    assert not torch.allclose(local, plain, atol=1e-3)  # a real penalty changes the output


def test_masked_batches_are_fixed_by_the_seed_and_match_mask_tokens() -> None:
    tok = text.train_wordpiece(["the cat sat on the mat", "a dog ran in the park"] * 20, 60)
    ids = text.encode_corpus(["the cat sat on the mat and a dog ran in the park"] * 30, tok)
    rows = text.pack_sequences(ids, 8, tok.cls_token_id, tok.sep_token_id)
    batches = text.masked_batches(rows, tok, 16, 0.3, seed=7)
    assert [len(b["input_ids"]) for b in batches][:-1] == [16] * (len(batches) - 1)
    assert sum(len(b["input_ids"]) for b in batches) == len(rows)
    g = torch.Generator().manual_seed(7)
    inp, lab = text.mask_tokens(
        rows[:16], tok.mask_token_id, len(tok), text.special_ids(tok), 0.3, generator=g
    )
    assert torch.equal(batches[0]["input_ids"], inp) and torch.equal(batches[0]["labels"], lab)
    again = text.masked_batches(rows, tok, 16, 0.3, seed=7)
    assert all(torch.equal(a["labels"], b["labels"]) for a, b in zip(batches, again, strict=True))
