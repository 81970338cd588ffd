"""Tests of tools/run_notebooks.py's schedule: which notebook starts first, and what waits."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)

STEMS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_chapter_3_starts_first_because_others_wait_for_it():
    order = run_notebooks.execution_order(STEMS, previous={})
    assert order[0] == "03_masked_language_modelling"
    for stem, needs in run_notebooks.NEEDS.items():
        assert all(order.index(n) < order.index(stem) for n in needs), stem


def test_the_longest_chain_of_work_starts_first():
    previous = {s: 60.0 for s in STEMS} | {"04_contrastive_learning": 500.0}
    order = run_notebooks.execution_order(STEMS, previous)
    assert order[0] == "04_contrastive_learning"  # 500 s alone beats 60 + 60 s of chapter 3 + 5
    assert order[1] == "03_masked_language_modelling"


def test_dependencies_name_real_notebooks():
    for stem, needs in run_notebooks.NEEDS.items():
        assert stem in STEMS and set(needs) <= set(STEMS)
