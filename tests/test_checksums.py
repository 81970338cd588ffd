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


def test_manifest_round_trip_and_flipped_byte(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "model.safetensors").write_bytes(b"\x00weights" * 100)
    (tmp_path / "sub" / "config.json").write_text("{}")
    path = checksums.write_manifest(tmp_path, "a test", "MIT")
    assert path == tmp_path / checksums.MANIFEST
    manifest = checksums.verify_manifest(tmp_path)
    assert set(manifest["files"]) == {"model.safetensors", "sub/config.json"}
    assert manifest["created_by"] == "a test" and manifest["licence"] == "MIT"

    data = bytearray((tmp_path / "model.safetensors").read_bytes())
    data[3] ^= 0x01  # one flipped bit, same size
    (tmp_path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(checksums.ManifestError, match="model.safetensors is corrupted"):
        checksums.verify_manifest(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(checksums.ManifestError, match="missing"):
        checksums.verify_manifest(tmp_path)


def test_verify_manifest_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(checksums.ManifestError, match="no manifest.json"):
        checksums.verify_manifest(tmp_path)
