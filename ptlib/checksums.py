"""Checksums: the sha256 that every data file and every set of pre-trained weights is checked
against before it is used.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

import hashlib
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
