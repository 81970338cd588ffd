"""Same parameters, same numbers: every training path of the book, run twice at a small budget.

The chapters' budgets are counted in steps, not seconds, so a run does not depend on how fast or
busy the machine is. What is left to check is that the runs themselves are repeatable: with the
same seed, parameters and thread count, two runs must give identical weights and histories, to
the last bit. Each test below runs one training path twice in this process and compares.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import shared_data_dir
from transformers import BertConfig, BertModel, BertTokenizerFast

from ptlib import (
    checksums,
    contrastive,
    data,
    evaluate,
    finetune,
    mlm,
    objectives,
    runtime,
    text,
    train,
    vision,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """The thread count is one of a run's parameters: these runs use the course default."""
    before = torch.get_num_threads()
    runtime.set_threads(runtime.DEFAULT_THREADS)
    yield
    runtime.set_threads(before)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        assert torch.equal(sa[name], sb[name]), f"{name} differs between two identical runs"


CORPUS = [
    "the film was wonderful and the actors were wonderful too",
    "a terrible movie with a thin plot and worse acting",
    "i watched it twice and laughed at the same jokes",
] * 40

#: Chapter 3's recipe, shrunk: a tiny vocabulary and a few steps, with every phase of the real
#: one (short rows, then long rows; the locality scaffold fading out).
TINY_MLM = replace(
    mlm.MLM_RECIPES["cpu"],
    vocab_size=300,
    tokens_per_batch=128,
    seq_len=16,
    short_seq_len=8,
    max_steps=12,
    max_seconds=None,
)


def _pretrain(
    tok, ids, steps: int, eval_fn=None, **kwargs: object
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Chapter 3's pre-training (what mlm.pretrain_mlm does after the tokenizer)."""
    model = mlm.new_mlm_model(TINY_MLM, tok)
    config = mlm.mlm_train_config(TINY_MLM, steps, device="cpu", progress=False, **kwargs)
    batches = mlm.mlm_batches(TINY_MLM, ids, tok, steps)
    return model, train.fit(model, objectives.mlm_batch_loss, batches, config, eval_fn)


def test_mlm_pretraining_repeats_exactly() -> None:
    tok = text.train_wordpiece(CORPUS, TINY_MLM.vocab_size)
    ids = mlm.mlm_corpus_ids(TINY_MLM, tok, docs=CORPUS)
    model_a, hist_a = _pretrain(tok, ids, TINY_MLM.max_steps)
    model_b, hist_b = _pretrain(tok, ids, TINY_MLM.max_steps)
    assert len(hist_a) == TINY_MLM.max_steps
    pd.testing.assert_series_equal(hist_a["train_loss"], hist_b["train_loss"])
    _same_weights(model_a, model_b)


@pytest.mark.skipif(
    shared_data_dir() is None or not (shared_data_dir() / "imdb_unsup_corpus").is_dir(),
    reason="needs the local IMDB corpus (PTLIB_DATA_DIR)",
)
def test_the_wordpiece_vocabulary_repeats_on_real_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tokenizer trainer breaks ties in hash order: on a toy corpus full of ties the
    vocabulary can differ between runs, on real text (what the chapters train on) it must not."""
    monkeypatch.setenv("PTLIB_DATA_DIR", str(shared_data_dir()))
    docs = data.load_corpus("imdb_unsup_corpus", "train")[:3000]
    vocabularies = [text.train_wordpiece(docs, 4096).get_vocab() for _ in range(2)]
    assert len(vocabularies[0]) == 4096
    assert vocabularies[0] == vocabularies[1]


def test_evaluation_and_checkpoints_do_not_change_the_model(tmp_path: Path) -> None:
    """Chapter 3 evaluates and checkpoints along its run; mlm.tiny_bert, which pre-trains the
    model when chapter 3 has not run, does neither. Both must end with the same weights."""
    tok = text.train_wordpiece(CORPUS, TINY_MLM.vocab_size)
    ids = mlm.mlm_corpus_ids(TINY_MLM, tok, docs=CORPUS)
    steps = TINY_MLM.max_steps
    val = mlm.mlm_batches(TINY_MLM, ids, tok, steps)(0)

    def validate(m: torch.nn.Module) -> dict[str, float]:
        return {"val_loss": objectives.mlm_evaluate(m, [val])["loss"]}

    plain, _ = _pretrain(tok, ids, steps)
    watched, history = _pretrain(
        tok, ids, steps, validate, eval_every=3, checkpoint_every=4, checkpoint_dir=tmp_path / "c"
    )
    assert history["val_loss"].notna().sum() >= 4
    _same_weights(plain, watched)


def test_simclr_pretraining_repeats_exactly() -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(48, 32, 32, 3), dtype=np.uint8)
    cfg = contrastive.SimCLRConfig(
        encoder=vision.ResNetConfig(widths=(8, 16), blocks=(1, 1), stem_channels=8),
        batch_size=16,
        proj_hidden=16,
        proj_dim=8,
        warmup_steps=1,
        max_steps=4,
        max_seconds=None,
        device="cpu",
        progress=False,
    )
    model_a, hist_a = contrastive.pretrain_simclr(images, cfg)
    model_b, hist_b = contrastive.pretrain_simclr(images, cfg)
    pd.testing.assert_series_equal(hist_a["train_loss"], hist_b["train_loss"])
    _same_weights(model_a, model_b)


@pytest.fixture(scope="module")
def small_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-block BERT saved like a checkpoint, with a word vocabulary."""
    folder = tmp_path_factory.mktemp("small_bert")
    words = sorted({w for line in CORPUS for w in line.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}).save_pretrained(folder)
    torch.manual_seed(7)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
    )
    BertModel(config).save_pretrained(folder)
    checksums.write_manifest(folder, created_by="tests/test_repeatability.py", licence="MIT")
    return folder


def test_fine_tuning_with_the_trainer_repeats_exactly(small_bert: Path) -> None:
    table = pd.DataFrame({"text": CORPUS[:90], "label": [i % 3 for i in range(90)]})
    runs = [
        finetune.finetune_classifier(
            table, table, small_bert, max_steps=6, batch_size=8, device="cpu", progress=False
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0]["logits"], runs[1]["logits"])
    assert runs[0]["loss_history"] == runs[1]["loss_history"]
    assert runs[0]["accuracy"] == runs[1]["accuracy"]


def test_linear_probes_and_label_budgets_repeat_exactly() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    runs = [
        evaluate.label_efficiency(
            x, y, x, y, [4, 16], [0, 1], evaluate.LinearProbe, progress=False
        ).drop(columns="fit_seconds")
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])
