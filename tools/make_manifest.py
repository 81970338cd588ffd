"""Build ``ptlib/manifest.json`` from a local copy of the course data and cross-check it.

The manifest maps every dataset to its files: ``{name: {relative path: {"sha256", "bytes"}}}``.
Every file of a dataset folder is listed except its ``SOURCE.md`` (the provenance notes).
Each hash is computed from the file on disk and compared with the ``## Files written (sha256)``
table of the folder's ``SOURCE.md`` (and the ``sha256sum`` block for ``raccoon/images``).
Any disagreement (a file missing from either side, a different hash or size) is reported and
the manifest is not written.

Usage::

    python tools/make_manifest.py                  # write ptlib/manifest.json
    python tools/make_manifest.py --check          # only compare data, SOURCE.md and manifest
    python tools/make_manifest.py --data-dir DIR   # default: $PTLIB_DATA_DIR or ../shared/data
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "ptlib" / "manifest.json"
EXCLUDED = {"SOURCE.md"}

# | `file` | 1,234 | records | `sha256` |
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([\d,]+)\s*\|.*\|\s*`([0-9a-f]{64})`\s*\|\s*$")
# | `images/*.jpg` | 3,460,440 in all | ...
_TOTAL = re.compile(r"^\|\s*`([^`]*\*[^`]*)`\s*\|\s*([\d,]+) in all\s*\|")
_SUMLINE = re.compile(r"^([0-9a-f]{64}) [ *](\S+)$")
_SUMDIR = re.compile(r"cd (\S+?)/? && sha256sum")


def sha256(path: Path) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_data_dir() -> Path:
    """$PTLIB_DATA_DIR, else ../shared/data next to the repository."""
    env = os.environ.get("PTLIB_DATA_DIR")
    return Path(env).expanduser() if env else REPO.parent / "shared" / "data"


def source_table(source_md: Path) -> tuple[dict[str, dict], dict[str, int]]:
    """The sha256 table of one SOURCE.md: ``{file: {"sha256", "bytes" or None}}``, and the
    ``{glob: total bytes}`` rows (e.g. ``images/*.jpg``)."""
    files: dict[str, dict] = {}
    totals: dict[str, int] = {}
    prefix = ""
    for line in source_md.read_text(encoding="utf-8").splitlines():
        if m := _ROW.match(line):
            files[m[1]] = {"sha256": m[3], "bytes": int(m[2].replace(",", ""))}
        elif m := _TOTAL.match(line):
            totals[m[1]] = int(m[2].replace(",", ""))
        elif m := _SUMDIR.search(line):
            prefix = m[1] + "/"
        elif m := _SUMLINE.match(line.strip()):
            files[prefix + m[2]] = {"sha256": m[1], "bytes": None}
    return files, totals


def scan(data_dir: Path) -> dict[str, dict[str, dict]]:
    """Hash every file of every dataset folder (SOURCE.md excluded)."""
    manifest: dict[str, dict[str, dict]] = {}
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        entries = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            if rel not in EXCLUDED:
                entries[rel] = {"sha256": sha256(path), "bytes": path.stat().st_size}
        manifest[folder.name] = entries
    return manifest


def disagreements(
    manifest: dict[str, dict[str, dict]], data_dir: Path, notes: list[str] | None = None
) -> list[str]:
    """Every way the manifest and the SOURCE.md tables of ``data_dir`` disagree.

    A wrong "N in all" total (a prose claim, not a hash) is appended to ``notes`` instead."""
    problems = []
    notes = [] if notes is None else notes
    for name, entries in manifest.items():
        source_md = data_dir / name / "SOURCE.md"
        if not source_md.is_file():
            problems.append(f"{name}: no SOURCE.md")
            continue
        table, totals = source_table(source_md)
        for rel in sorted(set(entries) - set(table)):
            problems.append(f"{name}/{rel}: not in the SOURCE.md table")
        for rel in sorted(set(table) - set(entries)):
            problems.append(f"{name}/{rel}: in the SOURCE.md table but not in the data")
        for rel in sorted(set(table) & set(entries)):
            want, have = table[rel], entries[rel]
            if want["sha256"] != have["sha256"]:
                problems.append(
                    f"{name}/{rel}: sha256 {have['sha256']} but SOURCE.md says {want['sha256']}"
                )
            if want["bytes"] is not None and want["bytes"] != have["bytes"]:
                problems.append(
                    f"{name}/{rel}: {have['bytes']} bytes but SOURCE.md says {want['bytes']}"
                )
        for pattern, total in totals.items():
            found = sum(e["bytes"] for rel, e in entries.items() if fnmatch.fnmatch(rel, pattern))
            if found != total:
                notes.append(f"{name}/{pattern}: {found} bytes in all, SOURCE.md says {total}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"no data folder at {args.data_dir} (set PTLIB_DATA_DIR or --data-dir)")
        return 2
    manifest = scan(args.data_dir)
    notes: list[str] = []
    problems = disagreements(manifest, args.data_dir, notes)
    if args.check and MANIFEST.is_file():
        shipped = json.loads(MANIFEST.read_text(encoding="utf-8"))
        if shipped != manifest:
            changed = sorted(
                n for n in set(shipped) | set(manifest) if shipped.get(n) != manifest.get(n)
            )
            problems.append(f"{MANIFEST} differs from the data for: {', '.join(changed)}")
    for note in notes:
        print("NOTE (size total in the prose, hashes unaffected):", note)
    for problem in problems:
        print("DISAGREEMENT:", problem)
    n_files = sum(len(v) for v in manifest.values())
    print(f"{len(manifest)} datasets, {n_files} files, {len(problems)} disagreement(s)")
    if problems:
        return 1
    if not args.check:
        MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
