"""Execute every chapter notebook with papermill and time it.

    python tools/run_notebooks.py            # default (CPU) parameters
    python tools/run_notebooks.py --gpu      # the GPU-sized parameters, on CUDA
    python tools/run_notebooks.py 01_background   # only the named notebooks

Executed copies go to ``_build/notebooks/``; each notebook writes its numbers to
``results/<stem>.json`` and this script writes the seconds per notebook to
``results/_timings.json`` (or ``$PTLIB_RESULTS_DIR``). With ``--gpu`` both go to
``results/gpu/`` instead, so a GPU run never overwrites the CPU numbers the tests check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import papermill as pm

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "_build" / "notebooks"
OUT_GPU = ROOT / "_build" / "notebooks_gpu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("stems", nargs="*", help="notebook stems to run (default: all)")
    parser.add_argument("--gpu", action="store_true", help="run with PROFILE='gpu', DEVICE='cuda'")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)

    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.stems:
        known = {p.stem: p for p in paths}
        unknown = [s for s in args.stems if s not in known]
        if unknown:
            parser.error(f"unknown notebook(s) {unknown}; known: {sorted(known)}")
        paths = [known[s] for s in args.stems]
    params = {"PROFILE": "gpu", "DEVICE": "cuda"} if args.gpu else {}

    default = ROOT / "results" / "gpu" if args.gpu else ROOT / "results"
    results_dir = Path(os.environ.get("PTLIB_RESULTS_DIR") or default)
    os.environ["PTLIB_RESULTS_DIR"] = str(results_dir.resolve())  # the kernels inherit it
    # Progress bars: a line every 10 s at most, so the rendered book is not filled with them.
    os.environ.setdefault("TQDM_MININTERVAL", "10")
    results_dir.mkdir(parents=True, exist_ok=True)
    timings_path = results_dir / "_timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}

    out = OUT_GPU if args.gpu else OUT
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for path in paths:
        print(f"==> {path.name} {params or ''}", flush=True)
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(
                str(path),
                str(out / path.name),
                parameters=params,
                cwd=str(NOTEBOOKS),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                execution_timeout=args.timeout,
            )
        except pm.PapermillExecutionError as err:
            print(f"FAILED {path.name}: {err.ename}: {err.evalue}", file=sys.stderr)
            failed.append(path.name)
            continue
        seconds = round(time.perf_counter() - t0, 1)
        timings[path.stem] = seconds
        print(f"    {seconds:.1f} s", flush=True)
    timings_path.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    if failed:
        print(
            f"{len(failed)} notebook(s) failed: {', '.join(failed)}; the executed copies in "
            f"{out.relative_to(ROOT)} show the failing cell.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
