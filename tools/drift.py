"""Library drift: the newest releases that ptlib's ranges allow, tested before a reader meets them.

    python3.11 tools/drift.py              # make drift

Builds a separate environment, ``.venv-drift`` (``$DRIFT_VENV``), with ``pip install --upgrade
--upgrade-strategy eager -e '.[minilm]'``: every dependency at the newest release that
``pyproject.toml``'s ranges admit, and the tools the tests need (the other names of
``requirements.txt``) at their newest releases. torch is the exception: it is installed first,
alone, at ``$DRIFT_TORCH`` (default: the locked version), because PyPI's newer Linux wheels are
multi-GB CUDA builds; set ``DRIFT_TORCH`` (and ``TORCH_INDEX``) to try another one.

Then it prints every package whose version differs from ``requirements-lock.txt``, runs the unit
tests (``pytest -m "not claims"``) and the smoke check (``tools/run_smoke.py``) there, and prints
a summary. Exit status 0 only if both pass. It never touches ``.venv`` or the lock file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / os.environ.get("DRIFT_VENV", ".venv-drift")
PY = VENV / "bin" / "python"
#: Not needed by the unit tests or the smoke check (the book build has its own pins).
SKIP_TOOLS = {"torch", "jupyter-book", "ruff"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``name == version`` lines of a requirements file, by normalised name."""
    out = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            out[normalise(name)] = version.strip()
    return out


def run(cmd: list[str], **kw: object) -> int:
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, **kw).returncode


def install(torch: str) -> None:
    if not PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip>=24"], check=True)
    index = os.environ.get("TORCH_INDEX")
    subprocess.run(
        [*pip, *(["--index-url", index] if index else []), f"torch=={torch}"], check=True
    )
    constraints = VENV / "drift-constraints.txt"
    constraints.write_text(f"torch=={torch}\n")
    tools = [n for n in pins(ROOT / "requirements.txt") if n not in SKIP_TOOLS]
    cmd = [*pip, "--upgrade", "--upgrade-strategy", "eager", "-c", str(constraints)]
    subprocess.run([*cmd, "-e", ".[minilm]", *tools], cwd=ROOT, check=True)


def differences() -> list[tuple[str, str, str]]:
    """``(package, locked version, drift version)`` for every package of the drift environment
    whose version differs from the lock (``-``: not in the lock). Locked packages that the drift
    environment does not install (the book's toolchain) are left out."""
    listed = subprocess.run(
        [str(PY), "-m", "pip", "list", "--format=json", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    )
    now = {normalise(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    lock = pins(ROOT / "requirements-lock.txt")
    direct = set(pins(ROOT / "requirements.txt"))
    rows = []
    for name in sorted(now):
        old, new = lock.get(name, "-"), now[name]
        if old != new.split("+")[0] and name not in {"pip", "setuptools", "wheel"}:
            rows.append((name + (" *" if name in direct else ""), old, new))
    return rows


def main() -> int:
    torch = os.environ.get("DRIFT_TORCH") or pins(ROOT / "requirements-lock.txt")["torch"]
    t0 = time.perf_counter()
    install(torch)
    rows = differences()
    print(f"\n{len(rows)} package(s) differ from requirements-lock.txt (* = direct dependency):")
    print(f"{'package':32s} {'lock':>14s} {'drift':>14s}")
    for name, old, new in rows:
        print(f"{name:32s} {old:>14s} {new:>14s}")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    unit = run(
        [str(PY), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not claims"], env=env
    )
    smoke = run([str(PY), "tools/run_smoke.py"], env=env)
    print(
        f"\ndrift: {len(rows)} version(s) differ; unit tests {'pass' if unit == 0 else 'FAIL'}; "
        f"smoke check {'passes' if smoke == 0 else 'FAILS'} ({time.perf_counter() - t0:.0f} s)"
    )
    return 0 if unit == 0 and smoke == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
