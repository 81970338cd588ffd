"""The course datasets, resolved by name: a verified local copy, a download, or a clear error.

Introduced in chapter 1 (background); every chapter loads its data through ``load``.

``dataset_dir(name)`` finds a dataset in this order:

1. ``PTLIB_DATA_DIR`` is set: the local copy ``$PTLIB_DATA_DIR/<name>/`` (CI uses the course's
   ``shared/data`` folder). Every file is checked against its sha256 in ``ptlib/manifest.json``
   (written by ``tools/make_manifest.py``). A missing or changed file is an error.
2. Otherwise the user cache ``$PTLIB_CACHE_DIR/data/<name>/`` (default ``~/.cache/ptlib/data/<name>``).
   The first call downloads the dataset's canonical public source into a temporary folder,
   converts it to the local layout where the local copy is a converted subset, and moves the
   folder into place. Every download is verified before it is used: an empty file, an HTML page
   (a login or error page) or a wrong pinned checksum (``Source.checks``) is refused. The sha256
   of every file goes into a sidecar, ``.ptlib-download.json``, which later loads verify. Files
   equal to the local copy are marked as verified by the manifest; for ``Source.exact`` datasets
   (byte-identical copies at a pinned commit) any other result is an error. Converted files that
   cannot be identical must still hold the rows and columns (records, lines, array shapes) the
   registry expects, or the download is refused (a truncated file); images must decode. Files
   that pass but differ (other image subsets, re-encoded JPEGs) raise a warning once, when they
   are downloaded. Nothing refused is stored.
3. Neither: ``DataError`` says exactly how to provide the data.

``load(name, split)`` returns one uniform schema per task (see ``load``'s docstring).
The package has three modules, each importing only the ones before it: ``registry`` (the
datasets, by name), ``fetch`` (a verified folder: the local copy or a converted download) and
``loaders`` (one schema per task). Their public names are available here, as ``ptlib.data.<name>``.
"""

from ptlib.data.fetch import dataset_dir
from ptlib.data.loaders import (
    ImageSet,
    SegmentationSet,
    load,
    load_corpus,
    load_crows_pairs,
    load_detection,
    load_dialogue,
    load_images,
    load_qa,
    load_recommendation,
    load_segmentation,
    load_stereoset,
    load_summarization,
    load_tabular,
    load_text_classification,
    load_translation,
    load_weat,
    load_winobias,
)
from ptlib.data.registry import DATASETS, DataError, Dataset, Source, available

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "ImageSet",
    "SegmentationSet",
    "Source",
    "available",
    "dataset_dir",
    "load",
    "load_corpus",
    "load_crows_pairs",
    "load_detection",
    "load_dialogue",
    "load_images",
    "load_qa",
    "load_recommendation",
    "load_segmentation",
    "load_stereoset",
    "load_summarization",
    "load_tabular",
    "load_text_classification",
    "load_translation",
    "load_weat",
    "load_winobias",
]
