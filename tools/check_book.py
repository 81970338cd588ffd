"""Open every page of the built book in headless Chromium and check what a reader sees.

    python tools/check_book.py              # the book in _build/html (make check-book)
    python tools/check_book.py --html DIR --notebooks DIR --screenshots DIR

The book is served from 127.0.0.1 and the browser is offline: a request to any other host is
refused and reported. For each page, after MathJax has typeset it, the check fails on

* a console error or an uncaught exception;
* a request that fails (refused because it leaves the machine, a 4xx/5xx, a network error);
* math left unrendered: a ``.math`` element without MathJax output, or raw TeX (``\\(``,
  ``\\[``, ``$$``, ``\\begin{``) in the text outside code;
* an image that did not load, and a figure without alt text (an ``alt`` equal to the file name,
  Sphinx's fallback, counts as none);
* a missing figure: a code cell of the executed notebook (``_build/notebooks/``) that draws a
  figure (its source calls ``new_figure``/``plt.subplots``/... or it has PNG outputs) while the
  page shows fewer images for that cell;
* stderr or traceback output;
* text that contains a local filesystem path (this checkout, a home directory, site-packages, ...)
  in prose or in outputs (code that the authors wrote, such as shell examples, is not checked);
* an exercise solution visible without a click (a cell tagged ``solution``, or starting with
  ``# Solution``, must be folded; clicking "Show solution" must then show it);
* duplicated numbering ("3. 3. Masked ...", "4.2. 4.2 ...") in headings or the navigation, and a
  chapter title whose number is not the one in its file name (09_... is chapter 9; a second
  notebook of a chapter may add a letter, 03_... titled "3b.");
* on a chapter page, a Colab link (badge or launch button) that does not point at the notebook's
  path in the repository, or no Colab link at all.

The search page is also checked: a query must return results, offline. A full-page screenshot of
every page goes to ``_build/screenshots/``, and a table (page, figures, equations, problems) is
printed. The exit status is 1 when there is any problem, and also when Chromium is missing (the
message gives the command that installs it): this check never skips.

The browser is the system's Chromium driven by Playwright (pinned in requirements.txt); Playwright's
own browser download is not used, so the check runs offline.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
EXECUTED = ROOT / "_build" / "notebooks"
SCREENSHOTS = ROOT / "_build" / "screenshots"

CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
INSTALL_CHROMIUM = (
    "apt-get update && apt-get install -y chromium   (Debian/Ubuntu, as root; elsewhere install "
    "Chromium and set CHROMIUM=/path/to/chromium)"
)
SEARCH_QUERY = "models"

# A code cell draws a figure when its source calls one of these.
DRAWS_FIGURE = re.compile(
    r"\bnew_figure\(|\bplt\.(subplots|figure|show|plot|imshow|bar|barh|scatter|hist)\("
)
# "3. 3. Masked ...", "4.2. 4.2 Augmentations", "6. 9. Bias ...": two numbers in a row.
DOUBLE_NUMBER = re.compile(r"^\s*\d+(\.\d+)*\.?\s+\d+(\.\d+)*\.?\s")
# TeX that MathJax should have turned into math.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\$[^$\s][^$]*\\[A-Za-z]+[^$]*\$")


def local_path_pattern(root: Path = ROOT) -> re.Pattern[str]:
    """Absolute paths of a build machine: this checkout, home directories, temp and package dirs."""
    parts = [
        re.escape(str(root)),
        r"(?<![\w.~])/(?:home|root|Users|tmp|var/folders|private/var)/[\w.-]+",
        r"\b(?:site|dist)-packages\b",
        r"\b[A-Za-z]:\\(?:Users|Windows)\\",
    ]
    if len(Path.home().parts) > 1:  # not "/"
        parts.append(re.escape(str(Path.home())) + r"(?=/)")
    return re.compile("|".join(f"(?:{p})" for p in parts))


@dataclass
class PageReport:
    page: str
    figures: int = 0
    equations: int = 0
    problems: list[str] = field(default_factory=list)


# --- what the browser reads from a page -------------------------------------------------------

# Runs in the page. Returns plain data; the checks on it are the Python functions below.
READ_PAGE_JS = r"""
() => {
  // Visible to a reader: not inside a closed <details>, laid out, not hidden by CSS.
  const shown = (el) => !!el && !el.closest("details:not([open])")
      && el.getClientRects().length > 0
      && el.checkVisibility({ visibilityProperty: true, opacityProperty: true });
  const image = (img) => ({
    src: img.getAttribute("src") || "",
    alt: (img.getAttribute("alt") || "").trim(),
    loaded: img.complete && img.naturalWidth > 0,
  });
  const cells = [...document.querySelectorAll("div.cell")].map((cell) => {
    const input = cell.querySelector(".cell_input");
    const output = cell.querySelector(".cell_output");
    return {
      classes: cell.className,
      source: input ? input.textContent.trim() : "",
      images: [...cell.querySelectorAll(".cell_output img")].map(image),
      shown: shown(input) || shown(output),
    };
  });
  // Text outside the code the authors wrote (prose and outputs), where a local path is a defect;
  // and prose alone (no code at all), where raw TeX is a defect.
  const texts = [];
  const prose = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (!parent || parent.closest("script, style, mjx-container")) continue;
    const output = parent.closest(".cell_output, .output");
    const code = parent.closest(".cell_input, div[class*='highlight-'], pre, code");
    if (output || !code) texts.push(walker.currentNode.textContent);
    if (!output && !code) prose.push(walker.currentNode.textContent);
  }
  const heading = (el) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((a) => a.remove());
    return copy.textContent.replace(/\s+/g, " ").trim();
  };
  return {
    title: document.title,
    images: [...document.querySelectorAll("img")].map(image),
    cells,
    mathUnrendered: [...document.querySelectorAll(".math")]
      .filter((el) => !el.querySelector("mjx-container"))
      .map((el) => el.textContent.trim().slice(0, 60)),
    equations: document.querySelectorAll("mjx-container").length,
    stderr: [...document.querySelectorAll(".output.stderr, .output.traceback, .output.error")]
      .map((el) => el.textContent.trim().slice(0, 120)),
    headings: [...document.querySelectorAll("article h1, article h2, article h3, article h4")]
      .map(heading),
    nav: [...document.querySelectorAll("nav a")].map((a) => a.textContent.replace(/\s+/g, " ").trim()),
    colab: [...document.querySelectorAll('a[href*="colab.research.google.com"]')].map((a) => a.href),
    text: texts.join(" "),
    prose: prose.join(" "),
  };
}
"""

WAIT_FOR_MATHJAX_JS = """
async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) await mj.startup.promise;
}
"""


# --- the checks: plain functions of what was read, and of the executed notebook ---------------


def expected_figures(notebook: Path) -> list[tuple[int, int, str]]:
    """Per code cell of an executed notebook: (cell number, figures expected, first line).

    A cell is expected to show as many figures as it has PNG outputs, and at least one if its
    source draws a figure (so a notebook executed with a non-displaying backend still fails).
    """
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    rows = []
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for number, cell in enumerate(code_cells, start=1):
        tags = cell.get("metadata", {}).get("tags", [])
        if "remove-cell" in tags or "remove-output" in tags:
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        pngs = sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
        draws = bool(DRAWS_FIGURE.search(src))
        first = src.strip().splitlines()[0] if src.strip() else ""
        rows.append((number, max(pngs, int(draws)), first))
    return rows


def colab_url(stem: str, repository: str, branch: str, path_to_book: str = "") -> str:
    """Where a chapter's Colab links must point: the notebook's path in the repository."""
    repo = repository.removeprefix("https://github.com/").strip("/")
    prefix = f"{path_to_book.strip('/')}/" if path_to_book.strip("/") else ""
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{prefix}notebooks/{stem}.ipynb"


def check_page(
    page: str,
    facts: dict,
    notebook: Path | None = None,
    expected_colab: str | None = None,
    local_paths: re.Pattern[str] | None = None,
) -> PageReport:
    """The problems of one page, from what the browser read (``READ_PAGE_JS``).

    ``notebook``: the executed notebook behind a chapter page; ``expected_colab``: where its Colab
    links must point. Request failures and console errors are added by the caller.
    """
    report = PageReport(page, equations=facts["equations"])
    problems = report.problems
    local_paths = local_paths or local_path_pattern()

    for img in facts["images"]:
        if not img["loaded"]:
            problems.append(f"image did not load: {img['src']}")
    for cell in facts["cells"]:
        for img in cell["images"]:
            report.figures += img["loaded"]
            name = img["src"].rsplit("/", 1)[-1]
            if not img["alt"] or img["alt"].rsplit("/", 1)[-1] == name:
                problems.append(f"figure without alt text: {name}")

    if facts["mathUnrendered"]:
        problems.append(
            f"{len(facts['mathUnrendered'])} equation(s) not rendered, e.g. {facts['mathUnrendered'][0]!r}"
        )
    raw = RAW_TEX.search(facts["prose"])
    if raw:
        around = facts["prose"][max(raw.start() - 30, 0) : raw.end() + 30]
        problems.append(f"raw TeX in the text: {' '.join(around.split())!r}")

    for text in facts["stderr"]:
        problems.append(f"stderr/traceback output: {' '.join(text.split())[:100]!r}")

    leak = local_paths.search(facts["text"])
    if leak:
        around = facts["text"][max(leak.start() - 40, 0) : leak.end() + 40]
        problems.append(f"local filesystem path in the text: {' '.join(around.split())!r}")

    for cell in facts["cells"]:
        is_solution = "tag_solution" in cell["classes"].split() or cell["source"].startswith(
            "# Solution"
        )
        if is_solution and cell["shown"]:
            problems.append(
                f"solution visible without a click: {cell['source'].splitlines()[0][:60]!r}"
            )

    for text in facts["headings"]:
        if DOUBLE_NUMBER.match(text):
            problems.append(f"duplicated numbering in a heading: {text[:60]!r}")
    for text in facts["nav"]:
        if DOUBLE_NUMBER.match(text):
            problems.append(f"duplicated numbering in the navigation: {text[:60]!r}")

    if notebook is not None:
        stem = notebook.stem
        number = re.match(r"(\d+)_", stem)
        if number and facts["headings"]:
            title = facts["headings"][0]
            # "9. Title", or "3b. Title" for a second notebook of chapter 3 (03_...)
            if not re.match(rf"{int(number.group(1))}[a-z]?\. ", title):
                problems.append(
                    f"title {title[:40]!r} does not carry the chapter number of {stem} "
                    f"({int(number.group(1))}.)"
                )
        expected = expected_figures(notebook)
        if len(expected) != len(facts["cells"]):
            problems.append(
                f"the page shows {len(facts['cells'])} code cells, {notebook.name} has "
                f"{len(expected)}: cannot compare figures cell by cell"
            )
        else:
            for (number_, want, first), cell in zip(expected, facts["cells"], strict=True):
                shown = sum(img["loaded"] for img in cell["images"])
                if shown < want:
                    problems.append(
                        f"figure missing: code cell {number_} ({first[:50]!r}) draws {want}, "
                        f"the page shows {shown}"
                    )
    if expected_colab is not None:
        if not facts["colab"]:
            problems.append("no Colab link (badge or launch button)")
        for href in sorted(set(facts["colab"])):
            if href != expected_colab:
                problems.append(f"Colab link {href} does not point at {expected_colab}")
    return report


# --- the browser ------------------------------------------------------------------------------


def find_chromium() -> str | None:
    """The system's Chromium: $CHROMIUM, or a usual install path, or chromium on PATH."""
    for candidate in [os.environ.get("CHROMIUM"), *CHROMIUM_CANDIDATES]:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a thread; return (server, base URL)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def pages_of(html: Path) -> list[str]:
    """Every HTML page of the book (not Sphinx's internal folders), relative to ``html``."""
    skip = ("_static/", "_sources/", "_images/")
    return sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if not p.relative_to(html).as_posix().startswith(skip)
    )


def book_repository(config: Path = ROOT / "_config.yml") -> tuple[str, str, str]:
    """(repository URL, branch, path_to_book) from the book's _config.yml."""
    import yaml

    repo = yaml.safe_load(config.read_text(encoding="utf-8")).get("repository", {})
    return repo.get("url", ""), repo.get("branch", "main"), repo.get("path_to_book", "") or ""


def check_book(
    html: Path,
    notebooks: Path,
    screenshots: Path | None = None,
    repository: tuple[str, str, str] | None = None,
    chromium: str | None = None,
    local_paths: re.Pattern[str] | None = None,
    search_query: str | None = SEARCH_QUERY,
) -> list[PageReport]:
    """Open every page of ``html`` in headless Chromium; return one report per page.

    ``notebooks``: the executed notebooks behind ``notebooks/*.html``; ``repository``: (URL,
    branch, path_to_book) for the Colab links (default: from _config.yml).
    """
    from playwright.sync_api import sync_playwright

    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError(f"Chromium not found; install it with: {INSTALL_CHROMIUM}")
    repository = repository or book_repository()
    if screenshots is not None:
        shutil.rmtree(screenshots, ignore_errors=True)
        screenshots.mkdir(parents=True)

    server, base = serve(html)
    reports = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium)
            for page_path in pages_of(html):
                query = f"?q={search_query}" if page_path == "search.html" and search_query else ""
                # A fresh context per page: every page is checked as a first visit (no storage).
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                report = _check_one(
                    context,
                    base,
                    page_path,
                    query,
                    html,
                    notebooks,
                    screenshots,
                    repository,
                    local_paths,
                )
                reports.append(report)
                context.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return reports


REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.I)


def _check_one(context, base, page_path, query, html, notebooks, screenshots, repository, paths):
    """Open one page in a fresh browser context and check it (see the module docstring)."""
    redirect = REDIRECT.search((html / page_path).read_text(encoding="utf-8")[:500])
    if redirect:  # Jupyter Book's index.html only forwards to the root page
        target = (html / page_path).parent / redirect.group(1)
        problems = [] if target.is_file() else [f"redirects to a missing page: {redirect.group(1)}"]
        return PageReport(f"{page_path} (-> {redirect.group(1)})", problems=problems)
    page = context.new_page()
    failures: list[str] = []

    def route(route):
        url = route.request.url
        if url.startswith(base) or urlsplit(url).scheme in ("data", "blob"):
            route.continue_()
        else:
            failures.append(f"request leaves the machine (fails offline): {url}")
            route.abort()

    def on_console(msg):
        if msg.type == "error":
            failures.append(f"console error: {msg.text[:150]}")

    def on_request_failed(request):
        if request.url.startswith(base):  # requests to other hosts are reported by route()
            failures.append(f"request failed: {request.url.removeprefix(base)} ({request.failure})")

    def on_response(response):
        if response.status >= 400:
            failures.append(f"HTTP {response.status}: {response.url.removeprefix(base)}")

    page.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda error: failures.append(f"uncaught exception: {str(error)[:150]}"))
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)

    page.goto(base + page_path + query, wait_until="load")
    page.evaluate(WAIT_FOR_MATHJAX_JS)
    try:
        page.wait_for_load_state("networkidle", timeout=10_000)
    except Exception:  # a page that keeps loading: what it did load is still checked
        failures.append("the page was still loading after 10 s")
    facts = page.evaluate(READ_PAGE_JS)

    notebook = None
    expected_colab = None
    if page_path.startswith("notebooks/"):
        stem = Path(page_path).stem
        notebook = notebooks / f"{stem}.ipynb"
        expected_colab = colab_url(stem, *repository)
        if not notebook.exists():
            failures.append(f"no executed notebook {notebook} to compare the figures with")
            notebook = None
    report = check_page(page_path, facts, notebook, expected_colab, paths)

    if page_path == "search.html" and query:
        try:
            page.wait_for_selector("#search-results ul.search li", timeout=10_000)
        except Exception:
            failures.append(f"search for {query.removeprefix('?q=')!r} found nothing")

    if screenshots is not None:
        name = page_path.removesuffix(".html").replace("/", "__") + ".png"
        page.screenshot(path=str(screenshots / name), full_page=True)

    # After the screenshot (which shows the folded state): a click must unfold each solution.
    for summary in page.locator("div.cell.tag_solution details > summary").all():
        summary.click()
    for cell in page.locator("div.cell.tag_solution").all():
        if not cell.locator(".cell_input").is_visible():
            failures.append("a solution does not unfold on click")
    report.problems = failures + report.problems
    page.close()
    return report


def print_table(reports: list[PageReport]) -> None:
    width = max([len(r.page) for r in reports] + [4])
    print(f"{'page':<{width}}  figures  equations  problems")
    for r in reports:
        print(f"{r.page:<{width}}  {r.figures:>7}  {r.equations:>9}  {len(r.problems):>8}")
    for r in reports:
        for problem in r.problems:
            print(f"  {r.page}: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--html", type=Path, default=HTML, help="the built book (_build/html)")
    parser.add_argument(
        "--notebooks", type=Path, default=EXECUTED, help="executed notebooks (_build/notebooks)"
    )
    parser.add_argument("--screenshots", type=Path, default=SCREENSHOTS, help="where the PNGs go")
    args = parser.parse_args(argv)

    if not (args.html / "index.html").exists():
        print(f"no book in {args.html}: run `make html` (or `make book`) first", file=sys.stderr)
        return 1
    if find_chromium() is None:
        print(
            f"check-book needs Chromium, which is not installed. Install it with:\n"
            f"    {INSTALL_CHROMIUM}",
            file=sys.stderr,
        )
        return 1
    t0 = time.perf_counter()
    reports = check_book(args.html, args.notebooks, args.screenshots)
    print_table(reports)
    bad = sum(bool(r.problems) for r in reports)
    seconds = time.perf_counter() - t0
    print(
        f"{len(reports)} pages in {seconds:.0f} s, screenshots in {args.screenshots}: "
        + (f"{bad} page(s) with problems" if bad else "no problems")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
