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

import contextlib
import copy
import functools
import json
import os
import pickle
import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from _tools import load_tool
from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizerFast, EvalPrediction

from ptlib import (
    attribution,
    bias,
    calibration,
    checks,
    checksums,
    contrastive,
    data,
    detection,
    evaluate,
    finetune,
    generation,
    mlm,
    objectives,
    plots,
    qa,
    quantize,
    ranking,
    results,
    runtime,
    scaling,
    segmentation,
    storage,
    text,
    train,
    vision,
    weights,
)
from ptlib.data import fetch


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
    Case("checks/labels-none", lambda p: checks.labels([1, None, 0], "y"),
         ValueError, r"y holds 1 missing label\(s\) \(None/NaN\) out of 3"),
    Case("checks/texts-one-string", lambda p: checks.texts("a sentence"),
         TypeError, r"texts must be a sequence of strings, not one string"),
    Case("checks/texts-none", lambda p: checks.texts(["ok", None]),
         TypeError, r"texts\[1\] is None"),
    Case("checks/read_json-corrupt", lambda p: checks.read_json(_write(p / "x.json", "{"), "results file"),
         ValueError, r"results file .*x\.json is not valid JSON"),
]



def _write_nan_then_list(p: Path) -> list[str]:
    with contextlib.suppress(ValueError):
        storage.write_json(p / "r.json", {"acc": float("nan")})
    return sorted(f.name for f in p.iterdir())


CHECKS_CASES += [
    Case("storage/write_json-nan", lambda p: storage.write_json(p / "r.json", {"acc": float("nan")}),
         ValueError, r"cannot write .*r\.json as JSON: Out of range float"),
    Case("storage/write_json-nan-leaves-no-file", _write_nan_then_list,
         check=lambda names, p: _assert_equal(names, [])),
]


def _assert_equal(a: Any, b: Any) -> None:
    assert a == b, f"{a!r} != {b!r}"

# ---------------------------------------------------------------------------------------------
# runtime, results, storage, data
# ---------------------------------------------------------------------------------------------



@contextlib.contextmanager
def _env(**values: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for the block."""
    def put(pairs: dict[str, str | None]) -> None:
        for k, v in pairs.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    old = {k: os.environ.get(k) for k in values}
    try:
        put(values)
        yield
    finally:
        put(old)


def _env_call(values: dict[str, str | None], call: Callable[[], Any]) -> Any:
    with _env(**values):
        return call()


def _no_cuda(call: Callable[[], Any]) -> Any:
    """``call()`` as on a machine without CUDA (also on one that has it)."""
    available, torch.cuda.is_available = torch.cuda.is_available, lambda: False
    try:
        with _env(PTLIB_DEVICE=None):
            return call()
    finally:
        torch.cuda.is_available = available


def _recording(p: Path, call: Callable[[], Any], stem: str | None = "nb") -> Any:
    """``call()`` with results in ``p/results`` and, unless ``stem`` is None, ``stem`` started."""
    saved = dict(results._state)
    results._state.update(stem=None, t0=None, finished=False)
    try:
        with _env(PTLIB_RESULTS_DIR=str(p / "results")):
            if stem is not None:
                results.start(stem)
            return call()
    finally:
        results._state.clear()
        results._state.update(saved)


def _drawn(call: Callable[[Any], Any], ncols: int = 1) -> Any:
    """``call(ax)`` on a new figure, closed afterwards."""
    fig, ax = plots.new_figure(ncols=ncols)
    try:
        return call(ax)
    finally:
        plots.plt.close(fig)


def _downloading(p: Path, name: str, write: Callable[[str, Path], None], split: str | None = None) -> Any:
    """``data.load(name, split)`` with no local copy, a cache in ``p``, and a fake network that
    ``write(url, dest)``s each download."""
    real, fetch._download = fetch._download, write
    try:
        with _env(PTLIB_DATA_DIR=None, PTLIB_CACHE_DIR=str(p / "cache")):
            return data.load(name, split)
    finally:
        fetch._download = real


def _login_page(url: str, dest: Path) -> None:
    dest.write_text("<!DOCTYPE html>\n<html><body>Please log in</body></html>\n", encoding="utf-8")


def _nothing(url: str, dest: Path) -> None:
    dest.write_bytes(b"")


def _short_sst2_sentence(url: str, dest: Path) -> None:  # the right format, too few rows
    dest.write_text("".join(f"{i % 2} a phrase number {i} \n" for i in range(100)), encoding="utf-8")


def _bad_download_record(p: Path) -> Any:
    folder = p / "cache" / "data" / "german_credit"
    folder.mkdir(parents=True)
    _write(folder / ".ptlib-download.json", '{"files": {')
    with _env(PTLIB_DATA_DIR=None, PTLIB_CACHE_DIR=str(p / "cache")):
        return data.load("german_credit")


def _started_twice(p: Path) -> Any:
    results.start("a")
    results.record("x", 1)
    results.start("b")  # another notebook while "a" is still recording
    return results.current(), results.load("a"), results.load("b")


RUNTIME_DATA_CASES = [
    # runtime
    Case("runtime/get_device-PTLIB_DEVICE-gpu", lambda p: _env_call({"PTLIB_DEVICE": "gpu"}, runtime.get_device),
         ValueError, r"PTLIB_DEVICE='gpu'.*choose one of 'auto', 'cuda', 'mps', 'cpu'"),
    Case("runtime/get_device-cuda-without-gpu", lambda p: _no_cuda(lambda: runtime.get_device("cuda")),
         RuntimeError, r"'cuda' was requested \(prefer='cuda'\) but no CUDA GPU.*DEVICE='cpu'"),
    Case("runtime/get_device-not-a-name", lambda p: runtime.get_device(0),
         TypeError, r"prefer must be a device name .*got 0 \(int\)"),
    Case("runtime/set_threads-zero", lambda p: runtime.set_threads(0),
         ValueError, r"threads must be at least 1 \(or None .*\), got 0"),
    Case("runtime/set_threads-float", lambda p: runtime.set_threads(2.5),
         TypeError, r"threads must be a whole number .*got 2.5"),
    Case("runtime/seed_everything-string", lambda p: runtime.seed_everything("x"),
         TypeError, r"seed must be a whole number \(int\), got 'x'"),
    Case("runtime/seed_everything-negative", lambda p: runtime.seed_everything(-1),
         ValueError, r"seed must be at least 0, got -1"),
    Case("runtime/autocast-unknown-device", lambda p: runtime.autocast("gpu"),
         ValueError, r"device='gpu' is not a device PyTorch knows.*use 'cpu', 'cuda'"),
    Case("runtime/latency_ms-one-string", lambda p: runtime.latency_ms(len, "one text"),
         TypeError, r"texts must be a sequence of strings, not one string"),
    # results
    Case("results/record-key-not-a-string", lambda p: _recording(p, lambda: results.record(1, 0.5)),
         TypeError, r"key must be a string naming the number .*got 1 \(int\)"),
    Case("results/record-key-empty", lambda p: _recording(p, lambda: results.record("", 0.5)),
         ValueError, r"key must be a non-empty name"),
    Case("results/record-nan-names-the-key", lambda p: _recording(p, lambda: results.record("acc", [0.5, np.nan])),
         ValueError, r"non-finite number \(nan\) under key 'acc'\[1\]"),
    Case("results/record-before-start", lambda p: _recording(p, lambda: results.record("acc", 0.5), stem=None),
         RuntimeError, r"no notebook is recording: call ptlib.results.start"),
    Case("results/load-corrupt-file", lambda p: _recording(p, lambda: (_write(p / "results" / "nb.json", '{"acc": 0.9'), results.load("nb"))),
         ValueError, r"results file .*nb\.json is not valid JSON .*restore it"),
    Case("results/start-stem-with-folder", lambda p: _recording(p, lambda: results.start("../01_background"), stem=None),
         ValueError, r"stem must be a notebook name without folder or suffix"),
    Case("results/start-twice-another-stem", lambda p: _recording(p, lambda: _started_twice(p), stem=None),
         warns=UserWarning, match=r"results.start\('b'\) while 'a' is still recording",
         check=lambda r, p: (r == ("b", {"x": 1}, {})) or pytest.fail(f"{r}")),
    Case("results/PTLIB_RESULTS_DIR-is-a-file", lambda p: _env_call({"PTLIB_RESULTS_DIR": str(_write(p / "f", ""))}, lambda: results.start("nb")),
         NotADirectoryError, r"PTLIB_RESULTS_DIR .*f is a file, not a folder"),
    # plots
    Case("plots/line-nan-mean", lambda p: _drawn(lambda ax: plots.line_with_errorbars(ax, [1, 2], [0.5, np.nan], [0.1, 0.1], "m")),
         ValueError, r"mean holds 1 NaN or infinite value\(s\)"),
    Case("plots/line-empty", lambda p: _drawn(lambda ax: plots.line_with_errorbars(ax, [], [], [], "m")),
         ValueError, r"x is empty"),
    Case("plots/line-negative-std", lambda p: _drawn(lambda ax: plots.line_with_errorbars(ax, [1, 2], [0.5, 0.6], [0.1, -0.1], "m")),
         ValueError, r"std holds 1 negative value"),
    Case("plots/line-logx-zero", lambda p: _drawn(lambda ax: plots.line_with_errorbars(ax, [0, 8], [0.5, 0.6], [0.1, 0.1], "m", logx=True)),
         ValueError, r"x holds 1 value\(s\) <= 0 .*logx=False"),
    Case("plots/confusion-nan", lambda p: _drawn(lambda ax: plots.confusion_matrix(ax, np.array([[1, np.nan], [0, 2]]), ["a", "b"])),
         ValueError, r"cm holds 1 NaN"),
    Case("plots/confusion-labels-one-string", lambda p: _drawn(lambda ax: plots.confusion_matrix(ax, np.eye(2), "ab")),
         TypeError, r"labels must be a sequence of class names, not one string"),
    Case("plots/line-on-an-array-of-axes", lambda p: _drawn(lambda axes: plots.line_with_errorbars(axes, [1], [0.5], [0.1], "m"), ncols=2),
         TypeError, r"ax must be one matplotlib Axes, got ndarray .*pass one, e.g. axes\[0\]"),
    Case("plots/new_figure-zero-columns", lambda p: plots.new_figure(ncols=0),
         ValueError, r"ncols must be at least 1, got 0"),
    # data
    Case("data/unknown-name", lambda p: data.load("sst-2"),
         data.DataError, r"Unknown dataset 'sst-2'\. Did you mean 'sst2'\?"),
    Case("data/unknown-split", lambda p: data.load("sst2", "training"),
         data.DataError, r"'sst2' has splits train, dev, test; got split='training'"),
    Case("data/split-not-a-string", lambda p: data.load("adult", 0),
         TypeError, r"split must be a split name \(str\) or None, got 0"),
    Case("data/loader-of-another-task", lambda p: data.load_images("sst2", "train"),
         data.DataError, r"'sst2' is a text_classification dataset; use load\('sst2'\)"),
    Case("data/PTLIB_DATA_DIR-missing", lambda p: _env_call({"PTLIB_DATA_DIR": str(p / "nope")}, lambda: data.load("adult", "train")),
         data.DataError, r"PTLIB_DATA_DIR=.*nope does not exist\. Set it to the folder of the course data"),
    Case("data/PTLIB_DATA_DIR-is-a-file", lambda p: _env_call({"PTLIB_DATA_DIR": str(_write(p / "f", ""))}, lambda: data.load("adult", "train")),
         data.DataError, r"PTLIB_DATA_DIR=.*f is a file, not a folder"),
    Case("data/PTLIB_CACHE_DIR-is-a-file", lambda p: _env_call({"PTLIB_DATA_DIR": None, "PTLIB_CACHE_DIR": str(_write(p / "f", ""))}, lambda: data.load("adult", "train")),
         data.DataError, r"PTLIB_CACHE_DIR=.*f is a file, not a folder.*Set PTLIB_CACHE_DIR to a folder"),
    Case("data/download-is-an-html-page", lambda p: _downloading(p, "german_credit", _login_page),
         data.DataError, r"Dataset 'german_credit': the download from https://archive\.ics\.uci\.edu/\S+/german\.data is refused: german\.data is an HTML page .*PTLIB_DATA_DIR"),
    Case("data/download-is-empty", lambda p: _downloading(p, "german_credit", _nothing),
         data.DataError, r"german_credit': the download from \S+german\.data is refused: german\.data is empty \(0 bytes\)"),
    Case("data/download-is-truncated", lambda p: _downloading(p, "sst2_sentence", _short_sst2_sentence, "train"),
         data.DataError, r"sst2_sentence': .* is refused: the converted dev\.tsv should hold 872 rows x 2 columns, found 100 rows x 2 columns"),
    Case("data/download-record-corrupt", _bad_download_record,
         data.DataError, r"german_credit': unreadable .*\.ptlib-download\.json .*not valid JSON.*Delete the folder"),
]

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
    checksums.write_manifest(folder, created_by="tests/test_bad_inputs.py", licence="MIT")
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


def _resume_after_a_flipped_byte(tmp: Path):
    folder = _checkpointed(tmp)
    weights_file = folder / "step-00000020" / "model.safetensors"
    raw = bytearray(weights_file.read_bytes())
    raw[-3] ^= 0xFF  # inside the last tensor: the header still reads, the value is wrong
    weights_file.write_bytes(bytes(raw))
    return _fit(tmp, checkpoint_dir=folder, checkpoint_every=10)


def _keep_one_checkpoint_beside_a_note(tmp: Path) -> Path:
    folder = _checkpointed(tmp)  # steps 10 and 20
    (folder / "step-00000010" / "notes.txt").write_text("mine", encoding="utf-8")
    _fit(tmp, checkpoint_dir=folder, checkpoint_every=10, max_steps=30, keep_checkpoints=1)
    return folder / "step-00000010" / "notes.txt"


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
    (old / storage.MARKER).write_text("written by ptlib\n", encoding="utf-8")  # the old marker
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
         match=r"resuming from step-00000010.*step-00000020/model\.safetensors is (damaged|corrupted)",
         check=_check_fell_back),
    Case("train/resume-flipped-byte-in-newest-checkpoint", _resume_after_a_flipped_byte,
         warns=UserWarning,
         match=r"resuming from step-00000010.*step-00000020/model\.safetensors is corrupted: sha256",
         check=_check_fell_back),
    Case("train/keep_checkpoints-never-deletes-a-foreign-file", _keep_one_checkpoint_beside_a_note,
         warns=UserWarning, match=r"kept the old checkpoint: .*step-00000010 holds files that ptlib did not write \(notes\.txt\)",
         check=lambda note, p: _assert_equal(note.read_text(encoding="utf-8"), "mine")),
    Case("train/resume-corrupt-state-json-only-checkpoint",
         lambda p: (_write(_checkpointed(p) / "step-00000010" / "state.json", "{"),
                    shutil.rmtree(p / "ckpt" / "step-00000020"), _fit(p, checkpoint_dir=p / "ckpt")),
         ValueError, r"no checkpoint in .*ckpt can be resumed from: .*state\.json is (corrupted|not valid JSON)"),
    Case("train/resume-never-unpickles-an-old-checkpoint", _resume_past_an_old_checkpoint,
         warns=UserWarning, match=r"step-00000030 is an old-format checkpoint.*rng\.pt, a pickle",
         check=_holds(lambda r, p: len(r) == 40 and not (p / "pwned").exists())),
    Case("train/load_weights-missing",
         lambda p: train.load_weights(_net(), p / "step-00000010"),
         FileNotFoundError, r"step-00000010/model\.safetensors does not exist"),
    Case("train/load_weights-truncated",
         lambda p: (_truncate(_checkpointed(p) / "step-00000020" / "model.safetensors"),
                    train.load_weights(_net(), p / "ckpt" / "step-00000020")),
         checksums.ManifestError, r"step-00000020/model\.safetensors is corrupted: sha256"),
    Case("train/load_weights-truncated-without-manifest",
         lambda p: (_truncate(_checkpointed(p) / "step-00000020" / "model.safetensors"),
                    (p / "ckpt" / "step-00000020" / "manifest.json").unlink(),
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

def _expect(ok: bool) -> None:
    assert ok, "unexpected result"


# Inputs for the cases below: tiny sets of vectors, labels and models.
_RNG = np.random.default_rng(17)
_V = _RNG.normal(size=(4, 5))  # four 5-d vectors


def _with_nan(v: np.ndarray) -> np.ndarray:
    v = v.copy()
    v[1, 2] = np.nan
    return v


def _fit_one_class(p: Path) -> Any:
    return evaluate.LinearProbe().fit(_V, [1, 1, 1, 1])


def _quantize_with_typo(p: Path) -> Any:
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    return quantize.quantize_linear_layers(net, skip=["head"])


def _pack_short(p: Path) -> torch.Tensor:
    return text.pack_sequences([[5, 6, 7]], seq_len=16, cls_id=2, sep_id=3)


def _nan_scores(keep: np.ndarray) -> np.ndarray:
    return np.full(len(keep), np.nan)


def _never_called() -> Any:
    raise AssertionError("a model was trained before the bad budget was found")


def _budget_zero(p: Path) -> Any:
    y = np.array([0, 1] * 4)
    return evaluate.label_efficiency(_V.repeat(2, 0), y, _V, y[:4], [1, 0], [0], _never_called)


STATISTICS_CASES: list[Case] = [
    # bias: WEAT/SEAT
    Case("bias/weat-nan-embedding", lambda p: bias.weat(_with_nan(_V), _V, _V, _V),
         ValueError, r"x holds 1 NaN or infinite value"),
    Case("bias/weat-negative-permutations", lambda p: bias.weat(_V[:2], _V[2:], _V, -_V, n_permutations=-5),
         ValueError, r"n_permutations must be at least 1, got -5"),
    Case("bias/weat-dimensions-differ", lambda p: bias.weat_effect_size(_V, _V, _V[:, :3], _V),
         ValueError, r"the vectors must all have one dimension.*'a': 3"),
    Case("bias/association-one-vector", lambda p: bias.association(_V[0], _V, _V),
         ValueError, r"w must have 2 dimension\(s\), got shape \(5,\)"),
    # bias: fairness
    Case("bias/dp-nan-prediction", lambda p: bias.demographic_parity_difference([1, np.nan, 0, 1], ["a", "a", "b", "b"]),
         ValueError, r"y_pred holds 1 NaN or infinite"),
    Case("bias/dp-scores-not-labels", lambda p: bias.demographic_parity_difference([0.7, 0.2], ["a", "b"]),
         ValueError, r"y_pred must hold binary predictions .* got 0\.7: threshold"),
    Case("bias/dp-one-group", lambda p: bias.demographic_parity_difference([1, 0], ["a", "a"]),
         warns=UserWarning, match=r"groups holds one group only \('a'\).*difference is 0",
         check=lambda r, p: _expect(r == 0.0)),
    Case("bias/eo-one-class", lambda p: bias.equalized_odds_difference([1, 1, 1, 1], [1, 0, 1, 1], ["a", "a", "b", "b"]),
         ValueError, r"y_true holds one class only"),
    Case("bias/group-rates-missing-group", lambda p: bias.group_rates([1, 0], [1, 0], ["a", None]),
         ValueError, r"groups holds 1 missing value"),
    Case("bias/reweighing-nan-label", lambda p: bias.reweighing_weights([1.0, np.nan], ["a", "b"]),
         ValueError, r"y holds 1 missing label"),
    # bias: benchmarks and uncertainty
    Case("bias/bootstrap-zero-resamples", lambda p: bias.bootstrap_ci(np.mean, [1.0, 2.0], n_resamples=0),
         ValueError, r"n_resamples must be at least 1, got 0"),
    Case("bias/bootstrap-nan-statistic", lambda p: bias.bootstrap_ci(np.mean, [1.0, np.nan, 2.0], n_resamples=20),
         ValueError, r"statistic returned nan on bootstrap resample"),
    Case("bias/stereoset-nan-score", lambda p: bias.stereoset_metrics([0.1, np.nan], [0.2, 0.3], [0.0, 0.0]),
         ValueError, r"stereotype holds 1 NaN"),
    Case("bias/crows-metric-nan", lambda p: bias.crows_pairs_metric([np.nan, -1.0], [-2.0, -2.0]),
         ValueError, r"score_more holds 1 NaN"),
    Case("bias/icat-out-of-range", lambda p: bias.icat(90.0, 150.0),
         ValueError, r"ss must be at most 100\.0, got 150\.0"),
    Case("bias/masked-log-probs-position", lambda p: bias.masked_log_probs(None, [[2, 4, 3]], [5], [7]),
         ValueError, r"positions\[0\] = 5 is outside rows\[0\] \(3 tokens\)"),
    Case("bias/stereoset-scores-no-context", lambda p: bias.stereoset_scores(None, None, pd.DataFrame({"sentence": ["x"]})),
         ValueError, r"examples has no column\(s\) \['context', 'stereotype'.*load_stereoset"),
    Case("bias/gender-swap-none", lambda p: bias.gender_swap(None),
         TypeError, r"text must be a string, got None"),
    Case("bias/cda-none-doc", lambda p: bias.counterfactual_augment(["he runs", None]),
         TypeError, r"docs\[1\] is None"),
    # objectives
    Case("objectives/info-nce-nan-temperature", lambda p: objectives.info_nce(torch.eye(3), torch.eye(3), float("nan")),
         ValueError, r"temperature must be a finite number, got nan"),
    Case("objectives/nt-xent-empty-batch", lambda p: objectives.nt_xent(torch.zeros(0, 4), torch.zeros(0, 4)),
         ValueError, r"z1 is empty"),
    Case("objectives/nt-xent-nan-embedding", lambda p: objectives.nt_xent(torch.tensor([[np.nan, 1.0]]), torch.ones(1, 2)),
         ValueError, r"z1 holds 1 NaN"),
    Case("objectives/info-nce-positive-out-of-range", lambda p: objectives.info_nce(torch.eye(3), torch.eye(3), positives=torch.tensor([0, 1, 3])),
         ValueError, r"positives must be key indices in \[0, 3\)"),
    Case("objectives/mlm-loss-nothing-masked", lambda p: objectives.mlm_loss(torch.zeros(2, 3, 7), torch.full((2, 3), -100)),
         ValueError, r"labels: no masked token .*mean loss would be NaN"),
    Case("objectives/mlm-loss-label-outside-vocabulary", lambda p: objectives.mlm_loss(torch.zeros(1, 2, 7), torch.tensor([[3, 9]])),
         ValueError, r"labels holds token id 9, outside the model's vocabulary of 7"),
    Case("objectives/causal-lm-nothing-to-predict", lambda p: objectives.causal_lm_loss(torch.zeros(1, 3, 7), torch.tensor([[1, -100, -100]])),
         ValueError, r"labels: every next token is -100, nothing to predict .*leave some labels unmasked"),
    Case("objectives/unigram-zero-smoothing", lambda p: objectives.unigram_baseline(np.array([3, 0, 1]), np.array([1, -100]), smoothing=0.0),
         ValueError, r"never occurs in counts and smoothing is 0"),
    # evaluate
    Case("evaluate/accuracy-nan-prediction", lambda p: evaluate.accuracy([1.0, 0.0], [1.0, np.nan]),
         ValueError, r"y_pred holds missing labels"),
    Case("evaluate/metrics-label-outside-num-labels", lambda p: evaluate.classification_metrics([0, 1, 2], [0, 1, 1], num_labels=2),
         ValueError, r"with num_labels=2 the labels must be 0 \.\. 1, got 2"),
    Case("evaluate/sample-per-class-fractional-k", lambda p: evaluate.sample_per_class([0, 0, 1, 1], 1.5, seed=0),
         TypeError, r"k must be a whole number"),
    Case("evaluate/knn-nan-features", lambda p: evaluate.knn_predict(_with_nan(_V), [0, 1, 0, 1], _V, k=2),
         ValueError, r"x_train holds 1 NaN"),
    Case("evaluate/knn-zero-temperature", lambda p: evaluate.knn_predict(_V, [0, 1, 0, 1], _V, k=2, temperature=0.0),
         ValueError, r"temperature must be greater than 0"),
    Case("evaluate/probe-nan-C", lambda p: evaluate.LinearProbe(C=float("nan")),
         ValueError, r"C must be a finite number"),
    Case("evaluate/probe-one-class", _fit_one_class,
         ValueError, r"y holds one class only"),
    Case("evaluate/retrieval-relevant-out-of-range", lambda p: evaluate.retrieval_ranks(_V[:2], _V, [0, 4]),
         ValueError, r"relevant must be rows of documents, in \[0, 4\)"),
    Case("evaluate/recall-ks-not-a-list", lambda p: evaluate.recall_at_k(_V, _V, [0, 1, 2, 3], ks=5),
         ValueError, r"ks must be a non-empty sequence"),
    Case("evaluate/label-efficiency-zero-budget", _budget_zero,
         ValueError, r"each budget \(labels per class, or None for all\) must be at least 1, got 0"),
    Case("evaluate/labels-to-reach-nan", lambda p: evaluate.labels_to_reach([10, 100], [0.5, np.nan], 0.8),
         ValueError, r"accuracy holds 1 NaN"),
    # text
    Case("text/encode-corpus-none-text", lambda p: text.encode_corpus(["a film", None], None),
         TypeError, r"texts\[1\] is None"),
    Case("text/mask-tokens-nan-corruption", lambda p: text.mask_tokens(torch.ones(2, 4, dtype=torch.long), 4, 10, corruption=(float("nan"), 0.1)),
         ValueError, r"corruption\[0\] \(mask_fraction\) must be a finite number"),
    Case("text/masked-batches-zero-rows", lambda p: text.masked_batches(torch.ones(2, 4, dtype=torch.long), None, 0),
         ValueError, r"rows_per_batch must be at least 1, got 0"),
    Case("text/token-counts-id-outside-vocabulary", lambda p: text.token_counts(torch.tensor([[1, 12]]), 10),
         ValueError, r"rows holds token ids outside 0 \.\. 9"),
    Case("text/pack-too-short", _pack_short,
         warns=UserWarning, match=r"fewer than one row of seq_len=16: no row is returned",
         check=lambda r, p: _expect(tuple(r.shape) == (0, 16))),
    # vision
    Case("vision/jitter-probability", lambda p: vision.color_jitter(torch.rand(1, 3, 4, 4), p=1.5),
         ValueError, r"p must be at most 1\.0, got 1\.5"),
    Case("vision/augment-config-crop-scale", lambda p: vision.AugmentConfig(crop_scale=(0.5, 0.2)),
         ValueError, r"crop_scale must be \(lo, hi\) with lo <= hi"),
    Case("vision/crop-uint8-images", lambda p: vision.random_resized_crop(torch.zeros(2, 8, 8, 3, dtype=torch.uint8)),
         ValueError, r"x must be a float tensor of images \[B, C, H, W\].*to_float_images"),
    Case("vision/image-grid-zero-columns", lambda p: vision.image_grid(torch.rand(2, 3, 4, 4), nrow=0),
         ValueError, r"nrow must be at least 1, got 0"),
    # chapters 6-10
    Case("qa/exact-match-none-prediction", lambda p: qa.exact_match(None, ["Denver"]),
         TypeError, r"prediction must be a string"),
    Case("qa/squad-none-prediction", lambda p: qa.squad_scores(["Denver", None], [["Denver"], ["x"]]),
         TypeError, r"predictions\[1\] is None"),
    Case("detection/ap-iou-threshold", lambda p: detection.average_precision([([[0, 0, 1, 1]], [0.9])], [[[0, 0, 1, 1]]], iou_threshold=1.5),
         ValueError, r"iou_threshold must be at most 1\.0"),
    Case("generation/frechet-different-spaces", lambda p: generation.frechet_distance(_V, _V[:, :3]),
         ValueError, r"features1 and features2 must have the same d .* got 5 and 3"),
    Case("segmentation/margin-larger-than-image", lambda p: segmentation.predict_tiled(lambda t: t, torch.rand(1, 8, 8), 4, 4, margin=8),
         ValueError, r"margin \(8\) must be smaller than the image \(8 x 8\)"),
    Case("segmentation/tile-starts-float", lambda p: segmentation.tile_starts(64, 32.0, 16),
         TypeError, r"tile must be a whole number"),
    Case("ranking/hit-rate-bool-k", lambda p: ranking.hit_rate_at_k([1, 3], True),
         TypeError, r"k must be a whole number"),
    Case("calibration/ece-fractional-bins", lambda p: calibration.expected_calibration_error([0, 1], [0.2, 0.9], n_bins=2.5),
         TypeError, r"n_bins must be a whole number"),
    Case("scaling/flops-string", lambda p: scaling.training_flops("1e6", 1000),
         TypeError, r"parameters must be a number, got '1e6'"),
    Case("attribution/deletion-nan-scores", lambda p: attribution.deletion_curve(_nan_scores, [1, 0, 2]),
         ValueError, r"the scores score_fn returned holds 11 NaN"),
    Case("quantize/skip-unknown-module", _quantize_with_typo,
         ValueError, r"skip names no module of the model: \['head'\]"),
]

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
