"""MLM pre-training throughput: the ptlib loop against the Hugging Face Trainer.

Both train the same tiny BERT (chapter 3's "xs" size: 2 layers, hidden size 128, an 8k WordPiece
vocabulary) from the same initial weights on the same packed IMDB rows of 128 tokens, with the
same batch size, optimizer (AdamW) and schedule, one after the other in one process:

- ``trainer``: ``transformers.Trainer`` with ``DataCollatorForLanguageModeling`` (15% masking,
  80/10/10), its defaults otherwise (fp32 on a CPU), logits at every position;
- ``trainer_bf16``: the same with ``bf16=True`` (reported for reference, not in the ratio);
- ``ptlib``: :func:`ptlib.train.fit` with :func:`ptlib.objectives.mlm_batch_loss` (logits only
  at the masked positions) and bf16 autocast where the hardware supports it.

Tokens per second count every token of every row (input tokens), timed from the end of the
warm-up steps to the last step. The last line printed is one JSON object with
``ptlib_tokens_per_s``, ``trainer_tokens_per_s`` and ``ratio`` (ptlib / trainer).

    PTLIB_DATA_DIR=../shared/data python benchmarks/mlm_throughput.py
    python benchmarks/mlm_throughput.py --steps 60 --warmup 10 --batch-size 64 --threads 2

This is a benchmark, not a test: numbers depend on the machine and on what else runs on it.
Introduced with chapter 3 (masked language modelling).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import torch
from transformers import (
    BertForMaskedLM,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from ptlib import data, mlm, objectives, runtime, text, train


class _StepClock(TrainerCallback):
    """Records the wall-clock time at the end of every Trainer step."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
        self.times.append(time.perf_counter())


def _rate(times: list[float], warmup: int, tokens_per_step: int) -> float:
    timed = times[warmup:]
    if len(timed) < 2:
        raise ValueError("too few steps after the warm-up to time")
    return (len(timed) - 1) * tokens_per_step / (timed[-1] - timed[0])


def run_trainer(
    rows: torch.Tensor, tokenizer, state: dict, args: argparse.Namespace, bf16: bool
) -> float:
    model = BertForMaskedLM(mlm.tiny_bert_config(len(tokenizer), "xs", args.seq_len))
    model.load_state_dict(state)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    dataset = [{"input_ids": r} for r in rows.tolist()]
    clock = _StepClock()
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=args.batch_size,
            max_steps=args.steps,
            learning_rate=args.lr,
            warmup_steps=args.warmup,
            weight_decay=0.01,
            adam_beta2=0.98,
            max_grad_norm=1.0,
            lr_scheduler_type="linear",
            logging_strategy="no",
            save_strategy="no",
            report_to="none",
            use_cpu=not torch.cuda.is_available(),
            dataloader_num_workers=0,
            bf16=bf16,
            seed=args.seed,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=targs,
            train_dataset=dataset,
            data_collator=collator,
            callbacks=[clock],
        )
        trainer.train()
    return _rate(clock.times, args.warmup, args.batch_size * args.seq_len)


def run_ptlib(rows: torch.Tensor, tokenizer, state: dict, args: argparse.Namespace) -> float:
    model = BertForMaskedLM(mlm.tiny_bert_config(len(tokenizer), "xs", args.seq_len))
    model.load_state_dict(state)
    special = [tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id]
    batches = text.MLMBatches(
        rows, args.batch_size, tokenizer.mask_token_id, len(tokenizer), special, seed=args.seed
    )
    times: list[float] = []
    config = train.TrainConfig(
        max_steps=args.steps,
        lr=args.lr,
        warmup_steps=args.warmup,
        seed=args.seed,
        progress=False,
        device="cuda" if torch.cuda.is_available() else "cpu",
    )
    train.fit(
        model,
        objectives.mlm_batch_loss,
        batches,
        config,
        on_step=lambda step, loss: times.append(time.perf_counter()),
    )
    return _rate(times, args.warmup, args.batch_size * args.seq_len)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="steps not timed (and LR warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--documents", type=int, default=3000, help="IMDB reviews to use")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--no-bf16-trainer", action="store_true", help="skip the bf16 Trainer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    docs = data.load_corpus("imdb_unsup_corpus", "train")[: args.documents]
    tokenizer = text.train_wordpiece(docs, vocab_size=args.vocab_size)
    ids = text.encode_corpus(docs, tokenizer)
    rows = text.pack_sequences(ids, args.seq_len, tokenizer.cls_token_id, tokenizer.sep_token_id)
    needed = args.steps * args.batch_size
    if len(rows) < needed:  # repeat the rows rather than run out (throughput is unaffected)
        rows = rows.repeat((needed + len(rows) - 1) // len(rows), 1)
    torch.manual_seed(args.seed)
    state = BertForMaskedLM(mlm.tiny_bert_config(len(tokenizer), "xs", args.seq_len)).state_dict()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(
        f"{len(rows):,} rows of {args.seq_len} tokens, vocabulary {len(tokenizer):,}, "
        f"batch {args.batch_size}, {args.steps} steps ({args.warmup} untimed), device {device}, "
        f"{torch.get_num_threads()} threads, bf16 autocast available: "
        f"{runtime.bf16_supported(device)}",
        file=sys.stderr,
    )
    result: dict[str, float | int | str] = {}
    result["trainer_tokens_per_s"] = round(run_trainer(rows, tokenizer, state, args, bf16=False))
    print(f"trainer: {result['trainer_tokens_per_s']:,} tokens/s", file=sys.stderr)
    result["ptlib_tokens_per_s"] = round(run_ptlib(rows, tokenizer, state, args))
    print(f"ptlib: {result['ptlib_tokens_per_s']:,} tokens/s", file=sys.stderr)
    if not args.no_bf16_trainer:
        rate = run_trainer(rows, tokenizer, state, args, bf16=True)
        result["trainer_bf16_tokens_per_s"] = round(rate)
        print(f"trainer (bf16): {rate:,.0f} tokens/s", file=sys.stderr)
    result["ratio"] = round(result["ptlib_tokens_per_s"] / result["trainer_tokens_per_s"], 2)
    if "trainer_bf16_tokens_per_s" in result:
        result["ratio_vs_trainer_bf16"] = round(
            result["ptlib_tokens_per_s"] / result["trainer_bf16_tokens_per_s"], 2
        )
    result.update(
        device=device,
        threads=torch.get_num_threads(),
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        steps=args.steps,
        cpu_count=os.cpu_count() or 0,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
