"""Tests of ptlib.mlm (chapter 3): tiny BERT configs, the MLM recipe, and the load-or-pretrain
cache."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import shared_data_dir
from transformers import BertForMaskedLM

from ptlib import mlm, text, weights

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


def _data_dir() -> Path | None:
    """The local datasets, if they hold the IMDB corpus."""
    root = shared_data_dir()
    return root if root and (root / "imdb_unsup_corpus" / "train_00.txt").is_file() else None


CORPUS = [
    "the film was wonderful and the actors were wonderful too",
    "a terrible movie with a thin plot and worse acting",
] * 30


def test_tiny_bert_config_sizes() -> None:
    cfg = mlm.tiny_bert_config(1000, "xs")
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads) == (2, 128, 2)
    assert cfg.intermediate_size == 512 and cfg.vocab_size == 1000
    assert cfg.hidden_dropout_prob == 0.0 and cfg.attention_probs_dropout_prob == 0.0
    big = mlm.tiny_bert_config(1000, "m", max_position_embeddings=256, dropout=0.1)
    assert big.hidden_size == 384 and big.max_position_embeddings == 256
    assert big.hidden_dropout_prob == 0.1
    assert mlm.tiny_bert_config(1000, "xs", num_hidden_layers=3).num_hidden_layers == 3
    with pytest.raises(ValueError, match="unknown size"):
        mlm.tiny_bert_config(1000, "xxl")
    # the sizes grow
    n = [
        sum(p.numel() for p in BertForMaskedLM(mlm.tiny_bert_config(1000, s)).parameters())
        for s in mlm.TINY_BERT_SIZES
    ]
    assert n == sorted(n) and len(set(n)) == len(n)


def test_models_cache_dir_follows_ptlib_cache_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PTLIB_CACHE_DIR", str(tmp_path))
    assert weights.models_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("PTLIB_CACHE_DIR")
    assert weights.models_cache_dir() == Path("~/.cache/ptlib/models").expanduser()


def _tiny_model_and_tokenizer():
    tok = text.train_wordpiece(CORPUS, vocab_size=60, min_frequency=1)
    torch.manual_seed(0)
    model = BertForMaskedLM(
        mlm.tiny_bert_config(len(tok), "xs", num_hidden_layers=1, hidden_size=32)
    ).eval()
    return model, tok


def test_save_and_load_round_trip_atomically(tmp_path: Path) -> None:
    model, tok = _tiny_model_and_tokenizer()
    folder = mlm.save_pretrained_mlm(model, tok, tmp_path / "m", {"val_mlm_loss": 1.5})
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert json.loads((folder / "ptlib.json").read_text())["val_mlm_loss"] == 1.5
    mlm.save_pretrained_mlm(model, tok, folder)  # replacing an existing folder works
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folders left
    loaded_tok, loaded = mlm.load_pretrained_mlm(folder, device="cpu")
    assert not loaded.training
    ids = torch.tensor([loaded_tok("the film was wonderful")["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).logits, model(input_ids=ids).logits)
    with pytest.raises(weights.WeightsError):
        mlm.load_pretrained_mlm(tmp_path / "nothing")


def test_load_pretrained_mlm_verifies_a_manifest(tmp_path: Path) -> None:
    from ptlib import checksums

    model, tok = _tiny_model_and_tokenizer()
    folder = mlm.save_pretrained_mlm(model, tok, tmp_path / "m")
    checksums.write_manifest(folder, "a test", "MIT")
    mlm.load_pretrained_mlm(folder, device="cpu")  # verified, loads
    weights = bytearray((folder / "model.safetensors").read_bytes())
    weights[-2] ^= 0x10
    (folder / "model.safetensors").write_bytes(bytes(weights))
    with pytest.raises(checksums.ManifestError, match="model.safetensors is corrupted"):
        mlm.load_pretrained_mlm(folder, device="cpu")


def test_tiny_bert_loads_from_the_cache_and_refuses_to_train_when_told(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PTLIB_CACHE_DIR", str(tmp_path))
    with pytest.raises(weights.WeightsError, match="chapter 3"):
        mlm.tiny_bert(train_if_missing=False)
    with pytest.raises(ValueError, match="unknown model"):
        mlm.tiny_bert("bert-large")
    model, tok = _tiny_model_and_tokenizer()
    mlm.save_pretrained_mlm(model, tok, tmp_path / "models" / "tiny-bert-imdb")
    loaded_tok, loaded = mlm.tiny_bert(device="cpu", train_if_missing=False)
    assert isinstance(loaded, BertForMaskedLM) and len(loaded_tok) == len(tok)


@pytest.mark.skipif(_data_dir() is None, reason="needs the local IMDB corpus")
def test_tiny_bert_pretrains_and_caches_when_missing(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PTLIB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PTLIB_DATA_DIR", str(_data_dir()))
    quick = replace(
        mlm.MLM_RECIPES["cpu"], max_documents=300, vocab_size=500, max_seconds=None, max_steps=3
    )
    monkeypatch.setitem(mlm.MLM_RECIPES, "cpu", quick)
    tok, model = mlm.tiny_bert(device="cpu", progress=False)
    folder = tmp_path / "models" / "tiny-bert-imdb"
    meta = json.loads((folder / "ptlib.json").read_text())
    assert meta["steps"] == 3 and meta["recipe"]["vocab_size"] == 500
    assert len(tok) == 500 and model.config.vocab_size == 500
    _, again = mlm.tiny_bert(device="cpu", train_if_missing=False)  # now cached
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_sinusoidal_positions_are_smooth_and_scaled_like_the_words() -> None:
    torch.manual_seed(0)
    model = BertForMaskedLM(mlm.tiny_bert_config(100, "xs"))
    mlm.init_sinusoidal_positions(model)
    pos = model.bert.embeddings.position_embeddings.weight.detach()
    words = model.bert.embeddings.word_embeddings.weight.detach()
    assert pos.pow(2).mean().sqrt().item() == pytest.approx(words.pow(2).mean().sqrt().item())
    cos = torch.nn.functional.cosine_similarity(pos[10:11], pos, dim=1)
    assert cos[11] > cos[20] > cos[60]  # nearby positions are more alike than distant ones
    mlm.init_sinusoidal_positions(model, scale=1.0)
    rms = model.bert.embeddings.position_embeddings.weight.pow(2).mean().sqrt().item()
    assert rms == pytest.approx(1.0, rel=1e-5)


def test_recipe_helpers_build_the_phases_config_and_model() -> None:
    model, tok = _tiny_model_and_tokenizer()
    recipe = replace(
        mlm.MLM_RECIPES["cpu"], seq_len=16, short_seq_len=8, tokens_per_batch=64, max_steps=10
    )
    ids = text.encode_corpus(CORPUS, tok)
    batches = mlm.mlm_batches(recipe, ids, tok, max_steps=10)
    assert isinstance(batches, text.LocalityScaffold) and batches.fade_steps == 4  # 35% of 10
    assert [start for start, _ in batches.batch_fn.phases] == [0, 5]  # half the steps short
    assert batches(0)["input_ids"].shape == (8, 8) and batches(5)["input_ids"].shape == (4, 16)
    assert batches(0)["attention_mask"].shape == (8, 1, 8, 8)  # the scaffold's bias
    assert batches(5)["attention_mask"].shape == (4, 16)  # faded out: a plain mask
    single = mlm.mlm_batches(
        replace(recipe, short_fraction=0.0, local_bias=0.0), ids, tok, max_steps=10
    )
    assert isinstance(single, text.PhasedBatches) and len(single.phases) == 1
    cfg = mlm.mlm_train_config(recipe, 100, device="cpu")
    assert cfg.max_steps == 100 and cfg.warmup_steps == 5 and cfg.lr == recipe.lr
    assert cfg.max_seconds is None  # a step budget: the same run on every machine
    timed_cfg = mlm.mlm_train_config(replace(recipe, max_seconds=8.0), 100, device="cpu")
    assert timed_cfg.max_seconds == pytest.approx(1.25 * 8.0)  # a time budget keeps a hard stop
    a, b = mlm.new_mlm_model(recipe, tok), mlm.new_mlm_model(recipe, tok)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert mlm.mlm_steps_for_budget(recipe, a, ids, tok, "cpu") == 10
    timed = replace(recipe, max_steps=None, max_seconds=2.0)
    steps = mlm.mlm_steps_for_budget(timed, model, ids, tok, "cpu")  # the 1-layer model
    assert steps >= 1 and isinstance(steps, int)


def _run_script(launcher: list[str], args: list[str], **env: str) -> dict:
    """Run scripts/pretrain_mlm.py with ``launcher`` and return its last line, a JSON summary."""
    env = {**os.environ, "PTLIB_DATA_DIR": str(_data_dir()), "OMP_NUM_THREADS": "1", **env}
    done = subprocess.run(
        [*launcher, str(REPO / "scripts" / "pretrain_mlm.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(_data_dir() is None, reason="needs the local IMDB corpus")
def test_pretrain_script_runs_and_saves_a_loadable_model(tmp_path: Path) -> None:
    args = ["--steps", "3", "--documents", "100", "--vocab-size", "300"]
    args += ["--set", "mlm_probability=0.2", "--set", "short_fraction=0.5", "--out", str(tmp_path)]
    summary = _run_script([sys.executable], args)
    assert summary["steps"] == 3 and summary["processes"] == 1
    meta = json.loads((tmp_path / "model" / "ptlib.json").read_text())
    assert meta["recipe"]["mlm_probability"] == 0.2 and meta["recipe"]["short_fraction"] == 0.5
    tok, model = mlm.load_pretrained_mlm(tmp_path / "model", device="cpu")
    assert len(tok) == 300 and model.config.vocab_size == 300
    spec = importlib.util.spec_from_file_location(
        "pretrain_mlm", REPO / "scripts" / "pretrain_mlm.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script._overrides(["lr=0.01", "max_steps=none", "sinusoidal_positions=false"]) == {
        "lr": 0.01,
        "max_steps": None,
        "sinusoidal_positions": False,
    }
    with pytest.raises(SystemExit, match="unknown field"):
        script._overrides(["nope=1"])


@pytest.mark.skipif(_data_dir() is None, reason="needs the local IMDB corpus")
def test_pretrain_script_runs_data_parallel_in_two_processes(tmp_path: Path) -> None:
    # what `accelerate launch --num_processes N` does on GPUs, with 2 CPU processes (gloo)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    args = ["--steps", "4", "--documents", "100", "--vocab-size", "300", "--out", str(tmp_path)]
    summary = _run_script(torchrun, args, ACCELERATE_USE_CPU="1")
    assert summary["processes"] == 2 and summary["steps"] == 4
    _, model = mlm.load_pretrained_mlm(tmp_path / "model", device="cpu")
    assert model.config.vocab_size == 300
