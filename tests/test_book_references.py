"""The book's references hold: every "chapter N" names a chapter that exists, and the source map
covers every section and listed item of the source document.

The source document lives outside the repository (``../shared/source/``, or ``PTLIB_SOURCE_DIR``):
without it the source-map tests are skipped, the chapter-reference tests still run.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from pybtex.database import parse_file  # installed with the book tools (sphinxcontrib-bibtex)

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"
SOURCE_DIR = Path(os.environ.get("PTLIB_SOURCE_DIR") or ROOT.parent / "shared" / "source")
SOURCE_MAP = BOOK / "source_map.md"

CHAPTERS = {int(p.name[:2]) for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
# "chapter 3", "Chapter 3's", "chapters 3 and 4", "chapters 2-5", "chapters 6, 7, 8 and 10"
CHAPTER_REF = re.compile(r"\b[Cc]hapters?\s+(\d+(?:\s*(?:-|–|,|and|or|to)\s*\d+)*)", re.UNICODE)


def chapter_numbers(ref: str) -> set[int]:
    """The chapter numbers a reference names; a range "2-5" names 2, 3, 4 and 5."""
    numbers: set[int] = set()
    for part in re.split(r"\s*(?:,|and|or)\s*", ref):
        bounds = [int(n) for n in re.findall(r"\d+", part)]
        if len(bounds) == 2 and re.search(r"-|–|to", part):
            numbers.update(range(bounds[0], bounds[1] + 1))
        else:
            numbers.update(bounds)
    return numbers


def test_chapter_numbers_reads_ranges_and_lists():
    assert chapter_numbers("3") == {3}
    assert chapter_numbers("2-5") == {2, 3, 4, 5}
    assert chapter_numbers("6, 7, 8 and 10") == {6, 7, 8, 10}
    assert chapter_numbers("3 or 4") == {3, 4}


def _texts() -> list[tuple[str, str]]:
    """(where, text) of every prose page and every notebook cell (code comments included)."""
    texts = [
        (p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8")) for p in BOOK.glob("*.md")
    ]
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            texts.append((f"{path.relative_to(ROOT).as_posix()} cell {i}", source))
    return texts


def test_every_chapter_reference_names_a_chapter_that_exists():
    assert CHAPTERS, "no chapters found"
    bad = []
    for where, text in _texts():
        for line in text.splitlines():
            for match in CHAPTER_REF.finditer(line):
                missing = chapter_numbers(match.group(1)) - CHAPTERS
                if missing and "planned" not in line.lower():
                    bad.append(f"{where}: chapter(s) {sorted(missing)} in {line.strip()[:100]!r}")
    assert not bad, (
        "references to chapters that do not exist (label them 'planned'):\n" + "\n".join(bad)
    )


# -- the source map ------------------------------------------------------------------------------


def _source_text() -> str:
    files = sorted(SOURCE_DIR.glob("*.txt")) if SOURCE_DIR.is_dir() else []
    if not files:
        pytest.skip(f"the source document is not in {SOURCE_DIR} (set PTLIB_SOURCE_DIR)")
    return files[0].read_text(encoding="utf-8")


def source_items(text: str) -> list[tuple[str, str]]:
    """(section, title or item) for every heading below the top level and every listed item.

    Headings are ``## 7. title`` and ``### 6.1 title``; items are list entries that start with a
    bold term, ``* **文本分类:** ...`` or ``1. **数据收集:** ...``. An item belongs to the nearest
    heading above it.
    """
    items: list[tuple[str, str]] = []
    section = ""
    for line in text.splitlines():
        if heading := re.match(r"^(#{2,3})\s+(\d+(?:\.\d+)?)\.?\s+(.+?)\s*$", line):
            section = heading.group(2)
            if heading.group(1) == "###":
                items.append((section, heading.group(3)))
        elif item := re.match(r"^\s*(?:\*|\d+\.)\s+\*\*(.+?):?\*\*", line):
            items.append((section, item.group(1).rstrip(":")))
    return items


def test_source_items_reads_headings_and_bold_list_items():
    text = "## 2. 核心\n\n### 2.1 类型\n\n* **语言模型 (LM):** 学习\n\n## 7. 工具\n\n* **PyTorch Hub:** 提供\n"
    assert source_items(text) == [("2.1", "类型"), ("2.1", "语言模型 (LM)"), ("7", "PyTorch Hub")]


def _map_rows() -> list[tuple[str, str, str]]:
    """(section, as printed, executed in) of every table row of the source map."""
    rows = []
    for line in SOURCE_MAP.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("§"):
            rows.append((cells[0][1:], cells[1], cells[3]))
    return rows


def test_source_map_has_a_row_for_every_section_and_item():
    items = source_items(_source_text())
    assert len(items) >= 50, (
        f"only {len(items)} items parsed from the source: has its format changed?"
    )
    rows = {(section, printed) for section, printed, _ in _map_rows()}
    missing = [f"source §{s} {t}" for s, t in items if (s, t) not in rows]
    assert not missing, "no row in book/source_map.md for:\n" + "\n".join(missing)


def test_source_map_points_only_to_pages_that_exist():
    rows = _map_rows()
    assert rows, "book/source_map.md has no table rows"
    bad = []
    for section, printed, where in rows:
        links = re.findall(r"\]\(([^)#]+)", where)
        if not links:
            bad.append(f"§{section} {printed}: no link to a chapter or page")
        bad += [
            f"§{section} {printed}: {link}"
            for link in links
            if not (BOOK / link).resolve().exists()
        ]
        for number in map(int, re.findall(r"Chapter (\d+)", where)):
            if number not in CHAPTERS:
                bad.append(f"§{section} {printed}: chapter {number} does not exist")
    assert not bad, "broken rows in book/source_map.md:\n" + "\n".join(bad)


# -- the source quoted exactly -------------------------------------------------------------------

QUOTES = {  # source section: (what is quoted, the chapter that quotes it)
    "4.1": ("formula", "03_masked_language_modelling"),
    "4.2": ("formula", "04_contrastive_learning"),
    "5.1": ("code", "05_fine_tuning"),
}


def source_section(text: str, number: str) -> str:
    """The text of ``### number ...`` up to the next heading."""
    match = re.search(rf"^### {re.escape(number)} .*?$(.*?)(?=^##)", text, re.M | re.S)
    assert match, f"source §{number} not found"
    return match.group(1)


def _unquoted(path: Path) -> str:
    """All cells of a notebook, with Markdown quote markers removed from each line."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    return "\n".join(re.sub(r"^>\s?", "", line) for line in text.splitlines())


@pytest.mark.parametrize("number", sorted(QUOTES))
def test_the_source_is_quoted_exactly(number: str):
    kind, stem = QUOTES[number]
    section = source_section(_source_text(), number)
    if kind == "formula":
        quoted = re.findall(r"\$\$\s*(.*?)\s*\$\$", section, re.S)
    else:
        quoted = re.findall(r"```python\n(.*?)```", section, re.S)
    assert quoted, f"no {kind} in source §{number}"
    chapter = _unquoted(NOTEBOOKS / f"{stem}.ipynb")
    for block in quoted:
        lines = [line.rstrip() for line in block.strip().splitlines()]
        missing = [line for line in lines if line and line not in chapter]
        assert not missing, (
            f"{stem} does not quote source §{number} exactly; missing: {missing[:3]}"
        )


def test_bibliography_parses_and_has_each_key_once():
    bib = BOOK / "references.bib"
    keys = re.findall(r"^@\w+\{([^,\s]+),", bib.read_text(encoding="utf-8"), re.M)
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    assert not repeated, f"{bib} lists these keys twice: {repeated}"
    assert len(parse_file(str(bib)).entries) == len(keys), f"{bib}: an entry does not parse"
