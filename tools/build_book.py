"""Build the HTML book from the executed notebooks, with warnings as errors.

    python tools/build_book.py

Jupyter Book does not execute anything (``execute_notebooks: "off"``): this script stages the
book sources with the executed copies from ``_build/notebooks/`` (written by
``tools/run_notebooks.py``) in ``_build/site/``, builds it with ``-W``, and puts the HTML in
``_build/html/``. ``tools/check_book.py`` (``make check-book``) then checks it in a browser.

Staging changes only how the notebooks are presented, never what they computed:

* a cell tagged ``solution`` (an exercise's solution) is also tagged ``hide-cell``, so that its
  code and its output stay folded until the reader clicks "Show solution";
* the Colab badge's image is the local copy ``book/images/colab-badge.svg`` instead of
  colab.research.google.com's, so that it shows offline (the link is unchanged);
* MathJax 3 (npm's ``mathjax-full``, installed by ``make mathjax`` into ``.cache/npm``) is copied
  in, so that equations render without a network (``mathjax_path`` in ``_config.yml``);
* the runtime table of the workshop guide (``book/_runtimes.md``, included there) is written from
  the seconds ``tools/run_notebooks.py`` recorded in ``results/_timings.json``, so the runtimes
  the book states are the ones measured in the run that produced its pages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
SITE = BUILD / "site"
EXECUTED = BUILD / "notebooks"
RESULTS = ROOT / "results"

# npm's mathjax-full@3, pinned in the Makefile (npm's `mathjax` package is now version 4, which
# Sphinx's MathJax 3 configuration does not fit).
MATHJAX = ROOT / ".cache" / "npm" / "node_modules" / "mathjax-full" / "es5"
# What es5/tex-mml-chtml.js loads: its fonts, TeX extensions it autoloads, and the menu's
# accessibility components (speech, explorer), all relative to the script.
MATHJAX_FILES = [
    "tex-mml-chtml.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
    "input/mml",
    "a11y",
    "sre",
    "ui",
]

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL_BADGE = "../book/images/colab-badge.svg"  # relative to notebooks/
SOLUTION_PROMPTS = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}


def stage_notebook(src: Path, dest: Path) -> None:
    """Copy an executed notebook into the staged book, with the presentation changes above."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        meta = cell.setdefault("metadata", {})
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = text.replace(COLAB_BADGE, LOCAL_BADGE)
        elif "solution" in meta.get("tags", []):
            meta["tags"] = [*meta["tags"], "hide-cell"]
            meta.setdefault("mystnb", {}).update(SOLUTION_PROMPTS)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def runtime_table(notebooks: list[Path], results: Path) -> str:
    """The measured runtime of every chapter, as a Markdown table, from ``results/_timings.json``
    and ``results/_run.json`` (both written by ``tools/run_notebooks.py``)."""
    timings_path, run_path = results / "_timings.json", results / "_run.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    run = json.loads(run_path.read_text()) if run_path.exists() else {}
    rows = ["| chapter | CPU runtime, default parameters (measured) |", "|---|---|"]
    for nb in notebooks:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        first = "".join(cells[0]["source"]).splitlines()[0] if cells else nb.stem
        title = first.lstrip("# ").split(":")[0]
        seconds = timings.get(nb.stem)
        shown = f"{seconds / 60:.1f} minutes ({seconds:.0f} s)" if seconds else "not measured"
        rows.append(f"| [{title}](../notebooks/{nb.name}) | {shown} |")
    note = "Not measured yet: run `make notebooks`."
    if run:
        note = (
            f"Measured by `make notebooks` on {run['cpus']} CPU cores, {run['jobs']} notebooks "
            f"side by side with {run['threads']} thread each: all {run['notebooks']} chapters in "
            f"{run['wall_s'] / 60:.1f} minutes of wall time."
        )
    return "\n".join(rows) + "\n\n" + note + "\n"


def stage_mathjax(dest: Path) -> bool:
    """Copy MathJax into ``dest`` (published as ``_static/mathjax/``); False if not installed."""
    if not (MATHJAX / "tex-mml-chtml.js").exists():
        print(
            f"MathJax is not installed in {MATHJAX.relative_to(ROOT)}: run `make mathjax`.",
            file=sys.stderr,
        )
        return False
    for name in MATHJAX_FILES:
        src, out = MATHJAX / name, dest / name
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out)
        else:
            shutil.copy2(src, out)
    return True


def main() -> int:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [nb.name for nb in notebooks if not (EXECUTED / nb.name).exists()]
    if missing:
        print(
            f"no executed copy of {', '.join(missing)} in {EXECUTED.relative_to(ROOT)}: "
            "run `make notebooks` first (or `make book`, which does both).",
            file=sys.stderr,
        )
        return 1
    stale = [
        nb.name for nb in notebooks if (EXECUTED / nb.name).stat().st_mtime < nb.stat().st_mtime
    ]
    if stale:
        print(
            f"warning: the executed copies of {', '.join(stale)} are older than the sources; "
            "run `make notebooks` to refresh them.",
            file=sys.stderr,
        )

    shutil.rmtree(SITE, ignore_errors=True)
    SITE.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, SITE / name)
    shutil.copytree(ROOT / "book", SITE / "book")
    (SITE / "book" / "_runtimes.md").write_text(
        runtime_table(notebooks, Path(os.environ.get("PTLIB_RESULTS_DIR") or RESULTS)),
        encoding="utf-8",
    )
    (SITE / "_ext").mkdir()
    shutil.copy2(ROOT / "tools" / "sphinx_book_fixes.py", SITE / "_ext")
    if not stage_mathjax(SITE / "_mathjax" / "mathjax"):
        return 1
    (SITE / "notebooks").mkdir()
    for nb in notebooks:
        stage_notebook(EXECUTED / nb.name, SITE / "notebooks" / nb.name)

    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(SITE),
        "-W",
        "-n",
        "--keep-going",
        "--builder",
        "html",
    ]
    print("$", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        print("the book build failed: the warnings above are errors (-W).", file=sys.stderr)
        return 1
    html = BUILD / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.move(str(SITE / "_build" / "html"), str(html))
    print(f"built {html.relative_to(ROOT) / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
