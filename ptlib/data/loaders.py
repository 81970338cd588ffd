"""The loaders: one uniform schema per task (tables, corpora, image arrays), by dataset name.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ptlib import checks
from ptlib.data.fetch import dataset_dir
from ptlib.data.registry import _WINO_SWAPS, DataError, Dataset, _spec, _split

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
    with np.load(_path(name, spec.files[0])) as z:  # allow_pickle=False: arrays, no pickles
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
    with np.load(_path(name, spec.files[0])) as z:  # allow_pickle=False: arrays, no pickles
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
    rows = []
    for number, line in enumerate(_lines(path), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(
                f"data file {path}, line {number}, is not valid JSON ({err.msg}); the file is "
                "damaged: restore it from the course data or delete its folder to download it again"
            ) from None
    return rows


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
    data = checks.read_json(_path(name, f"dev-v1.1.{split}.json"), "data file")["data"]
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
    names = checks.read_json(_path(name, "label_names.json"), "data file")
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
        return checks.read_json(_path(name, "WEAT_wefe.json"), "data file")
    files = [
        f for f in spec.files if f.endswith(".jsonl") and f.startswith("seat/") == (split == "seat")
    ]
    return {
        Path(f).stem: checks.read_json(_path(name, f), "data file")
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
