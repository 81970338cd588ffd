"""Slide decks for teaching: one per chapter, built from the notebook, that open offline.

    python tools/make_slides.py     # -> _build/slides/NN_name/index.html and _build/slides/index.html

A deck holds the chapter's title, its learning goals, its outline (the section headings), its key
formulas (the display equations of its text), its figures (from the executed notebook in
``_build/notebooks/``, when ``make notebooks`` has run), its measured results (the summary the
notebook prints, and the numbers it recorded in ``results/<stem>.json``) and its exercises.

Each deck is one HTML file with its own small slide viewer (arrow keys, space, click; ``#5`` in
the address opens slide 5; printing gives one slide per page): no CDN, no network. Figures are
embedded in the file; equations are rendered by MathJax 3, copied from ``make mathjax``
(``.cache/npm``) into ``_build/slides/mathjax/`` next to the decks, the copy the book uses too.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/, for the book build's helper
from build_book import stage_mathjax  # noqa: E402  (one copy of MathJax staging, shared)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "_build" / "notebooks"
RESULTS = ROOT / "results"
OUT = ROOT / "_build" / "slides"
MAX_FIGURES = 8
MAX_RESULTS = 14

STYLE = """
html, body { margin: 0; height: 100%; background: #222; font-family: system-ui, sans-serif; }
section { display: none; box-sizing: border-box; width: 100vw; height: 100vh; padding: 4vh 6vw;
  background: #fff; color: #222; overflow: auto; font-size: 2.6vh; line-height: 1.45; }
section.current { display: block; }
section.title { display: none; flex-direction: column; justify-content: center; }
section.title.current { display: flex; }
h1 { font-size: 5.5vh; margin: 0 0 2vh; } h2 { font-size: 4vh; margin: 0 0 2vh; color: #0b5394; }
code { background: #f2f2f2; padding: 0 .2em; border-radius: 3px; }
figure { margin: 0; text-align: center; } figure img { max-width: 100%; max-height: 72vh; }
figcaption { font-size: 2vh; color: #555; margin-top: 1vh; }
table { border-collapse: collapse; } td, th { padding: .3em 1em; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 1vh 1vw; white-space: pre-wrap; font-size: 2.1vh; }
.equation { font-size: 3vh; margin: 2vh 0; }
#counter { position: fixed; right: 1.5vw; bottom: 1vh; color: #888; font-size: 1.8vh; }
@media print { section, section.title { display: block !important; page-break-after: always;
  height: auto; } #counter { display: none; } }
"""

VIEWER = """
const slides = Array.from(document.querySelectorAll("section"));
const counter = document.getElementById("counter");
let current = 0;
function show(i) {
  current = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, k) => s.classList.toggle("current", k === current));
  counter.textContent = (current + 1) + " / " + slides.length;
  history.replaceState(null, "", "#" + (current + 1));
}
document.addEventListener("keydown", (e) => {
  if (["ArrowRight", "PageDown", " ", "ArrowDown"].includes(e.key)) show(current + 1);
  else if (["ArrowLeft", "PageUp", "ArrowUp", "Backspace"].includes(e.key)) show(current - 1);
  else if (e.key === "Home") show(0);
  else if (e.key === "End") show(slides.length - 1);
  else return;
  e.preventDefault();
});
document.addEventListener("click", (e) => {
  if (e.target.closest("a")) return;
  show(current + (e.clientX > window.innerWidth / 3 ? 1 : -1));
});
show((parseInt(location.hash.slice(1), 10) || 1) - 1);
"""


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def inline(text: str) -> str:
    """Markdown inline markup to HTML: code, bold, italics, links, MyST roles; math is kept for
    MathJax."""
    text = re.sub(r"\{[a-z:]+\}`([^`]*)`", lambda m: m.group(1).split("/")[-1], text)  # roles
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<em>\1</em>", part)
        part = re.sub(r"!?\[([^\]]*)\]\(([^)]*)\)", r"\1", part)  # links: their text
        out.append(part)
    return "".join(out)


def markdown(text: str) -> str:
    """A small Markdown block converter: paragraphs, bullet and numbered lists, headings."""
    blocks, items, para = [], [], []

    def flush() -> None:
        if para:
            blocks.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
        elif re.match(r"^([-*]|\d+\.)\s", stripped):
            if para:
                flush()
            items.append(re.sub(r"^([-*]|\d+\.)\s+", "", stripped))
        elif stripped.startswith("#"):
            flush()
            blocks.append(f"<h3>{inline(stripped.lstrip('#').strip())}</h3>")
        elif items:
            items[-1] += " " + stripped  # a list item continues
        else:
            para.append(stripped)
    flush()
    return "\n".join(blocks)


def learning_goals(first: str) -> str:
    """The learning-goals paragraph and list of a chapter's first cell."""
    match = re.search(r"\*\*Learning goals\.\*\*(.*?)(?=\n\*\*|\Z)", first, re.S)
    return match.group(1).strip() if match else ""


def formulas(cells: list[dict], limit: int = 6) -> list[str]:
    """The display equations ($$ ... $$) of the chapter's text, in order."""
    found = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            found += [m.strip() for m in re.findall(r"\$\$(.+?)\$\$", _text(cell), re.S)]
    return found[:limit]


def figures(executed: dict | None, limit: int = MAX_FIGURES) -> list[tuple[str, str]]:
    """``(base64 PNG, alt text)`` of the figures in an executed notebook, in order."""
    if executed is None:
        return []
    found = []
    for cell in executed["cells"]:
        if "solution" in cell.get("metadata", {}).get("tags", []):
            continue
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                found.append(("".join(png) if isinstance(png, list) else png, alt))
    return found[:limit]


def section_between(cells: list[dict], start: str, stop: str) -> list[dict]:
    """The cells from the heading ``start`` up to the heading ``stop``.

    A heading may also sit inside a markdown cell, after other text or before it: the part of
    that cell on the section's side of the heading is kept.
    """
    out, inside = [], False
    for cell in cells:
        if cell["cell_type"] != "markdown":
            if inside:
                out.append(cell)
            continue
        text = _text(cell)
        if not inside:
            begin = re.search(rf"^{re.escape(start)}\b.*$", text, re.M)
            if not begin:
                continue
            inside, text = True, text[begin.end() :]
        end = re.search(rf"^{re.escape(stop)}\b", text, re.M)
        if end:
            text = text[: end.start()]
        if text.strip():
            out.append({**cell, "source": text})
        if end:
            break
    return out


def printed(cells: list[dict]) -> str:
    """What the code cells among ``cells`` printed (stdout), joined."""
    text = []
    for cell in cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                text.append(_text({"source": out["text"]}))
    return "".join(text).strip()


def recorded(results: dict, limit: int = MAX_RESULTS) -> list[tuple[str, str]]:
    """The first ``limit`` scalar numbers a notebook recorded, formatted."""
    rows = []
    for key, value in results.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or key == "runtime_s":
            continue
        shown = f"{value:,}" if isinstance(value, int) else f"{value:.4g}"
        rows.append((key.replace("_", " "), shown))
    return rows[:limit]


def build_deck(notebook: Path, executed: Path | None, results: Path | None) -> str:
    """The HTML of one chapter's deck (MathJax is loaded from ``../mathjax/``)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    run = json.loads(executed.read_text(encoding="utf-8")) if executed else None
    numbers = json.loads(results.read_text(encoding="utf-8")) if results else {}
    first = _text(cells[0])
    title = first.splitlines()[0].lstrip("# ").strip()
    slides = [
        f'<section class="title"><h1>{inline(title)}</h1>'
        "<p>Pre-trained Models, Hands-On</p>"
        f"<p><code>notebooks/{notebook.name}</code></p></section>"
    ]
    goals = learning_goals(first)
    if goals:
        slides.append(f"<section><h2>Learning goals</h2>{markdown(goals)}</section>")
    headings = [
        _text(c).splitlines()[0].lstrip("# ").strip()
        for c in cells
        if c["cell_type"] == "markdown" and re.match(r"## \d", _text(c))
    ]
    if headings:
        outline = "".join(f"<li>{inline(h)}</li>" for h in headings)
        slides.append(f"<section><h2>Outline</h2><ol>{outline}</ol></section>")
    for tex in formulas(cells):
        slides.append(
            f'<section><h2>Key formula</h2><div class="equation">$${html.escape(tex)}$$</div>'
            "</section>"
        )
    for png, alt in figures(run):
        caption = f"<figcaption>{html.escape(alt)}</figcaption>" if alt else ""
        slides.append(
            f'<section><h2>{inline(title.split(":")[0])}</h2><figure><img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{png.strip()}">{caption}</figure></section>'
        )
    summary_cells = section_between(run["cells"] if run else cells, "## Summary", "## Exercises")
    said = printed(summary_cells)
    if said:
        slides.append(f"<section><h2>Measured here</h2><pre>{html.escape(said)}</pre></section>")
    rows = recorded(numbers)
    if rows:
        body = "".join(
            f'<tr><td>{html.escape(k)}</td><td class="num">{html.escape(v)}</td></tr>'
            for k, v in rows
        )
        slides.append(
            f"<section><h2>Recorded results</h2><table>{body}</table>"
            f"<p><small>from <code>results/{notebook.stem}.json</code></small></p></section>"
        )
    prose = "\n\n".join(
        _text(c)
        for c in section_between(cells, "## Summary", "## Exercises")
        if c["cell_type"] == "markdown"
    )
    # The summary ends where the concept checks (with their answers) or the exercises begin,
    # also when they share the summary's cell.
    prose = re.split(r"^## (?:Concept checks|Exercises)\b", prose, flags=re.M)[0].strip()
    if prose:
        slides.append(f"<section><h2>Summary</h2>{markdown(prose)}</section>")
    # The exercises: every "**Exercise ...**" line between "## Exercises" and "## References",
    # also when "## Exercises" shares a cell with the summary.
    text = "\n\n".join(_text(c) for c in cells if c["cell_type"] == "markdown")
    after = re.split(r"^## Exercises\b", text, maxsplit=1, flags=re.M)[1:]
    block = re.split(r"^## References\b", after[0], flags=re.M)[0] if after else ""
    exercises = [
        re.sub(r"^\*\*(.+?)\*\*.*", r"\1", line)
        for line in block.splitlines()
        if line.startswith("**Exercise")
    ]
    if exercises:
        items = "".join(f"<li>{inline(e)}</li>" for e in exercises)
        slides.append(f"<section><h2>Exercises</h2><ul>{items}</ul></section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style>"
        "<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']]}};</script>"
        '<script defer src="../mathjax/tex-mml-chtml.js"></script></head><body>\n'
        + "\n".join(slides)
        + f'\n<div id="counter"></div><script>{VIEWER}</script></body></html>\n'
    )


def copy_mathjax(dest: Path) -> None:
    """Copy MathJax 3 (from ``make mathjax``) to ``dest``, as the book build does."""
    shutil.rmtree(dest, ignore_errors=True)
    if not stage_mathjax(dest):
        raise SystemExit("MathJax is not installed: run `make mathjax`.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    copy_mathjax(args.out / "mathjax")
    links = []
    for nb in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        executed = EXECUTED / nb.name
        results = RESULTS / f"{nb.stem}.json"
        deck = build_deck(
            nb, executed if executed.is_file() else None, results if results.is_file() else None
        )
        (args.out / nb.stem).mkdir(parents=True, exist_ok=True)
        (args.out / nb.stem / "index.html").write_text(deck, encoding="utf-8")
        n = deck.count("<section")
        note = "" if executed.is_file() else " (no figures: run `make notebooks` first)"
        print(f"{nb.stem}: {n} slides{note}")
        title = _text(json.loads(nb.read_text(encoding="utf-8"))["cells"][0]).splitlines()[0]
        links.append(
            f'<li><a href="{nb.stem}/index.html">{html.escape(title.lstrip("# "))}</a></li>'
        )
    (args.out / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Slides</title></head>'
        "<body><h1>Pre-trained Models, Hands-On: slides</h1><ul>"
        + "".join(links)
        + "</ul></body></html>\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
