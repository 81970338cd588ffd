"""Checksums: the sha256 that every data file and every set of pre-trained weights is checked
against before it is used.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from ptlib import checks

# Files already hashed in this process: (resolved path, size, mtime_ns) -> sha256.
_HASHED: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The sha256 of a file (hex), computed once per process for an unchanged file.

    A file whose size or modification time changed is hashed again, so repeated loads of a
    70 MB dataset cost nothing while a file replaced on disk is still noticed.
    Introduced in chapter 1 (background).
    """
    chunk_size = checks.positive_int(chunk_size, "chunk_size")  # 0 would hash nothing
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHED:
        _HASHED[key] = _digest(path, chunk_size)
    return _HASHED[key]


def _digest(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


#: The name of the manifest file beside the files it lists (see :func:`write_manifest`).
MANIFEST = "manifest.json"


class ManifestError(RuntimeError):
    """A checkpoint folder whose files do not match its ``manifest.json``.

    Introduced in chapter 3 (masked language modelling), where the book saves its first model.
    """


def _folder(folder: str | Path) -> Path:
    """``folder`` as a Path, if it is an existing folder (``FileNotFoundError``,
    ``NotADirectoryError`` otherwise)."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{folder} does not exist: give the folder of a saved model")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file: give the folder that holds it")
    return folder


def _files(folder: Path) -> list[str]:
    """The relative paths of every file under ``folder`` except the manifest itself."""
    return [
        p.relative_to(folder).as_posix()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST
    ]


def write_manifest(folder: str | Path, created_by: str, licence: str) -> Path:
    """Write ``folder/manifest.json``: the sha256 of every file in ``folder`` (recursively, by
    relative path), who made them and under which licence. Returns the manifest's path.

    The format: ``{"files": {"model.safetensors": "<sha256>", ...}, "created_by": ...,
    "licence": ...}``. Every model ptlib saves (:func:`ptlib.weights.save_checkpoint`) and the
    checkpoint archive of the workshop kit (``make checkpoints``) write one;
    :func:`verify_manifest` checks a folder against it.
    Introduced in chapter 3 (masked language modelling).
    """
    folder = _folder(folder)
    for name, value in (("created_by", created_by), ("licence", licence)):
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    files = {name: sha256_file(folder / name) for name in _files(folder)}
    if not files:
        raise ValueError(f"{folder} holds no files: there is nothing to write a manifest for")
    path = folder / MANIFEST
    manifest = {"files": files, "created_by": created_by, "licence": licence}
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def verify_manifest(folder: str | Path) -> dict:
    """Check ``folder`` against its ``manifest.json``; return the manifest.

    Every listed file must exist and have its sha256 (a flipped byte is enough to fail), and
    every file of the folder must be listed (hidden files such as ptlib's marker aside), so
    nothing unverified is loaded. Raises :class:`ManifestError` naming the file; a manifest that
    is not valid JSON raises ``ValueError`` naming it (:func:`ptlib.checks.read_json`).
    Introduced in chapter 3 (masked language modelling).
    """
    folder = _folder(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ManifestError(f"no {MANIFEST} in {folder}: cannot verify its files")
    manifest = checks.read_json(path, "checkpoint manifest")
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise ManifestError(
            f'{path} lists no files (expected {{"files": {{name: sha256}}}}): it is damaged. '
            "Copy or unpack the checkpoint again."
        )
    for name, expected in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or "\\" in name:
            raise ManifestError(
                f"{path} lists {name!r}, a path outside {folder}: the manifest is damaged or "
                "crafted, and nothing in the folder is loaded. Copy or unpack the checkpoint again."
            )
        file = folder / name
        if not file.is_file():
            raise ManifestError(f"{file} is listed in {path} but missing")
        actual = _digest(file)  # not the cache: a byte flipped in place can keep size and mtime
        if actual != expected:
            raise ManifestError(
                f"{file} is corrupted: sha256 {actual}, expected {expected} (from {path}). "
                "Copy or unpack the checkpoint again."
            )
    hidden = [f for f in _files(folder) if any(part.startswith(".") for part in f.split("/"))]
    extra = [f for f in _files(folder) if f not in files and f not in hidden]
    if extra:
        raise ManifestError(
            f"{folder} holds files its {MANIFEST} does not list ({', '.join(extra[:5])}): they "
            "were added after it was saved and cannot be verified. Move them out of the folder, "
            "or, if you trust them, write the manifest again (ptlib.checksums.write_manifest)."
        )
    return manifest
