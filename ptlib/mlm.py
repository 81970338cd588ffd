"""Masked language modelling, chapter 3's recipe: a tiny BERT pre-trained, saved and reloaded.

The pieces come from the modules below this one (the WordPiece tokenizer, packing and BERT's
masking in :mod:`ptlib.text`; the MLM loss in :mod:`ptlib.objectives`; the training loop in
:mod:`ptlib.train`); this module fixes how chapter 3 combines them: :class:`MLMRecipe` (data,
tokenizer, model, budget), :func:`pretrain_mlm`, and :func:`tiny_bert`, which loads chapter 3's
model from the cache or pre-trains it there first.

Introduced in chapter 3 (masked language modelling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import BertConfig, BertForMaskedLM, PreTrainedModel, PreTrainedTokenizerBase

from ptlib import checks, data, objectives, runtime, text, train, weights
from ptlib.text import LocalityScaffold, PhasedBatches
from ptlib.train import TrainConfig
from ptlib.weights import WeightsError, models_cache_dir

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
    vocab_size = checks.positive_int(vocab_size, "vocab_size")
    max_position_embeddings = checks.positive_int(
        max_position_embeddings, "max_position_embeddings"
    )
    if checks.finite_number(dropout, "dropout", low=0.0, high=1.0) == 1.0:
        raise ValueError("dropout must be below 1 (1 drops everything), got 1.0")
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
    scale = checks.finite_number(scale, "scale", low=0.0, low_open=True)
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

    def __post_init__(self) -> None:
        if self.size not in TINY_BERT_SIZES:
            raise ValueError(f"unknown size {self.size!r}: choose one of {sorted(TINY_BERT_SIZES)}")
        for name in ("vocab_size", "tokens_per_batch"):
            checks.positive_int(getattr(self, name), name)
        for name in ("seq_len", "short_seq_len"):  # [CLS], a token, [SEP]
            checks.positive_int(getattr(self, name), name, minimum=3)
        for name in ("max_documents", "max_steps"):
            if getattr(self, name) is not None:
                checks.positive_int(getattr(self, name), name)
        checks.positive_int(self.seed, "seed", minimum=0)
        checks.finite_number(self.mlm_probability, "mlm_probability", 0.0, 1.0, low_open=True)
        for name in ("short_fraction", "local_bias_fraction", "warmup_fraction"):
            checks.finite_number(getattr(self, name), name, 0.0, 1.0)
        checks.finite_number(self.lr, "lr", 0.0, low_open=True)
        checks.finite_number(self.local_bias, "local_bias", 0.0)
        checks.finite_number(self.weight_decay, "weight_decay", 0.0)
        if self.max_seconds is not None:
            checks.finite_number(self.max_seconds, "max_seconds", 0.0, low_open=True)
        elif self.max_steps is None:
            raise ValueError("the recipe needs a budget: set max_steps or max_seconds")


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
    if docs is not None:
        return text.encode_corpus(checks.texts(docs, "docs"), tokenizer)
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

    max_steps = checks.positive_int(max_steps, "max_steps")
    special = text.special_ids(tokenizer)

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

    max_steps = checks.positive_int(max_steps, "max_steps")
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
) -> tuple[PreTrainedTokenizerBase, BertForMaskedLM, pd.DataFrame]:
    """Pre-train a tiny BERT with masked language modelling, following ``recipe``.

    The steps of chapter 3 in one call: train a WordPiece tokenizer on the corpus, tokenize it,
    build the model (:func:`new_mlm_model`), find the step budget
    (:func:`mlm_steps_for_budget`), and train with :func:`ptlib.train.fit` on
    :func:`ptlib.objectives.mlm_batch_loss` (logits at masked positions only, bf16 where
    supported). Returns ``(tokenizer, model, history)``; the model is in ``eval`` mode.
    ``docs``, when given, replaces the training documents of ``recipe.corpus`` for both the
    tokenizer and the model, and everything else stays as the recipe says (chapter 9
    pre-trains on a gender-swapped corpus this way).
    Introduced in chapter 3 (masked language modelling).
    """
    if not isinstance(recipe, MLMRecipe):
        raise TypeError(f"recipe must be an MLMRecipe (e.g. MLM_RECIPES['cpu']), got {recipe!r}")
    if docs is None:
        docs = data.load_corpus(recipe.corpus, "train")[: recipe.max_documents]
        tokenizer = text.train_wordpiece(docs, recipe.vocab_size)
        ids = mlm_corpus_ids(recipe, tokenizer)
    else:
        docs = checks.texts(docs, "docs")  # None/NaN would be learned as the words "none"/"nan"
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
    return tokenizer, model, history


def save_pretrained_mlm(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    folder: str | Path,
    metadata: dict | None = None,
) -> Path:
    """Save a model and its tokenizer with ``save_pretrained`` (safetensors), atomically.

    Everything is written to a temporary folder beside ``folder`` that then replaces it, so a
    reader never sees half a model; ``manifest.json`` holds the sha256 of every file
    (:func:`ptlib.weights.save_checkpoint`). ``metadata`` (the recipe, measured losses) goes to
    ``ptlib.json`` in the same folder. Introduced in chapter 3 (masked language modelling).
    """
    if not isinstance(model, PreTrainedModel):
        raise TypeError(f"model must be a Transformers model, got {type(model).__name__}")
    weights.check_tokenizer(tokenizer, model.config.vocab_size)
    return weights.save_checkpoint(folder, info=metadata or {}, pretrained=(model, tokenizer))


def load_pretrained_mlm(
    folder: str | Path, device: str | torch.device | None = None
) -> tuple[PreTrainedTokenizerBase, BertForMaskedLM]:
    """Load a ``BertForMaskedLM`` and its tokenizer saved by :func:`save_pretrained_mlm`.

    Weights from safetensors only, no remote code; the model is in ``eval`` mode on ``device``.
    The folder is checked first (:func:`ptlib.weights.from_folder`): its ``manifest.json``, and
    that config, weights (all of them, the MLM head included) and tokenizer belong together.
    Returns ``(tokenizer, model)``. Introduced in chapter 3 (masked language modelling).
    """
    return weights.from_folder(folder, BertForMaskedLM, device)


def tiny_bert(
    name: str = "tiny-bert-imdb",
    device: str | torch.device | None = None,
    train_if_missing: bool = True,
    progress: bool = True,
) -> tuple[PreTrainedTokenizerBase, BertForMaskedLM]:
    """Chapter 3's pre-trained tiny BERT: loaded from the cache, or pre-trained there first.

    ``name`` is one of :data:`TINY_BERT_NAMES` (``"tiny-bert-imdb"``: the CPU recipe;
    ``"small-bert-imdb"``: the GPU recipe). The model lives in
    ``models_cache_dir() / name``; chapter 3 writes it there, and if it is missing this
    function pre-trains it with the same recipe (:func:`pretrain_mlm`, a few minutes on a
    CPU for the default) and saves it, so every later chapter also runs on its own, in Colab
    too. ``train_if_missing=False`` raises :class:`WeightsError` instead.
    Returns ``(tokenizer, model)``: the WordPiece tokenizer and a ``BertForMaskedLM`` in
    ``eval`` mode on ``device`` (its encoder is ``model.bert``).
    Introduced in chapter 3 (masked language modelling).
    """
    if not isinstance(name, str) or name not in TINY_BERT_NAMES:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(TINY_BERT_NAMES)}")
    folder = models_cache_dir() / name
    if (folder / "model.safetensors").is_file():
        return load_pretrained_mlm(folder, device)
    if not train_if_missing:
        raise WeightsError(
            f"{folder} is missing: run chapter 3 (notebooks/03_masked_language_modelling.ipynb) "
            f"or call ptlib.mlm.tiny_bert({name!r}) to pre-train it"
        )
    recipe = MLM_RECIPES[TINY_BERT_NAMES[name]]
    tokenizer, model, history = pretrain_mlm(recipe, device, progress=progress)
    meta = {
        "name": name,
        "recipe": asdict(recipe),
        "steps": int(history["step"].iloc[-1]),
        "seconds": float(history["seconds"].iloc[-1]),
        "trained_by": "ptlib.mlm.tiny_bert",
    }
    save_pretrained_mlm(model, tokenizer, folder, meta)
    return tokenizer, model
