"""ptlib under wrong and hostile input: every case gets a clear error or the correct behaviour.

One table of cases across the public API (issue 17). Each :class:`Case` calls ptlib the way a
new user might get it wrong and asserts one of three outcomes:

- ``raises``: that exception type, with a message that matches ``match`` (a regular
  expression: it must name the argument, file or variable, and say what to do);
- ``warns``: that warning, matching ``match``, and then ``check`` on the result;
- neither: ``check`` on the result (the correct behaviour, e.g. nothing was deleted).

``call`` and ``check`` receive pytest's ``tmp_path``, so cases that write files stay apart.
The sections below follow ptlib's modules, bottom layer first.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ptlib import checks


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Path], Any]
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None
    match: str = ""
    warns: type[Warning] | None = None
    check: Callable[[Any, Path], None] | None = None


# The tables are laid out by hand, one case per two lines: ruff format leaves them alone.
# fmt: off

# ---------------------------------------------------------------------------------------------
# checks: the argument checks every module uses
# ---------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CHECKS_CASES = [
    Case("checks/positive_int-zero", lambda p: checks.positive_int(0, "batch_size"),
         ValueError, r"batch_size must be at least 1, got 0"),
    Case("checks/positive_int-bool", lambda p: checks.positive_int(True, "max_steps"),
         TypeError, r"max_steps must be a whole number"),
    Case("checks/finite_number-nan", lambda p: checks.finite_number(float("nan"), "temperature"),
         ValueError, r"temperature must be a finite number"),
    Case("checks/finite_array-empty", lambda p: checks.finite_array([], "scores"),
         ValueError, r"scores is empty"),
    Case("checks/finite_array-inf", lambda p: checks.finite_array([1.0, np.inf], "scores"),
         ValueError, r"scores holds 1 NaN or infinite"),
    Case("checks/finite_tensor-nan", lambda p: checks.finite_tensor(torch.tensor([np.nan]), "logits"),
         ValueError, r"logits holds 1 NaN"),
    Case("checks/texts-one-string", lambda p: checks.texts("a sentence"),
         TypeError, r"texts must be a sequence of strings, not one string"),
    Case("checks/texts-none", lambda p: checks.texts(["ok", None]),
         TypeError, r"texts\[1\] is None"),
    Case("checks/read_json-corrupt", lambda p: checks.read_json(_write(p / "x.json", "{"), "results file"),
         ValueError, r"results file .*x\.json is not valid JSON"),
]

# ---------------------------------------------------------------------------------------------
# runtime, results, storage, data
# ---------------------------------------------------------------------------------------------

RUNTIME_DATA_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# models: checksums, weights, mlm, contrastive, saved classifiers
# ---------------------------------------------------------------------------------------------

MODEL_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# training: train, finetune
# ---------------------------------------------------------------------------------------------

TRAINING_CASES: list[Case] = []

# ---------------------------------------------------------------------------------------------
# statistics: objectives, evaluate, bias, text, vision and the chapter 6-10 modules
# ---------------------------------------------------------------------------------------------

STATISTICS_CASES: list[Case] = []

# fmt: on
# ---------------------------------------------------------------------------------------------

CASES = CHECKS_CASES + RUNTIME_DATA_CASES + MODEL_CASES + TRAINING_CASES + STATISTICS_CASES


def test_the_table_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "two cases share an id"
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case: Case, tmp_path: Path) -> None:
    if case.raises is not None:
        with pytest.raises(case.raises) as info:
            case.call(tmp_path)
        assert re.search(case.match, str(info.value)), f"unhelpful message: {info.value}"
        return
    if case.warns is not None:
        with pytest.warns(case.warns, match=case.match):
            result = case.call(tmp_path)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # correct input: no surprise warning
            result = case.call(tmp_path)
    assert case.check is not None, f"{case.id}: a case without raises needs a check"
    case.check(result, tmp_path)
