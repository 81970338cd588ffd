"""Pre-train chapter 3's tiny BERT from the command line, on one device or data-parallel on many.

The same recipe as notebooks/03_masked_language_modelling.ipynb (``ptlib.mlm.MLM_RECIPES``),
as a script that runs unchanged under Hugging Face Accelerate:

    python scripts/pretrain_mlm.py --profile cpu --out runs/tiny-bert-imdb
    accelerate launch --multi_gpu --num_processes 4 scripts/pretrain_mlm.py --profile gpu \\
        --out runs/small-bert-imdb
    ACCELERATE_USE_CPU=1 torchrun --nproc_per_node 2 scripts/pretrain_mlm.py --steps 20 \\
        --documents 500 --out /tmp/mlm-smoke          # try the multi-process set-up on a laptop
    python scripts/pretrain_mlm.py --steps 800 --set mlm_probability=0.15 --out /tmp/ablation

Data parallelism: every process builds the same global batch of a step (batches depend only on
the step and the seed) and trains on its own slice of the rows; Accelerate averages the
gradients across processes, so N processes take the same optimizer steps as one process would,
each step computed N times faster. The step budget is fixed before training (``--steps``, or
the number of steps that fit in ``--seconds``, timed on the main process and shared with the
others), so all processes stop together. ``--checkpoint-every`` saves the full training state
with ``accelerator.save_state``; ``--resume`` continues from it. The result is saved with
``save_pretrained`` (safetensors) and the tokenizer, loadable with
``ptlib.mlm.load_pretrained_mlm(out)``.

Introduced with chapter 3 (masked language modelling).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from ptlib import data, mlm, objectives, runtime, text, train


class MLMLoss(nn.Module):
    """Wraps a ``BertForMaskedLM`` so that its forward pass returns the MLM loss.

    Data-parallel wrappers (DDP) synchronise gradients for what runs through *their* forward
    call, so the loss (logits at masked positions only) must be computed inside one.
    """

    def __init__(self, mlm: nn.Module) -> None:
        super().__init__()
        self.mlm = mlm

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        return objectives.mlm_batch_loss(self.mlm, batch)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(mlm.MLM_RECIPES), default="cpu")
    parser.add_argument("--seconds", type=float, default=None, help="time budget (recipe's)")
    parser.add_argument("--steps", type=int, default=None, help="step budget (overrides time)")
    parser.add_argument("--documents", type=int, default=None, help="first N reviews only")
    parser.add_argument("--vocab-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override any MLMRecipe field, e.g. --set mlm_probability=0.15 (repeatable)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the saved model")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="steps (0: never)")
    parser.add_argument("--resume", action="store_true", help="continue from --out/checkpoint")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe = mlm.MLM_RECIPES[args.profile]
    changes: dict[str, object] = {"seed": args.seed}
    if args.seconds is not None:
        changes["max_seconds"] = args.seconds
    if args.steps is not None:
        changes["max_steps"] = args.steps
    if args.documents is not None:
        changes["max_documents"] = args.documents
    if args.vocab_size is not None:
        changes["vocab_size"] = args.vocab_size
    changes.update(_overrides(args.set))
    recipe = dataclasses.replace(recipe, **changes)

    accelerator = Accelerator(mixed_precision="bf16" if _bf16() else "no")
    main_process = accelerator.is_main_process
    rank, world = accelerator.process_index, accelerator.num_processes
    args.out.mkdir(parents=True, exist_ok=True)
    tok_dir = args.out / "tokenizer"
    with accelerator.main_process_first():  # the main process trains it, the others load it
        if main_process and not (tok_dir / "tokenizer.json").exists():
            docs = data.load_corpus(recipe.corpus, "train")[: recipe.max_documents]
            text.train_wordpiece(docs, recipe.vocab_size).save_pretrained(tok_dir)
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    ids = mlm.mlm_corpus_ids(recipe, tokenizer)

    model = mlm.new_mlm_model(recipe, tokenizer)  # the same seed, so the same weights
    steps = [None]
    if main_process:
        # time one process's share of a step: N processes fit N times as many steps
        share = dataclasses.replace(recipe, tokens_per_batch=recipe.tokens_per_batch // world)
        steps[0] = mlm.mlm_steps_for_budget(share, model, ids, tokenizer, accelerator.device)
    steps = int(broadcast_object_list(steps)[0])
    batches = mlm.mlm_batches(recipe, ids, tokenizer, steps)
    config = mlm.mlm_train_config(recipe, steps, device=str(accelerator.device))
    optimizer = train.make_optimizer(model, config)
    wrapped, optimizer = accelerator.prepare(MLMLoss(model), optimizer)

    start, ckpt = 0, args.out / "checkpoint"
    if args.resume and (ckpt / "step.json").exists():
        accelerator.load_state(str(ckpt))
        start = json.loads((ckpt / "step.json").read_text())["step"]
    if main_process:
        print(
            f"{world} process(es) on {accelerator.device.type}, {steps:,} steps from {start}, "
            f"{recipe.tokens_per_batch:,} tokens per step ({recipe.tokens_per_batch // world:,} "
            f"per process), mixed precision {accelerator.mixed_precision}",
            flush=True,
        )
    wrapped.train()
    t0 = time.perf_counter()
    bar = tqdm(range(start, steps), desc="pre-training", disable=not main_process)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = config.lr * train.lr_factor(config, step)
        full = batches(step)
        shard = {k: v[rank::world].to(accelerator.device) for k, v in full.items()}
        with accelerator.autocast():
            loss = wrapped(**shard)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if config.grad_clip is not None:
            accelerator.clip_grad_norm_(wrapped.parameters(), config.grad_clip)
        optimizer.step()
        if main_process and (step + 1) % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if args.checkpoint_every and (step + 1) % args.checkpoint_every == 0:
            accelerator.save_state(str(ckpt))
            if main_process:
                (ckpt / "step.json").write_text(json.dumps({"step": step + 1}))
    accelerator.wait_for_everyone()
    seconds = time.perf_counter() - t0

    if main_process:
        model = accelerator.unwrap_model(wrapped).mlm.eval()
        val = _validation(recipe, tokenizer)
        result = objectives.mlm_evaluate(model, val)
        meta = {
            "recipe": dataclasses.asdict(recipe),
            "steps": steps,
            "processes": world,
            "seconds": round(seconds, 1),
            "val_mlm_loss": result["loss"],
            "masked_token_accuracy": result["accuracy"],
            "trained_by": "scripts/pretrain_mlm.py",
        }
        mlm.save_pretrained_mlm(model, tokenizer, args.out / "model", meta)
        print(json.dumps({k: v for k, v in meta.items() if k != "recipe"}), flush=True)
    accelerator.end_training()
    return 0


def _overrides(pairs: list[str]) -> dict[str, object]:
    """``["mlm_probability=0.15", ...]`` -> typed values for :class:`ptlib.mlm.MLMRecipe`."""
    types = {f.name: f.type for f in dataclasses.fields(mlm.MLMRecipe)}
    out: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            raise SystemExit(f"--set {pair}: unknown field; choose from {', '.join(types)}")
        kind = str(types[key])
        if value.lower() == "none":
            out[key] = None
        elif kind.startswith("bool"):
            out[key] = value.lower() in ("1", "true", "yes")
        elif kind.startswith("int"):
            out[key] = int(value)
        elif kind.startswith("float"):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def _bf16() -> bool:
    return runtime.bf16_supported("cuda" if torch.cuda.is_available() else "cpu")


def _validation(recipe: mlm.MLMRecipe, tokenizer) -> list[dict]:
    """The chapter's validation set: 65,536 held-out tokens in rows of ``recipe.seq_len``,
    15% masked with seed 1234."""
    val_ids = mlm.mlm_corpus_ids(recipe, tokenizer, "valid")
    n = recipe.seq_len
    rows = text.pack_sequences(val_ids, n, tokenizer.cls_token_id, tokenizer.sep_token_id)
    return text.masked_batches(rows[: 65536 // n], tokenizer, 8192 // n, 0.15, seed=1234)


if __name__ == "__main__":
    sys.exit(main())
