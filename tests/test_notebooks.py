"""Static checks of the committed notebooks: conventions every chapter follows.

(Executing them is `tools/run_notebooks.py`, run once by `make test`; their numbers are checked
in test_claims.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from _tools import load_tool

from ptlib import REPOSITORY

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _toc_files() -> set[str]:
    def walk(node: object) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            if "file" in node:
                found.add(str(node["file"]))
            for value in node.values():
                found |= walk(value)
        elif isinstance(node, list):
            for item in node:
                found |= walk(item)
        return found

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return {re.sub(r"\.(ipynb|md)$", "", f) for f in walk(toc) | {toc.get("root", "")}}


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found in notebooks/"
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), (
            f"{path.name}: chapters are named NN_name.ipynb"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs: strip them"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_listed_in_toc(path: Path):
    assert f"notebooks/{path.stem}" in _toc_files(), f"add notebooks/{path.stem} to _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_title_badge_and_colab_only_setup(path: Path):
    cells = _cells(path)
    first = _source(cells[0])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), "title first"
    badge = f"https://colab.research.google.com/github/{REPOSITORY.removeprefix('https://github.com/')}/blob/main/notebooks/{path.name}"
    assert badge in first, f"{path.name}: the first cell needs the Colab badge linking {badge}"
    assert "colab-badge.svg" in first
    for word in ("Learning goals", "runtime"):
        assert word.lower() in first.lower(), f"{path.name}: first cell should state {word!r}"
    setup = _source(cells[1])
    assert cells[1]["cell_type"] == "code" and '"google.colab" in sys.modules' in setup, (
        f"{path.name}: cell 2 is the setup cell that installs only inside Colab"
    )
    code = "\n".join(line.split("#")[0] for line in setup.splitlines())
    assert "torch" not in code, "never reinstall torch in Colab: it keeps its own"


def _colab_setup():
    return load_tool("colab_setup")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_installs_one_package_set_at_the_release_tag(path: Path):
    """Every chapter installs ptlib[minilm] at COURSE_REF = v<version of pyproject.toml>."""
    setup = _colab_setup()
    assert _source(_cells(path)[1]) == setup.setup_cell(), (
        f"{path.name}: the setup cell differs from tools/colab_setup.py's: run it"
    )
    assert f'COURSE_REF = "{setup.course_ref()}"' in setup.setup_cell()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_has_parameters_cell_with_profile_and_device(path: Path):
    tagged = [c for c in _cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    src = _source(tagged[0])
    assert re.search(r'^PROFILE = "cpu"', src, re.M), 'parameters: PROFILE = "cpu" by default'
    assert re.search(r'^DEVICE = "auto"', src, re.M), 'parameters: DEVICE = "auto" by default'


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_records_results_and_closes_with_summary_exercises_references(path: Path):
    text = "\n".join(_source(c) for c in _cells(path))
    assert f'results.start("{path.stem}")' in text, f"{path.name}: call results.start(stem)"
    assert "results.finish()" in text, f"{path.name}: call results.finish() at the end"
    headings = [
        line.strip("# ").strip().lower() for line in text.splitlines() if line.startswith("#")
    ]
    for heading in ("summary", "exercises", "references"):
        assert any(h.startswith(heading) for h in headings), f"{path.name}: add a {heading} section"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_are_tagged_solution(path: Path):
    """One convention for exercise solutions: the tag `solution` (tools/build_book.py folds these
    cells, input and output, behind a click; a workshop's exercise sheet can strip them)."""
    for i, cell in enumerate(_cells(path)):
        tags = cell.get("metadata", {}).get("tags", [])
        starts = cell["cell_type"] == "code" and _source(cell).startswith("# Solution")
        assert starts == ("solution" in tags), (
            f"{path.name} cell {i}: a code cell starting '# Solution' is tagged 'solution', "
            "and only such a cell"
        )
        assert not {"hide-input", "hide-output", "hide-cell"} & set(tags), (
            f"{path.name} cell {i}: tag solutions 'solution'; the book build decides how to hide"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_have_alt_text(path: Path):
    """Every cell that draws a figure describes it for readers who cannot see it: cell metadata
    {"mystnb": {"image": {"alt": "..."}}}, which the book puts in the <img alt>."""
    draws = _check_book().DRAWS_FIGURE
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code" and draws.search(_source(cell)):
            alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt.split()) >= 5, (
                f"{path.name} cell {i} draws a figure: describe it in the cell metadata "
                '{"mystnb": {"image": {"alt": "..."}}}'
            )


def _check_book():
    return load_tool("check_book")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_setup_cell_has_a_smoke_profile(path: Path):
    """The cell after `parameters` sizes the profiles; `make smoke` runs PROFILE="smoke"."""
    cells = _cells(path)
    i = next(i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))
    assert 'PROFILE == "smoke"' in _source(cells[i + 1]), (
        f'{path.name}: the setup cell after the parameters needs a PROFILE == "smoke" branch'
    )
