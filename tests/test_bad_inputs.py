"""ptlib under wrong and hostile input: every case gets a clear error or the correct behaviour.

One table of cases across the public API (issue 17). Each :class:`Case` calls ptlib the way a
new user might get it wrong and asserts one of three outcomes:

- ``raises``: that exception type, with a message that matches ``match`` (a regular
  expression: it must name the argument, file or variable, and say what to do);
- ``warns``: that warning, matching ``match``, and then ``check`` on the result;
- neither: ``check`` on the result (the correct behaviour, e.g. nothing was deleted).

``call`` and ``check`` receive pytest's ``tmp_path``, so cases that write files stay apart.
The sections below follow ptlib's modules, bottom layer first.
"""

from __future__ import annotations

import pickle
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast, EvalPrediction

from ptlib import checks, finetune, train


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Path], Any]
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None
    match: str = ""
    warns: type[Warning] | None = None
    check: Callable[[Any, Path], None] | None = None


# The tables are laid out by hand, one case per two lines: ruff format leaves them alone.
# fmt: off

# ---------------------------------------------------------------------------------------------
# checks: the argument checks every module uses
# ---------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CHECKS_CASES = [
    Case("checks/positive_int-zero", lambda p: checks.positive_int(0, "batch_size"),
         ValueError, r"batch_size must be at least 1, got 0"),
    Case("checks/positive_int-bool", lambda p: checks.positive_int(True, "max_steps"),
         TypeError, r"max_steps must be a whole number"),
    Case("checks/finite_number-nan", lambda p: checks.finite_number(float("nan"), "temperature"),
         ValueError, r"temperature must be a finite number"),
    Case("checks/finite_array-empty", lambda p: checks.finite_array([], "scores"),
         ValueError, r"scores is empty"),
    Case("checks/finite_array-inf", lambda p: checks.finite_array([1.0, np.inf], "scores"),
         ValueError, r"scores holds 1 NaN or infinite"),
    Case("checks/finite_tensor-nan", lambda p: checks.finite_tensor(torch.tensor([np.nan]), "logits"),
         ValueError, r"logits holds 1 NaN"),
    Case("checks/texts-one-string", lambda p: checks.texts("a sentence"),
         TypeError, r"texts must be a sequence of strings, not one string"),
    Case("checks/texts-none", lambda p: checks.texts(["ok", None]),
         TypeError, r"texts\[1\] is None"),
    Case("checks/read_json-corrupt", lambda p: checks.read_json(_write(p / "x.json", "{"), "results file"),
         ValueError, r"results file .*x\.json is not valid JSON"),
]

# ---------------------------------------------------------------------------------------------
# runtime, results, storage, data
# ---------------------------------------------------------------------------------------------

RUNTIME_DATA_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# models: checksums, weights, mlm, contrastive, saved classifiers
# ---------------------------------------------------------------------------------------------

MODEL_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# training: train, finetune
# ---------------------------------------------------------------------------------------------


_WORDS = ["the", "a", "car", "is", "old", "red", "green", "blue", "purple"]


def _tiny_bert(tmp: Path) -> Path:
    """A randomly initialised 1-block BERT of width 16 and a word tokenizer, saved in ``tmp``."""
    folder = tmp / "bert"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_WORDS]
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder)
    return folder


def _colours(n: int, colours: tuple[str, ...] = ("red", "green", "blue")) -> pd.DataFrame:
    labels = [colours[i % len(colours)] for i in range(n)]
    return pd.DataFrame({"text": [f"the {c} car is old" for c in labels], "label": labels})


_FAST = {"device": "cpu", "progress": False, "bf16": False}


def _finetune(tmp: Path, train_df: pd.DataFrame, eval_df: pd.DataFrame, model: Path | str = "unused",
              **changes: Any) -> dict:
    return finetune.finetune_classifier(train_df, eval_df, model, **{"max_steps": 2, **_FAST, **changes})


def _with(df: pd.DataFrame, row: int, **values: Any) -> pd.DataFrame:
    df = df.astype(object)
    for column, value in values.items():
        df.loc[row, column] = value
    return df


def _nan_classifier(tmp: Path) -> list:
    tokenizer, net = finetune.load_classifier(_tiny_bert(tmp), 3)
    with torch.no_grad():
        net.classifier.weight.fill_(float("nan"))  # as after a diverged run
    return finetune.predict_logits(net, tokenizer, ["the red car"], bf16=False)


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.1), torch.nn.Linear(8, 1))


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    x = torch.randn(8, 4, generator=g)
    return x, x.sum(1)


def _mse(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    return ((model(batch[0]).squeeze(-1) - batch[1]) ** 2).mean()


def _not_trained(model: torch.nn.Module, batch: Any) -> torch.Tensor:
    raise AssertionError("training started although the configuration is unusable")


def _tc(**changes: Any) -> train.TrainConfig:
    return train.TrainConfig(**{"max_steps": 20, "lr": 1e-2, **_FAST, **changes})


def _fit(tmp: Path, loss_fn: Callable = _mse, eval_fn: Callable | None = None, **changes: Any):
    return train.fit(_net(), loss_fn, _batch, _tc(**changes), eval_fn)


def _checkpointed(tmp: Path) -> Path:
    """A finished run of 20 steps with checkpoints at steps 10 and 20; returns its folder."""
    _fit(tmp, checkpoint_dir=tmp / "ckpt", checkpoint_every=10)
    return tmp / "ckpt"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _resume_after_truncation(tmp: Path):
    folder = _checkpointed(tmp)
    _truncate(folder / "step-00000020" / "model.safetensors")
    return _fit(tmp, checkpoint_dir=folder, checkpoint_every=10)


class _Payload:
    """Unpickling this creates the file ``pwned``: the proof that a pickle was loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (str(self.path), "w"))


def _resume_past_an_old_checkpoint(tmp: Path):
    folder = _checkpointed(tmp)
    old = folder / "step-00000030"  # as written before issue 17, with a crafted rng.pt
    shutil.copytree(folder / "step-00000020", old)
    (old / "rng.safetensors").unlink()
    (old / "rng.pt").write_bytes(pickle.dumps(_Payload(tmp / "pwned")))
    return _fit(tmp, checkpoint_dir=folder, checkpoint_every=10, max_steps=40)


def _holds(predicate: Callable[[Any, Path], bool]) -> Callable[[Any, Path], None]:
    """A ``check`` that asserts ``predicate(result, tmp_path)``."""

    def check(result: Any, tmp: Path) -> None:
        assert predicate(result, tmp), f"unexpected result: {result!r}"

    return check


def _check_fell_back(history: pd.DataFrame, tmp: Path) -> None:
    assert history["step"].tolist() == list(range(1, 21))
    train.load_weights(_net(), tmp / "ckpt" / "step-00000020")  # rewritten intact


TRAINING_CASES = [
    # train.TrainConfig: every field checked, by name
    Case("train/TrainConfig-max_steps-zero", lambda p: _tc(max_steps=0),
         ValueError, r"max_steps must be at least 1, got 0"),
    Case("train/TrainConfig-lr-nan", lambda p: _tc(lr=float("nan")),
         ValueError, r"lr must be a finite number"),
    Case("train/TrainConfig-beta-above-one", lambda p: _tc(betas=(0.9, 1.5)),
         ValueError, r"betas\[1\] must be below 1"),
    Case("train/TrainConfig-warmup-longer-than-training", lambda p: _tc(max_steps=10, warmup_steps=40),
         warns=UserWarning, match=r"warmup_steps \(40\) > max_steps \(10\).*never decays",
         check=_holds(lambda r, p: r.warmup_steps == 40)),
    Case("train/TrainConfig-checkpoint_every-without-dir", lambda p: _tc(checkpoint_every=5),
         ValueError, r"checkpoint_dir is None: nothing would be saved"),
    # train.fit: arguments, divergence, and the checkpoint folder checked before training
    Case("train/fit-diverging-lr", lambda p: _fit(p, lr=1e30),
         FloatingPointError, r"training loss is (nan|inf) at step \d+ .*lower the learning rate"),
    Case("train/fit-loss-not-scalar", lambda p: _fit(p, loss_fn=lambda m, b: m(b[0])),
         TypeError, r"loss_fn must return a scalar tensor .*got \(8, 1\)"),
    Case("train/fit-frozen-model", lambda p: train.fit(_net().requires_grad_(False), _mse, _batch, _tc()),
         ValueError, r"has no trainable parameters"),
    Case("train/fit-eval-nan", lambda p: _fit(p, eval_fn=lambda m: {"val_loss": float("nan")}),
         ValueError, r"eval_fn's 'val_loss' is nan at step 20"),
    Case("train/fit-checkpoint_dir-is-a-file",
         lambda p: _fit(p, _not_trained, checkpoint_dir=_write(p / "ckpt", "")),
         ValueError, r"checkpoint_dir .*ckpt is a file, not a folder"),
    Case("train/fit-checkpoint_dir-unwritable",
         lambda p: _fit(p, _not_trained, checkpoint_dir=_write(p / "f", "") / "ckpt"),
         ValueError, r"checkpoint_dir .*f/ckpt cannot be written"),
    # train checkpoints: no pickles, fall back to the newest intact one
    Case("train/resume-truncated-newest-checkpoint", _resume_after_truncation,
         warns=UserWarning,
         match=r"resuming from step-00000010.*step-00000020/model\.safetensors is damaged",
         check=_check_fell_back),
    Case("train/resume-corrupt-state-json-only-checkpoint",
         lambda p: (_write(_checkpointed(p) / "step-00000010" / "state.json", "{"),
                    shutil.rmtree(p / "ckpt" / "step-00000020"), _fit(p, checkpoint_dir=p / "ckpt")),
         ValueError, r"no checkpoint in .*ckpt can be resumed from: checkpoint state .*state\.json is not valid JSON"),
    Case("train/resume-never-unpickles-an-old-checkpoint", _resume_past_an_old_checkpoint,
         warns=UserWarning, match=r"step-00000030 is an old-format checkpoint.*rng\.pt, a pickle",
         check=_holds(lambda r, p: len(r) == 40 and not (p / "pwned").exists())),
    Case("train/load_weights-missing",
         lambda p: train.load_weights(_net(), p / "step-00000010"),
         FileNotFoundError, r"step-00000010/model\.safetensors does not exist"),
    Case("train/load_weights-truncated",
         lambda p: (_truncate(_checkpointed(p) / "step-00000020" / "model.safetensors"),
                    train.load_weights(_net(), p / "ckpt" / "step-00000020")),
         ValueError, r"step-00000020/model\.safetensors is damaged"),
    # train batching
    Case("train/EpochBatches-nan-label",
         lambda p: train.EpochBatches(np.zeros((3, 2, 2, 3), np.uint8), 2, labels=[0.0, np.nan, 1.0]),
         ValueError, r"labels holds 1 value\(s\) that are not whole numbers"),
    Case("train/EpochBatches-fractional-batch_size",
         lambda p: train.EpochBatches(np.zeros((3, 2, 2, 3), np.uint8), 1.5),
         TypeError, r"batch_size must be a whole number"),
    Case("train/EpochOrder-batch-larger-than-data", lambda p: train.EpochOrder(4, 8),
         ValueError, r"batch_size \(8\) is larger than the number of items \(4\)"),
    Case("train/seconds_per_step-zero-steps",
         lambda p: train.seconds_per_step(_net(), _mse, _batch, _tc(), steps=0),
         ValueError, r"steps must be at least 1, got 0"),
    # finetune.FinetuneConfig and training_arguments
    Case("finetune/config-batch_size-zero", lambda p: finetune.FinetuneConfig(batch_size=0),
         ValueError, r"batch_size must be at least 1, got 0"),
    Case("finetune/config-max_steps-negative", lambda p: finetune.make_config(max_steps=-1),
         ValueError, r"max_steps must be at least 1, got -1"),
    Case("finetune/config-epochs-infinite", lambda p: finetune.FinetuneConfig(epochs=float("inf")),
         ValueError, r"epochs must be a finite number"),
    Case("finetune/make_config-not-a-config", lambda p: finetune.make_config({"max_steps": 5}),
         TypeError, r"config must be a ptlib\.finetune\.FinetuneConfig .*got dict"),
    Case("finetune/training_arguments-max_steps-zero",
         lambda p: finetune.training_arguments(p, finetune.FinetuneConfig(device="cpu"), max_steps=0),
         ValueError, r"max_steps must be at least 1, got 0"),
    # finetune: divergence
    Case("finetune/diverging-learning-rate",
         lambda p: _finetune(p, _colours(12), _colours(6), _tiny_bert(p), max_steps=6, learning_rate=1e6),
         FloatingPointError, r"diverged: the training loss is nan at step \d+ .*lower the learning rate"),
    Case("finetune/predict_logits-of-a-diverged-model", _nan_classifier,
         ValueError, r"model's logits hold 3 NaN .*train again with a lower learning rate"),
    Case("finetune/compute_metrics-nan-logits",
         lambda p: finetune.compute_metrics(EvalPrediction(
             predictions=np.array([[np.nan, 0.0], [1.0, 0.0]]), label_ids=np.array([0, 1]))),
         ValueError, r"evaluation logits hold 1 NaN"),
    # finetune: labels and texts
    Case("finetune/mixed-label-types",
         lambda p: _finetune(p, _colours(4).assign(label=[1, "1", 0, "0"]), _colours(4).assign(label=[1, 0, 1, 0])),
         ValueError, r"label column mixes types \(train\['label'\] has int, str; eval\['label'\] has int\)"),
    Case("finetune/unseen-eval-label",
         lambda p: _finetune(p, _colours(6), _colours(8, ("red", "green", "blue", "purple"))),
         ValueError, r"eval\['label'\] has label\(s\) that train never has: \['purple'\]"),
    Case("finetune/one-class-only", lambda p: _finetune(p, _colours(4, ("red",)), _colours(2, ("red",))),
         ValueError, r"train\['label'\] holds one class only \('red'\)"),
    Case("finetune/nan-label", lambda p: _finetune(p, _with(_colours(6), 4, label=np.nan), _colours(3)),
         ValueError, r"train\['label'\] is missing \(NaN or None\) in 1 row\(s\), the first at position 4"),
    Case("finetune/none-text", lambda p: _finetune(p, _colours(6), _with(_colours(3), 2, text=None)),
         TypeError, r"eval\['text'\]\[2\] is None"),
    Case("finetune/empty-eval", lambda p: _finetune(p, _colours(6), _colours(0)),
         ValueError, r"eval is empty \(0 rows\)"),
    Case("finetune/one-example-class",
         lambda p: _finetune(p, _colours(9, ("red", "green")).pipe(
             lambda df: pd.concat([df, _colours(3).iloc[2:]], ignore_index=True)), _colours(6), _tiny_bert(p), max_steps=1),
         warns=UserWarning, match=r"class\(es\) \['blue'\] have a single training example",
         check=_holds(lambda r, p: r["label_names"] == ["blue", "green", "red"])),
    Case("finetune/max_length-beyond-the-positions",
         lambda p: finetune.train_classifier(["the car " * 40, "a car"] * 2, [0, 1] * 2, _tiny_bert(p), max_length=100, **_FAST),
         ValueError, r"texts have up to 82 tokens \(max_length=100\), but the model has only 64 positions"),
    Case("finetune/train_classifier-fractional-labels",
         lambda p: finetune.train_classifier(["the red car", "a car"], [0, 0.5], "unused", **_FAST),
         ValueError, r"labels holds 1 value\(s\) that are not whole numbers"),
    Case("finetune/FineTunedClassifier-one-string",
         lambda p: finetune.FineTunedClassifier("unused", **_FAST).fit("the red car", [0]),
         TypeError, r"texts must be a sequence of strings, not one string"),
    Case("finetune/TimeBudget-nan", lambda p: finetune.TimeBudget(float("nan")),
         ValueError, r"max_seconds must be a finite number"),
    Case("finetune/add_lora-targets-one-string",
         lambda p: finetune.add_lora(torch.nn.Linear(2, 2), targets="query"),
         TypeError, r"targets must be a sequence of module names"),
]

# ---------------------------------------------------------------------------------------------
# statistics: objectives, evaluate, bias, text, vision and the chapter 6-10 modules
# ---------------------------------------------------------------------------------------------

STATISTICS_CASES: list[Case] = []

# fmt: on
# ---------------------------------------------------------------------------------------------

CASES = CHECKS_CASES + RUNTIME_DATA_CASES + MODEL_CASES + TRAINING_CASES + STATISTICS_CASES


def test_the_table_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "two cases share an id"
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case: Case, tmp_path: Path) -> None:
    if case.raises is not None:
        with pytest.raises(case.raises) as info:
            case.call(tmp_path)
        assert re.search(case.match, str(info.value)), f"unhelpful message: {info.value}"
        return
    if case.warns is not None:
        with pytest.warns(case.warns, match=case.match):
            result = case.call(tmp_path)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # correct input: no surprise warning
            result = case.call(tmp_path)
    assert case.check is not None, f"{case.id}: a case without raises needs a check"
    case.check(result, tmp_path)
