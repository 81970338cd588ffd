"""Tests of the book checks: tools/check_book.py (the browser check of the rendered book) and the
clean-up of progress bars in tools/run_notebooks.py.

The browser tests build a tiny site in a temporary folder (one defect per page) and run the
checker's own functions on it in headless Chromium; they are skipped only where Chromium is not
installed (``make check-book``, which CI runs before pytest, fails there instead).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    """Import tools/<name>.py (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_book = _load("check_book")

REPO = ("https://github.com/example/course", "main", "")
PNG = base64.b64decode(  # 1 x 1 pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><nav><a href='#'>{title}</a></nav><article><h1>{title}</h1>{body}</article>"
        "</body></html>"
    )


def _cell(source: str, output: str = "", classes: str = "") -> str:
    return (
        f"<div class='cell {classes}'><div class='cell_input'><pre>{source}</pre></div>"
        f"<div class='cell_output'>{output}</div></div>"
    )


def _notebook(path: Path, cells: list[tuple[str, int]]) -> None:
    """An executed notebook with code cells (source, number of PNG outputs)."""
    png = base64.b64encode(PNG).decode()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": src,
                "outputs": [{"output_type": "display_data", "data": {"image/png": png}}] * n,
            }
            for src, n in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")


def _colab(stem: str) -> str:
    return f"<a href='{check_book.colab_url(stem, *REPO)}'>Open in Colab</a>"


# One page per defect; "good" pages must come out clean.
DRAW = "fig, ax = plots.new_figure()"
FIGURE = "<img src='../fig.png' alt='A line chart of accuracy against labels'>"
PAGES = {
    "good.html": _page("A good page", "<p>Prose, and a <code>/tmp/example</code> in code.</p>"),
    "notebooks/01_good.html": _page(
        "1. Good chapter", _colab("01_good") + _cell(DRAW, FIGURE) + _cell("print(1)")
    ),
    "notebooks/02_missing.html": _page("2. Missing figure", _colab("02_missing") + _cell(DRAW)),
    "notebooks/03_agg.html": _page("3. Drawn with Agg", _colab("03_agg") + _cell(DRAW)),
    "notebooks/04_no_alt.html": _page(
        "4. No alt", _colab("04_no_alt") + _cell(DRAW, "<img src='../fig.png' alt='../fig.png'>")
    ),
    "notebooks/05_colab.html": _page(
        "5. Wrong Colab link",
        "<a href='https://colab.research.google.com/github/example/course/blob/main/05_colab.ipynb'>"
        "Colab</a>",
    ),
    "notebooks/09_bias.html": _page("6. Bias evaluation", _colab("09_bias")),
    "notebooks/03_part.html": _page("3b. A second part of chapter 3", _colab("03_part")),
    "math.html": _page(
        "Math",
        "<p>The score <span class='math notranslate nohighlight'>\\(e^{s/\\tau}\\)</span>.</p>",
    ),
    "stderr.html": _page(
        "Stderr",
        _cell("load()", "<div class='output stderr'><pre>Loading weights:   0%|</pre></div>"),
    ),
    "traceback.html": _page(
        "Traceback",
        _cell("1/0", "<div class='output traceback'><pre>ZeroDivisionError</pre></div>"),
    ),
    "path.html": _page(
        "Path",
        _cell(
            "import tqdm.auto",
            "<div class='output stream'><pre>/home/runner/work/course/.venv/lib/python3.11/"
            "site-packages/tqdm/auto.py:21: TqdmWarning</pre></div>",
        ),
    ),
    "solution.html": _page(
        "Solutions",
        _cell("# Solution 1\nprint(42)", "<pre>42</pre>", classes="tag_solution")
        + "<div class='cell tag_solution'><details><summary>Show solution</summary>"
        "<div class='cell_input'><pre># Solution 2</pre></div></details></div>",
    ),
    "numbering.html": _page("3. 3. Masked language modelling", "<h2>4.2. 4.2 Augmentations</h2>"),
    "external.html": _page(
        "External",
        "<img src='https://colab.research.google.com/assets/colab-badge.svg' alt='Open in Colab'>",
    ),
    "broken.html": _page("Broken", "<img src='missing.png' alt='a missing picture'>"),
    "console.html": _page("Console", "", head="<script>console.error('boom')</script>"),
}
NOTEBOOKS = {
    "01_good": [(DRAW, 1), ("print(1)", 0)],
    "02_missing": [(DRAW, 1)],
    "03_agg": [(DRAW, 0)],  # executed with MPLBACKEND=Agg: no PNG, but the cell draws
    "04_no_alt": [(DRAW, 1)],
    "05_colab": [],
    "09_bias": [],
    "03_part": [],
}


def _chromium() -> str:
    chromium = check_book.find_chromium()
    if chromium is None:
        pytest.skip(f"Chromium not installed: {check_book.INSTALL_CHROMIUM}")
    return chromium


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, check_book.PageReport]:
    chromium = _chromium()
    site = tmp_path_factory.mktemp("site")
    html, notebooks = site / "html", site / "executed"
    (html / "notebooks").mkdir(parents=True)
    notebooks.mkdir()
    (html / "fig.png").write_bytes(PNG)
    for name, text in PAGES.items():
        (html / name).write_text(text, encoding="utf-8")
    for stem, cells in NOTEBOOKS.items():
        _notebook(notebooks / f"{stem}.ipynb", cells)
    found = check_book.check_book(
        html,
        notebooks,
        screenshots=site / "screenshots",
        repository=REPO,
        chromium=chromium,
        search_query=None,
    )
    return {r.page: r for r in found}


def _problems(reports, page: str) -> str:
    return "\n".join(reports[page].problems)


def test_clean_pages_pass(reports):
    assert reports["good.html"].problems == []
    assert reports["notebooks/01_good.html"].problems == []
    assert reports["notebooks/01_good.html"].figures == 1


def test_missing_figure_fails(reports):
    assert "figure missing: code cell 1" in _problems(reports, "notebooks/02_missing.html")


def test_figure_missing_from_the_notebook_too_fails(reports):
    # A cell that draws but stored no PNG (the non-displaying Agg backend): still missing.
    assert "figure missing: code cell 1" in _problems(reports, "notebooks/03_agg.html")


def test_figure_without_alt_text_fails(reports):
    assert "figure without alt text" in _problems(reports, "notebooks/04_no_alt.html")


def test_unrendered_equation_fails(reports):
    problems = _problems(reports, "math.html")
    assert "1 equation(s) not rendered" in problems
    assert "raw TeX" in problems


def test_leaked_stderr_and_traceback_fail(reports):
    assert "stderr/traceback output: 'Loading weights" in _problems(reports, "stderr.html")
    assert "stderr/traceback output: 'ZeroDivisionError" in _problems(reports, "traceback.html")


def test_local_path_fails(reports):
    assert "local filesystem path" in _problems(reports, "path.html")


def test_visible_solution_fails_and_folded_one_passes(reports):
    problems = reports["solution.html"].problems
    assert any("solution visible without a click: '# Solution 1'" in p for p in problems)
    assert not any("# Solution 2" in p for p in problems)


def test_duplicated_numbering_fails(reports):
    problems = _problems(reports, "numbering.html")
    assert "duplicated numbering in a heading: '3. 3. Masked" in problems
    assert "duplicated numbering in a heading: '4.2. 4.2 Augmentations'" in problems
    assert "duplicated numbering in the navigation" in problems


def test_wrong_colab_link_fails(reports):
    expected = (
        "https://colab.research.google.com/github/example/course/blob/main/notebooks/05_colab.ipynb"
    )
    assert f"does not point at {expected}" in _problems(reports, "notebooks/05_colab.html")


def test_chapter_number_other_than_the_file_name_fails(reports):
    problems = _problems(reports, "notebooks/09_bias.html")
    assert "does not carry the chapter number of 09_bias (9.)" in problems
    # a second notebook of a chapter adds a letter: 03_... titled "3b." passes
    assert "chapter number" not in _problems(reports, "notebooks/03_part.html")


def test_external_request_and_broken_image_fail(reports):
    problems = _problems(reports, "external.html")
    assert (
        "request leaves the machine (fails offline): https://colab.research.google.com" in problems
    )
    assert "image did not load" in problems
    assert "HTTP 404: missing.png" in _problems(reports, "broken.html")


def test_console_error_fails(reports):
    assert "console error: boom" in _problems(reports, "console.html")


def test_screenshots_are_written(reports, tmp_path_factory):
    shots = list(Path(tmp_path_factory.getbasetemp()).glob("site*/screenshots/*.png"))
    assert {p.name for p in shots} >= {"good.png", "notebooks__01_good.png"}


# --- no browser needed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "double"),
    [
        ("3. 3. Masked language modelling", True),
        ("4.2. 4.2 Augmentations", True),
        ("6. 9. Bias evaluation", True),
        ("9. Bias evaluation", False),
        ("4.2 Augmentations", False),
        ("2020 results", False),
    ],
)
def test_double_numbering_pattern(text, double):
    assert bool(check_book.DOUBLE_NUMBER.match(text)) is double


def test_local_path_pattern():
    pattern = check_book.local_path_pattern(Path("/srv/ci/checkout"))
    for leak in (
        "/srv/ci/checkout/results/01.json",
        "/home/runner/.venv/lib",
        "C:\\Users\\me\\course",
        "lib/python3.11/site-packages/tqdm",
    ):
        assert pattern.search(leak), leak
    for fine in ("https://example.com/tmp/x", "../shared/data", "~/.cache/ptlib/data", "a/b"):
        assert not pattern.search(fine), fine


def test_expected_figures_counts_pngs_and_drawing_cells(tmp_path):
    _notebook(tmp_path / "nb.ipynb", [(DRAW, 0), ("plt.show()", 2), ("x = 1", 0)])
    rows = check_book.expected_figures(tmp_path / "nb.ipynb")
    assert [(n, want) for n, want, _ in rows] == [(1, 1), (2, 2), (3, 0)]


def test_missing_chromium_fails_with_the_install_command(tmp_path, monkeypatch, capsys):
    (tmp_path / "index.html").write_text("<html></html>")
    monkeypatch.setattr(check_book, "find_chromium", lambda: None)
    assert check_book.main(["--html", str(tmp_path)]) == 1
    assert "apt-get install -y chromium" in capsys.readouterr().err


def test_strip_progress_bars_keeps_warnings_and_tracebacks(tmp_path):
    run_notebooks = _load("run_notebooks")
    bar = "\rembedding:  42%|####      | 66/157 [01:33<02:19,  1.53s/batch]"
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "",
                "outputs": [
                    {"output_type": "stream", "name": "stderr", "text": bar},
                    {"output_type": "stream", "name": "stderr", "text": "\n"},
                    {"output_type": "stream", "name": "stderr", "text": bar + "\nUserWarning: x\n"},
                    {"output_type": "stream", "name": "stdout", "text": "42\n"},
                ],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert run_notebooks.strip_progress_bars(path) == 3
    outputs = json.loads(path.read_text())["cells"][0]["outputs"]
    assert outputs == [
        {"output_type": "stream", "name": "stderr", "text": "UserWarning: x\n"},
        {"output_type": "stream", "name": "stdout", "text": "42\n"},
    ]


def test_build_book_folds_solutions_and_serves_the_badge_locally(tmp_path):
    build_book = _load("build_book")
    badge = (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/o/r/blob/main/notebooks/01_x.ipynb)"
    )
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# 1. X\n", badge]},
            {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "# Solution 1"},
            {"cell_type": "code", "metadata": {}, "source": "x = 1"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "in.ipynb").write_text(json.dumps(nb))
    build_book.stage_notebook(tmp_path / "in.ipynb", tmp_path / "out.ipynb")
    cells = json.loads((tmp_path / "out.ipynb").read_text())["cells"]
    assert "(../book/images/colab-badge.svg)" in cells[0]["source"]
    assert (
        "(https://colab.research.google.com/github/o/r/blob/main/notebooks/01_x.ipynb)"
        in (cells[0]["source"])
    )
    assert cells[1]["metadata"]["tags"] == ["solution", "hide-cell"]
    assert cells[1]["metadata"]["mystnb"]["code_prompt_show"] == "Show solution"
    assert cells[2]["metadata"] == {}
    assert (ROOT / "book" / "images" / "colab-badge.svg").is_file()
