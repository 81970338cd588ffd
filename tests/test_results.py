import json
import multiprocessing
import os
import warnings

import numpy as np
import pytest
import torch

from ptlib import results


@pytest.fixture(autouse=True)
def _no_notebook_recording(monkeypatch):
    """Every test starts with no notebook recording (the state is per process)."""
    monkeypatch.setattr(results, "_state", {"stem": None, "t0": None, "finished": False})


def _record_many(results_dir: str, stem: str, worker: int, n: int, barrier) -> None:
    """One process recording ``n`` keys into ``stem`` (started by the parent), all at once."""
    os.environ["PTLIB_RESULTS_DIR"] = results_dir
    results._state["stem"] = stem
    barrier.wait(timeout=120)  # every process is ready: they write at the same time
    for i in range(n):
        results.record(f"w{worker}_k{i}", i)


def test_processes_recording_into_one_file_lose_no_key(results_tmp):
    results.start("shared")
    workers, keys = 4, 40
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    procs = [
        ctx.Process(target=_record_many, args=(str(results_tmp), "shared", w, keys, barrier))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0] * workers
    data = results.load("shared")
    assert len(data) == workers * keys, f"{workers * keys - len(data)} keys were lost"
    assert data == {f"w{w}_k{i}": i for w in range(workers) for i in range(keys)}
    assert [p.name for p in results_tmp.iterdir() if not p.name.startswith(".")] == ["shared.json"]


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


def test_without_flock_a_lock_file_serialises_writers(results_tmp, monkeypatch):
    monkeypatch.setattr(results, "fcntl", None)  # the Windows path
    monkeypatch.setattr(results, "LOCK_TIMEOUT_S", 0.05)
    results.start("nb")
    results.record("a", 1)
    lock = results_tmp / ".nb.json.lock"
    assert not lock.exists()  # released after each write
    lock.write_text("")  # another process holds it (or one crashed holding it)
    with pytest.raises(TimeoutError, match=r"nb\.json has been locked by .*delete"):
        results.record("b", 2)
    lock.unlink()
    results.record("b", 2)
    assert results.load("nb") == {"a": 1, "b": 2}


def test_keys_must_be_non_empty_strings(results_tmp):
    results.start("nb")
    with pytest.raises(TypeError, match="key must be a string"):
        results.record(3, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key must be a non-empty name"):
        results.record(" ", 1.0)
    with pytest.raises(ValueError, match=r"non-finite number \(inf\) under key 'curve'\[1\]"):
        results.record("curve", [1.0, float("inf")])
    with pytest.raises(TypeError, match="type complex under key 'z'"):
        results.record("z", 1j)
    assert results.load("nb") == {}


def test_starting_another_notebook_before_finish_warns(results_tmp):
    results.start("a")
    results.record("x", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results.start("a")  # running the same notebook again: no warning, a fresh file
    with pytest.warns(UserWarning, match=r"results.start\('b'\) while 'a' is still recording"):
        results.start("b")
    results.finish()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results.start("c")  # after finish(): no warning
    assert results.current() == "c"


def test_stems_are_plain_names(results_tmp):
    for bad in ("", "../x", "a/b", "a\\b", ".hidden", "01_background.json"):
        with pytest.raises(ValueError, match="stem must be a notebook name"):
            results.start(bad)
    with pytest.raises(TypeError, match="stem must be a notebook name"):
        results.load(None)  # type: ignore[arg-type]


def test_a_damaged_results_file_is_named(results_tmp):
    results_tmp.mkdir()
    (results_tmp / "nb.json").write_text('{"acc": 0.9', encoding="utf-8")
    with pytest.raises(ValueError, match=r"results file .*nb\.json is not valid JSON"):
        results.load("nb")
    (results_tmp / "nb.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"nb\.json holds a list"):
        results.load("nb")


def test_results_dir_that_is_a_file(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("PTLIB_RESULTS_DIR", str(tmp_path / "f"))
    with pytest.raises(NotADirectoryError, match="PTLIB_RESULTS_DIR .* is a file"):
        results.start("nb")
