"""Tests of the workshop kit and the checks around it: tools/make_exercises.py,
tools/make_slides.py, tools/make_checkpoints.py, tools/run_smoke.py and the workflow files."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from ptlib import checksums

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PNG = base64.b64encode(
    base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
).decode()


def _load(name: str):
    """Import tools/<name>.py (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# -- make exercises ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_replace_every_solution_with_an_empty_cell(path: Path) -> None:
    tool = _load("make_exercises")
    original = _nb(path)
    sheet, removed = tool.strip_solutions(original)
    solutions = [c for c in original["cells"] if "solution" in c["metadata"].get("tags", [])]
    assert removed == len(solutions) > 0
    assert len(sheet["cells"]) == len(original["cells"])  # one answer cell per solution
    for before, after in zip(original["cells"], sheet["cells"], strict=True):
        tags = after["metadata"].get("tags", [])
        assert "solution" not in tags
        if "solution" in before["metadata"].get("tags", []):
            assert after["cell_type"] == "code" and tags == ["answer"]
            assert "".join(after["source"]).strip() == "# Your answer"
        else:
            assert after["source"] == before["source"]  # exercise texts and code unchanged
        if after["cell_type"] == "code":
            assert after["outputs"] == [] and after["execution_count"] is None
    assert original["cells"][-1] == _nb(path)["cells"][-1]  # the input is not modified


def test_make_exercises_writes_one_notebook_per_chapter(tmp_path: Path) -> None:
    tool = _load("make_exercises")
    assert tool.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in NOTEBOOKS]
    for path in tmp_path.iterdir():
        assert "# Solution" not in path.read_text(encoding="utf-8")


# -- make slides -------------------------------------------------------------------------------

REMOTE_ASSET = re.compile(r"<(script|link|img)\b[^>]*(src|href)\s*=\s*[\"']?(https?:)?//", re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_slides_from_the_notebook_alone_load_nothing_remote(path: Path) -> None:
    deck = _load("make_slides").build_deck(path, None, None)
    assert deck.count("<section") >= 4  # title, goals, outline, exercises at least
    assert "Learning goals" in deck and "Exercises" in deck
    assert not REMOTE_ASSET.search(deck), REMOTE_ASSET.search(deck)
    assert '<script defer src="../mathjax/tex-mml-chtml.js">' in deck
    assert "@import" not in deck and "url(http" not in deck


def test_slides_show_figures_formulas_and_results(tmp_path: Path) -> None:
    tool = _load("make_slides")
    source = NOTEBOOKS[2]  # chapter 3: display equations in its text
    executed = _nb(source)
    code = next(c for c in executed["cells"] if c["cell_type"] == "code")
    code["metadata"]["mystnb"] = {"image": {"alt": "a one-pixel test figure"}}
    code["outputs"] = [{"output_type": "display_data", "data": {"image/png": PNG}, "metadata": {}}]
    (tmp_path / "run.ipynb").write_text(json.dumps(executed), encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps({"val_mlm_loss": 5.123456, "runtime_s": 9.0}))
    deck = tool.build_deck(source, tmp_path / "run.ipynb", tmp_path / "r.json")
    assert f"data:image/png;base64,{PNG}" in deck and 'alt="a one-pixel test figure"' in deck
    assert "Key formula" in deck and "$$" in deck
    assert "val mlm loss" in deck and "5.123" in deck and "runtime s" not in deck
    assert not REMOTE_ASSET.search(deck)


def test_markdown_helpers() -> None:
    tool = _load("make_slides")
    assert tool.inline("**a** `x<y` see {doc}`../book/notation` [t](http://x)") == (
        "<strong>a</strong> <code>x&lt;y</code> see notation t"
    )
    out = tool.markdown("Intro\ntext\n\n- one\n  more\n- two")
    assert out == "<p>Intro text</p>\n<ul><li>one more</li><li>two</li></ul>"


# -- make checkpoints --------------------------------------------------------------------------


def _fake_cache(cache: Path, names: list[str]) -> None:
    for name in names:
        folder = cache / name
        (folder / "sub").mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(name.encode() * 50)
        (folder / "config.json").write_text(json.dumps({"name": name}))
        (folder / "sub" / "extra.txt").write_text("x")
        checksums.write_manifest(folder, "a test", "MIT")  # as ptlib saves every model


def test_checkpoints_pack_and_unpack_round_trip(tmp_path: Path) -> None:
    tool = _load("make_checkpoints")
    _fake_cache(tmp_path / "a", list(tool.MODELS))
    archive = tool.pack(tmp_path / "a", tmp_path / "out" / "ck.tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        licences = tar.extractfile(f"{tool.TOP}/LICENCES.md").read().decode()
    for model in tool.MODELS:
        assert f"{tool.TOP}/models/{model}/manifest.json" in names
        assert f"`{model}`" in licences
    assert "non-commercial" in licences
    done = tool.unpack(archive, tmp_path / "b")
    assert [p.name for p in done] == sorted(tool.MODELS)
    for model in tool.MODELS:
        manifest = checksums.verify_manifest(tmp_path / "b" / model)
        assert set(manifest["files"]) == {"model.safetensors", "config.json", "sub/extra.txt"}
        assert manifest["licence"] == tool.MODELS[model][1]
        assert (tmp_path / "b" / model / "sub" / "extra.txt").read_text() == "x"
    assert [p.name for p in (tmp_path / "b").iterdir() if p.name.startswith(".")] == []


def test_checkpoints_refuse_a_corrupted_archive_and_move_nothing(tmp_path: Path) -> None:
    tool = _load("make_checkpoints")
    _fake_cache(tmp_path / "a", list(tool.MODELS))
    archive = tool.pack(tmp_path / "a", tmp_path / "ck.tar.gz")
    # rebuild the archive with one flipped byte in one model's weights
    bad = tmp_path / "bad"
    with tarfile.open(archive) as tar:
        tar.extractall(bad, filter="data")
    weights = bad / tool.TOP / "models" / "simclr-cifar10" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[0] ^= 0xFF
    weights.write_bytes(bytes(data))
    with tarfile.open(tmp_path / "bad.tar.gz", "w:gz") as tar:
        tar.add(bad / tool.TOP, arcname=tool.TOP)
    with pytest.raises(checksums.ManifestError, match=r"simclr-cifar10/model\.safetensors"):
        tool.unpack(tmp_path / "bad.tar.gz", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing moved, no temporary folder left


def test_checkpoints_never_pack_a_damaged_or_unverifiable_model(tmp_path: Path) -> None:
    tool = _load("make_checkpoints")
    _fake_cache(tmp_path / "a", list(tool.MODELS))
    weights = tmp_path / "a" / "minilm-sst2" / "model.safetensors"
    weights.write_bytes(b"x" + weights.read_bytes()[1:])  # one byte changed after it was saved
    with pytest.raises(checksums.ManifestError, match=r"minilm-sst2/model\.safetensors"):
        tool.pack(tmp_path / "a", tmp_path / "ck.tar.gz")
    (tmp_path / "a" / "minilm-sst2" / "manifest.json").unlink()  # saved by an older ptlib
    with pytest.raises(SystemExit, match=r"no manifest\.json.*05_fine_tuning"):
        tool.pack(tmp_path / "a", tmp_path / "ck.tar.gz")
    assert not (tmp_path / "ck.tar.gz").exists()


def test_checkpoints_name_the_notebook_of_a_missing_model(tmp_path: Path) -> None:
    tool = _load("make_checkpoints")
    _fake_cache(tmp_path, ["tiny-bert-imdb"])
    with pytest.raises(SystemExit, match="05_fine_tuning"):
        tool.pack(tmp_path, tmp_path / "ck.tar.gz")


# -- smoke check and workflows -----------------------------------------------------------------


def test_smoke_copies_carry_the_smoke_profile(tmp_path: Path) -> None:
    tool = _load("run_smoke")
    (copy,) = tool.prepare([NOTEBOOKS[0]], tmp_path)
    cells = _nb(copy)["cells"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and 'PROFILE = "smoke"' in "".join(injected[0]["source"])
    assert len(cells) == len(_nb(NOTEBOOKS[0])["cells"]) + 1


def _workflow(name: str) -> dict:
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    flow["on"] = flow.pop(True, flow.get("on"))  # YAML 1.1 reads the key `on` as true
    return flow


def test_workflows_run_the_documented_commands() -> None:
    ci, drift, gpu = (_workflow(f"{n}.yml") for n in ("ci", "drift", "gpu"))
    assert {"push", "pull_request"} <= set(ci["on"])
    assert any(s.get("run") == ".ci/run" for s in ci["jobs"]["test"]["steps"])
    assert "schedule" in drift["on"] and "workflow_dispatch" in drift["on"]
    assert any(s.get("run") == "make drift" for s in drift["jobs"]["drift"]["steps"])
    assert "gpu" in gpu["jobs"]["notebooks"]["runs-on"]
    assert any(s.get("run") == "make notebooks GPU=1" for s in gpu["jobs"]["notebooks"]["steps"])
