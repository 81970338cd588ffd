"""ptlib.storage: the one cache-folder rule and atomic writes."""

import os
from pathlib import Path

import pytest

from ptlib import storage


def test_cache_dir_follows_ptlib_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PTLIB_CACHE_DIR", str(tmp_path))
    assert storage.cache_dir("models") == tmp_path / "models"
    assert storage.cache_dir("data") == tmp_path / "data"
    monkeypatch.delenv("PTLIB_CACHE_DIR")
    assert storage.cache_dir("data") == Path("~/.cache/ptlib/data").expanduser()
    with pytest.raises(ValueError, match="kind"):
        storage.cache_dir("../x")


def test_atomic_dir_writes_then_replaces_its_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    with storage.atomic_dir(folder) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (folder / "a.txt").read_text() == "1" and (folder / storage.MARKER).is_file()
    with storage.atomic_dir(folder) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in folder.iterdir()) == [storage.MARKER, "b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary folder left


def test_atomic_dir_keeps_the_old_folder_when_writing_fails(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    with storage.atomic_dir(folder) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), storage.atomic_dir(folder) as tmp:
        (tmp / "a.txt").write_text("new, half written")
        raise RuntimeError("crash")
    assert (folder / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_folder_ptlib_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not written by ptlib"), storage.atomic_dir(folder):
        pass
    assert (folder / "notes.txt").read_text() == "keep me"
    assert storage.is_ptlib_dir(tmp_path / "empty") is False
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "ptlib.json").write_text("{}")
    assert storage.is_ptlib_dir(tmp_path / "legacy")


def test_a_file_someone_put_in_a_ptlib_folder_is_never_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    with storage.atomic_dir(folder) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (folder / storage.MARKER).read_text().splitlines()[1:] == ["a.txt"]  # what ptlib wrote
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"notes\.txt"), storage.atomic_dir(folder):
        pass  # refused before the work
    # a folder from before the marker listed its files: a file written after the marker that the
    # new version lacks is kept; one written with the marker (e.g. an older ptlib's) is not
    (folder / storage.MARKER).write_text("written by ptlib\n")
    (folder / "old.txt").write_text("written by an older ptlib")
    os.utime(folder / "old.txt", (0, 0))
    os.utime(folder / "notes.txt", (2e9, 2e9))
    new = tmp_path / "new"
    new.mkdir()
    (new / "a.txt").write_text("2")
    with pytest.raises(FileExistsError, match=r"\(notes\.txt\)"):
        storage.replace_dir(new, folder)
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "a.txt").read_text() == "1"
    (folder / "notes.txt").unlink()
    storage.replace_dir(new, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]


def test_write_json_is_atomic_and_readable(tmp_path: Path) -> None:
    path = storage.write_json(tmp_path / "sub" / "r.json", {"b": 1, "a": [1.5]}, sort_keys=True)
    assert path.read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'
    with pytest.raises(TypeError):
        storage.write_json(path, {"x": object()})
    assert path.read_text().startswith("{")  # the old file survives a failed write
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]
