"""The smoke check: every notebook, top to bottom, with ``PROFILE = "smoke"``, under nbval.

    python tools/run_smoke.py                    # all notebooks (make smoke)
    python tools/run_smoke.py 03_masked_language_modelling   # only the named ones

The smoke profile (tiny data, a handful of steps) runs the same code path as the default one in
seconds per notebook: it answers "does every cell still run?", for contributors and for the
library-drift job (``make drift``). It computes nothing the book quotes; the full runs that
produce the numbers are ``tools/run_notebooks.py`` (papermill).

nbval has no parameters, so this script writes papermill-parameterised copies
(``papermill --prepare-only -p PROFILE smoke``) into ``_build/smoke/notebooks/`` and runs
``pytest --nbval-lax`` on them, in this environment's kernel, one cell timeout for all. The
copies sit beside a copy of nothing else: the notebooks use no relative paths. The kernels write
their results to ``_build/smoke/results`` and their models to ``_build/smoke/cache`` (via
``PTLIB_RESULTS_DIR`` and ``PTLIB_CACHE_DIR``), so a smoke run never touches the recorded
numbers in ``results/`` or the models in the real cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SMOKE = ROOT / "_build" / "smoke"

#: The kernels' environment: no figures kept, no progress bars, libraries quiet.
KERNEL_ENV = {
    "MPLBACKEND": "Agg",
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "PYTHONWARNINGS": "ignore",
}


def prepare(paths: list[Path], out: Path) -> list[Path]:
    """Write a copy of every notebook with ``PROFILE = "smoke"`` injected after its parameters
    cell (papermill's ``--prepare-only``); return the copies' paths."""
    import papermill

    out.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in paths:
        copy = out / path.name
        papermill.execute_notebook(
            str(path),
            str(copy),
            parameters={"PROFILE": "smoke"},
            prepare_only=True,
            kernel_name="python3",
            progress_bar=False,
        )
        copies.append(copy)
    return copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("stems", nargs="*", help="notebook stems to run (default: all)")
    parser.add_argument(
        "--cell-timeout", type=int, default=300, help="seconds per cell (default 300)"
    )
    args = parser.parse_args(argv)

    paths = {p.stem: p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}
    unknown = [s for s in args.stems if s not in paths]
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; known: {sorted(paths)}")
    chosen = [paths[s] for s in args.stems] if args.stems else list(paths.values())

    shutil.rmtree(SMOKE, ignore_errors=True)
    copies = prepare(chosen, SMOKE / "notebooks")
    data_dir = os.environ.get("PTLIB_DATA_DIR") or ROOT.parent / "shared" / "data"
    env = {
        **os.environ,
        **KERNEL_ENV,
        # the local datasets: $PTLIB_DATA_DIR, else ../shared/data beside the clone (as CI)
        **({"PTLIB_DATA_DIR": str(data_dir)} if Path(data_dir).is_dir() else {}),
        "PTLIB_RESULTS_DIR": str(SMOKE / "results"),
        "PTLIB_CACHE_DIR": str(SMOKE / "cache"),
    }
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax"]
    cmd += ["--nbval-current-env", "--nbval-cell-timeout", str(args.cell_timeout)]
    cmd += ["--durations=10", *map(str, copies)]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    code = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    print(f"smoke check of {len(copies)} notebook(s): {time.perf_counter() - t0:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
