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

import copy
import functools
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _tools import load_tool
from transformers import BertForMaskedLM, BertModel

from ptlib import checks, checksums, contrastive, finetune, mlm, storage, text, vision, weights


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

@functools.cache
def _tiny_mlm(vocab_size: int | None = None) -> tuple[Any, Any]:
    """A 1-block BERT of width 32 with its WordPiece tokenizer (``vocab_size``: the model's)."""
    docs = ["the film was wonderful and the actors were wonderful too", "a thin plot"] * 20
    tok = text.train_wordpiece(docs, vocab_size=60, min_frequency=1)
    torch.manual_seed(0)
    config = mlm.tiny_bert_config(vocab_size or len(tok), "xs", num_hidden_layers=1, hidden_size=32)
    return BertForMaskedLM(config).eval(), tok


def _saved_mlm(p: Path, name: str = "m") -> Path:
    return mlm.save_pretrained_mlm(*_tiny_mlm(), p / name, {"by": "a test"})


def _edited(folder: Path, remanifest: bool = True, **config: Any) -> Path:
    """``folder`` with ``config`` set in its config.json, and (by default) a manifest that
    vouches for the edit, so that only the inconsistency itself is left to find."""
    path = folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    if remanifest:
        checksums.write_manifest(folder, "a test", "MIT")
    return folder


def _without(folder: Path, *names: str, remanifest: bool = True) -> Path:
    for name in names:
        (folder / name).unlink()
    if remanifest:
        checksums.write_manifest(folder, "a test", "MIT")
    return folder


def _damaged(file: Path, keep: int | None = None) -> Path:
    """Flip one byte in the middle of ``file`` or, with ``keep``, cut it to that many bytes."""
    data = bytearray(file.read_bytes())
    if keep is None:
        data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data[:keep] if keep is not None else data))
    return file


def _foreign(p: Path) -> Path:
    """A folder saved with plain ``save_pretrained`` (no manifest), as a user would."""
    model, tok = _tiny_mlm()
    model.save_pretrained(p / "mine")
    tok.save_pretrained(p / "mine")
    return p / "mine"


_RESNET = vision.ResNetConfig(widths=(4, 8), blocks=(1, 1), stem_channels=4)


def _saved_simclr(p: Path) -> Path:
    torch.manual_seed(0)
    encoder = vision.ResNet(_RESNET)
    return contrastive.save_simclr_encoder(encoder, p / "enc", {"linear_probe_acc": 0.5})


def _save_twice_with_notes(p: Path) -> Path:
    """Save, put a file of one's own into the folder, save again (refused); the folder."""
    folder = _saved_mlm(p)
    (folder / "notes.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match="notes.txt"):
        _saved_mlm(p)
    return folder


def _unpack_over_notes(p: Path) -> Any:
    tool = load_tool("make_checkpoints")
    cache = p / "cache"  # a model in the cache, saved by ptlib, then the user's notes put in it
    _saved_mlm(cache, "tiny-bert-imdb")
    archive = tool.pack(cache, p / "ck.tar.gz", ["tiny-bert-imdb"])
    (cache / "tiny-bert-imdb" / "notes.txt").write_text("my notes")
    return tool.unpack(archive, cache)


def _manifest(folder: Path, files: dict) -> Path:
    (folder / checksums.MANIFEST).write_text(json.dumps({"files": files}))
    return folder


def _with_file(folder: Path, name: str, content: str = "{}") -> Path:
    (folder / name).write_text(content)
    return folder


def _truncated(p: Path) -> Path:
    """A saved model whose weights are cut short, with a manifest that vouches for the cut file
    (as if copied so): only the safetensors header check is left to find it."""
    folder = _saved_mlm(p)
    _damaged(folder / "model.safetensors", keep=100)
    checksums.write_manifest(folder, "a test", "MIT")
    return folder


def _pickled_only(p: Path) -> Path:
    folder = _without(_foreign(p), "model.safetensors", remanifest=False)
    return _with_file(folder, "pytorch_model.bin", "not loaded")


def _nan_model() -> BertForMaskedLM:
    model = copy.deepcopy(_tiny_mlm()[0])
    with torch.no_grad():
        model.bert.encoder.layer[0].output.dense.weight[0, 0] = float("nan")
    return model


class _PicklingThing:
    def save_pretrained(self, folder: Path) -> None:
        torch.save({"a": 1}, Path(folder) / "training_args.bin")


def _encoder(p: Path) -> tuple[Any, Any]:
    """The tiny BERT's encoder (a BertModel) and its tokenizer."""
    model, tok = _tiny_mlm()
    return tok, model.bert


MODEL_CASES = [
    # 1. tokenizer files and vocabulary size
    Case("weights/from_folder-no-tokenizer-files",
         lambda p: mlm.load_pretrained_mlm(_without(_saved_mlm(p), "tokenizer.json", "tokenizer_config.json")),
         weights.WeightsError, r"m has no tokenizer files \(tokenizer\.json, vocab\.txt\).*save_pretrained"),
    Case("mlm/save-tokenizer-larger-than-model",
         lambda p: mlm.save_pretrained_mlm(_tiny_mlm(40)[0], _tiny_mlm()[1], p / "m"),
         ValueError, r"tokenizer has \d+ entries but the model only 40 embeddings"),
    Case("weights/load_tokenizer-larger-than-model",
         lambda p: weights.load_tokenizer(_saved_mlm(p), 40),
         weights.WeightsError, r"tokenizer of .*m has \d+ entries but the model only 40"),
    # 2. config.json against the weights
    Case("weights/config-more-layers-than-weights",
         lambda p: mlm.load_pretrained_mlm(_edited(_saved_mlm(p), num_hidden_layers=2)),
         weights.WeightsError, r"config\.json and the weights of .*m do not belong together: 16 weights .* missing .*layer\.1\."),
    Case("weights/config-other-width-than-weights",
         lambda p: weights.load_encoder(str(_edited(_saved_mlm(p), hidden_size=64))),
         weights.WeightsError, r"another shape than config\.json says \(e\.g\. .*\(32,\) vs \(64,\)"),
    Case("finetune/load_classifier-config-disagrees",
         lambda p: finetune.load_classifier(_edited(_saved_mlm(p), num_hidden_layers=3), 2),
         weights.WeightsError, r"do not belong together: 32 weights the model needs are missing"),
    Case("finetune/load_classifier-new-head-is-no-error",
         lambda p: finetune.load_classifier(_saved_mlm(p), 2, pooling="cls")[1],
         check=lambda net, p: (net.classifier.out_features == 2 and not net.training) or pytest.fail("no head")),
    Case("contrastive/load-weights-of-another-encoder",
         lambda p: contrastive.load_simclr_encoder(
             _edited(_saved_simclr(p), config=vision.ResNetConfig(widths=(4, 16), blocks=(1, 1), stem_channels=4).to_dict()),
             train_if_missing=False, device="cpu"),
         weights.WeightsError, r"weights of .*enc do not belong together: .*another shape"),
    # 3. checksums: every save writes a manifest, every load checks it
    Case("mlm/flipped-byte-in-saved-weights",
         lambda p: mlm.load_pretrained_mlm(_damaged(_saved_mlm(p) / "model.safetensors").parent),
         checksums.ManifestError, r"m/model\.safetensors is corrupted: sha256 .* Copy or unpack"),
    Case("contrastive/flipped-byte-in-simclr-encoder",
         lambda p: contrastive.load_simclr_encoder(_damaged(_saved_simclr(p) / "model.safetensors").parent,
                                                   train_if_missing=False),
         checksums.ManifestError, r"enc/model\.safetensors is corrupted"),
    Case("weights/ptlib-folder-without-manifest",
         lambda p: mlm.load_pretrained_mlm(_without(_saved_mlm(p), checksums.MANIFEST, remanifest=False)),
         checksums.ManifestError, r"m was saved by ptlib but has no manifest\.json.*Save it again.*write_manifest"),
    Case("weights/foreign-folder-loads-with-a-warning",
         lambda p: weights.load_encoder(_foreign(p)), warns=UserWarning,
         match=r"mine has no manifest\.json, so its files cannot be verified.*write_manifest",
         check=lambda r, p: r[1].config.hidden_size == 32 or pytest.fail("not loaded")),
    Case("checksums/unlisted-file-is-not-loaded",
         lambda p: mlm.load_pretrained_mlm(_with_file(_saved_mlm(p), "added_tokens.json")),
         checksums.ManifestError, r"does not list \(added_tokens\.json\)"),
    Case("checksums/manifest-lists-a-file-outside",
         lambda p: checksums.verify_manifest(_manifest(_saved_mlm(p), {"../x": "0" * 64})),
         checksums.ManifestError, r"lists '\.\./x', a path outside"),
    Case("checksums/manifest-lists-nothing",
         lambda p: checksums.verify_manifest(_manifest(_saved_mlm(p), {})),
         checksums.ManifestError, r"manifest\.json lists no files"),
    Case("checksums/write_manifest-on-a-file",
         lambda p: checksums.write_manifest(_write(p / "w.bin", "x"), "me", "MIT"),
         NotADirectoryError, r"w\.bin is a file"),
    # 4. truncated safetensors
    Case("weights/truncated-safetensors-names-the-file",
         lambda p: mlm.load_pretrained_mlm(_truncated(p)),
         weights.WeightsError, r"m/model\.safetensors is not a readable safetensors file .*truncated or damaged"),
    Case("weights/read_state-truncated",
         lambda p: weights.read_state(_damaged(_saved_simclr(p) / "model.safetensors", keep=5).parent),
         weights.WeightsError, r"enc/model\.safetensors is not a readable safetensors file"),
    # 5. nothing deleted that ptlib did not write
    Case("storage/save-over-a-folder-with-user-files",
         lambda p: _save_twice_with_notes(p),
         check=lambda f, p: ((f / "notes.txt").read_text() == "my notes" and (f / "model.safetensors").is_file())
         or pytest.fail("lost")),
    Case("storage/atomic_dir-refuses-before-the-work",
         lambda p: storage.atomic_dir(_save_twice_with_notes(p)).__enter__(),
         FileExistsError, r"holds files that ptlib did not write \(notes\.txt\).*Move them out"),
    Case("make_checkpoints/unpack-keeps-user-files",
         _unpack_over_notes, FileExistsError, r"tiny-bert-imdb holds files that ptlib did not write \(notes\.txt\)"),
    # 6. corrupt JSON names its file
    Case("contrastive/simclr_metadata-corrupt-config",
         lambda p: contrastive.simclr_metadata(_write(_saved_simclr(p) / "config.json", '{"metadata": ').parent),
         ValueError, r"enc/config\.json is not valid JSON"),
    Case("checksums/corrupt-manifest",
         lambda p: finetune.resolve_model(_write(_saved_mlm(p) / "manifest.json", "{").parent),
         ValueError, r"checkpoint manifest .*manifest\.json is not valid JSON"),
    Case("weights/corrupt-config",
         lambda p: weights.load_encoder(str(_write(_saved_mlm(p) / "config.json", "{").parent)),
         ValueError, r"model config .*config\.json is not valid JSON"),
    # 7. embed, load_encoder and the other public functions
    Case("weights/embed-none-text",
         lambda p: weights.embed(["a film", None], *_encoder(p), progress=False),
         TypeError, r"texts\[1\] is None"),
    Case("weights/embed-batch-size-zero",
         lambda p: weights.embed(["a film"], *_encoder(p), batch_size=0, progress=False),
         ValueError, r"batch_size must be at least 1, got 0"),
    Case("weights/embed-max-length-beyond-positions",
         lambda p: weights.embed(["a film"], *_encoder(p), max_length=1000, progress=False),
         ValueError, r"max_length=1000 is longer than the model's 128 positions"),
    Case("weights/embed-arguments-swapped",
         lambda p: weights.embed(["a film"], *reversed(_encoder(p)), progress=False),
         TypeError, r"model must be a Transformers encoder.*texts, tokenizer, model"),
    Case("weights/load_encoder-a-file",
         lambda p: weights.load_encoder(str(_write(p / "model.safetensors", "x"))),
         NotADirectoryError, r"'.*model\.safetensors' is a file; give the model folder"),
    Case("weights/load_encoder-missing-folder",
         lambda p: weights.load_encoder(str(p / "no" / "such")),
         FileNotFoundError, r"there is no folder .*no/such"),
    Case("weights/pickled-weights-only",
         lambda p: weights.load_encoder(str(_pickled_only(p))),
         weights.WeightsError, r"pytorch_model\.bin: pickled weights, which ptlib never loads"),
    Case("mlm/save-diverged-model",
         lambda p: mlm.save_pretrained_mlm(_nan_model(), _tiny_mlm()[1], p / "m"),
         ValueError, r"holds NaN or infinite values: training diverged, and the model is not saved"),
    Case("finetune/save_classifier-not-mean-pooling",
         lambda p: finetune.save_classifier(BertModel(_tiny_mlm()[0].config), _tiny_mlm()[1], p / "c"),
         TypeError, r"net must be a MeanPoolingClassifier"),
    Case("finetune/load_saved_classifier-missing",
         lambda p: finetune.load_saved_classifier(p / "nothing"),
         weights.WeightsError, r"no saved classifier in .*nothing: run notebooks/05_fine_tuning"),
    Case("finetune/resolve_model-a-file",
         lambda p: finetune.resolve_model(_write(p / "x.json", "{}")),
         NotADirectoryError, r"model '.*x\.json' is a file"),
    Case("finetune/load_classifier-duplicate-label-names",
         lambda p: finetune.load_classifier(_saved_mlm(p), 2, label_names=["1", "1"]),
         ValueError, r"label_names must be 2 different names"),
    Case("mlm/recipe-without-a-budget", lambda p: mlm.MLMRecipe(max_steps=None),
         ValueError, r"needs a budget: set max_steps or max_seconds"),
    Case("mlm/recipe-mlm-probability-zero", lambda p: mlm.MLMRecipe(mlm_probability=0.0),
         ValueError, r"mlm_probability must be greater than 0"),
    Case("mlm/pretrain-docs-with-none",
         lambda p: mlm.pretrain_mlm(mlm.MLM_RECIPES["smoke"], "cpu", docs=["a review", None]),
         TypeError, r"docs\[1\] is None"),
    Case("mlm/tiny_bert_config-zero-vocabulary", lambda p: mlm.tiny_bert_config(0),
         ValueError, r"vocab_size must be at least 1, got 0"),
    Case("contrastive/simclr-nan-temperature",
         lambda p: contrastive.SimCLRConfig(temperature=float("nan")),
         ValueError, r"temperature must be a finite number"),
    Case("contrastive/simclr-batch-of-one", lambda p: contrastive.SimCLRConfig(batch_size=1),
         ValueError, r"batch_size must be at least 2, got 1"),
    Case("weights/embed-diverged-model",
         lambda p: weights.embed(["a film"], _tiny_mlm()[1], _nan_model().bert, progress=False),
         ValueError, r"the embeddings holds \d+ NaN or infinite value"),
    Case("checksums/sha256_file-zero-chunk",
         lambda p: checksums.sha256_file(_write(p / "x.bin", "x"), chunk_size=0),
         ValueError, r"chunk_size must be at least 1"),
    Case("storage/cache_dir-not-a-name", lambda p: storage.cache_dir(3),
         ValueError, r"kind must be a plain folder name"),
    Case("mlm/sinusoidal-nan-scale",
         lambda p: mlm.init_sinusoidal_positions(copy.deepcopy(_tiny_mlm()[0]), float("nan")),
         ValueError, r"scale must be a finite number"),
    Case("contrastive/pretrain-one-image",
         lambda p: contrastive.pretrain_simclr(np.zeros((1, 32, 32, 3), np.uint8)),
         ValueError, r"images must hold at least 2 images.*got shape \(1, 32, 32, 3\)"),
    Case("contrastive/load-config-of-wrong-type",
         lambda p: contrastive.load_simclr_encoder(p / "none", config={"max_steps": 2}),
         TypeError, r"config must be a SimCLRConfig, got dict"),
    Case("weights/save_checkpoint-no-pickles",
         lambda p: weights.save_checkpoint(p / "m", {"w": torch.ones(2)}, pretrained=(_PicklingThing(),)),
         ValueError, r"refusing to save pickled files \['training_args\.bin'\]"),
    Case("finetune/resolve_model-missing-folder", lambda p: finetune.resolve_model(p / "nope"),
         FileNotFoundError, r"model '.*nope': there is no folder"),
    Case("checksums/verify_manifest-missing-folder",
         lambda p: checksums.verify_manifest(p / "nope"),
         FileNotFoundError, r"nope does not exist"),
    Case("weights/save_checkpoint-nothing",
         lambda p: weights.save_checkpoint(p / "m", info={"a": 1}),
         ValueError, r"nothing to save"),
]

# ---------------------------------------------------------------------------------------------
# training: train, finetune
# ---------------------------------------------------------------------------------------------

TRAINING_CASES: list[Case] = []

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
