"""Checksums: the sha256 that every data file and every set of pre-trained weights is checked
against before it is used.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

# Files already hashed in this process: (resolved path, size, mtime_ns) -> sha256.
_HASHED: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The sha256 of a file (hex), computed once per process for an unchanged file.

    A file whose size or modification time changed is hashed again, so repeated loads of a
    70 MB dataset cost nothing while a file replaced on disk is still noticed.
    Introduced in chapter 1 (background).
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHED:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(chunk_size):
                digest.update(block)
        _HASHED[key] = digest.hexdigest()
    return _HASHED[key]


#: The name of the manifest file beside the files it lists (see :func:`write_manifest`).
MANIFEST = "manifest.json"


class ManifestError(RuntimeError):
    """A checkpoint folder whose files do not match its ``manifest.json``.

    Introduced in chapter 3 (masked language modelling), where the book saves its first model.
    """


def write_manifest(folder: str | Path, created_by: str, licence: str) -> Path:
    """Write ``folder/manifest.json``: the sha256 of every file in ``folder`` (recursively, by
    relative path), who made them and under which licence. Returns the manifest's path.

    The format: ``{"files": {"model.safetensors": "<sha256>", ...}, "created_by": ...,
    "licence": ...}``. :func:`verify_manifest` checks a folder against it; the checkpoint archive
    of the workshop kit (``make checkpoints``) ships one per model.
    Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    path = folder / MANIFEST
    manifest = {"files": files, "created_by": created_by, "licence": licence}
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def verify_manifest(folder: str | Path) -> dict:
    """Check every file listed in ``folder/manifest.json`` against its sha256; return the manifest.

    Raises :class:`ManifestError` naming the first file that is missing or whose sha256 differs
    (a flipped byte is enough), so a damaged copy of a checkpoint is never loaded.
    Introduced in chapter 3 (masked language modelling).
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ManifestError(f"no {MANIFEST} in {folder}: cannot verify its files")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for name, expected in manifest.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            raise ManifestError(f"{file} is listed in {path} but missing")
        _HASHED.clear()  # hash again: a byte flipped in place can keep the size and mtime
        actual = sha256_file(file)
        if actual != expected:
            raise ManifestError(
                f"{file} is corrupted: sha256 {actual}, expected {expected} (from {path}). "
                "Copy or unpack the checkpoint again."
            )
    return manifest
