"""The checkpoint archive of the workshop kit: the models the book trains, for rooms without compute.

    python tools/make_checkpoints.py                   # pack -> _build/checkpoints/ptlib-checkpoints.tar.gz
    python tools/make_checkpoints.py --unpack ARCHIVE  # verify, then unpack into the model cache

Packing takes the three models the chapters train from the model cache
(``ptlib.weights.models_cache_dir()``, i.e. ``$PTLIB_CACHE_DIR/models`` or ``~/.cache/ptlib/models``),
where ``make notebooks`` leaves them: chapter 3's tiny BERT (``tiny-bert-imdb``), chapter 4's
SimCLR encoder (``simclr-cifar10``) and chapter 5's fine-tuned classifier (``minilm-sst2``). Each
goes into the archive with a ``manifest.json`` (the sha256 of every file, who made it, its
licence: :func:`ptlib.checksums.write_manifest`), beside a ``LICENCES.md`` that says what data
each model saw and under which terms.

Packing checks each model folder against the manifest ptlib saved it with. Unpacking checks every
file against its manifest before anything is moved into the cache, and replaces each model folder
in one step, keeping the old one until the new one is in place and never deleting a file that
ptlib did not write (``ptlib.storage.replace_dir``). The chapters' loaders (``mlm.tiny_bert``,
``contrastive.load_simclr_encoder``, ``finetune.load_saved_classifier``) check the manifest again
whenever they load a folder, so a damaged copy is reported, never used. With the
models in the cache, chapters 5 and 9 skip pre-training the tiny BERT.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from ptlib import __version__, storage
from ptlib.checksums import MANIFEST, verify_manifest, write_manifest
from ptlib.weights import models_cache_dir

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT / "_build" / "checkpoints" / "ptlib-checkpoints.tar.gz"
TOP = "ptlib-checkpoints"  # the one folder inside the archive

#: The models of the archive: folder name in the cache -> (the notebook that trains it, licence).
MODELS: dict[str, tuple[str, str]] = {
    "tiny-bert-imdb": (
        "notebooks/03_masked_language_modelling.ipynb",
        "Code MIT. Pre-trained on IMDB unlabelled reviews (Maas et al. 2011): no licence stated "
        "by the authors; research use.",
    ),
    "simclr-cifar10": (
        "notebooks/04_contrastive_learning.ipynb",
        "Code MIT. Pre-trained on a CIFAR-10 subset (Krizhevsky 2009): no licence stated; "
        "research use.",
    ),
    "minilm-sst2": (
        "notebooks/05_fine_tuning.ipynb",
        "Fine-tuned from sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; its own training "
        "data include MS MARCO, non-commercial) on SST-2 (no explicit licence; research use).",
    ),
}

LICENCES = """# Licences of the checkpoints

These models were trained by the notebooks of *Pre-trained Models, Hands-On* (code: MIT). A model
carries the terms of the data it was trained on. **None of them is cleared for commercial use**:
use them for teaching and research, and check the terms below before you use them for anything
else. Each model folder's `manifest.json` repeats its line.

| model | trained by | data and terms |
|---|---|---|
{rows}

Sources: `shared/data/README.md` and each dataset's `SOURCE.md`; the course README's data table.
IMDB reviews (Maas et al. 2011), CIFAR-10 (Krizhevsky 2009) and SST-2 (Socher et al. 2013; GLUE,
Wang et al. 2019) state no licence: cite the papers, research use. all-MiniLM-L6-v2 is Apache-2.0,
but was trained on a mixture of datasets, some of them (MS MARCO) for non-commercial use only.
"""


def pack(cache: Path, archive: Path = ARCHIVE, names: list[str] | None = None) -> Path:
    """Write ``archive`` (a .tar.gz) from the model folders ``names`` (default: all of
    :data:`MODELS`) in ``cache``, each with a manifest, and ``LICENCES.md``. Returns its path.

    Each folder is first verified against the manifest ptlib saved it with, so a damaged copy is
    never packed under a new manifest that would vouch for it."""
    names = list(MODELS) if names is None else names
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}: the archive holds {sorted(MODELS)}")
    missing = [n for n in names if not (cache / n / "model.safetensors").is_file()]
    if missing:
        how = "; ".join(f"{n}: run {MODELS[n][0]}" for n in missing)
        raise SystemExit(f"not in the model cache {cache}: {how} (or `make notebooks`)")
    for name in names:
        if not (cache / name / MANIFEST).is_file():
            raise SystemExit(
                f"{cache / name} has no {MANIFEST}: it was saved before ptlib wrote manifests, or "
                f"is damaged. Run {MODELS[name][0]} again (or `make notebooks`), then pack."
            )
        verify_manifest(cache / name)  # raises, naming a damaged file
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp) / TOP
        rows = []
        for name in names:
            notebook, licence = MODELS[name]
            dest = top / "models" / name
            shutil.copytree(
                cache / name, dest, ignore=shutil.ignore_patterns(".*", "manifest.json")
            )
            write_manifest(dest, f"{notebook} (packed by ptlib {__version__})", licence)
            rows.append(f"| `{name}` | `{notebook}` | {licence} |")
        (top / "LICENCES.md").write_text(LICENCES.format(rows="\n".join(rows)), encoding="utf-8")
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(top, arcname=TOP)
    return archive


def unpack(archive: Path, cache: Path) -> list[Path]:
    """Verify every model in ``archive`` against its manifest, then move it into ``cache``,
    replacing the folder there in one step (:func:`ptlib.storage.replace_dir`). Returns the
    model folders. Nothing is moved if a file is damaged, or if a folder in the cache holds
    files ptlib did not write (they are never deleted)."""
    if not Path(archive).is_file():
        raise SystemExit(f"no checkpoint archive at {archive}: build one with `make checkpoints`")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".unpack-") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")  # no absolute paths, links out, devices
        except (tarfile.TarError, EOFError, OSError) as err:
            raise SystemExit(
                f"{archive} is not a readable checkpoint archive ({err}): it is truncated or "
                "damaged; copy or build it again"
            ) from None
        root = Path(tmp) / TOP / "models"
        models = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        if not models:
            raise SystemExit(f"{archive} holds no models (no {TOP}/models/ folder)")
        unknown = [p.name for p in models if p.name not in MODELS]
        if unknown:
            raise SystemExit(f"{archive} holds unknown model(s) {unknown}: not a ptlib archive")
        for folder in models:
            verify_manifest(folder)  # raises, naming the file, before anything is moved
            storage.check_replaceable(folder, cache / folder.name)  # user files stay
        done = []
        for folder in models:
            storage.replace_dir(folder, cache / folder.name)
            done.append(cache / folder.name)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--unpack", type=Path, metavar="ARCHIVE", help="verify and unpack")
    parser.add_argument("--out", type=Path, default=ARCHIVE, help=f"archive (default {ARCHIVE})")
    args = parser.parse_args(argv)
    cache = models_cache_dir()
    if args.unpack:
        for folder in unpack(args.unpack, cache):
            print(f"verified and unpacked {folder}")
        return 0
    archive = pack(cache, args.out)
    print(f"wrote {archive} ({archive.stat().st_size / 1e6:.1f} MB) from {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
