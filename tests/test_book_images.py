"""The book's drawn images and concept checks hold together.

* every image a notebook or a book page references exists, and every figure directive gives alt
  text and a caption;
* every SVG in ``book/images/`` parses as XML and names itself with a non-empty ``<title>``;
* the diagrams that ``tools/make_diagrams.py`` draws are committed;
* every chapter has a "## Concept checks" section before its exercises, with 3 to 5 questions,
  each with its answer folded in a dropdown.
"""

from __future__ import annotations

import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
IMAGES = BOOK / "images"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SVG_NS = "{http://www.w3.org/2000/svg}"

# ```{figure} path / ```{image} path (MyST directives), ![alt](path) (Markdown), <img src="path">.
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{(figure|image)\}\s+(\S+)\s*$", re.M)
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")
HTML_IMAGE = re.compile(r"<img\b[^>]*\bsrc=[\"']([^\"']+)")


def _source(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _markdown() -> list[tuple[str, Path, str]]:
    """(where, folder the paths are relative to, text) of every page and markdown cell."""
    texts = [
        (p.relative_to(ROOT).as_posix(), p.parent, p.read_text("utf-8")) for p in BOOK.glob("*.md")
    ]
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                texts.append((f"{path.name} cell {i}", path.parent, _source(cell)))
    return texts


def _local(ref: str) -> bool:
    return not re.match(r"^[a-z]+:", ref) and not ref.startswith(("#", "{", "//"))


def test_every_referenced_image_exists():
    missing = []
    for where, folder, text in _markdown():
        refs = [m.group(3) for m in DIRECTIVE.finditer(text)]
        refs += MARKDOWN_IMAGE.findall(text) + HTML_IMAGE.findall(text)
        missing += [
            f"{where}: {ref}" for ref in refs if _local(ref) and not (folder / ref).is_file()
        ]
    assert not missing, "images referenced but not in the repository:\n" + "\n".join(missing)


def figure_blocks(text: str) -> list[tuple[str, dict[str, str], str]]:
    """(path, options, caption) of every ```{figure} directive in ``text``."""
    blocks = []
    for m in DIRECTIVE.finditer(text):
        if m.group(2) != "figure":
            continue
        fence = m.group(1)
        end = text.find("\n" + fence, m.end())
        body = text[m.end() : end if end >= 0 else len(text)].strip("\n").splitlines()
        options = {}
        while body and body[0].startswith(":"):
            key, _, value = body.pop(0)[1:].partition(":")
            options[key.strip()] = value.strip()
        blocks.append((m.group(3), options, "\n".join(body).strip()))
    return blocks


def test_figure_blocks_reads_options_and_caption():
    text = "```{figure} ../a.svg\n:alt: a b c d e\n:width: 90%\n\nThe caption.\n```\n"
    assert figure_blocks(text) == [
        ("../a.svg", {"alt": "a b c d e", "width": "90%"}, "The caption.")
    ]


def test_figures_have_alt_text_and_a_caption():
    problems = []
    for where, _, text in _markdown():
        for path, options, caption in figure_blocks(text):
            if len(options.get("alt", "").split()) < 5:
                problems.append(f"{where}: {path} needs :alt: text of at least five words")
            if not caption:
                problems.append(f"{where}: {path} needs a caption")
    assert not problems, "\n".join(problems)


SVGS = sorted(IMAGES.glob("*.svg"))


@pytest.mark.parametrize("path", SVGS, ids=lambda p: p.name)
def test_svg_parses_and_has_a_title(path: Path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag == f"{SVG_NS}svg", f"{path.name}: the root element is {root.tag}, not <svg>"
    title = root.find(f"{SVG_NS}title")
    assert title is not None and (title.text or "").strip(), (
        f"{path.name}: give the image a <title> (a direct child of <svg>) for screen readers"
    )


def _make_diagrams():
    return load_tool("make_diagrams")


def test_every_drawn_diagram_is_committed_and_used():
    names = list(_make_diagrams().DIAGRAMS)
    assert names, "tools/make_diagrams.py draws nothing"
    text = "\n".join(t for _, _, t in _markdown())
    for name in names:
        assert (IMAGES / f"{name}.svg").is_file(), (
            f"run tools/make_diagrams.py: {name}.svg is missing"
        )
        assert f"images/{name}.svg" in text, f"{name}.svg is drawn but no page or chapter shows it"


DROPDOWN = re.compile(r"^(`{3,}|:{3,})\{(dropdown|admonition)\}", re.M)


def concept_checks(text: str) -> tuple[int, int]:
    """(questions, folded answers) of the "## Concept checks" section of a chapter's text."""
    m = re.search(r"^## Concept checks\s*$(.*?)(?=^## )", text, re.M | re.S)
    if m is None:
        return 0, 0
    section = m.group(1)
    questions = len(re.findall(r"^\*\*\d+\.\*\*", section, re.M))
    answers = 0
    for d in DROPDOWN.finditer(section):
        if d.group(2) == "dropdown" or ":class: dropdown" in section[d.end() : d.end() + 200]:
            answers += 1
    return questions, answers


def test_concept_checks_counts_questions_and_answers():
    text = (
        "## Concept checks\n\n**1.** Why?\n\n```{dropdown} Answer\nBecause.\n```\n\n"
        "**2.** How?\n\n```{admonition} Answer\n:class: dropdown\nSo.\n```\n\n## Exercises\n"
    )
    assert concept_checks(text) == (2, 2)
    assert concept_checks("## Exercises\n") == (0, 0)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_concept_checks_before_the_exercises(path: Path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    headings = [line.strip() for line in text.splitlines() if line.startswith("## ")]
    assert "## Concept checks" in headings, f"{path.name}: add a '## Concept checks' section"
    assert headings.index("## Concept checks") + 1 == headings.index("## Exercises"), (
        f"{path.name}: the concept checks come right before the exercises"
    )
    questions, answers = concept_checks(text)
    assert 3 <= questions <= 5, f"{path.name}: {questions} concept checks; write 3 to 5"
    assert answers == questions, (
        f"{path.name}: {questions} questions but {answers} folded answers; give every question "
        "its answer in a ```{dropdown} Answer block"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_slides_summary_leaves_out_concept_checks_and_exercises(path: Path):
    """tools/make_slides.py's summary slide shows the summary, not the concept checks' answers."""
    spec = importlib.util.spec_from_file_location("make_slides", ROOT / "tools" / "make_slides.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    deck = tool.build_deck(path, None, None)
    summary = re.search(r"<section><h2>Summary</h2>(.*?)</section>", deck, re.S)
    assert summary is not None, f"{path.name}: no summary slide"
    for leak in ("Concept checks", "dropdown", "Exercise 1"):
        assert leak not in summary.group(1), f"{path.name}: the summary slide shows {leak!r}"
