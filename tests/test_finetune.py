"""Tests of ptlib.finetune: the Trainer-based fine-tuning helper and its parts.

Most tests use a tiny randomly initialised BERT (two blocks of width 32) with a small word
vocabulary, saved to a temporary folder as any `save_pretrained` model would be; one test
fine-tunes the shipped all-MiniLM-L6-v2 on BBC News topics (five classes), a dataset other than
SST-2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import shared_data_dir
from transformers import BertConfig, BertModel, BertTokenizerFast, EvalPrediction

from ptlib import checksums, data, evaluate, finetune, weights

COLOURS = {
    "red": ["red", "crimson", "scarlet", "ruby"],
    "green": ["green", "olive", "lime", "emerald"],
    "blue": ["blue", "navy", "azure", "cobalt"],
}
FILLER = ["the", "a", "car", "house", "is", "was", "very", "and", "my", "old", "new", "big"]
WIDTH, LAYERS = 32, 2


def _colour_table(n: int, seed: int) -> pd.DataFrame:
    """A three-class task: each text holds two words of its class among filler words."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = list(COLOURS)[i % 3]
        words = list(rng.choice(FILLER, size=5)) + list(rng.choice(COLOURS[label], size=2))
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return pd.DataFrame(rows, columns=["text", "label"])


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-block BERT and its tokenizer, saved like a trained checkpoint."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    words = sorted({w for ws in COLOURS.values() for w in ws} | set(FILLER))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    tokenizer.save_pretrained(folder)
    torch.manual_seed(1234)  # not a seed load_classifier uses, so "from scratch" differs
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=2,
        intermediate_size=4 * WIDTH,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    checksums.write_manifest(folder, "tests/test_finetune.py", "MIT")  # verified when loaded
    return folder


def test_finetune_learns_a_three_class_task_with_string_labels(tiny_bert: Path) -> None:
    train, dev = _colour_table(300, seed=0), _colour_table(90, seed=1)
    r = finetune.finetune_classifier(
        train,
        dev,
        tiny_bert,
        epochs=3,
        batch_size=16,
        learning_rate=3e-3,
        device="cpu",
        progress=False,
    )
    assert r["label_names"] == ["blue", "green", "red"]
    assert r["accuracy"] >= 0.9, r
    assert r["macro_f1"] >= 0.9
    cm = np.array(r["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == len(dev)
    assert np.trace(cm) / cm.sum() == pytest.approx(r["accuracy"])
    assert len(r["predictions"]) == len(dev)
    assert r["logits"].shape == (len(dev), 3)
    assert (r["logits"].argmax(axis=1) == np.array(r["predictions"])).all()
    assert r["n_train"] == 300 and r["steps"] == 3 * 19  # ceil(300 / 16) steps per epoch
    assert r["trainable_params"] == r["total_params"] > 0
    assert r["loss_history"] and r["loss_history"][-1][1] < r["loss_history"][0][1]
    assert "model" not in r


def test_finetune_keeps_the_model_and_predicts_like_it(tiny_bert: Path) -> None:
    train, dev = _colour_table(60, seed=2), _colour_table(30, seed=3)
    r = finetune.finetune_classifier(
        train, dev, tiny_bert, max_steps=5, device="cpu", progress=False, keep_model=True
    )
    logits = finetune.predict_logits(r["model"], r["tokenizer"], dev["text"].tolist(), bf16=False)
    assert logits.shape == (30, 3)
    # bf16 and fp32 predictions of a barely trained model can differ on near-ties only
    assert np.mean(logits.argmax(axis=1) == np.array(r["predictions"])) >= 0.9


def test_labels_use_attrs_names_and_any_integer_ids(tiny_bert: Path) -> None:
    table = _colour_table(30, seed=4)
    ids = {"red": 0, "green": 1, "blue": 2}
    named = table.assign(label=table["label"].map(ids))
    named.attrs["label_names"] = ["red", "green", "blue"]
    r = finetune.finetune_classifier(
        named, named, tiny_bert, max_steps=1, device="cpu", progress=False
    )
    assert r["label_names"] == ["red", "green", "blue"]
    sparse = table.assign(label=table["label"].map({"red": 3, "green": 10, "blue": 7}))
    r = finetune.finetune_classifier(
        sparse, sparse, tiny_bert, max_steps=1, device="cpu", progress=False
    )
    assert r["label_names"] == ["3", "7", "10"]  # ids sorted numerically


def test_finetune_rejects_bad_tables(tiny_bert: Path) -> None:
    good = _colour_table(6, seed=0)
    with pytest.raises(ValueError, match="label"):
        finetune.finetune_classifier(good[["text"]], good, tiny_bert, progress=False)
    with pytest.raises(ValueError, match="empty"):
        finetune.finetune_classifier(good, good.iloc[:0], tiny_bert, progress=False)
    with pytest.raises(TypeError):
        finetune.finetune_classifier(good.to_dict(), good, tiny_bert, progress=False)


def test_time_budget_stops_training_early(tiny_bert: Path) -> None:
    table = _colour_table(60, seed=5)
    r = finetune.finetune_classifier(
        table, table, tiny_bert, max_steps=10_000, max_seconds=0.5, device="cpu", progress=False
    )
    assert r["stopped_early"] and 1 <= r["steps"] < 10_000
    with pytest.raises(ValueError):
        finetune.TimeBudget(0)


def test_from_scratch_has_the_architecture_but_not_the_weights(tiny_bert: Path) -> None:
    saved = BertModel.from_pretrained(tiny_bert).embeddings.word_embeddings.weight
    for pooling in ("mean", "cls"):
        _, loaded = finetune.load_classifier(tiny_bert, 3, pooling=pooling)
        _, scratch = finetune.load_classifier(tiny_bert, 3, pooling=pooling, from_scratch=True)
        emb = loaded.base_model.embeddings.word_embeddings.weight
        assert torch.equal(emb, saved)
        other = scratch.base_model.embeddings.word_embeddings.weight
        assert other.shape == saved.shape and not torch.equal(other, saved)
        assert weights.count_parameters(loaded) == weights.count_parameters(scratch)
    assert isinstance(loaded, torch.nn.Module) and loaded.config.num_labels == 3
    with pytest.raises(ValueError, match="pooling"):
        finetune.load_classifier(tiny_bert, 3, pooling="max")
    with pytest.raises(ValueError, match="num_labels"):
        finetune.load_classifier(tiny_bert, 1)


def test_seed_fixes_the_new_head(tiny_bert: Path) -> None:
    heads = [finetune.load_classifier(tiny_bert, 2, seed=s)[1].classifier.weight for s in (1, 1, 2)]
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])


def _block_params(d: int) -> int:
    return 12 * d * d + 13 * d  # attention 4(d^2 + d), feed-forward 8d^2 + 5d, two norms 4d


def test_set_trainable_counts_head_partial_and_full(tiny_bert: Path) -> None:
    _, net = finetune.load_classifier(tiny_bert, 3, pooling="mean")
    head = WIDTH * 3 + 3
    assert finetune.set_trainable(net, "head") == head
    assert finetune.set_trainable(net, 0) == head
    assert finetune.set_trainable(net, 1) == head + _block_params(WIDTH)
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert any(n.startswith("encoder.encoder.layer.1.") for n in trainable)
    assert not any(
        n.startswith(("encoder.encoder.layer.0.", "encoder.embeddings")) for n in trainable
    )
    assert finetune.set_trainable(net, "all") == weights.count_parameters(net)
    with pytest.raises(ValueError):
        finetune.set_trainable(net, LAYERS + 1)
    with pytest.raises(ValueError):
        finetune.set_trainable(net, "some")
    # With the library's [CLS] head, partial fine-tuning also trains BERT's pooler (d^2 + d).
    _, cls = finetune.load_classifier(tiny_bert, 3, pooling="cls")
    assert finetune.set_trainable(cls, "head") == head
    assert finetune.set_trainable(cls, 1) == head + _block_params(WIDTH) + WIDTH * WIDTH + WIDTH


def test_add_lora_starts_from_the_same_function_and_counts(tiny_bert: Path) -> None:
    tokenizer, net = finetune.load_classifier(tiny_bert, 3)
    texts = _colour_table(8, seed=6)["text"].tolist()
    before = finetune.predict_logits(net, tokenizer, texts, bf16=False)
    rank = 4
    trainable = finetune.add_lora(net, rank=rank)
    # query and value of each block: rank x (d + d) each, plus the head
    assert trainable == LAYERS * 2 * rank * (WIDTH + WIDTH) + WIDTH * 3 + 3
    after = finetune.predict_logits(net, tokenizer, texts, bf16=False)
    np.testing.assert_allclose(after, before, atol=1e-6)  # B = 0 at the start
    lora = net.encoder.encoder.layer[0].attention.self.query
    assert isinstance(lora, finetune.LoRALinear)
    assert not lora.base.weight.requires_grad and lora.lora_a.requires_grad
    with pytest.raises(ValueError, match="no nn.Linear"):
        finetune.add_lora(net, targets=("nothing",))
    with pytest.raises(ValueError):
        finetune.LoRALinear(torch.nn.Linear(4, 4), rank=0)


def test_lora_update_is_low_rank() -> None:
    torch.manual_seed(0)
    layer = finetune.LoRALinear(torch.nn.Linear(16, 12), rank=2, alpha=4.0)
    torch.nn.init.normal_(layer.lora_b)
    x = torch.eye(16)
    delta = layer(x) - layer.base(x)  # rows: (alpha / r) (B A)^T applied to unit vectors
    assert torch.linalg.matrix_rank(delta) == 2
    expected = 2.0 * (layer.lora_b @ layer.lora_a).T
    torch.testing.assert_close(delta, expected)


def test_predict_logits_restores_order_and_mode(tiny_bert: Path) -> None:
    tokenizer, net = finetune.load_classifier(tiny_bert, 3)
    texts = ["red car", "the very old green house is new and big", "blue", "a navy car is old"]
    net.train()
    logits = finetune.predict_logits(net, tokenizer, texts, batch_size=3, bf16=False)
    assert net.training  # put back in training mode
    one_by_one = np.concatenate(
        [finetune.predict_logits(net, tokenizer, [t], bf16=False) for t in texts]
    )
    np.testing.assert_allclose(logits, one_by_one, atol=1e-5)  # padding does not leak in


def test_mean_pooling_classifier_pools_real_tokens_only(tiny_bert: Path) -> None:
    tokenizer, net = finetune.load_classifier(tiny_bert, 2)
    net.eval()
    batch = tokenizer(["red car", "red car is very old and big"], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = net(**batch, labels=torch.tensor([0, 1]))
        alone = net(**tokenizer(["red car"], return_tensors="pt")).logits
        hidden = net.encoder(**batch).last_hidden_state
    n = int(batch["attention_mask"][0].sum())
    manual = net.classifier(hidden[0, :n].mean(dim=0))
    torch.testing.assert_close(out.logits[0], manual)
    torch.testing.assert_close(out.logits[0], alone[0], atol=1e-5, rtol=1e-5)
    expected = torch.nn.functional.cross_entropy(out.logits, torch.tensor([0, 1]))
    torch.testing.assert_close(out.loss, expected)


def test_text_dataset_tokenises_once_and_truncates(tiny_bert: Path) -> None:
    tokenizer = BertTokenizerFast.from_pretrained(tiny_bert)
    ds = finetune.TextDataset(["red car", "the " * 50], [2, 0], tokenizer, max_length=8)
    assert len(ds) == 2 and ds[0]["labels"] == 2
    assert ds[0]["input_ids"][0] == tokenizer.cls_token_id and len(ds[1]["input_ids"]) == 8
    assert "labels" not in finetune.TextDataset(["red"], None, tokenizer)[0]
    with pytest.raises(ValueError):
        finetune.TextDataset(["a", "b"], [1], tokenizer)
    with pytest.raises(TypeError):
        finetune.TextDataset("red car", None, tokenizer)


def test_classification_metrics_match_hand_computed_values() -> None:
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    y_pred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 2]
    m = evaluate.classification_metrics(y_true, y_pred, num_labels=4)
    # per class (0, 1, 2, 3): precision 2/3, 2/3, 3/4, 0; recall 2/4, 2/3, 3/3, 0
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["precision"] == pytest.approx((2 / 3 + 2 / 3 + 3 / 4 + 0) / 4)
    assert m["recall"] == pytest.approx((2 / 4 + 2 / 3 + 1 + 0) / 4)
    f1 = [2 * p * r / (p + r) for p, r in [(2 / 3, 1 / 2), (2 / 3, 2 / 3), (3 / 4, 1)]]
    assert m["macro_f1"] == pytest.approx(sum(f1) / 4)
    assert m["confusion_matrix"][0] == [2, 1, 1, 0] and len(m["confusion_matrix"]) == 4
    with pytest.raises(ValueError):
        evaluate.classification_metrics([0, 1], [0], num_labels=2)


def test_compute_metrics_for_trainer() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0], [0.5, 0.2]])
    labels = np.array([0, 1, 1, 1])
    m = finetune.compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert m["accuracy"] == pytest.approx(0.5)
    assert set(m) == {"accuracy", "precision", "recall", "macro_f1"}
    assert all(isinstance(v, float) for v in m.values())


def test_training_arguments_use_transformers_5_names() -> None:
    config = finetune.FinetuneConfig(max_steps=7, warmup=0.2, device="cpu")
    args = finetune.training_arguments("unused", config)
    assert args.max_steps == 7 and args.warmup_steps == 0.2 and args.use_cpu
    assert args.eval_strategy == "no" and args.train_sampling_strategy == "group_by_length"
    assert args.report_to == [] or args.report_to == ["none"] or args.report_to == "none"


def test_finetune_config_validates_and_plans_steps() -> None:
    config = finetune.FinetuneConfig()
    assert (config.epochs, config.min_steps, config.learning_rate) == (3.0, 50, 5e-5)
    assert config.steps_for(800) == 75  # 3 epochs of 25 batches of 32
    assert config.steps_for(100) == 50  # at least min_steps
    assert finetune.make_config(max_steps=7).steps_for(10_000) == 7
    assert finetune.make_config(config, epochs=1).steps_for(800) == 50
    for bad in (
        {"pooling": "max"},
        {"layers": "some"},
        {"layers": -1},
        {"warmup": 1.5},
        {"learning_rate": 0},
        {"batch_size": 0},
        {"dropout": 1.0},
        {"max_steps": 0},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            finetune.FinetuneConfig(**bad)
    with pytest.raises(TypeError, match="lr"):
        finetune.make_config(lr=1e-4)


def test_load_classifier_reports_the_new_head_and_refuses_a_broken_encoder(
    tiny_bert: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="ptlib.weights")
    for pooling in ("mean", "cls"):
        finetune.load_classifier(tiny_bert, 2, pooling=pooling)
    assert caplog.text.count("classifier.weight") == 2  # reported, not an error
    broken = tmp_path / "broken"
    shutil.copytree(tiny_bert, broken)
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "num_hidden_layers": LAYERS + 1}))
    checksums.write_manifest(broken, "a test", "MIT")
    with pytest.raises(
        weights.WeightsError, match=r"missing from the file \(e\.g\. encoder\.layer\.2"
    ):
        finetune.load_classifier(broken, 2)  # the third block would be random: an error


def test_resolve_model(tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert finetune.resolve_model(tiny_bert) == str(tiny_bert)
    assert Path(finetune.resolve_model("all-MiniLM-L6-v2"), "model.safetensors").is_file()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="offline"):
        finetune.resolve_model("bert-base-uncased")


@pytest.mark.skipif(shared_data_dir() is None, reason="needs the local datasets (PTLIB_DATA_DIR)")
def test_minilm_learns_bbc_news_topics_with_a_tiny_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTLIB_DATA_DIR", str(shared_data_dir()))
    train = data.load_text_classification("bbc_news_summary", "train")
    test = data.load_text_classification("bbc_news_summary", "test")
    assert train["label"].nunique() == 5
    small = train.groupby("label").sample(n=24, random_state=0)
    dev = test.groupby("label").sample(n=12, random_state=0)
    r = finetune.finetune_classifier(
        small,
        dev,
        "all-MiniLM-L6-v2",
        max_steps=15,
        batch_size=16,
        learning_rate=3e-4,
        max_length=48,
        device="cpu",
        progress=False,
    )
    assert r["label_names"] == ["business", "entertainment", "politics", "sport", "tech"]
    assert np.array(r["confusion_matrix"]).shape == (5, 5)
    assert r["accuracy"] >= 0.6, r["accuracy"]  # chance is 0.2


def test_train_classifier_checks_labels_and_returns_an_eval_mode_model(tiny_bert: Path) -> None:
    table = _colour_table(12, seed=7)
    ids = table["label"].map({"red": 0, "green": 1, "blue": 2}).to_numpy()
    tokenizer, net, info = finetune.train_classifier(
        table["text"].tolist(), ids, tiny_bert, max_steps=2, device="cpu", progress=False
    )
    assert not net.training and net.config.num_labels == 3
    assert net.config._attn_implementation == "eager"  # faster to train on a CPU
    assert info["steps"] == 2 and info["n_train"] == 12 and not info["stopped_early"]
    assert tokenizer.cls_token_id is not None
    with pytest.raises(ValueError, match="0..1"):
        finetune.train_classifier(["a", "b"], [0, 2], tiny_bert, num_labels=2, progress=False)
    with pytest.raises(ValueError, match="one integer label per text"):
        finetune.train_classifier(["a", "b"], [0], tiny_bert, progress=False)


def test_fine_tuned_classifier_runs_in_the_label_efficiency_runner(tiny_bert: Path) -> None:

    train, dev = _colour_table(120, seed=8), _colour_table(60, seed=9)
    ids = {"red": 0, "green": 1, "blue": 2}
    y_train, y_dev = train["label"].map(ids).to_numpy(), dev["label"].map(ids).to_numpy()

    def make_model() -> finetune.FineTunedClassifier:
        return finetune.FineTunedClassifier(
            tiny_bert, epochs=3, min_steps=30, batch_size=16, learning_rate=3e-3, device="cpu"
        )

    runs = evaluate.label_efficiency(
        train["text"].tolist(),
        y_train,
        dev["text"].tolist(),
        y_dev,
        [2, 20],
        [0],
        make_model,
        progress=False,
    )
    assert list(runs["n_train"]) == [6, 60]
    assert runs["accuracy"].iloc[1] >= 0.9  # 20 labels per class are plenty here
    clf = make_model()
    assert clf.fit(train["text"].tolist()[:30], y_train[:30]) is clf
    assert clf.info_["steps"] == 30  # max(min_steps, ceil(3 * 30 / 16))
    assert clf.predict(["red car"]).shape == (1,)
    with pytest.raises(RuntimeError, match="fit"):
        make_model().predict(["red"])


def test_dropout_override(tiny_bert: Path) -> None:
    _, net = finetune.load_classifier(tiny_bert, 2, dropout=0.0)
    assert net.config.hidden_dropout_prob == 0.0 and net.config.attention_probs_dropout_prob == 0.0
    assert net.dropout.p == 0.0
    _, default = finetune.load_classifier(tiny_bert, 2)
    assert default.dropout.p == default.config.hidden_dropout_prob == 0.1  # BertConfig's default
    with pytest.raises(ValueError, match="dropout"):
        finetune.load_classifier(tiny_bert, 2, dropout=1.5)


def test_save_and_load_classifier_round_trip_and_manifest(
    tiny_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTLIB_CACHE_DIR", str(tmp_path / "cache"))
    tokenizer, net = finetune.load_classifier(tiny_bert, 3, label_names=["a", "b", "c"], seed=1)
    folder = finetune.save_classifier(net.eval(), tokenizer, metadata={"dev_accuracy": 0.5})
    assert folder == tmp_path / "cache" / "models" / finetune.CLASSIFIER_NAME
    texts = ["the red car", "a navy house was old"]
    before = finetune.predict_logits(net, tokenizer, texts, bf16=False)
    rng = torch.random.get_rng_state()
    tok2, net2 = finetune.load_saved_classifier(device="cpu")
    assert torch.equal(torch.random.get_rng_state(), rng)  # loading draws no random numbers
    assert not net2.training and net2.config.id2label[2] == "c"
    np.testing.assert_allclose(finetune.predict_logits(net2, tok2, texts, bf16=False), before)

    checksums.write_manifest(folder, "a test", "MIT")
    finetune.load_saved_classifier(folder, device="cpu")  # verified, loads
    weights = folder / "model.safetensors"
    data_ = bytearray(weights.read_bytes())
    data_[-1] ^= 0x01
    weights.write_bytes(bytes(data_))
    with pytest.raises(checksums.ManifestError, match="model.safetensors"):
        finetune.load_saved_classifier(folder, device="cpu")
    with pytest.raises(RuntimeError, match="no saved classifier"):
        finetune.load_saved_classifier(tmp_path / "nothing", device="cpu")


def test_a_diverging_learning_rate_stops_fine_tuning(tiny_bert: Path) -> None:
    table = _colour_table(30, seed=10)
    with pytest.raises(FloatingPointError, match=r"at step \d+ .*lower the learning rate"):
        finetune.finetune_classifier(
            table, table, tiny_bert, max_steps=4, learning_rate=1e6, device="cpu", progress=False
        )
    config = finetune.FinetuneConfig(device="cpu")
    assert not finetune.training_arguments("unused", config).logging_nan_inf_filter


def test_labels_that_would_make_wrong_classes_are_refused(tiny_bert: Path) -> None:
    table = _colour_table(9, seed=11)
    with pytest.raises(ValueError, match="mixes types"):
        finetune.finetune_classifier(table.assign(label=[1, "1", 0] * 3), table, tiny_bert)
    with pytest.raises(ValueError, match=r"train never has: \['purple'\]"):
        finetune.finetune_classifier(table, table.assign(label="purple"), tiny_bert)
    with pytest.raises(ValueError, match="not whole numbers"):
        finetune.train_classifier(table["text"], [0.0, 1.0, np.nan] * 3, tiny_bert)
