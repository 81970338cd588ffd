"""Build the HTML book from the executed notebooks, with warnings as errors.

    python tools/build_book.py

Jupyter Book does not execute anything (``execute_notebooks: "off"``): this script stages the
book sources with the executed copies from ``_build/notebooks/`` (written by
``tools/run_notebooks.py``) in ``_build/site/``, builds it with ``-W``, and puts the HTML in
``_build/html/``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
SITE = BUILD / "site"
EXECUTED = BUILD / "notebooks"


def main() -> int:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [nb.name for nb in notebooks if not (EXECUTED / nb.name).exists()]
    if missing:
        print(
            f"no executed copy of {', '.join(missing)} in {EXECUTED.relative_to(ROOT)}: "
            "run `make notebooks` first (or `make book`, which does both).",
            file=sys.stderr,
        )
        return 1
    stale = [
        nb.name for nb in notebooks if (EXECUTED / nb.name).stat().st_mtime < nb.stat().st_mtime
    ]
    if stale:
        print(
            f"warning: the executed copies of {', '.join(stale)} are older than the sources; "
            "run `make notebooks` to refresh them.",
            file=sys.stderr,
        )

    shutil.rmtree(SITE, ignore_errors=True)
    SITE.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, SITE / name)
    shutil.copytree(ROOT / "book", SITE / "book")
    (SITE / "notebooks").mkdir()
    for nb in notebooks:
        shutil.copy2(EXECUTED / nb.name, SITE / "notebooks" / nb.name)

    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(SITE),
        "-W",
        "-n",
        "--keep-going",
        "--builder",
        "html",
    ]
    print("$", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        print("the book build failed: the warnings above are errors (-W).", file=sys.stderr)
        return 1
    html = BUILD / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.move(str(SITE / "_build" / "html"), str(html))
    print(f"built {html.relative_to(ROOT) / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
