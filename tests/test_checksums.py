import hashlib
from pathlib import Path

import pytest

from ptlib import checksums


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"pre-trained" * 1000)
    assert checksums.sha256_file(path) == hashlib.sha256(b"pre-trained" * 1000).hexdigest()
    path.write_bytes(b"changed")  # a changed file is hashed again, not served from the cache
    assert checksums.sha256_file(path) == hashlib.sha256(b"changed").hexdigest()


def test_sha256_file_hashes_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    calls = []
    real = hashlib.sha256

    def counting_sha256(*args: object) -> object:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(checksums.hashlib, "sha256", counting_sha256)
    first = checksums.sha256_file(path)
    second = checksums.sha256_file(str(path))
    assert first == second == real(b"weights").hexdigest()
    assert len(calls) == 1
