"""Tests of ptlib.data: registry, local verification, downloads (faked), converters, loaders."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import io
import json
import os
import pickle
import re
import shutil
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ptlib import checksums, data
from ptlib.data import fetch, loaders, registry

REPO = Path(__file__).resolve().parents[1]


def _real_data_dir() -> Path | None:
    env = os.environ.get("PTLIB_DATA_DIR")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (candidate / "sst2" / "train.tsv").is_file():
            return candidate
    return None


DATA = _real_data_dir()
needs_data = pytest.mark.skipif(DATA is None, reason="no local course data (PTLIB_DATA_DIR)")


@pytest.fixture
def real(monkeypatch: pytest.MonkeyPatch) -> Path:
    """PTLIB_DATA_DIR pointing at the real course data."""
    assert DATA is not None
    monkeypatch.setenv("PTLIB_DATA_DIR", str(DATA))
    return DATA


@pytest.fixture
def copy_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Copy one real dataset into a temporary PTLIB_DATA_DIR; returns its folder."""

    def make(name: str) -> Path:
        assert DATA is not None
        shutil.copytree(DATA / name, tmp_path / "data" / name)
        monkeypatch.setenv("PTLIB_DATA_DIR", str(tmp_path / "data"))
        return tmp_path / "data" / name

    return make


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No PTLIB_DATA_DIR; the download cache in a temporary folder (returned)."""
    monkeypatch.delenv("PTLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("PTLIB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "data"


# ---------------------------------------------------------------------------- registry


def test_registry_covers_every_dataset_folder_and_manifest() -> None:
    assert data.available() == sorted(data.DATASETS) == sorted(registry._MANIFEST)
    assert len(data.DATASETS) == 20
    for spec in data.DATASETS.values():
        assert spec.files and spec.licence and spec.citation and spec.source.urls
        assert "SOURCE.md" not in spec.files
        assert loaders._LOADERS[spec.task]
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.name = "x"  # type: ignore[misc]
    # MovieLens may only come from GroupLens itself.
    ml = data.DATASETS["movielens_100k"].source.urls
    assert [u for u, _ in ml] == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    # Byte-identical GitHub copies are fetched at their pinned commit.
    for name in ("sst2", "crows_pairs", "winobias", "weat", "squad_v1.1", "multi30k"):
        src = data.DATASETS[name].source
        assert src.exact and all(
            u.startswith("https://raw.githubusercontent.com/") for u, _ in src.urls
        )
        assert all(len(u.split("/")[5]) == 40 for u, _ in src.urls)  # a commit hash


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(
        data.DataError, match=r"Unknown dataset 'sst-2'\. Did you mean 'sst2'\?"
    ) as err:
        data.load("sst-2")
    assert "german_credit" in str(err.value)  # the known names are listed
    with pytest.raises(data.DataError, match="Did you mean 'cifar10'"):
        data.dataset_dir("cifar_10")


@needs_data
def test_split_errors_and_synonyms(real: Path) -> None:
    with pytest.raises(data.DataError, match="has splits train, dev, test"):
        data.load("sst2", "training")
    with pytest.raises(data.DataError, match="needs a split"):
        data.load_text_classification("sst2")
    with pytest.raises(data.DataError, match="no predefined splits.*train_test_split"):
        data.load("german_credit", "train")
    with pytest.raises(data.DataError, match="is a tabular dataset"):
        data.load_images("adult", "train")
    assert len(data.load("sst2", "validation")) == 872  # dev under another name
    assert len(data.load("dailydialog", "dev")) == 1000


# ---------------------------------------------------------------------------- local copies


@needs_data
def test_missing_local_file_names_it_and_what_to_do(copy_of) -> None:
    folder = copy_of("german_credit")
    (folder / "codes.csv").unlink()
    with pytest.raises(data.DataError) as err:
        data.load("german_credit")
    msg = str(err.value)
    assert "'codes.csv' is missing" in msg and str(folder.parent) in msg
    assert "Copy the complete 'german_credit' folder" in msg and "unset PTLIB_DATA_DIR" in msg
    shutil.rmtree(folder)
    with pytest.raises(data.DataError, match="there is no folder"):
        data.dataset_dir("german_credit")


@needs_data
def test_corrupted_byte_gives_expected_and_found_sha256(copy_of) -> None:
    path = copy_of("sst2_sentence") / "dev.tsv"
    raw = bytearray(path.read_bytes())
    raw[100] ^= 1
    path.write_bytes(bytes(raw))
    want = registry._MANIFEST["sst2_sentence"]["dev.tsv"]["sha256"]
    found = hashlib.sha256(raw).hexdigest()
    with pytest.raises(data.DataError, match=f"expected {want}, found {found}") as err:
        data.load("sst2_sentence", "dev")
    assert "dev.tsv is corrupted" in str(err.value) and "Copy the complete" in str(err.value)


@needs_data
def test_hashes_are_cached_on_path_size_mtime(copy_of, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_of("german_credit")
    calls = []
    real_sha256 = hashlib.sha256
    monkeypatch.setattr(checksums.hashlib, "sha256", lambda *a: calls.append(1) or real_sha256(*a))
    assert data.dataset_dir("german_credit") == folder
    assert len(calls) == 2  # both files hashed once
    data.load("german_credit")
    assert len(calls) == 2  # verified again from the cache
    st = (folder / "codes.csv").stat()
    os.utime(folder / "codes.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    data.dataset_dir("german_credit")
    assert len(calls) == 3  # a changed mtime is hashed again


@needs_data
def test_available_local_only(offline: Path, real: Path) -> None:
    assert data.available(local_only=True) == data.available()
    os.environ.pop("PTLIB_DATA_DIR")
    assert data.available(local_only=True) == []


# ---------------------------------------------------------------------------- downloads


def test_failed_download_explains_both_ways(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(url: str, dest: Path) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(fetch, "_download", no_network)
    with pytest.raises(data.DataError) as err:
        data.load("german_credit")
    msg = str(err.value)
    assert "Dataset 'german_credit' is not available" in msg and "Network is unreachable" in msg
    assert "set PTLIB_DATA_DIR to a folder that contains german_credit/" in msg
    assert "codes.csv, german_credit.csv" in msg
    assert "connect to the internet so ptlib can fetch https://archive.ics.uci.edu/" in msg
    assert not (offline / "german_credit").exists()
    assert not any(offline.iterdir())  # no half-written temporary folder left behind


def test_real_downloader_writes_atomically(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_bytes(b"payload\n")
    fetch._download(src.as_uri(), tmp_path / "dest.txt")  # file:// works offline
    assert (tmp_path / "dest.txt").read_bytes() == b"payload\n"
    with pytest.raises(OSError):
        fetch._download((tmp_path / "absent.txt").as_uri(), tmp_path / "never.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest.txt", "src.txt"]  # no .part


@needs_data
def test_fake_download_fills_the_cache_atomically(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DATA is not None
    calls: list[str] = []

    def fake(url: str, dest: Path) -> None:
        calls.append(url)
        assert not (offline / "sst2").exists()  # nothing in place before the end
        assert dest.parent.parent == offline and dest.parent.name.startswith(".sst2.")
        part = dest.with_name(dest.name + ".part")
        shutil.copyfile(DATA / "sst2" / dest.name, part)
        os.replace(part, dest)

    monkeypatch.setattr(fetch, "_download", fake)
    df = data.load("sst2", "dev")
    assert len(calls) == 3 and all("/6288fb5bec9c572f2492875ae0111df5b6daed11/" in u for u in calls)
    assert len(df) == 872 and list(df.columns) == ["text", "label"]
    assert sorted(p.name for p in offline.iterdir()) == ["sst2"]
    record = json.loads((offline / "sst2" / ".ptlib-download.json").read_text())
    assert all(r["matches_manifest"] for r in record["files"].values())
    assert len(data.load("sst2", "train")) == 67349 and len(calls) == 3  # served from the cache
    path = offline / "sst2" / "test.tsv"  # a cached file corrupted later (1 s) is caught
    path.write_bytes(path.read_bytes().replace(b"\t1\r\n", b"\t0\r\n", 1))  # CRLF file
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(data.DataError, match=r"sha256 expected .*Delete the folder"):
        data.load("sst2", "test")


@needs_data
def test_exact_download_that_differs_is_rejected(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DATA is not None

    def tampered(url: str, dest: Path) -> None:
        dest.write_bytes((DATA / "crows_pairs" / dest.name).read_bytes() + b"\n")

    monkeypatch.setattr(fetch, "_download", tampered)
    want = registry._MANIFEST["crows_pairs"]["crows_pairs_anonymized.csv"]["sha256"]
    with pytest.raises(
        data.DataError, match=f"does not match the course copy \\(sha256 expected {want}"
    ):
        data.load("crows_pairs")
    assert not any(offline.iterdir())


# Fake downloads in each online source's own format, rebuilt from the local copy.


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def _fake_sst2_sentence(raw: Path) -> None:
    for s in ("train", "dev", "test"):
        df = pd.read_csv(DATA / f"sst2_sentence/{s}.tsv", sep="\t", keep_default_na=False)
        (raw / f"stsa.binary.{s}").write_text(
            "".join(f"{y} {x} \n" for x, y in zip(df.sentence, df.label, strict=True))
        )


def _fake_tatoeba_en_zh(raw: Path) -> None:
    df = pd.read_csv(DATA / "tatoeba_en_zh/en_zh.tsv", sep="\t", keep_default_na=False, dtype=str)
    body = "".join("\t".join(r) + "\n" for r in df.itertuples(index=False))
    (raw / "cmn.txt").write_bytes(("\ufeff" + body + "\n").encode())


def _fake_adult(raw: Path) -> None:
    for src, dst in (("adult.data", "train.csv"), ("adult.test", "test.csv")):
        lines = _lines(DATA / "adult" / dst)[1:]
        if src == "adult.test":
            lines = ["|1x3 Cross validator"] + [ln + "." for ln in lines]
        (raw / src).write_text("".join(ln.replace(",", ", ") + "\n" for ln in lines) + "\n")


def _fake_german_credit(raw: Path) -> None:
    rows = _lines(DATA / "german_credit/german_credit.csv")
    (raw / "german.data").write_text("".join(r.replace(",", " ") + " \n" for r in rows[1:]))
    codes = pd.read_csv(DATA / "german_credit/codes.csv", keep_default_na=False)
    doc = ["Description of the German credit dataset.", ""]
    for i, column in enumerate(rows[0].split(",")[:-1], 1):
        doc += [f"Attribute {i}:  (qualitative)", f"\t      {column}"]
        for code, meaning in codes[codes.column == column][["code", "meaning"]].itertuples(
            index=False
        ):
            words = meaning.split(" ")  # long meanings continue on the next line, as in german.doc
            doc += [f"\t      {code} :  {' '.join(words[:3])}"] + (
                [f"\t\t {' '.join(words[3:])}"] if words[3:] else []
            )
        doc.append("")
    (raw / "german.doc").write_text("\r\n".join(doc))


def _fake_multi30k(raw: Path) -> None:
    for f in data.DATASETS["multi30k"].files:
        (raw / f"{f}.gz").write_bytes(gzip.compress((DATA / "multi30k" / f).read_bytes()))


def _fake_dailydialog(raw: Path) -> None:
    for s in ("train", "validation", "test"):
        rows = [json.loads(ln) for ln in _lines(DATA / f"dailydialog/{s}.jsonl")]
        with zipfile.ZipFile(raw / f"{s}.zip", "w") as z:
            z.writestr(
                f"{s}/dialogues_{s}.txt",
                "".join(" __eou__ ".join(r["turns"]) + " __eou__\n" for r in rows),
            )
            for kind in ("act", "emotion"):
                z.writestr(
                    f"{s}/dialogues_{kind}_{s}.txt",
                    "".join(" ".join(map(str, r[kind + "s"])) + " \n" for r in rows),
                )
    shutil.copyfile(DATA / "dailydialog/README.dailydialog.txt", raw / "readme.txt")


def _fake_movielens_100k(raw: Path) -> None:
    with zipfile.ZipFile(raw / "ml-100k.zip", "w") as z:
        for f in data.DATASETS["movielens_100k"].files:
            z.write(
                DATA / "movielens_100k" / f,
                "ml-100k/" + ("README" if f.startswith("README") else f),
            )


def _fake_gutenberg_nltk(raw: Path) -> None:
    for f in data.DATASETS["gutenberg_nltk"].files:
        text = (DATA / "gutenberg_nltk" / f).read_bytes().decode("utf-8")
        latin = f in ("chesterton-ball.txt", "shakespeare-caesar.txt")  # ISO-8859-1 in NLTK's copy
        (raw / f).write_bytes(text.encode("latin-1" if latin else "utf-8"))


def _fake_imdb_unsup_corpus(raw: Path) -> None:
    ids = pd.read_csv(DATA / "imdb_unsup_corpus/review_ids.tsv", sep="\t")
    with tarfile.open(raw / "aclImdb_v1.tar.gz", "w:gz", compresslevel=1) as tar:
        for shard, group in ids.groupby("shard"):
            lines = _lines(DATA / "imdb_unsup_corpus" / shard)
            for line, rid in zip(group.line, group.unsup_review_id, strict=True):
                text = lines[line - 1].replace(". ", ".<br /><br />", 1).encode()
                info = tarfile.TarInfo(f"aclImdb/train/unsup/{rid}_0.txt")
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text))


def _fake_bbc_news_summary(raw: Path) -> None:
    with zipfile.ZipFile(raw / "repo.zip", "w") as z:
        for s in ("train", "test"):
            for r in map(json.loads, _lines(DATA / f"bbc_news_summary/{s}.jsonl")):
                cat, num = r["id"].rsplit("_", 1)
                z.writestr(
                    f"PRI_proj1-x/BBC News Summary/News Articles/{cat}/{num}.txt",
                    r["article"] + "\n",
                )
                summary = re.sub(r"""(?<=[.!?"']) (?=\S)""", "", r["summary"])  # as on Kaggle
                z.writestr(f"PRI_proj1-x/BBC News Summary/Summaries/{cat}/{num}.txt", summary)


def _fake_stereoset(raw: Path) -> None:
    out = {}
    for kind in ("intrasentence", "intersentence"):
        df = pd.read_csv(DATA / f"stereoset/{kind}_dev.csv", keep_default_na=False)
        labels = {
            "stereotype": "stereotype",
            "anti_stereotype": "anti-stereotype",
            "unrelated": "unrelated",
        }
        out[kind] = [
            {"context": r["context"], "target": r["target"], "bias_type": r["bias_type"], "sentences": [
                {"sentence": r["context"].replace("BLANK", r[c]) if kind == "intrasentence" else r[c], "gold_label": g}
                for c, g in labels.items()]}
            for r in df.to_dict("records")
        ]  # fmt: skip
    (raw / "dev.json").write_text(json.dumps({"version": "1.0", "data": out}))


def _fake_membrane_isbi2012(raw: Path) -> None:
    from PIL import Image

    with np.load(DATA / "membrane_isbi2012/membrane_train_512.npz") as z:
        arrays = {"image": z["x_train"], "label": z["y_train"] * 255}
    for kind, arr in arrays.items():
        (raw / kind).mkdir()
        for i in range(30):
            Image.fromarray(arr[i]).save(raw / kind / f"{i}.png")


def _fake_pneumoniamnist(raw: Path) -> None:
    with np.load(DATA / "pneumoniamnist/pneumoniamnist_28.npz") as z:
        np.savez_compressed(
            raw / "pneumoniamnist.npz",
            **{k: z[k] for k in z.files if "_" in k and "origin" not in k and "names" not in k},
        )


def _fake_raccoon(raw: Path) -> None:
    from PIL import Image

    df = pd.read_csv(DATA / "raccoon/boxes.csv")
    labels = df[
        [
            "filename",
            "orig_width",
            "orig_height",
            "class",
            "orig_xmin",
            "orig_ymin",
            "orig_xmax",
            "orig_ymax",
        ]
    ]
    labels.columns = [c.removeprefix("orig_") for c in labels.columns]
    with zipfile.ZipFile(raw / "repo.zip", "w") as z:
        for name, part in (
            ("raccoon", labels),
            ("train", labels[df.split == "train"]),
            ("test", labels[df.split == "test"]),
        ):
            z.writestr(f"raccoon_dataset-x/data/{name}_labels.csv", part.to_csv(index=False))
        for r in df.drop_duplicates("filename").itertuples():
            img = Image.open(DATA / "raccoon/images" / r.filename).resize(
                (r.orig_width, r.orig_height)
            )
            buf = io.BytesIO()
            img.convert(r.orig_mode).save(buf, "JPEG")
            z.writestr(f"raccoon_dataset-x/images/{r.filename}", buf.getvalue())


def _fake_cifar10(raw: Path) -> None:
    with tarfile.open(raw / "cifar-10-python.tar.gz", "w:gz", compresslevel=1) as tar:

        def add(name: str, obj: dict) -> None:
            blob = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            labels = np.arange(10000) % 10  # channel 0 of each image = its label, channel 2 = 255
            pixels = np.zeros((10000, 3, 1024), np.uint8)
            pixels[:, 0], pixels[:, 2] = labels[:, None], 255
            add(name, {b"data": pixels.reshape(10000, 3072), b"labels": labels.tolist()})
        add("batches.meta", {b"label_names": [c.encode() for c in "a b c d e f g h i j".split()]})


FAKES = {n.removeprefix("_fake_"): f for n, f in globals().items() if n.startswith("_fake_")}
#: Converters whose output, from a source in the documented format, equals the local copy.
REPRODUCED = ["adult", "dailydialog", "german_credit", "gutenberg_nltk",
              "imdb_unsup_corpus", "membrane_isbi2012", "movielens_100k", "multi30k",
              "sst2_sentence", "stereoset", "tatoeba_en_zh"]  # fmt: skip


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory):
    """The fake source files of a dataset, built once per module: ``stage(name)`` -> folder."""
    root = tmp_path_factory.mktemp("stage")

    def build(name: str) -> Path:
        folder = root / name
        if not folder.exists():
            folder.mkdir()
            FAKES[name](folder)
        return folder

    return build


@pytest.fixture
def fake_net(stage, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the downloader by files rebuilt from the local copy; returns the urls asked."""
    calls: list[str] = []
    owner = {
        url: (spec.name, saved)
        for spec in data.DATASETS.values()
        for url, saved in spec.source.urls
    }

    def download(url: str, dest: Path) -> None:
        calls.append(url)
        name, saved = owner[url]
        shutil.copyfile(stage(name) / saved, dest)

    monkeypatch.setattr(fetch, "_download", download)
    for name in ("cifar10", "dailydialog", "pneumoniamnist"):
        # Our fakes cannot match the real checksums: pin the fakes' own (still verified).
        spec = data.DATASETS[name]
        checks = tuple(
            (saved, f"{algo}:{hashlib.new(algo, (stage(name) / saved).read_bytes()).hexdigest()}")
            for saved, algo in ((saved, c.split(":")[0]) for saved, c in spec.source.checks)
        )
        monkeypatch.setitem(
            data.DATASETS,
            name,
            dataclasses.replace(spec, source=dataclasses.replace(spec.source, checks=checks)),
        )
    return calls


def test_every_converter_has_a_fake() -> None:
    assert sorted(FAKES) == sorted(fetch._CONVERTERS)


@needs_data
@pytest.mark.parametrize("name", REPRODUCED)
def test_converter_reproduces_the_local_copy(name: str, offline: Path, fake_net: list[str]) -> None:
    folder = data.dataset_dir(name)
    record = json.loads((folder / ".ptlib-download.json").read_text())["files"]
    assert sorted(record) == list(data.DATASETS[name].files)
    assert [f for f, r in record.items() if not r["matches_manifest"]] == []
    assert sorted(p.name for p in folder.iterdir() if p.name != "images") == sorted(
        {f.split("/")[0] for f in data.DATASETS[name].files} | {".ptlib-download.json"}
    )  # the raw downloads are gone


@needs_data
def test_bbc_converter_restores_spaces_and_split(offline: Path, fake_net: list[str]) -> None:
    with pytest.warns(UserWarning, match="bbc_news_summary"):
        converted = pd.concat(data.load("bbc_news_summary").values())
    assert data.dataset_dir("bbc_news_summary") == offline / "bbc_news_summary"
    os.environ["PTLIB_DATA_DIR"] = str(DATA)
    local = pd.concat(data.load("bbc_news_summary").values())
    assert converted.id.tolist() == local.id.tolist()  # the same seeded, duplicate-aware split
    assert (converted.text == local.text).all()
    # Spaces are put back between the Kaggle summaries' sentences exactly as in the local copy,
    # except one summary where removing them (in the fake source) also removed an original one.
    assert (converted.summary != local.summary).sum() == 1


@needs_data
def test_converted_downloads_that_differ_are_recorded(offline: Path, fake_net: list[str]) -> None:
    with pytest.warns(UserWarning, match="differ from the course's local copy"):
        x, y, names = data.load("cifar10", "train")
    assert x.shape == (20000, 32, 32, 3) and x.dtype == np.uint8 and names == list("abcdefghij")
    assert np.bincount(y).tolist() == [2000] * 10
    assert (x[..., 0] == y[:, None, None]).all() and (x[..., 2] == 255).all()  # CHW -> HWC
    with pytest.warns(UserWarning):
        assert data.load("pneumoniamnist", "test").x.shape == (624, 28, 28, 1)
    with pytest.warns(UserWarning):
        boxes = data.load("raccoon", "train")
    assert len(boxes) == 173 and Path(boxes.path[0]).is_file()
    assert (
        (boxes.drop(columns="path") == data.load_detection("raccoon", "train").drop(columns="path"))
        .all()
        .all()
    )
    record = json.loads((offline / "raccoon" / ".ptlib-download.json").read_text())["files"]
    assert record["boxes.csv"]["matches_manifest"]  # same boxes; re-encoded JPEGs differ
    path = offline / "raccoon" / "images" / "raccoon-1.jpg"  # the sidecar verifies later loads
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(data.DataError, match="raccoon-1.jpg is corrupted"):
        data.load("raccoon", "test")


@needs_data
def test_input_checksums_are_verified(
    offline: Path, fake_net: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = data.DATASETS["dailydialog"]
    check = (("train.zip", "sha256:" + "0" * 64),)
    monkeypatch.setitem(
        data.DATASETS,
        "dailydialog",
        dataclasses.replace(spec, source=dataclasses.replace(spec.source, checks=check)),
    )
    with pytest.raises(
        data.DataError,
        match=r"dailydialog': the download from https://\S+/train.zip is refused: download "
        r"train.zip: sha256 expected 0000.*PTLIB_DATA_DIR",
    ):
        data.load("dailydialog", "train")
    assert not any(offline.iterdir())


def _html(path: Path) -> None:
    path.write_text("<!DOCTYPE html>\n<html><body><form>Log in to continue</form></body></html>\n")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:  # a cut connection: the first third of the lines
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[: len(lines) // 3]))


@needs_data
@pytest.mark.parametrize(
    ("damage", "found"),
    [
        (_html, r"adult.data is an HTML page \(a login or error page\?\), not the data file"),
        (_empty, r"adult.data is empty \(0 bytes\)"),
        (
            _truncated,
            r"the converted train.csv should hold 32561 rows x 15 columns, found 10854 rows x 15 columns",
        ),
    ],
    ids=["html", "empty", "truncated"],
)
def test_downloads_that_are_not_the_data_are_refused(
    damage, found: str, offline: Path, fake_net: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    download = fetch._download

    def damaged(url: str, dest: Path) -> None:
        download(url, dest)
        if dest.name == "adult.data":
            damage(dest)

    monkeypatch.setattr(fetch, "_download", damaged)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused, not loaded with a warning
        with pytest.raises(data.DataError) as err:
            data.load("adult", "train")
    msg = str(err.value)
    assert re.search(r"Dataset 'adult': the download from https://archive\.ics\.uci\.edu/\S+", msg)
    assert re.search(found, msg), msg
    assert "put a local copy of the course data under PTLIB_DATA_DIR" in msg
    assert not any(offline.iterdir())  # nothing was stored


@needs_data
def test_truncated_pinned_archive_is_refused(
    offline: Path, fake_net: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    download = fetch._download

    def cut(url: str, dest: Path) -> None:
        download(url, dest)
        dest.write_bytes(dest.read_bytes()[: dest.stat().st_size // 3])

    monkeypatch.setattr(fetch, "_download", cut)
    with pytest.raises(
        data.DataError, match=r"cifar-10-python.tar.gz: md5 expected [0-9a-f]{32}, found"
    ):
        data.load("cifar10", "train")
    assert not any(offline.iterdir())


class _RunsCode:
    """Unpickling this creates the file ``path``: the proof that a pickle ran code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_cifar_pickles_are_never_read_without_their_checksum(
    offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "code-ran"

    def hostile(url: str, dest: Path) -> None:  # a tar.gz of pickles that run code
        with tarfile.open(dest, "w:gz") as tar:
            for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
                blob = pickle.dumps(_RunsCode(ran))
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))

    monkeypatch.setattr(fetch, "_download", hostile)
    with pytest.raises(data.DataError, match="md5 expected c58f30108f718f92721af3b95e74349a"):
        data.load("cifar10", "train")  # the pinned md5 refuses it
    spec = data.DATASETS["cifar10"]
    monkeypatch.setitem(  # even with the check removed from the registry, nothing is unpickled
        data.DATASETS,
        "cifar10",
        dataclasses.replace(spec, source=dataclasses.replace(spec.source, checks=())),
    )
    with pytest.raises(data.DataError, match="no checksum is pinned .* its pickles are not read"):
        data.load("cifar10", "train")
    assert not ran.exists()


@needs_data
def test_shapes_cover_and_match_every_converted_file() -> None:
    assert DATA is not None
    for name, spec in data.DATASETS.items():
        listed = registry._SHAPES.get(name, {})
        if spec.source.exact:
            assert not listed, f"{name}: exact datasets are checked by sha256 alone"
            continue
        files = [f for f in spec.files if not f.endswith((".jpg", ".png"))]
        assert sorted(listed) == files, name
        for rel, want in listed.items():
            assert fetch._shape(DATA / name / rel) == want, f"{name}/{rel}"


def test_shape_names_rows_columns_records_and_arrays(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text('a\tb\n"x\ny"\t1\nz\t2\n')  # a quoted newline is one row
    assert fetch._shape(tmp_path / "t.tsv") == "2 rows x 2 columns"
    (tmp_path / "r.jsonl").write_text('{"id": 1, "text": "a"}\n{"id": 2, "text": "b"}\n')
    assert fetch._shape(tmp_path / "r.jsonl") == "2 records x 2 keys"
    np.savez_compressed(tmp_path / "a.npz", x=np.zeros((3, 2)), y=np.zeros(3))
    assert fetch._shape(tmp_path / "a.npz") == "x[3,2] y[3]"
    (tmp_path / "book.txt").write_text("one\ntwo\n")
    assert fetch._shape(tmp_path / "book.txt") == "2 lines"


# ---------------------------------------------------------------------------- real data


@needs_data
def test_every_dataset_loads_with_the_documented_counts(real: Path) -> None:
    sizes = lambda d: {k: len(v) for k, v in d.items()}  # noqa: E731
    assert sizes(data.load("sst2")) == {"train": 67349, "dev": 872, "test": 1821}
    assert sizes(data.load("sst2_sentence")) == {"train": 6920, "dev": 872, "test": 1821}
    assert sizes(data.load("imdb_unsup_corpus")) == {"train": 15000, "valid": 1000}
    assert len(data.load("gutenberg_nltk")) == 13
    assert {k: len(v.y) for k, v in data.load("cifar10").items()} == {"train": 20000, "test": 5000}
    assert len(data.load("crows_pairs")) == 1508
    assert sizes(data.load("stereoset")) == {"intrasentence": 2106, "intersentence": 2123}
    assert sizes(data.load("winobias")) == {"dev": 1584, "test": 1584}
    assert sizes(data.load("weat")) == {"weat": 15, "seat": 15, "wefe": 31}
    assert sizes(data.load("multi30k")) == {"train": 29000, "val": 1014, "test": 1000}
    assert len(data.load("tatoeba_en_zh")) == 29155
    assert sizes(data.load("adult")) == {"train": 32561, "test": 16281}
    assert len(data.load("german_credit")) == 1000
    assert len(data.load("movielens_100k")) == 100000
    assert sizes(data.load("squad_v1.1")) == {"part1": 4961, "part2": 5609}
    assert sizes(data.load("bbc_news_summary")) == {"train": 1781, "test": 444}
    assert sizes(data.load("dailydialog")) == {"train": 11118, "validation": 1000, "test": 1000}
    assert sizes(data.load("raccoon")) == {"train": 173, "test": 44}
    assert len(data.load("membrane_isbi2012").images) == 30
    assert {k: len(v.y) for k, v in data.load("pneumoniamnist").items()} == {
        "train": 4708,
        "val": 524,
        "test": 624,
    }


@needs_data
def test_text_classification_schema(real: Path) -> None:
    for name, split, pos in (
        ("sst2", "train", 37569),
        ("sst2", "test", 904),
        ("sst2_sentence", "test", 909),
    ):
        df = data.load(name, split)
        assert list(df.columns) == ["text", "label"] and df.label.dtype == np.int64
        assert df.label.sum() == pos and set(df.label) == {0, 1}
        assert df.attrs["label_names"] == ["negative", "positive"]
        assert not df.text.str.contains(r"\s$").any() and (df.text.str.len() > 0).all()
    topics = data.load_text_classification("bbc_news_summary", "test")
    assert topics.label.value_counts().sort_index().tolist() == [102, 77, 83, 102, 80]
    assert topics.attrs["label_names"][3] == "sport"


@needs_data
def test_corpus_image_and_segmentation_schemas(real: Path) -> None:
    reviews = data.load_corpus("imdb_unsup_corpus", "valid")
    assert reviews[0] and all(isinstance(r, str) and "\n" not in r for r in reviews)
    books = data.load_corpus("gutenberg_nltk")
    assert books[0].startswith("[Emma by Jane Austen 1816]") and "Cæsar" in "".join(books)
    x, y, names = data.load_images("cifar10", "test")
    assert x.shape == (5000, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [500] * 10 and names[0] == "airplane" and names[9] == "truck"
    x, y, names = data.load_images("pneumoniamnist", "val")
    assert x.shape == (524, 28, 28, 1) and np.bincount(y).tolist() == [135, 389]
    assert names == ["normal", "pneumonia"]
    seg = data.load_segmentation("membrane_isbi2012")
    assert seg.images.shape == seg.masks.shape == (30, 512, 512) and set(np.unique(seg.masks)) == {
        0,
        1,
    }
    assert 0.21 < 1 - seg.masks.mean() < 0.23  # membrane pixels: 21.96 %


@needs_data
def test_text_task_schemas(real: Path) -> None:
    de = data.load("multi30k", "test", source_lang="de", target_lang="en")
    assert list(de.columns) == ["source", "target"] and de.attrs["source_lang"] == "de"
    assert de.source[0].startswith("Ein Mann") and de.target[0].startswith("A man")
    with pytest.raises(data.DataError, match="languages en, de, fr"):
        data.load("multi30k", "val", target_lang="zh")
    zh = data.load_translation("tatoeba_en_zh")
    assert list(zh.columns) == ["source", "target", "attribution"] and zh.target[0] == "嗨。"
    assert (zh.source != "").all() and zh.attribution.str.startswith("CC-BY 2.0 (France)").all()
    summ = data.load_summarization("bbc_news_summary", "train")
    assert list(summ.columns) == ["id", "category", "text", "summary"]
    assert (summ.summary.str.len() < summ.text.str.len()).mean() > 0.99
    qa = data.load_qa("squad_v1.1", "part1")
    assert list(qa.columns) == [
        "id",
        "title",
        "context",
        "question",
        "answer_texts",
        "answer_starts",
    ]
    assert qa.id.is_unique and all(
        c[s : s + len(t)] == t
        for c, ts, ss in zip(qa.context, qa.answer_texts, qa.answer_starts, strict=True)
        for t, s in zip(ts, ss, strict=True)
    )
    dd = data.load_dialogue("dailydialog", "train")
    assert list(dd.columns) == ["id", "turns", "acts", "emotions"]
    assert dd.attrs["act_names"][1] == "inform" and dd.attrs["emotion_names"][0] == "no emotion"
    mismatched = dd[dd.turns.map(len) != dd.acts.map(len)]
    assert mismatched.id.tolist() == ["train_07851"]  # the release's one known quirk
    acts = {a for row in dd.acts for a in row}
    emotions = {e for row in dd.emotions for e in row}
    assert acts == {1, 2, 3, 4} and emotions == set(range(7))


@needs_data
def test_tabular_recommendation_and_detection_schemas(real: Path) -> None:
    adult = data.load_tabular("adult", "test")
    assert adult.attrs["target"] == "income" and set(adult.income) == {"<=50K", ">50K"}
    assert (adult.income == ">50K").sum() == 3846 and adult.isna().any(axis=1).sum() == 1221
    german = data.load_tabular("german_credit")
    assert german.shape == (1000, 21) and german["class"].value_counts().to_dict() == {
        1: 700,
        2: 300,
    }
    assert german.attrs["codes"]["personal_status_sex"]["A92"].startswith("female")
    ratings = data.load_recommendation("movielens_100k")
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert ratings.rating.between(1, 5).all() and ratings.user_id.nunique() == 943
    items = data.load("movielens_100k", table="items")
    assert (
        len(items) == 1682
        and items.title[0] == "Toy Story (1995)"
        and items.columns[-1] == "Western"
    )
    assert items.title.str.contains("é").any()  # ISO-8859-1 decoded
    users = data.load("movielens_100k", table="users")
    assert len(users) == 943 and users.zip_code.map(type).eq(str).all()
    with pytest.raises(data.DataError, match="tables ratings, items, users"):
        data.load("movielens_100k", table="genres")
    boxes = data.load_detection("raccoon", "test")
    assert boxes.filename.nunique() == 40 and (boxes.xmax <= boxes.width + 0.01).all()
    assert all(Path(p).is_file() for p in boxes.path)


@needs_data
def test_bias_schemas(real: Path) -> None:
    crows = data.load_crows_pairs()
    assert crows.stereo_antistereo.value_counts().to_dict() == {"stereo": 1290, "antistereo": 218}
    intra = data.load_stereoset(split="intrasentence")
    assert list(intra.columns) == [
        "context",
        "target",
        "bias_type",
        "stereotype",
        "anti_stereotype",
        "unrelated",
    ]
    assert intra.context.str.contains("BLANK").all()
    assert data.load_stereoset(split="intersentence").bias_type.value_counts()["race"] == 976
    weat = data.load_weat(split="weat")
    assert list(weat)[:3] == ["weat1", "weat2", "weat3"] and "weat10" in weat
    assert (
        weat["weat1"]["targ1"]["category"] == "Flowers"
        and len(weat["weat1"]["attr2"]["examples"]) == 25
    )
    assert data.load_weat(split="seat")["sent-weat6"]["attr1"]["category"] == "Career"
    assert len(data.load_weat(split="wefe")["flowers"]) == 25
    wino = data.load_winobias(split="test")
    assert wino.groupby(["stereotype", "type"]).size().tolist() == [396] * 4
    assert (wino.mentions.map(len) >= 2).all()  # occupation and pronoun (+ a possessive)
    assert (
        len(wino.attrs["male_occupations"]) == 20
        and ("actor", "actress") in wino.attrs["gender_swaps"]
    )


# ---------------------------------------------------------------------------- manifest


@needs_data
def test_manifest_agrees_with_the_source_tables() -> None:
    assert DATA is not None
    spec = importlib.util.spec_from_file_location(
        "make_manifest", REPO / "tools" / "make_manifest.py"
    )
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.disagreements(registry._MANIFEST, DATA) == []
    assert sorted(registry._MANIFEST) == sorted(p.name for p in DATA.iterdir() if p.is_dir())
    for name, files in registry._MANIFEST.items():  # every data file of the folder is listed
        on_disk = {
            p.relative_to(DATA / name).as_posix() for p in (DATA / name).rglob("*") if p.is_file()
        }
        assert on_disk - set(files) == {"SOURCE.md"}
