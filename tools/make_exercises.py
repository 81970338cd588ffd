"""Exercise notebooks for learners: every chapter without its solutions.

    python tools/make_exercises.py          # all chapters -> _build/exercises/NN_name.ipynb

Each chapter is copied without outputs, and every cell tagged ``solution`` (an exercise's
solution, the book's convention) is replaced by an empty code cell tagged ``answer``, where the
learner writes their answer. The exercise texts (the markdown cells) and everything else stay as
they are, so the notebook still runs top to bottom.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "_build" / "exercises"


def strip_solutions(nb: dict) -> tuple[dict, int]:
    """A copy of notebook ``nb`` with every ``solution`` cell replaced by an empty code cell and
    no outputs; returns ``(notebook, number of solutions removed)``."""
    nb = json.loads(json.dumps(nb))  # a deep copy
    removed = 0
    cells = []
    for cell in nb["cells"]:
        if "solution" in cell.get("metadata", {}).get("tags", []):
            removed += 1
            answer = {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {"tags": ["answer"]},
            }
            if "id" in cell:
                answer["id"] = cell["id"]
            cell = {**answer, "outputs": [], "source": ["# Your answer\n"]}
        elif cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    nb["cells"] = cells
    return nb, removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb, removed = strip_solutions(json.loads(path.read_text(encoding="utf-8")))
        dest = args.out / path.name
        dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(
            f"{dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}: "
            f"{removed} solution(s) removed"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
