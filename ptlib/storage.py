"""Where ptlib writes on disk: one cache-folder rule, every write atomic.

Everything ptlib writes outside ``results/`` lives under one cache folder, :func:`cache_dir`
(``$PTLIB_CACHE_DIR/<kind>``, by default ``~/.cache/ptlib/<kind>``: ``data`` for downloaded
datasets, ``models`` for the models the book trains itself). Every artefact is written by
:func:`atomic_dir` or :func:`write_json`: into a temporary name beside its target first, then
moved into place with ``os.replace``, so a reader never sees half of it and a crash leaves the
previous version intact. A folder is only ever replaced if ptlib wrote it, and only if every
file in it is one ptlib wrote: files ptlib did not write are never deleted
(:func:`check_replaceable`).

Introduced in chapter 1 (background); chapters 3, 4 and 5 save their models through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: The file :func:`atomic_dir` puts in every folder it writes: the mark of a ptlib artefact, and
#: the list of the files ptlib wrote there (only these are ever deleted when it is replaced).
MARKER = ".ptlib-artefact"
_MARKER_HEADER = "written by ptlib; its files:"
#: Files by which folders written before :data:`MARKER` existed are recognised as ptlib's.
_LEGACY_MARKERS = ("ptlib.json", ".ptlib-download.json")


def cache_dir(kind: str) -> Path:
    """The cache folder for ``kind`` (``"data"``, ``"models"``): ``$PTLIB_CACHE_DIR/<kind>``,
    by default ``~/.cache/ptlib/<kind>``. Not created here.

    Introduced in chapter 1 (background).
    """
    if not isinstance(kind, str) or not kind or "/" in kind or kind.startswith("."):
        raise ValueError(f"kind must be a plain folder name such as 'models', got {kind!r}")
    root = os.environ.get("PTLIB_CACHE_DIR")
    return (Path(root) if root else Path("~/.cache/ptlib")).expanduser() / kind


def is_ptlib_dir(folder: str | Path) -> bool:
    """Whether ptlib wrote ``folder`` (so it may replace it): it holds :data:`MARKER`, or, from
    before the marker, a ``ptlib.json``, a download record, or a ``config.json`` naming a ptlib
    architecture. An empty folder counts too. Introduced in chapter 1 (background).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return False
    if not any(folder.iterdir()) or any((folder / m).is_file() for m in (MARKER, *_LEGACY_MARKERS)):
        return True
    config = folder / "config.json"
    try:
        info = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and str(info.get("architecture", "")).startswith("ptlib.")


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def _foreign_files(folder: Path, new: Path | None) -> list[str]:
    """The files in ptlib's ``folder`` that ptlib did not write: those its :data:`MARKER` does
    not list. In a folder from before the marker listed its files, those written after its mark
    (the marker, else the info file ptlib wrote last) that the new artefact ``new`` lacks too
    (unknown yet when ``new`` is None)."""
    try:
        lines = (folder / MARKER).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    files = _files(folder)
    if lines[:1] == [_MARKER_HEADER]:
        ours = set(lines[1:])
    elif new is None:
        return []
    else:
        marks = [m for m in (MARKER, *_LEGACY_MARKERS, "config.json") if m in files]
        written = (folder / marks[0]).stat().st_mtime if marks else 0.0
        ours = _files(new) | {f for f in files if (folder / f).stat().st_mtime <= written}
    return sorted(files - ours - {MARKER, *_LEGACY_MARKERS})


def check_replaceable(new: str | Path | None, folder: str | Path) -> None:
    """Raise ``FileExistsError`` unless the complete artefact ``new`` may replace ``folder``.

    It may if ``folder`` does not exist, or if ptlib wrote it (:func:`is_ptlib_dir`) and every
    file in it is one ptlib wrote (listed in its :data:`MARKER`; in a folder from before the
    marker listed them, one written with it, or one that ``new`` has too). A file someone else
    put there is never deleted. ``new=None`` checks what can be checked before ``new`` exists.
    Introduced in chapter 1 (background).
    """
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return
    if not is_ptlib_dir(folder):
        raise FileExistsError(
            f"{folder} exists and was not written by ptlib; it is left alone. Choose another "
            "folder, or move it away yourself."
        )
    extra = _foreign_files(folder, None if new is None else Path(new))
    if extra:
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise FileExistsError(
            f"{folder} holds files that ptlib did not write ({', '.join(extra[:5])}{more}); it is "
            "left alone so that they are not lost. Move them out of the folder (or delete the "
            "folder yourself), or save to another folder."
        )


def replace_dir(new: str | Path, folder: str | Path) -> None:
    """Move the complete folder ``new`` to ``folder``, replacing a ptlib folder there.

    The old folder is first renamed aside and only deleted once ``new`` is in place, so at every
    moment ``folder`` is either the complete old or the complete new artefact. Raises
    ``FileExistsError`` (:func:`check_replaceable`) if ``folder`` exists and ptlib did not write
    it, or holds files that ``new`` does not: nothing is deleted that ptlib did not write.
    Introduced in chapter 1 (background).
    """
    new, folder = Path(new), Path(folder)
    if not new.is_dir():
        raise NotADirectoryError(f"{new} is not a folder: there is nothing to move to {folder}")
    check_replaceable(new, folder)
    if not folder.exists():
        os.replace(new, folder)
        return
    old = folder.with_name(f".{folder.name}.old-{new.name}")
    os.replace(folder, old)
    os.replace(new, folder)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(folder: str | Path) -> Iterator[Path]:
    """Write a folder atomically: ``with atomic_dir(folder) as tmp:`` write files into ``tmp``.

    ``tmp`` is a new folder beside ``folder``; when the block ends without an error it gets
    :data:`MARKER` and replaces ``folder`` (:func:`replace_dir`, which refuses to delete files
    ptlib did not write); on an error it is deleted and ``folder`` stays as it was.
    Introduced in chapter 1 (background).
    """
    folder = Path(folder)
    check_replaceable(None, folder)  # fail before the work, not after it
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        yield tmp
        files = "".join(f"{name}\n" for name in sorted(_files(tmp)))
        (tmp / MARKER).write_text(f"{_MARKER_HEADER}\n{files}", encoding="utf-8")
        replace_dir(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, data: Any, **dump_options: Any) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (a temporary file, then ``os.replace``).

    ``dump_options`` go to :func:`json.dump` (default ``indent=2``, ``allow_nan=False``: NaN and
    infinity are not JSON, so they raise ``ValueError`` instead of writing a file other readers
    reject); a newline ends the file.
    Introduced in chapter 1 (background).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            try:
                json.dump(data, f, **{"indent": 2, "allow_nan": False, **dump_options})
            except (TypeError, ValueError) as err:
                raise type(err)(f"cannot write {path} as JSON: {err}") from None
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
