"""Fine-tuning a pre-trained encoder for text classification with Hugging Face's ``Trainer``.

:func:`finetune_classifier` takes a training and an evaluation table (columns ``text`` and
``label``, any number of classes) and any encoder (``"all-MiniLM-L6-v2"``, a local folder written
by ``save_pretrained``, or, online, a Hub name such as ``"bert-base-uncased"``), puts a
classification head on it, trains it with :class:`transformers.Trainer` and returns the metrics
on the evaluation table. The pieces it is made of are public, so a chapter can show them one at a
time: :func:`load_classifier` (a head on the mean of the token vectors,
:class:`MeanPoolingClassifier`, or the library's head on ``[CLS]``), :func:`set_trainable` (full
fine-tuning, a linear probe, or partial fine-tuning of the top blocks), :func:`add_lora`
(low-rank adapters), :class:`TextDataset`, :func:`training_arguments`, :func:`train_classifier`,
:func:`predict_logits` and :func:`compute_metrics`.
:class:`FineTunedClassifier` wraps fine-tuning as a scikit-learn-style estimator, so
:func:`ptlib.evaluate.label_efficiency` can run it at every label budget.

Introduced in chapter 5 (fine-tuning); chapter 2 uses it to compare the ways to fine-tune, and
the applications chapters reuse it.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    EvalPrediction,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from ptlib import checks, evaluate, runtime, weights

#: The default encoder: the offline, checksum-verified all-MiniLM-L6-v2 of chapter 1.
DEFAULT_MODEL = weights.MINILM_NAME
#: Folder name, in the model cache, of chapter 5's fine-tuned SST-2 classifier.
CLASSIFIER_NAME = "minilm-sst2"


@dataclass(frozen=True)
class FinetuneConfig:
    """How a classifier is fine-tuned: what is trained, for how long, and how.

    What is trained: ``from_scratch`` (the same architecture from random weights: the baseline
    that shows what pre-training contributed); ``pooling`` (``"mean"`` of the token vectors, or
    ``"cls"``: see :func:`load_classifier`); ``dropout`` (``None`` keeps the model's); ``layers``
    (:func:`set_trainable`: ``"all"``, ``"head"``, the top ``k`` blocks; or ``"lora"``:
    :func:`add_lora` with rank ``lora_rank``).

    How long (:meth:`steps_for`): ``max_steps`` optimizer steps when given; otherwise ``epochs``
    passes over the training table, and at least ``min_steps`` steps. The defaults, 3 epochs and
    at least 50 steps, are the ``Trainer`` default and the middle of BERT's recommended 2-4 epochs
    (Devlin et al. 2019): a table of 800 news articles in 5 classes gets 75 steps of 32 (one
    epoch, the earlier default, gave it 25 steps and 0.76 accuracy; 3 epochs 0.94), a table of a
    few hundred examples at least 50 steps, and tens of thousands of examples three passes.
    ``max_seconds`` is only a safety limit (:class:`TimeBudget`).

    How: AdamW at ``learning_rate`` (5e-5, the top of BERT's recommended range; small encoders
    often want more, as chapters 2 and 5 show) with a linear warm-up over the first ``warmup``
    fraction of the steps and linear decay; ``batch_size`` examples a step, texts cut to
    ``max_length`` tokens; ``seed`` fixes the head's initialisation and the batch order; bf16
    autocast where the hardware supports it (``bf16``); ``device`` (``None``: the best
    available); ``progress`` shows bars and losses.
    Introduced in chapter 5 (fine-tuning).
    """

    from_scratch: bool = False
    pooling: str = "mean"
    dropout: float | None = None
    layers: str | int = "all"
    lora_rank: int = 8
    epochs: float = 3.0
    min_steps: int = 50
    max_steps: int | None = None
    max_seconds: float | None = None
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 64
    seed: int = 0
    device: str | torch.device | None = None
    bf16: bool = True
    eval_batch_size: int = 128
    progress: bool = True

    def __post_init__(self) -> None:
        if self.pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {self.pooling!r}")
        layers_ok = self.layers in ("all", "head", "lora") or (
            isinstance(self.layers, int) and not isinstance(self.layers, bool) and self.layers >= 0
        )
        if not layers_ok:
            raise ValueError(
                f"layers must be 'all', 'head', 'lora' or an int >= 0, got {self.layers!r}"
            )
        if self.dropout is not None and checks.finite_number(self.dropout, "dropout", low=0) >= 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        for name in ("lora_rank", "min_steps", "batch_size", "max_length", "eval_batch_size"):
            checks.positive_int(getattr(self, name), name)
        checks.positive_int(self.seed, "seed", minimum=0)
        if self.max_steps is not None:
            checks.positive_int(self.max_steps, "max_steps")
        for name in ("epochs", "learning_rate"):
            checks.finite_number(getattr(self, name), name, low=0, low_open=True)
        if self.max_seconds is not None:
            checks.finite_number(self.max_seconds, "max_seconds", low=0, low_open=True)
        if checks.finite_number(self.warmup, "warmup", low=0) >= 1:
            raise ValueError(f"warmup is a fraction of the steps in [0, 1), got {self.warmup}")
        checks.finite_number(self.weight_decay, "weight_decay", low=0)
        for name in ("from_scratch", "bf16", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def steps_for(self, n_train: int) -> int:
        """The optimizer steps for ``n_train`` examples: ``max_steps`` if set, otherwise
        ``max(min_steps, ceil(epochs * n_train / batch_size))``."""
        checks.positive_int(n_train, "n_train")
        if self.max_steps is not None:
            return self.max_steps
        return max(self.min_steps, math.ceil(self.epochs * n_train / self.batch_size))


def make_config(config: FinetuneConfig | None = None, **changes: Any) -> FinetuneConfig:
    """``config`` (default :class:`FinetuneConfig`) with ``changes``, validated.

    An unknown field name raises ``TypeError`` naming it. Introduced in chapter 5 (fine-tuning).
    """
    if config is not None and not isinstance(config, FinetuneConfig):
        raise TypeError(
            f"config must be a ptlib.finetune.FinetuneConfig (or None), got "
            f"{type(config).__name__}; set single fields as keywords, e.g. max_steps=100"
        )
    base = config if config is not None else FinetuneConfig()
    unknown = sorted(set(changes) - {f.name for f in fields(FinetuneConfig)})
    if unknown:
        raise TypeError(
            f"unknown fine-tuning setting(s) {unknown}: see ptlib.finetune.FinetuneConfig"
        )
    return replace(base, **changes)


def resolve_model(name: str | Path) -> str:
    """Where to load the encoder ``name`` from: a local folder, or a Hugging Face Hub id.

    ``"all-MiniLM-L6-v2"`` resolves to its verified folder (:func:`ptlib.weights.minilm_path`);
    an existing folder is checked (:func:`ptlib.weights.verify_checkpoint`: its manifest, or a
    warning if it has none) and used; a path that is a file or does not exist raises an error
    that says so; any other name is taken as a Hub id, which needs the internet (offline, with
    ``HF_HUB_OFFLINE=1``, it raises a ``ValueError`` that says so).
    Introduced in chapter 5 (fine-tuning).
    """
    if not isinstance(name, str | os.PathLike):
        raise TypeError(f"model must be a model name or a folder, got {type(name).__name__}")
    if str(name) == weights.MINILM_NAME:
        return str(weights.minilm_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(weights.verify_checkpoint(path))
    if path.is_file():
        raise NotADirectoryError(f"model {str(name)!r} is a file; give the model's folder")
    if isinstance(name, os.PathLike) or str(name).startswith((".", "~", os.sep)):
        raise FileNotFoundError(f"model {str(name)!r}: there is no folder {path.resolve()}")
    if runtime.is_offline():
        raise ValueError(
            f"{str(name)!r} is neither {weights.MINILM_NAME!r} nor a local model folder, and "
            "Hugging Face is set to offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE). Go online to "
            "download it from the Hub, or pass a folder written by save_pretrained."
        )
    return str(name)


class MeanPoolingClassifier(nn.Module):
    """An encoder, the mean of its token vectors over real tokens, dropout, and a linear head.

    This is how sentence encoders such as ``all-MiniLM-L6-v2`` were trained to summarise a
    sentence (sentence-transformers' mean pooling), whereas the library's
    ``...ForSequenceClassification`` classes read the ``[CLS]`` position through BERT's pooler.
    ``forward`` has the interface ``Trainer`` expects (``labels`` in, ``loss`` and ``logits``
    out); ``base_model`` is the encoder and ``config`` its configuration.
    Introduced in chapter 5 (fine-tuning).
    """

    base_model_prefix = "encoder"
    accepts_loss_kwargs = False  # Trainer: the loss is the mean over the batch

    def __init__(self, encoder: PreTrainedModel, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module) or not hasattr(encoder, "config"):
            raise TypeError(f"encoder must be a transformers model, got {type(encoder).__name__}")
        checks.positive_int(num_labels, "num_labels", minimum=2)
        if checks.finite_number(dropout, "dropout", low=0) >= 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if getattr(encoder, "pooler", None) is not None:
            encoder.pooler = None  # BERT's [CLS] pooler is not used
        self.encoder = encoder
        self.config = encoder.config
        self.config.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)

    @property
    def base_model(self) -> PreTrainedModel:
        """The encoder, as for the library's weights."""
        return self.encoder

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state  # (batch, tokens, hidden)
        pooled = weights.mean_pool(hidden, attention_mask)  # (batch, hidden)
        logits = self.classifier(self.dropout(pooled))  # (batch, num_labels)
        loss = None if labels is None else F.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def load_classifier(
    model: str | Path = DEFAULT_MODEL,
    num_labels: int = 2,
    *,
    from_scratch: bool = False,
    pooling: str = "mean",
    dropout: float | None = None,
    label_names: Sequence[str] | None = None,
    seed: int = 0,
    attn_implementation: str | None = None,
) -> tuple[PreTrainedTokenizerBase, nn.Module]:
    """A tokenizer and an encoder with a new classification head of ``num_labels`` outputs.

    With ``from_scratch=True`` the network has the same architecture and tokenizer, but every
    weight is drawn at random (``from_config``): the baseline that shows what pre-training
    contributed. ``pooling="mean"`` (the default) puts the head on the mean of the token vectors
    (:class:`MeanPoolingClassifier`); ``pooling="cls"`` uses the library's
    ``AutoModelForSequenceClassification``, whose head reads the ``[CLS]`` position (through
    BERT's pooler). ``dropout`` replaces the model's dropout probabilities (BERT's
    ``hidden_dropout_prob`` and ``attention_probs_dropout_prob``, and the head's), ``None`` keeps
    them. The head is always new; ``seed`` fixes its random initialisation (and, from scratch,
    that of the whole network). ``attn_implementation`` (``"eager"``, ``"sdpa"``, ``None``: the
    library's default) chooses how attention is computed; the result is the same up to rounding.
    Weights are read from safetensors only, and no code from a model folder is run
    (``trust_remote_code=False``). Config, weights and tokenizer are checked against each other
    (:func:`ptlib.weights.load_pretrained`): a weight of the encoder missing from the file, or
    one of the file that fits nothing, is an error; the new head is reported on the
    ``ptlib.weights`` logger (level INFO).
    Introduced in chapter 5 (fine-tuning).
    """
    num_labels = checks.positive_int(num_labels, "num_labels", minimum=2)
    seed = checks.positive_int(seed, "seed", minimum=0)
    if pooling not in ("mean", "cls"):
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    if label_names is not None:
        label_names = checks.texts(label_names, "label_names")
        if len(label_names) != num_labels or len(set(label_names)) != num_labels:
            raise ValueError(
                f"label_names must be {num_labels} different names, one per label; got "
                f"{label_names}"
            )
    if dropout is not None:
        dropout = checks.finite_number(dropout, "dropout", low=0.0, high=1.0)
        if dropout == 1.0:
            raise ValueError("dropout must be below 1 (1 drops everything), got 1.0")
    source = resolve_model(model)
    names = list(label_names) if label_names is not None else [str(i) for i in range(num_labels)]
    id2label = dict(enumerate(names))
    label2id = {name: i for i, name in id2label.items()}
    runtime.seed_everything(seed)
    extra: dict[str, Any] = {}
    if dropout is not None:
        extra = {
            "hidden_dropout_prob": dropout,
            "attention_probs_dropout_prob": dropout,
            "classifier_dropout": dropout,
        }
    config = AutoConfig.from_pretrained(
        source,
        num_labels=num_labels,
        id2label=id2label,
        label2id=label2id,
        trust_remote_code=False,
        **extra,
    )
    tokenizer = weights.load_tokenizer(source, config.vocab_size)
    auto = AutoModelForSequenceClassification if pooling == "cls" else AutoModel
    attention = {"attn_implementation": attn_implementation} if attn_implementation else {}
    if from_scratch:
        net = auto.from_config(config, **attention)
    else:  # the new head (and BERT's pooler, new or unused) is expected; anything else is an error
        net = weights.load_pretrained(
            auto, source, new_head=("classifier.", "pooler."), config=config, **attention
        )
    if pooling == "mean":
        head_dropout = dropout if dropout is not None else config.hidden_dropout_prob
        net = MeanPoolingClassifier(net, num_labels, dropout=head_dropout)
        weights.logger.info(
            "%s: new (random) head ['classifier.weight', 'classifier.bias']", source
        )
    return tokenizer, net


def _encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer blocks of the encoder (the longest ModuleList in its body)."""
    n_layers = getattr(model.config, "num_hidden_layers", None)
    lists = [m for m in model.base_model.modules() if isinstance(m, nn.ModuleList) and len(m)]
    exact = [m for m in lists if len(m) == n_layers]
    if exact:
        return exact[0]
    if not lists:
        raise ValueError(f"cannot find the transformer blocks of {type(model).__name__}")
    return max(lists, key=len)


def set_trainable(model: nn.Module, layers: str | int = "all") -> int:
    """Choose which weights fine-tuning updates; return the number of trainable parameters.

    - ``"all"``: every weight (full fine-tuning);
    - ``"head"``: only the new classification head, the encoder frozen: a linear probe on its
      frozen features (for BERT-like models one linear layer on the pooled ``[CLS]`` vector);
    - an int ``k``: the head, the top ``k`` transformer blocks and what sits above them (BERT's
      pooler), the rest frozen: partial fine-tuning. ``k = 0`` is the same as ``"head"``.

    The head is every parameter outside ``model.base_model``. Frozen weights still run their
    dropout in training mode, as in the library. Introduced in chapter 2 (model types).
    """
    _check_classifier(model)
    prefix = model.base_model_prefix
    named = list(model.named_parameters())
    head = [p for name, p in named if not name.startswith(prefix + ".")]
    if not head:
        raise ValueError(f"{type(model).__name__} has no parameters outside its base model")
    if layers == "all":
        for _, p in named:
            p.requires_grad_(True)
        return weights.count_parameters(model, trainable_only=True)
    if layers == "head":
        layers = 0
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 0:
        raise ValueError(f"layers must be 'all', 'head' or a non-negative int, got {layers!r}")
    blocks = list(_encoder_layers(model))
    if layers > len(blocks):
        raise ValueError(f"the encoder has {len(blocks)} blocks; cannot train the top {layers}")
    for _, p in named:
        p.requires_grad_(False)
    trained = {id(p) for block in blocks[len(blocks) - layers :] for p in block.parameters()}
    if layers > 0:  # what the body computes after its last block (BERT's pooler) trains too
        last = max(
            i for i, (_, p) in enumerate(named) if any(p is q for q in blocks[-1].parameters())
        )
        trained |= {id(p) for _, p in named[last + 1 :]}
    trained |= {id(p) for p in head}
    for _, p in named:
        if id(p) in trained:
            p.requires_grad_(True)
    return weights.count_parameters(model, trainable_only=True)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update (LoRA, Hu et al. 2022).

    ``y = W x + b + (alpha / rank) * B A x`` with ``A`` (rank x in) drawn at random and ``B``
    (out x rank) zero, so training starts exactly from the pre-trained layer.
    Introduced in chapter 2 (model types).
    """

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be a torch.nn.Linear, got {type(base).__name__}")
        checks.positive_int(rank, "rank")
        checks.finite_number(alpha, "alpha")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scaling = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = (x @ self.lora_a.T.to(x.dtype)) @ self.lora_b.T.to(x.dtype)
        return self.base(x) + self.scaling * update


def add_lora(
    model: nn.Module,
    rank: int = 8,
    alpha: float = 16.0,
    targets: Sequence[str] = ("query", "value"),
) -> int:
    """Freeze ``model`` and wrap its attention projections in :class:`LoRALinear`; the
    classification head stays trainable. Returns the number of trainable parameters.

    ``targets`` are the names of the ``nn.Linear`` modules to adapt (BERT's ``query`` and
    ``value``, as in the LoRA paper). Raises ``ValueError`` if none is found.
    Introduced in chapter 2 (model types).
    """
    if isinstance(targets, str):
        raise TypeError(f"targets must be a sequence of module names, e.g. ({targets!r},)")
    checks.positive_int(rank, "rank")
    checks.finite_number(alpha, "alpha")
    set_trainable(model, "head")
    found = [
        (name, module)
        for name, module in model.base_model.named_modules()
        if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in set(targets)
    ]
    if not found:
        raise ValueError(f"no nn.Linear named {list(targets)} in {type(model).__name__}")
    for name, module in found:
        parent_name, _, child = name.rpartition(".")
        parent = model.base_model.get_submodule(parent_name) if parent_name else model.base_model
        setattr(parent, child, LoRALinear(module, rank=rank, alpha=alpha))
    return weights.count_parameters(model, trainable_only=True)


class TextDataset(torch.utils.data.Dataset):
    """Texts tokenised once, served as the dicts ``Trainer`` batches are made of.

    Item ``i`` is ``{"input_ids": [...], "attention_mask": [...], ..., "labels": int}`` (no
    padding: :class:`transformers.DataCollatorWithPadding` pads each batch to its longest text).
    ``labels`` may be omitted for prediction. Texts longer than ``max_length`` tokens are cut.
    Introduced in chapter 5 (fine-tuning).
    """

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[int] | np.ndarray | None,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int = 64,
    ) -> None:
        texts = checks.texts(texts)
        checks.positive_int(max_length, "max_length")
        if labels is not None and len(labels) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        labels = None if labels is None else _class_ids(labels)
        encoded = tokenizer(texts, truncation=True, max_length=max_length)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        self.items: list[dict[str, Any]] = [
            {k: encoded[k][i] for k in keys} for i in range(len(texts))
        ]
        if labels is not None:
            for item, label in zip(self.items, np.asarray(labels).tolist(), strict=True):
                item["labels"] = int(label)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i]


def compute_metrics(eval_pred: EvalPrediction) -> dict[str, float]:
    """The ``compute_metrics`` function for ``Trainer``: accuracy and macro precision, recall, F1.

    Takes the logits and labels ``Trainer`` gathers on the evaluation set; scikit-learn only (no
    metric downloaded from the Hub). Introduced in chapter 5 (fine-tuning).
    """
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    _check_logits(logits, "the evaluation logits")
    out = evaluate.classification_metrics(
        labels, np.argmax(logits, axis=-1), num_labels=logits.shape[-1]
    )
    del out["confusion_matrix"]
    return out


@torch.inference_mode()
def predict_logits(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    batch_size: int = 128,
    max_length: int = 64,
    bf16: bool = True,
    progress: bool = False,
) -> np.ndarray:
    """The classifier's logits for ``texts``, shape (len(texts), num_labels), float32.

    Runs in evaluation mode on the model's device, in bf16 where :func:`ptlib.runtime.autocast`
    allows; texts are sorted by length so batches pad little, and the rows come back in the
    input order. Raises ``ValueError`` if the model gives NaN or infinite logits (its weights
    diverged in training). Introduced in chapter 5 (fine-tuning).
    """
    _check_classifier(model)
    texts = checks.texts(texts)
    checks.positive_int(batch_size, "batch_size")
    data = TextDataset(texts, None, tokenizer, max_length)
    _check_positions(model, data, max_length)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = np.empty((len(data), model.config.num_labels), dtype=np.float32)
    lengths = [len(item["input_ids"]) for item in data.items]
    try:
        for idx in weights.length_sorted_batches(lengths, batch_size, progress, "predicting"):
            batch = tokenizer.pad([data[i] for i in idx], return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            with runtime.autocast(device, enabled=bf16):
                logits = model(**batch).logits
            out[idx] = logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    _check_logits(out, "model's logits")
    return out


def _check_logits(logits: np.ndarray, what: str) -> None:
    """Raise ``ValueError`` if ``logits`` hold NaN or infinity: the model has diverged, and an
    argmax over NaN would still give plausible-looking predictions (class 0)."""
    bad = ~np.isfinite(np.asarray(logits, dtype=np.float64))
    if bad.any():
        raise ValueError(
            f"the {what} hold {int(bad.sum())} NaN or infinite value(s) out of {bad.size}: the "
            "model's weights diverged in training; train again with a lower learning rate"
        )


def _check_positions(model: nn.Module, data: TextDataset, max_length: int) -> None:
    """Every tokenised text must fit the model's position embeddings; a longer one would fail
    deep inside the encoder with an index error."""
    limit = getattr(model.config, "max_position_embeddings", None)
    longest = max(len(item["input_ids"]) for item in data.items)
    if limit is not None and longest > limit:
        raise ValueError(
            f"texts have up to {longest} tokens (max_length={max_length}), but the model has "
            f"only {limit} positions: set max_length to at most {limit}"
        )


def _check_classifier(model: Any) -> None:
    if not isinstance(model, nn.Module) or not hasattr(model, "config"):
        raise TypeError(
            f"model must be a classifier from load_classifier or train_classifier (an nn.Module "
            f"with a config), got {type(model).__name__}"
        )


class TimeBudget(TrainerCallback):
    """Stop training once ``max_seconds`` of wall-clock time have passed (checked every step).

    The learning-rate schedule is planned for the full number of steps, so a run stopped early
    ends with the learning rate not yet decayed: use a step budget for results you report, and
    this as a safety limit. Introduced in chapter 5 (fine-tuning).
    """

    def __init__(self, max_seconds: float) -> None:
        checks.finite_number(max_seconds, "max_seconds", low=0, low_open=True)
        self.max_seconds = float(max_seconds)
        self.t0: float | None = None
        self.stopped_early = False

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
        self.t0 = time.perf_counter()
        self.stopped_early = False

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
        if self.t0 is not None and time.perf_counter() - self.t0 >= self.max_seconds:
            control.should_training_stop = True
            self.stopped_early = state.global_step < state.max_steps
        return control


class _DivergenceCheck(TrainerCallback):
    """Stop fine-tuning with ``FloatingPointError`` once a logged training loss is NaN or
    infinite. :func:`training_arguments` turns ``Trainer``'s ``logging_nan_inf_filter`` off, so
    such a loss reaches the log instead of being replaced by the average of earlier ones."""

    def __init__(self) -> None:
        self.last_logged = 0

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001, ANN201
        logs = logs or {}
        loss = logs.get("loss", logs.get("train_loss"))
        if loss is not None and not math.isfinite(loss):
            raise FloatingPointError(
                f"fine-tuning diverged: the training loss is {loss} at step {state.global_step} "
                f"(it was finite up to step {self.last_logged}); lower the learning rate "
                f"(learning_rate={args.learning_rate:g}), e.g. ten times"
            )
        if "loss" in logs:
            self.last_logged = state.global_step


def training_arguments(
    output_dir: str | Path,
    config: FinetuneConfig,
    max_steps: int | None = None,
    logging_steps: int = 50,
    eval_strategy: str = "no",
) -> TrainingArguments:
    """``TrainingArguments`` for ``config``, as this course uses them (transformers 5 names).

    AdamW with linear warm-up over the first ``config.warmup`` fraction of the steps, then linear
    decay; ``max_steps`` (default ``config.max_steps``) overrides ``config.epochs``. Batches are
    grouped by length (``train_sampling_strategy="group_by_length"``) so they pad little; nothing
    is saved (``save_strategy="no"``) and nothing is reported to an online tracker. bf16 mixed
    precision is used where :func:`ptlib.runtime.bf16_supported`; a CPU device sets ``use_cpu``.
    A NaN or infinite training loss is logged as it is (``logging_nan_inf_filter=False``), so
    that :func:`train_classifier` can stop a diverged run. Introduced in chapter 5 (fine-tuning).
    """
    if not isinstance(config, FinetuneConfig):
        raise TypeError(f"config must be a FinetuneConfig, got {type(config).__name__}")
    if max_steps is not None:
        checks.positive_int(max_steps, "max_steps")
    checks.positive_int(logging_steps, "logging_steps")
    dev = config.device
    dev = dev if isinstance(dev, torch.device) else runtime.get_device(dev)
    steps = max_steps if max_steps is not None else config.max_steps
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=steps if steps is not None else -1,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup,
        weight_decay=config.weight_decay,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=dev.type == "cpu",
        bf16=bool(config.bf16 and runtime.bf16_supported(dev)),
        eval_strategy=eval_strategy,
        save_strategy="no",
        logging_strategy="steps",
        logging_steps=logging_steps,
        logging_nan_inf_filter=False,
        report_to="none",
        disable_tqdm=not config.progress,
        train_sampling_strategy="group_by_length",
        dataloader_num_workers=0,
    )


def _check_table(df: pd.DataFrame, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame with columns text and label")
    missing = {"text", "label"} - set(df.columns)
    if missing:
        raise ValueError(f"{what} lacks column(s) {sorted(missing)}; it needs text and label")
    if len(df) == 0:
        raise ValueError(f"{what} is empty (0 rows): give it at least one labelled text")
    checks.texts(df["text"], f"{what}['text']")
    no_label = df["label"].isna().to_numpy()
    if no_label.any():
        rows = np.flatnonzero(no_label)
        raise ValueError(
            f"{what}['label'] is missing (NaN or None) in {len(rows)} row(s), the first at "
            f"position {rows[0]}: drop or fill them first (e.g. df.dropna(subset=['label']))"
        )


def _label_space(train: pd.DataFrame, eval: pd.DataFrame) -> tuple[list[Any], list[str]]:
    """The classes, in the order of their ids, and their names.

    Labels must be of one kind (strings, or numbers), and every ``eval`` label must occur in
    ``train``: otherwise ``ValueError``."""
    tables = {"train": train["label"].tolist(), "eval": eval["label"].tolist()}
    kinds = {_label_kind(v) for values in tables.values() for v in values}
    if len(kinds) > 1:
        types = "; ".join(
            f"{what}['label'] has {', '.join(sorted({type(v).__name__ for v in values}))}"
            for what, values in tables.items()
        )
        raise ValueError(
            f"the label column mixes types ({types}): 1 and '1' would be two different "
            "classes; convert both tables to one type first, e.g. df['label'].astype(int)"
        )
    if len(set(tables["train"])) < 2:
        raise ValueError(
            f"train['label'] holds one class only ({tables['train'][0]!r}): a classifier needs "
            "examples of at least two classes"
        )
    unseen = sorted(set(tables["eval"]) - set(tables["train"]), key=str)
    if unseen:
        raise ValueError(
            f"eval['label'] has label(s) that train never has: {unseen[:10]}; the model would "
            "get an untrained output for them. Drop those rows from eval, or add examples of "
            "them to train"
        )
    seen = sorted(set(train["label"].tolist()) | set(eval["label"].tolist()), key=str)
    names = train.attrs.get("label_names")
    ints = all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in seen)
    if ints and names is not None and all(0 <= v < len(names) for v in seen):
        return list(range(len(names))), [str(n) for n in names]
    if ints:
        seen = sorted(int(v) for v in seen)
        if seen == list(range(len(seen))):
            return seen, [str(v) for v in seen]
    return seen, [str(v) for v in seen]


def _label_kind(value: Any) -> str:
    if isinstance(value, str):
        return "str"
    return "number" if isinstance(value, Real | np.number) else type(value).__name__


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    model: str | Path = DEFAULT_MODEL,
    config: FinetuneConfig | None = None,
    *,
    num_labels: int | None = None,
    label_names: Sequence[str] | None = None,
    **changes: Any,
) -> tuple[PreTrainedTokenizerBase, nn.Module, dict[str, Any]]:
    """Training only: put a new head on ``model`` and train it with ``Trainer`` on ``texts`` and
    integer class ids. :func:`finetune_classifier` calls it on a table and then evaluates.

    ``labels`` are integers ``0 .. num_labels - 1`` (``num_labels`` defaults to the largest
    label + 1, at least 2). ``config`` (a :class:`FinetuneConfig`; ``changes`` set its fields,
    e.g. ``max_steps=200``) says what is trained and how. Returns ``(tokenizer, model, info)``
    with the model in evaluation mode and ``info`` holding ``n_train``, ``steps``,
    ``stopped_early``, ``train_seconds``, ``trainable_params``, ``total_params`` and
    ``loss_history``. On a CPU, attention is computed by the plain ("eager") implementation,
    which trains short texts faster there than the fused kernel. Introduced in chapter 5.
    """
    cfg = make_config(config, **changes)
    texts = checks.texts(texts)
    y = _class_ids(labels)
    if len(y) != len(texts):
        raise ValueError(f"need one integer label per text, got {len(y)} for {len(texts)} texts")
    if num_labels is None:
        num_labels = max(int(y.max()) + 1, 2)
    checks.positive_int(num_labels, "num_labels", minimum=2)
    if y.min() < 0 or y.max() >= num_labels:
        raise ValueError(f"labels must lie in 0..{num_labels - 1}, got {y.min()}..{y.max()}")
    single = np.flatnonzero(np.bincount(y, minlength=num_labels) == 1)
    if len(single):
        names = list(label_names) if label_names is not None else range(num_labels)
        warnings.warn(
            f"class(es) {[str(names[i]) for i in single]} have a single training example: the "
            "model learns each from that one text and will rarely predict it",
            UserWarning,
            stacklevel=2,
        )
    dev = cfg.device if isinstance(cfg.device, torch.device) else runtime.get_device(cfg.device)
    # On a CPU, the plain ("eager") attention trains short texts faster than the fused kernel,
    # whose backward pass is slow there (measured: 40 % per step for the tiny BERT, 7 % for MiniLM).
    tokenizer, net = load_classifier(
        model,
        num_labels,
        from_scratch=cfg.from_scratch,
        pooling=cfg.pooling,
        dropout=cfg.dropout,
        label_names=label_names,
        seed=cfg.seed,
        attn_implementation="eager" if dev.type == "cpu" else None,
    )
    if cfg.layers == "lora":
        trainable = add_lora(net, rank=cfg.lora_rank, alpha=2.0 * cfg.lora_rank)
    else:
        trainable = set_trainable(net, cfg.layers)
    train_data = TextDataset(texts, y, tokenizer, cfg.max_length)
    _check_positions(net, train_data, cfg.max_length)
    planned = cfg.steps_for(len(train_data))
    budget = TimeBudget(cfg.max_seconds) if cfg.max_seconds is not None else None
    with tempfile.TemporaryDirectory(prefix="ptlib-finetune-") as tmp:
        args = training_arguments(
            tmp, replace(cfg, device=dev), planned, logging_steps=max(1, planned // 10)
        )
        trainer = Trainer(
            model=net,
            args=args,
            train_dataset=train_data,
            data_collator=DataCollatorWithPadding(tokenizer),
            processing_class=tokenizer,
            callbacks=[_DivergenceCheck()] + ([budget] if budget is not None else []),
        )
        if not cfg.progress:
            trainer.remove_callback(PrinterCallback)
            trainer.remove_callback(ProgressCallback)
        with runtime.Stopwatch() as watch:
            trainer.train()
        history = [
            (int(log["step"]), float(log["loss"]))
            for log in trainer.state.log_history
            if "loss" in log
        ]
        info = {
            "n_train": len(train_data),
            "steps": int(trainer.state.global_step),
            "stopped_early": bool(budget is not None and budget.stopped_early),
            "train_seconds": round(watch.seconds, 2),
            "trainable_params": trainable,
            "total_params": weights.count_parameters(net),
            "loss_history": history,
        }
    net.eval()
    return tokenizer, net, info


def _class_ids(labels: Any) -> np.ndarray:
    """``labels`` as a 1-D int64 array; NaN and fractions raise ``ValueError`` instead of being
    cut to a wrong class, strings and other objects ``TypeError``."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"labels must be one integer class id per text, got shape {y.shape}")
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    wrong_type = TypeError(
        f"labels must be integer class ids 0..C-1, got {y.dtype} values; map them to ids first "
        "(finetune_classifier does this for a table)"
    )
    if y.dtype.kind in "US":
        raise wrong_type
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError):
        raise wrong_type from None
    bad = ~np.isfinite(y) | (y != np.round(y))
    if bad.any():
        raise ValueError(
            f"labels holds {int(bad.sum())} value(s) that are not whole numbers (NaN or "
            f"fractions, first at position {np.flatnonzero(bad)[0]}): give integer class ids"
        )
    return y.astype(np.int64)


def finetune_classifier(
    train: pd.DataFrame,
    eval: pd.DataFrame,
    model: str | Path = DEFAULT_MODEL,
    config: FinetuneConfig | None = None,
    *,
    keep_model: bool = False,
    **changes: Any,
) -> dict[str, Any]:
    """Fine-tune an encoder on ``train`` with ``Trainer`` and return its metrics on ``eval``.

    ``train`` and ``eval`` are pandas tables with a ``text`` (str) and a ``label`` column; the
    labels may be any sortable values (ints ``0..C-1`` are used as they are, with the names in
    ``train.attrs["label_names"]`` if present), and any number of classes. ``model`` is
    ``"all-MiniLM-L6-v2"`` (the default, offline), a folder written by ``save_pretrained`` (e.g.
    the tiny BERT of chapter 3) or, online, a Hub name such as ``"bert-base-uncased"``.
    ``config`` (a :class:`FinetuneConfig`: what is trained, for how long, how) has documented
    defaults; ``changes`` set its fields for this call, e.g.
    ``finetune_classifier(train, eval, max_steps=200, learning_rate=2e-4)``.

    Returns a dict with ``accuracy``, ``precision``, ``recall``, ``macro_f1`` (macro averages
    over classes), ``confusion_matrix`` (rows true, columns predicted), ``label_names``,
    ``predictions`` (the predicted class id of every ``eval`` row), ``logits`` (an array of
    shape (len(eval), classes)), ``n_train``, ``steps``,
    ``stopped_early``, ``train_seconds``, ``eval_seconds`` (predicting all of ``eval``),
    ``trainable_params``, ``total_params`` and ``loss_history`` (``[(step, training loss)]``);
    with ``keep_model=True`` also ``model`` and ``tokenizer``.
    Introduced in chapter 5 (fine-tuning).
    """
    cfg = make_config(config, **changes)
    _check_table(train, "train")
    _check_table(eval, "eval")
    classes, names = _label_space(train, eval)
    index = {c: i for i, c in enumerate(classes)}
    y_train = np.array([index[v] for v in train["label"].tolist()], dtype=np.int64)
    y_eval = np.array([index[v] for v in eval["label"].tolist()], dtype=np.int64)
    tokenizer, net, info = train_classifier(
        train["text"].tolist(), y_train, model, cfg, num_labels=len(names), label_names=names
    )
    with runtime.Stopwatch() as watch:
        logits = predict_logits(
            net, tokenizer, eval["text"].tolist(), cfg.eval_batch_size, cfg.max_length, cfg.bf16
        )
    predictions = logits.argmax(axis=1)
    out: dict[str, Any] = evaluate.classification_metrics(y_eval, predictions, len(names))
    out.update(label_names=names, predictions=predictions.tolist(), logits=logits, **info)
    out["eval_seconds"] = round(watch.seconds, 2)
    if keep_model:
        out.update(model=net, tokenizer=tokenizer)
    return out


class FineTunedClassifier:
    """A scikit-learn-style estimator (``fit(texts, labels)``, ``predict(texts)``) that
    fine-tunes an encoder with :func:`train_classifier`, so that
    :func:`ptlib.evaluate.label_efficiency` can run fine-tuning at every label budget.

    ``config`` and ``changes`` are those of :func:`finetune_classifier` (progress is off unless
    asked for); the step budget adapts to the size of the training set
    (:meth:`FinetuneConfig.steps_for`: ``epochs`` passes, at least ``min_steps``).
    Introduced in chapter 5 (fine-tuning).
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        config: FinetuneConfig | None = None,
        **changes: Any,
    ) -> None:
        self.model = model
        self.config = make_config(config, **{"progress": False, **changes})
        self.tokenizer_: PreTrainedTokenizerBase | None = None
        self.model_: nn.Module | None = None
        self.info_: dict[str, Any] = {}

    def fit(self, texts: Sequence[str], labels: Sequence[int] | np.ndarray) -> FineTunedClassifier:
        """Fine-tune on ``texts`` and integer ``labels``; returns ``self``."""
        texts = checks.texts(texts)
        steps = self.config.steps_for(len(texts))
        self.tokenizer_, self.model_, self.info_ = train_classifier(
            texts, labels, self.model, replace(self.config, max_steps=steps)
        )
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The predicted class id of every text."""
        if self.model_ is None or self.tokenizer_ is None:
            raise RuntimeError("call fit() before predict()")
        cfg = self.config
        logits = predict_logits(
            self.model_,
            self.tokenizer_,
            checks.texts(texts),
            max_length=cfg.max_length,
            bf16=cfg.bf16,
        )
        return logits.argmax(axis=1)


def save_classifier(
    net: MeanPoolingClassifier,
    tokenizer: PreTrainedTokenizerBase,
    folder: str | Path | None = None,
    metadata: dict | None = None,
) -> Path:
    """Save a fine-tuned :class:`MeanPoolingClassifier` and its tokenizer; return the folder.

    ``folder`` (default ``models_cache_dir() / "minilm-sst2"``) gets ``model.safetensors`` (the
    encoder and the head), the encoder's ``config.json`` (with the label names), the tokenizer
    files, ``ptlib.json`` (``metadata``, e.g. how it was trained and its dev accuracy) and
    ``manifest.json`` (the sha256 of every file). The folder is replaced atomically.
    :func:`load_saved_classifier` reads it back. Introduced in chapter 5 (fine-tuning).
    """
    if not isinstance(net, MeanPoolingClassifier):
        raise TypeError(
            f"net must be a MeanPoolingClassifier (load_classifier's pooling='mean'), got "
            f"{type(net).__name__}; save a library model with its own save_pretrained"
        )
    weights.check_tokenizer(tokenizer, net.config.vocab_size)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    folder = Path(folder) if folder is not None else weights.models_cache_dir() / CLASSIFIER_NAME
    info = {"architecture": "ptlib.finetune.MeanPoolingClassifier", **(metadata or {})}
    return weights.save_checkpoint(
        folder, net.state_dict(), info, pretrained=(net.config, tokenizer)
    )


def load_saved_classifier(
    folder: str | Path | None = None, device: str | torch.device | None = None
) -> tuple[PreTrainedTokenizerBase, MeanPoolingClassifier]:
    """Load a classifier written by :func:`save_classifier`: ``(tokenizer, net)``, in eval mode.

    ``folder`` defaults to ``models_cache_dir() / "minilm-sst2"``, where chapter 5 saves its
    fine-tuned all-MiniLM-L6-v2. The folder is checked first against its ``manifest.json``
    (:func:`ptlib.weights.verify_checkpoint`), and the weights must match the saved config name
    for name and shape. Safetensors only, no remote code.
    Introduced in chapter 5 (fine-tuning).
    """
    folder = Path(folder) if folder is not None else weights.models_cache_dir() / CLASSIFIER_NAME
    weights.verify_checkpoint(
        folder,
        f"no saved classifier in {folder}: run notebooks/05_fine_tuning.ipynb, or unpack the "
        "workshop's checkpoint archive (python tools/make_checkpoints.py --unpack ARCHIVE)",
    )
    config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    with torch.random.fork_rng(devices=[]):  # the random initialisation, overwritten below,
        encoder = AutoModel.from_config(config, add_pooling_layer=False)  # leaves the global
        net = MeanPoolingClassifier(encoder, config.num_labels)  # random state as it was
    weights.load_state(net, folder)
    tokenizer = weights.load_tokenizer(folder, config.vocab_size)
    device = device if isinstance(device, torch.device) else runtime.get_device(device)
    return tokenizer, net.to(device).eval()
