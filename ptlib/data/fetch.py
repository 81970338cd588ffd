"""A dataset's verified folder: the local copy checked against the manifest, or a download
converted to the local layout.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import csv
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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from ptlib import checks, storage
from ptlib.checksums import sha256_file
from ptlib.data.registry import (
    _MANIFEST,
    _SHAPES,
    _SIDECAR,
    DATASETS,
    DataError,
    Dataset,
    _file_list,
    _files,
    _root,
    _spec,
    _urls,
)


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
        record = checks.read_json(folder / _SIDECAR, "download record")["files"]
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
    """Raise ``DataError`` unless ``path`` has the digest ``check`` (``"md5:<hex>"``, ...)."""
    algo, want = check.split(":")
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != want:
        raise DataError(
            f"download {path.name}: {algo} expected {want}, found {digest.hexdigest()} "
            f"({path.stat().st_size} bytes)"
        )


def _refuse(spec: Dataset, source: str, problem: str) -> DataError:
    """The error for a download that is not the data: what came, from where, and what to do."""
    return DataError(
        f"Dataset '{spec.name}': the download from {source} is refused: {problem}. Nothing was "
        f"stored. Try again later (a login, rate-limit or error page, or a cut connection, is "
        f"usually temporary), or put a local copy of the course data under PTLIB_DATA_DIR (a "
        f"folder that holds {spec.name}/ with {_file_list(spec)})."
    )


def _check_download(spec: Dataset, url: str, raw: Path, saved: str) -> None:
    """Refuse an empty download, an HTML page instead of the data, or a wrong pinned checksum."""
    path = raw / saved
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        raise _refuse(spec, url, f"{path.name} is empty (0 bytes)")
    if path.suffix.lower() not in (".html", ".htm") and re.match(
        rb"\s*(<!doctype html|<html|<head|<body)", head, re.IGNORECASE
    ):
        raise _refuse(
            spec, url, f"{path.name} is an HTML page (a login or error page?), not the data file"
        )
    for name, check in spec.source.checks:
        if name == saved:
            try:
                _check_input(path, check)
            except DataError as err:
                raise _refuse(spec, url, f"{err} (a truncated or changed file)") from None


def _shape(path: Path) -> str:
    """What a file holds, as ``_SHAPES`` lists it: ``"872 rows x 2 columns"`` (.csv/.tsv),
    ``"444 records x 4 keys"`` (.jsonl), ``"x[30,512,512] y[30]"`` (.npz: the arrays' shapes,
    read from their headers only), or ``"218 lines"`` (any other file)."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = []
        with zipfile.ZipFile(path) as z:
            for member in sorted(z.namelist()):
                with z.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape = read(f)[0]
                arrays.append(f"{member.removesuffix('.npy')}{list(shape)}".replace(" ", ""))
        return " ".join(arrays)
    data = path.read_bytes()
    if suffix in (".csv", ".tsv"):
        text = io.StringIO(data.decode("utf-8"))
        rows = list(csv.reader(text, delimiter="\t" if suffix == ".tsv" else ","))
        return f"{max(len(rows) - 1, 0)} rows x {len(rows[0]) if rows else 0} columns"
    if suffix == ".jsonl":
        lines = [ln for ln in data.split(b"\n") if ln.strip()]
        return f"{len(lines)} records x {len(json.loads(lines[0])) if lines else 0} keys"
    lines = data.count(b"\n")
    return f"{lines} lines"


def _check_converted(spec: Dataset, tmp: Path, rel: str) -> None:
    """Refuse a converted file that differs from the course copy and is not what ``_SHAPES``
    lists (images: that does not decode)."""
    path = tmp / rel
    if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
        try:
            with Image.open(path) as img:
                img.verify()
        except Exception as err:
            raise _refuse(spec, _urls(spec), f"image {rel} does not decode ({err})") from None
        return
    want = _SHAPES.get(spec.name, {}).get(rel)
    if want is None:  # every file of a non-exact dataset is listed (tests/test_data.py)
        raise _refuse(spec, _urls(spec), f"{rel} differs from the course copy and has no shape")
    try:
        found = _shape(path)
    except Exception as err:  # not UTF-8, not JSON, not an .npz
        found = f"an unreadable file ({type(err).__name__}: {err})"
    if found != want:
        raise _refuse(
            spec, _urls(spec), f"the converted {rel} should hold {want}, found {found} (cut short?)"
        )


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
            _check_download(spec, url, raw, saved)
        try:
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
                raise DataError(
                    f"Dataset '{spec.name}': the download from {_urls(spec)} did not produce "
                    f"'{rel}'. The source may have changed; set PTLIB_DATA_DIR to a local copy "
                    "of the course data instead."
                )
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
            source = dict((s, u) for u, s in spec.source.urls).get(differ[0], _urls(spec))
            raise DataError(
                f"Dataset '{spec.name}': downloaded file '{differ[0]}' from {source} does not "
                f"match the course copy (sha256 expected {want}, found {found}; "
                f"{record[differ[0]]['bytes']} bytes, expected "
                f"{_MANIFEST[spec.name][differ[0]]['bytes']}). The download was corrupted or "
                f"the source changed; try again, or set PTLIB_DATA_DIR to the course data."
            )
        for rel in differ:  # converted files that cannot be identical: the shape must be right
            _check_converted(spec, tmp, rel)
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


_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"


@_converter("cifar10")
def _convert_cifar10(raw: Path, out: Path) -> None:
    """The official CIFAR-10 archive holds Python pickles, the only pickles ptlib ever reads
    (unpickling runs code, so an archive from elsewhere could run anything). They are unpickled
    here only, and only after the archive's md5 pinned in the registry has passed, checked again
    here; without a pinned md5 nothing is unpickled."""
    pinned = dict(DATASETS["cifar10"].source.checks).get(_CIFAR_ARCHIVE)
    if pinned is None:
        raise DataError(f"no checksum is pinned for {_CIFAR_ARCHIVE}: its pickles are not read")
    _check_input(raw / _CIFAR_ARCHIVE, pinned)
    with tarfile.open(raw / _CIFAR_ARCHIVE) as tar:  # checksum verified just above

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
    with np.load(raw / "pneumoniamnist.npz") as z:  # md5-checked; allow_pickle=False: no pickles
        arrays = {k: z[k] for k in z.files}
    arrays["label_names"] = np.array(["normal", "pneumonia"])
    n = len(arrays["train_images"])
    arrays["train_origin"] = np.array(
        [f"zenodo:6496656/pneumoniamnist.npz:train[{i}]" for i in range(n)]
    )
    np.savez_compressed(out / "pneumoniamnist_28.npz", **arrays)
