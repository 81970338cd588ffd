import json

import numpy as np
import pytest
import torch

from ptlib import results


def test_record_writes_the_notebook_file(results_tmp):
    results.start("01_background")
    assert results.record("acc", np.float32(0.875)) == np.float32(0.875)
    results.record("curve", np.array([1, 2, 3]))
    results.record("loss", torch.tensor(2.5))
    results.record("table", {"a": [np.int64(1), 2.0]})
    data = json.loads((results_tmp / "01_background.json").read_text())
    assert data == {"acc": 0.875, "curve": [1, 2, 3], "loss": 2.5, "table": {"a": [1, 2.0]}}
    assert results.load("01_background") == data
    assert results.current() == "01_background"


def test_start_discards_an_earlier_run(results_tmp):
    results.start("x")
    results.record("old", 1)
    results.start("x")
    assert results.load("x") == {}


def test_finish_records_runtime(results_tmp, monkeypatch):
    clock = iter([100.0, 142.34])
    monkeypatch.setattr(results.time, "perf_counter", lambda: next(clock))
    results.start("nb")
    assert results.finish() == pytest.approx(42.3)
    assert results.load("nb")["runtime_s"] == pytest.approx(42.3)


def test_bad_values_and_stems_are_refused(results_tmp):
    results.start("nb")
    with pytest.raises(ValueError, match="non-finite"):
        results.record("nan", float("nan"))
    with pytest.raises(TypeError, match="cannot record"):
        results.record("obj", object())
    assert "nan" not in results.load("nb")
    with pytest.raises(ValueError, match="without folder or suffix"):
        results.start("01_background.ipynb")


def test_record_before_start_says_what_to_do(results_tmp, monkeypatch):
    monkeypatch.setitem(results._state, "stem", None)
    with pytest.raises(RuntimeError, match="start"):
        results.record("a", 1)


def test_load_missing_is_empty(results_tmp):
    assert results.load("never_ran") == {}
    assert results.results_dir() == results_tmp
