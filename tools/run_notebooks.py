"""Execute every chapter notebook with papermill and time it.

    python tools/run_notebooks.py            # default (CPU) parameters
    python tools/run_notebooks.py --gpu      # the GPU-sized parameters, on CUDA
    python tools/run_notebooks.py 01_background   # only the named notebooks
    python tools/run_notebooks.py --jobs 1   # one at a time (default: two side by side)

Two notebooks run side by side by default, each in its own process with one PyTorch thread (the
notebooks' ``CPU_THREADS`` parameter), so the numbers are the same as one at a time. The longest
start first, and a notebook that reuses a model another one trains (``NEEDS``) waits for it.
Each notebook's seconds are printed, recorded, and flagged when over ``BUDGET_S``; a slow
notebook is reported, not failed.

Executed copies go to ``_build/notebooks/``; each notebook writes its numbers to
``results/<stem>.json`` and this script writes the seconds per notebook to
``results/_timings.json`` (or ``$PTLIB_RESULTS_DIR``). With ``--gpu`` both go to
``results/gpu/`` instead, so a GPU run never overwrites the CPU numbers the tests check.

The executed copies are the pages of the book: the kernels get the inline matplotlib backend
(whatever MPLBACKEND the caller set) and no progress bars (``KERNEL_ENV``), and the progress bars
a notebook asks for explicitly are removed from the stderr outputs afterwards
(``strip_progress_bars``). Warnings and tracebacks are kept; ``make check-book`` fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "_build" / "notebooks"
OUT_GPU = ROOT / "_build" / "notebooks_gpu"

# The environment of the kernels, set over whatever the caller exported: the executed copies are
# the pages of the book. Figures: the inline backend, so every figure is stored as a PNG output
# (MPLBACKEND=Agg, common in CI, would store none). Progress bars: off where the libraries allow
# it, and transformers' log only at error level. One known-benign warning is ignored: tqdm's
# "IProgress not found" (no ipywidgets in the kernel, so tqdm falls back to text bars), which
# prints a path of the build machine. Other warnings and all errors stay visible.
KERNEL_ENV = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "PYTHONWARNINGS": "ignore:IProgress not found",
}

# A tqdm progress bar line: "embedding:  42%|####      | 66/157 [01:33<02:19, 1.53s/batch]", or
# without a total, "steps: 12it [00:01, 9.50it/s]".
PROGRESS_BAR = re.compile(
    r"\d{1,3}%\|.*\|\s*[\d.]+[kMG]?/[\d.]+[kMG]?\s*\[[^\]]*\]\s*$"
    r"|^[^:]*:\s*[\d.]+[kMG]?\w*\s*\[\d+:\d\d[^\]]*\]\s*$"
)


def strip_progress_bars(path: Path) -> int:
    """Drop progress bars from the stderr outputs of an executed notebook; return the lines dropped.

    Bars that a notebook asks for explicitly (``progress=True``) ignore TQDM_DISABLE. Everything
    else on stderr (warnings, tracebacks) is kept, so the book check still sees it.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    dropped = 0
    for cell in nb["cells"]:
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out["text"] if isinstance(out["text"], str) else "".join(out["text"])
                lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
                kept = [line for line in lines if not PROGRESS_BAR.search(line)]
                if not kept:  # only bars, or the newline a bar ends with
                    dropped += max(len(lines), 1)
                    continue
                if len(kept) < len(lines):
                    dropped += len(lines) - len(kept)
                    out["text"] = "\n".join(kept) + "\n"
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    if dropped:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return dropped


#: Notebooks that load a model another notebook trains start once that notebook has finished, so
#: they reuse its model instead of training it again (run alone, they train it themselves).
NEEDS: dict[str, tuple[str, ...]] = {
    "05_fine_tuning": ("03_masked_language_modelling",),
    "09_bias_evaluation": ("03_masked_language_modelling",),
    "07_vision_applications": ("04_contrastive_learning",),
    "07_vision_applications_2": (
        "04_contrastive_learning",
        "07_vision_applications",
    ),  # closing table
    "08_medical_diagnosis": ("04_contrastive_learning", "08_recommendation_and_risk"),
    "10_trends": ("05_fine_tuning",),
    "10_challenges": ("05_fine_tuning",),
    "06_nlp_applications_2": ("06_nlp_applications",),  # its closing table reads part 1
}
#: Seconds a notebook's default parameters may take on a quiet 2-core machine (one thread each,
#: two notebooks side by side). Runtime is reported and flagged, never a test failure: it depends
#: on the machine and its load, and the recorded numbers do not.
BUDGET_S = 240


def execution_order(stems: list[str], previous: dict[str, float]) -> list[str]:
    """The order to start notebooks in: the longest chain of work first.

    A notebook's priority is its own runtime plus that of the longest notebook waiting for it
    (``NEEDS``), from the previous run's timings (3 minutes where there is none): chapter 3
    starts first because chapters 5 and 9 wait for it.
    """

    def seconds(stem: str) -> float:
        return previous.get(stem, 180.0)

    def priority(stem: str) -> float:
        after = [seconds(s) for s, needs in NEEDS.items() if stem in needs and s in stems]
        return seconds(stem) + max(after, default=0.0)

    return sorted(stems, key=lambda s: (-priority(s), s))


def run_one(path: Path, out: Path, params: dict[str, str], timeout: int) -> tuple[float, str]:
    """Execute one notebook with papermill in a process of its own; return (seconds, error)."""
    cmd = [sys.executable, "-m", "papermill", str(path), str(out / path.name)]
    cmd += ["--cwd", str(NOTEBOOKS), "--kernel", "python3", "--no-progress-bar"]
    cmd += ["--no-log-output", "--execution-timeout", str(timeout)]
    for name, value in params.items():
        cmd += ["-p", name, value]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = round(time.perf_counter() - t0, 1)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return seconds, "\n".join(lines[-12:]) or f"papermill exited with {proc.returncode}"
    strip_progress_bars(out / path.name)
    return seconds, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("stems", nargs="*", help="notebook stems to run (default: all)")
    parser.add_argument("--gpu", action="store_true", help="run with PROFILE='gpu', DEVICE='cuda'")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(os.environ.get("PTLIB_NOTEBOOK_JOBS", "2")),
        help="notebooks run side by side (default 2, or $PTLIB_NOTEBOOK_JOBS; each uses one "
        "thread, its CPU_THREADS parameter, so the numbers do not depend on this)",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")

    paths = {p.stem: p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}
    stems = list(paths)
    if args.stems:
        unknown = [s for s in args.stems if s not in paths]
        if unknown:
            parser.error(f"unknown notebook(s) {unknown}; known: {sorted(paths)}")
        stems = list(args.stems)
    params = {"PROFILE": "gpu", "DEVICE": "cuda"} if args.gpu else {}

    default = ROOT / "results" / "gpu" if args.gpu else ROOT / "results"
    results_dir = Path(os.environ.get("PTLIB_RESULTS_DIR") or default)
    os.environ["PTLIB_RESULTS_DIR"] = str(results_dir.resolve())  # the kernels inherit it
    os.environ.update(KERNEL_ENV)  # figures inline, no progress bars: what the book shows
    results_dir.mkdir(parents=True, exist_ok=True)
    timings_path = results_dir / "_timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}

    out = OUT_GPU if args.gpu else OUT
    out.mkdir(parents=True, exist_ok=True)
    waiting = execution_order(stems, timings)
    running: dict[Future, str] = {}
    done: set[str] = set()
    failed: dict[str, str] = {}
    t_start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        while waiting or running:
            # start what is ready: what it needs has run (or is not part of this run)
            for stem in list(waiting):
                if len(running) == args.jobs:
                    break
                needs = [n for n in NEEDS.get(stem, ()) if n in stems]
                if any(n in failed for n in needs):
                    waiting.remove(stem)
                    failed[stem] = f"not run: it needs {', '.join(needs)}, which failed"
                elif all(n in done for n in needs):
                    waiting.remove(stem)
                    print(f"==> {stem} {params or ''}", flush=True)
                    running[pool.submit(run_one, paths[stem], out, params, args.timeout)] = stem
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stem = running.pop(future)
                seconds, error = future.result()
                if error:
                    failed[stem] = error
                    print(f"FAILED {stem} after {seconds:.0f} s:\n{error}", file=sys.stderr)
                    continue
                done.add(stem)
                timings[stem] = seconds
                flag = f"  OVER the {BUDGET_S} s budget" if seconds > BUDGET_S else ""
                print(f"    {stem}: {seconds:.1f} s{flag}", flush=True)
    wall = time.perf_counter() - t_start
    timings_path.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    if not args.stems:  # a whole run: the book's runtime table states its wall time
        run = {"notebooks": len(done), "jobs": args.jobs, "threads": 1, "cpus": os.cpu_count()}
        run["wall_s"] = round(wall, 1)
        (results_dir / "_run.json").write_text(json.dumps(run, indent=2) + "\n")

    print(f"\n{'notebook':36s} {'seconds':>8s}")
    for stem in stems:
        seconds = f"{timings[stem]:8.1f}" if stem in done else "  failed"
        over = "  over budget" if stem in done and timings[stem] > BUDGET_S else ""
        print(f"{stem:36s} {seconds}{over}")
    print(f"{len(done)} notebook(s), {args.jobs} at a time: {wall:.0f} s wall time", flush=True)
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
