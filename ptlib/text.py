"""Text for masked language modelling: a WordPiece tokenizer, packed sequences, BERT's masking.

Introduced in chapter 3 (masked language modelling).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
from tokenizers import models as tk_models
from transformers import BertTokenizer, PreTrainedTokenizerBase

from ptlib import checks
from ptlib.objectives import IGNORE_INDEX
from ptlib.train import EpochOrder

#: BERT's special tokens, in the order they get ids 0 to 4 in a tokenizer trained here.
SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def train_wordpiece(
    texts: Iterable[str],
    vocab_size: int = 8192,
    min_frequency: int = 2,
    lowercase: bool = True,
    model_max_length: int = 512,
) -> BertTokenizer:
    """Train a BERT-style WordPiece tokenizer on ``texts`` with the ``tokenizers`` library.

    BERT's pipeline: Unicode normalisation, lower-casing and accent stripping
    (``lowercase=True``), splitting on whitespace and punctuation, then WordPiece: a word the
    vocabulary lacks is split into the longest known pieces, continuation pieces marked ``##``.
    The vocabulary (``vocab_size`` entries, the :data:`SPECIAL_TOKENS` first, so ``[PAD]`` is 0
    and ``[MASK]`` is 4) is learned from ``texts``; a piece must occur ``min_frequency`` times.
    Returns a Transformers tokenizer (``save_pretrained``/``AutoTokenizer`` work) that adds
    ``[CLS]`` and ``[SEP]`` around each text. The learned entries are numbered in sorted order
    after the special tokens, so the same vocabulary always gets the same ids. (The Rust trainer
    breaks ties between equally frequent pairs in hash order, so on a tiny corpus with many ties
    a few rare entries can differ between runs; ties are rare on a corpus of real size.)
    Introduced in chapter 3 (masked language modelling).
    """
    texts = checks.texts(texts, "texts")
    checks.positive_int(vocab_size, "vocab_size", minimum=len(SPECIAL_TOKENS) + 1)
    checks.positive_int(min_frequency, "min_frequency")
    checks.positive_int(model_max_length, "model_max_length")
    tok = Tokenizer(tk_models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    # The trainer numbers tokens in an order that varies from run to run (ties, hash order);
    # renumber them canonically (special tokens, then the rest sorted) so that the same texts
    # always give the same ids.
    learned = sorted(set(tok.get_vocab()) - set(SPECIAL_TOKENS))
    vocab = {t: i for i, t in enumerate([*SPECIAL_TOKENS, *learned])}
    tok.model = tk_models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##")
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return BertTokenizer(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        do_lower_case=lowercase,
        model_max_length=model_max_length,
    )


def encode_corpus(
    texts: Sequence[str], tokenizer: PreTrainedTokenizerBase, batch_size: int = 2000
) -> list[list[int]]:
    """Token ids of every text, without special tokens (the input of :func:`pack_sequences`).

    Introduced in chapter 3 (masked language modelling).
    """
    texts = checks.texts(texts, "texts")
    batch_size = checks.positive_int(batch_size, "batch_size")
    backend = getattr(tokenizer, "backend_tokenizer", None)  # a fast (Rust) tokenizer
    if backend is not None:
        # A copy without truncation or padding: a call like tokenizer(..., truncation=True)
        # leaves those settings on the shared backend, and documents must not be cut.
        backend = Tokenizer.from_str(backend.to_str())
        backend.no_truncation()
        backend.no_padding()
    ids: list[list[int]] = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        if backend is not None:  # straight to Rust: no length warnings for long documents
            ids.extend(e.ids for e in backend.encode_batch(chunk, add_special_tokens=False))
        else:
            ids.extend(tokenizer(chunk, add_special_tokens=False, verbose=False)["input_ids"])
    return ids


def pack_sequences(
    token_ids: Iterable[Sequence[int]], seq_len: int, cls_id: int, sep_id: int
) -> torch.Tensor:
    """Concatenate documents and cut them into rows of exactly ``seq_len`` tokens.

    Documents are joined with ``[SEP]`` between them; each row is ``[CLS]`` + ``seq_len - 2``
    tokens + ``[SEP]``. Rows are full, so no position is padding and no compute is spent on it
    (RoBERTa's "full-sentences" packing). The incomplete last row is dropped.
    Returns a LongTensor of shape (rows, seq_len).
    Introduced in chapter 3 (masked language modelling).
    """
    seq_len = checks.positive_int(seq_len, "seq_len", minimum=3)
    stream: list[int] = []
    for i, doc in enumerate(token_ids):
        if not isinstance(doc, Sequence | np.ndarray | torch.Tensor):
            raise TypeError(
                f"token_ids[{i}] is {type(doc).__name__}, not a sequence of ids: pass one list "
                "of ids per document (the output of encode_corpus), not a single document"
            )
        if len(doc):
            stream.extend(doc)
            stream.append(sep_id)
    body = seq_len - 2
    rows = len(stream) // body
    if rows == 0:
        warnings.warn(
            f"token_ids hold {len(stream)} tokens (with separators), fewer than one row of "
            f"seq_len={seq_len}: no row is returned",
            UserWarning,
            stacklevel=2,
        )
    flat = torch.tensor(stream[: rows * body], dtype=torch.long).view(rows, body)
    cls = torch.full((rows, 1), cls_id, dtype=torch.long)
    sep = torch.full((rows, 1), sep_id, dtype=torch.long)
    return torch.cat([cls, flat, sep], dim=1)


def mask_tokens(
    input_ids: torch.Tensor,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Sequence[int] = (),
    mlm_probability: float = 0.15,
    corruption: tuple[float, float] = (0.8, 0.1),
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: choose positions, corrupt them, and keep their originals as labels.

    Every position that is not special (``special_ids``, e.g. ``[CLS]``, ``[SEP]``, ``[PAD]``)
    and not padding (``attention_mask == 0``) is chosen with probability ``mlm_probability``
    (15% in BERT). ``corruption = (mask_fraction, random_fraction)``: a chosen position is
    replaced by ``[MASK]`` with probability ``mask_fraction`` (80%), by a token drawn uniformly
    from the non-special vocabulary with probability ``random_fraction`` (10%), and left
    unchanged otherwise (10%).
    Returns ``(inputs, labels)``: the corrupted copy of ``input_ids``, and the original token at
    chosen positions with :data:`IGNORE_INDEX` (-100) everywhere else. ``input_ids`` is not
    modified. Pass a seeded ``generator`` for repeatable masks.
    Introduced in chapter 3 (masked language modelling).
    """
    if not isinstance(input_ids, torch.Tensor) or input_ids.is_floating_point():
        raise TypeError(
            f"input_ids must be an integer tensor of token ids, got "
            f"{getattr(input_ids, 'dtype', type(input_ids).__name__)}"
        )
    mlm_probability = checks.finite_number(mlm_probability, "mlm_probability", 0.0, 1.0)
    checks.positive_int(vocab_size, "vocab_size")
    mask_fraction, random_fraction = corruption
    mask_fraction = checks.finite_number(mask_fraction, "corruption[0] (mask_fraction)", 0.0, 1.0)
    random_fraction = checks.finite_number(
        random_fraction, "corruption[1] (random_fraction)", 0.0, 1.0
    )
    if mask_fraction + random_fraction > 1:
        raise ValueError(
            f"corruption = (mask_fraction, random_fraction) must sum to at most 1, got {corruption}"
        )
    ids = input_ids
    can_mask = torch.ones_like(ids, dtype=torch.bool)
    for sid in special_ids:
        can_mask &= ids != sid
    if attention_mask is not None:
        can_mask &= attention_mask.bool()
    u = torch.rand(ids.shape, generator=generator, device=ids.device)
    chosen = (u < mlm_probability) & can_mask
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    # One more uniform number per position decides how a chosen position is corrupted.
    v = torch.rand(ids.shape, generator=generator, device=ids.device)
    to_mask = chosen & (v < mask_fraction)
    to_random = chosen & (v >= mask_fraction) & (v < mask_fraction + random_fraction)
    excluded = {*special_ids, mask_token_id}
    allowed = torch.tensor(
        [t for t in range(vocab_size) if t not in excluded], dtype=ids.dtype, device=ids.device
    )
    pick = torch.randint(len(allowed), ids.shape, generator=generator, device=ids.device)
    inputs = torch.where(to_mask, torch.full_like(ids, mask_token_id), ids)
    inputs = torch.where(to_random, allowed[pick], inputs)
    return inputs, labels


def special_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The ids masking never chooses: ``[PAD]``, ``[CLS]`` and ``[SEP]`` of ``tokenizer``.

    Introduced in chapter 3 (masked language modelling).
    """
    ids = [tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id]
    if None in ids:
        raise ValueError(
            "tokenizer lacks [PAD], [CLS] or [SEP]: masking needs a BERT-style tokenizer "
            "(e.g. one from train_wordpiece)"
        )
    return ids


def masked_batches(
    rows: torch.Tensor,
    tokenizer: PreTrainedTokenizerBase,
    rows_per_batch: int,
    mlm_probability: float = 0.15,
    seed: int = 1234,
) -> list[dict[str, torch.Tensor]]:
    """Fixed masked batches of packed ``rows`` for evaluation (e.g. with
    :func:`ptlib.objectives.mlm_evaluate`): ``{"input_ids", "attention_mask", "labels"}`` of
    ``rows_per_batch`` rows each, masked by :func:`mask_tokens` with one generator seeded with
    ``seed``, so every model is scored on the same masked tokens.
    Introduced in chapter 3 (masked language modelling).
    """
    rows_per_batch = checks.positive_int(rows_per_batch, "rows_per_batch")
    if rows.ndim != 2 or len(rows) == 0:
        raise ValueError(
            f"rows must be a non-empty (rows, seq_len) tensor, got {tuple(rows.shape)}"
        )
    g = torch.Generator().manual_seed(seed)
    special = special_ids(tokenizer)
    batches = []
    for start in range(0, len(rows), rows_per_batch):
        inp, lab = mask_tokens(
            rows[start : start + rows_per_batch],
            tokenizer.mask_token_id,
            len(tokenizer),
            special,
            mlm_probability,
            generator=g,
        )
        batches.append({"input_ids": inp, "attention_mask": torch.ones_like(inp), "labels": lab})
    return batches


class MLMBatches:
    """``batch_fn`` for :func:`ptlib.train.fit`: masked batches of packed rows, by step.

    Step ``s`` takes rows ``s * batch_size ...`` of a permutation of ``rows`` that is reshuffled
    every epoch, and masks them with :func:`mask_tokens`; both depend only on ``seed`` and
    ``s``, so any step's batch can be rebuilt exactly (which makes resuming a run exact).
    Returns ``{"input_ids", "attention_mask", "labels"}``.
    Introduced in chapter 3 (masked language modelling).
    """

    def __init__(
        self,
        rows: torch.Tensor,
        batch_size: int,
        mask_token_id: int,
        vocab_size: int,
        special_ids: Sequence[int],
        mlm_probability: float = 0.15,
        seed: int = 0,
    ) -> None:
        batch_size = checks.positive_int(batch_size, "batch_size")
        checks.positive_int(vocab_size, "vocab_size")
        checks.finite_number(mlm_probability, "mlm_probability", 0.0, 1.0)
        if rows.ndim != 2 or len(rows) < batch_size:
            raise ValueError(
                f"rows must be a (rows, seq_len) tensor with at least batch_size={batch_size} "
                f"rows, got shape {tuple(rows.shape)}: use more documents or a smaller batch_size"
            )
        self.rows = rows
        self.batch_size = batch_size
        self.mask_token_id = mask_token_id
        self.vocab_size = vocab_size
        self.special_ids = tuple(special_ids)
        self.mlm_probability = mlm_probability
        self.seed = seed
        self.order = EpochOrder(len(rows), batch_size, seed, stride=1_000_003)
        self.batches_per_epoch = self.order.per_epoch

    def epoch_of(self, step: int) -> float:
        """How many passes over the rows ``step`` steps make. Introduced in chapter 3."""
        return step / self.batches_per_epoch

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        ids = self.rows[self.order.indices(step)]
        g = torch.Generator().manual_seed((self.seed + 1) * 2_147_483_647 + step)
        inputs, labels = mask_tokens(
            ids,
            self.mask_token_id,
            self.vocab_size,
            self.special_ids,
            self.mlm_probability,
            generator=g,
        )
        return {"input_ids": inputs, "attention_mask": torch.ones_like(ids), "labels": labels}


def local_attention_bias(
    batch_size: int, seq_len: int, slope: float, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """An additive attention mask that makes attention local: ``-slope * |i - j|``.

    Returns a float tensor of shape (batch, 1, seq_len, seq_len) to pass as ``attention_mask``
    to a Transformers BERT, which adds it to the attention scores (a linear distance penalty,
    as in ALiBi, Press et al. 2022). Keys that are padding (``attention_mask == 0``) get a
    large negative score, as the usual mask would give them.
    Introduced in chapter 3 (masked language modelling).
    """
    checks.positive_int(batch_size, "batch_size")
    checks.positive_int(seq_len, "seq_len")
    checks.finite_number(slope, "slope", low=0.0)
    pos = torch.arange(seq_len)
    bias = -slope * (pos[:, None] - pos[None, :]).abs().float()  # (seq_len, seq_len)
    bias = bias.expand(batch_size, 1, seq_len, seq_len).clone()
    if attention_mask is not None:
        pad = attention_mask[:, None, None, :].to(torch.bool).logical_not()
        bias = bias.masked_fill(pad, torch.finfo(torch.float32).min / 2)
    return bias


class LocalityScaffold:
    """Wraps a ``batch_fn`` so that attention starts local and becomes unrestricted.

    At step ``s`` the batch's ``attention_mask`` is replaced by :func:`local_attention_bias`
    with slope ``slope * (1 - s / fade_steps)``, and left as it is from ``fade_steps`` on. The
    model learns to use nearby tokens at once; as the penalty fades it must find them through
    its own position embeddings, and after ``fade_steps`` it is a plain BERT again (nothing of
    the scaffold is saved with it). Chapter 3 measures how much faster the MLM loss falls.
    Introduced in chapter 3 (masked language modelling).
    """

    def __init__(self, batch_fn: Callable[[int], Any], slope: float, fade_steps: int) -> None:
        slope = checks.finite_number(slope, "slope", low=0.0)
        fade_steps = checks.positive_int(fade_steps, "fade_steps", minimum=0)
        self.batch_fn, self.slope, self.fade_steps = batch_fn, slope, fade_steps

    def slope_at(self, step: int) -> float:
        """The slope of the distance penalty at ``step``. Introduced in chapter 3."""
        if step >= self.fade_steps or self.slope == 0:
            return 0.0
        return self.slope * (1 - step / self.fade_steps)

    def __call__(self, step: int) -> Any:
        batch = self.batch_fn(step)
        slope = self.slope_at(step)
        if slope == 0.0:
            return batch
        batch = dict(batch)
        b, n = batch["input_ids"].shape
        batch["attention_mask"] = local_attention_bias(b, n, slope, batch.get("attention_mask"))
        return batch


class PhasedBatches:
    """A ``batch_fn`` that runs one batch function after another: phase ``k`` starts at step
    ``starts[k]`` and is asked for its own step ``step - starts[k]``.

    Chapter 3 uses it for a sequence-length schedule: short rows for most of the steps (cheap,
    and the local context is learned first), the full length at the end, as BERT did with 128
    and then 512 tokens. Each phase stays a function of the step alone, so resuming stays exact.
    Introduced in chapter 3 (masked language modelling).
    """

    def __init__(self, phases: Sequence[tuple[int, Callable[[int], Any]]]) -> None:
        starts = [start for start, _ in phases]
        if not phases or starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError("phases need strictly increasing start steps, the first at 0")
        self.phases = list(phases)

    def phase_of(self, step: int) -> int:
        """The index of the phase that step ``step`` belongs to. Introduced in chapter 3."""
        return max(k for k, (start, _) in enumerate(self.phases) if start <= step)

    def __call__(self, step: int) -> Any:
        start, fn = self.phases[self.phase_of(step)]
        return fn(step - start)


def token_counts(rows: torch.Tensor, vocab_size: int) -> np.ndarray:
    """How often each token id occurs in ``rows`` (an int64 array of length ``vocab_size``).

    Introduced in chapter 3 (masked language modelling).
    """
    checks.positive_int(vocab_size, "vocab_size")
    if rows.numel() and (rows.min() < 0 or rows.max() >= vocab_size):
        raise ValueError(
            f"rows holds token ids outside 0 .. {vocab_size - 1} (vocab_size): pass "
            "len(tokenizer) of the tokenizer that made the rows"
        )
    return torch.bincount(rows.reshape(-1), minlength=vocab_size).numpy()
