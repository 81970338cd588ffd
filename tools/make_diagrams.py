"""Draw the book's explanatory diagrams as SVG files in ``book/images/``.

    python tools/make_diagrams.py            # writes every diagram
    python tools/make_diagrams.py --png DIR  # also writes PNG previews to DIR (to look at them)

The SVGs are committed; rerun this script after changing a drawing and commit its output. The
drawings are schematic (no data, no model): what each family, objective or fine-tuning variant
does, as the chapters that show them explain it. Every SVG carries a ``<title>`` and a
``<desc>`` for screen readers (``tests/test_book_images.py`` checks that); the chapters give
alt text and a caption in their ``{figure}`` directives.

One style for all of them: the colour-blind-safe palette of ``ptlib.plots`` (Okabe & Ito),
sans-serif text (kept as text in the SVG), the same box and arrow shapes, and labels of at least
10 points at the width the book shows them.

Colour code, the same in every diagram:

* blue: encoders, bidirectional attention; orange: decoders, causal attention;
  purple: cross-attention; green: images and image patches;
* vermillion: what the loss is computed on (masked tokens, predictions, NT-Xent);
* grey (hatched): frozen weights; orange: trained weights.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "book" / "images"

# The palette of ptlib.plots (Okabe & Ito), and light tints of it for box fills.
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
)
TINT = {
    BLUE: "#D4E6F3",
    VERMILLION: "#F7DCCB",
    GREEN: "#CCEBE2",
    PURPLE: "#F4E1EC",
    ORANGE: "#FBE8C6",
    SKY: "#DDEFFA",
}
GREY, GREY_TINT, INK = "#6E6E6E", "#E6E6E6", "#222222"
# 8.8 inches: the book shows the diagrams at the width of its text column (about 690 pixels),
# where 10-point labels are then about 11 pixels high. Layouts use 10 data units per inch.
WIDTH = 8.8

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 12,
    "svg.fonttype": "none",  # text stays text: searchable, selectable, small files
    "svg.hashsalt": "pretrained-models-hands-on",  # the same ids on every run
    "mathtext.fontset": "dejavusans",
}


# --- drawing primitives ---------------------------------------------------------------------


def canvas(width: float, height: float, xmax: float, ymax: float) -> tuple[Figure, Axes]:
    """A figure of ``width`` x ``height`` inches whose data coordinates run 0..xmax, 0..ymax."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str = "",
    color: str = BLUE,
    fill: str | None = None,
    size: float = 12,
    weight: str = "normal",
    hatch: str | None = None,
    text_color: str = INK,
    dashed: bool = False,
) -> None:
    """A rounded box with its lower-left corner at (x, y) and centred text."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.35",
            facecolor=fill if fill is not None else TINT.get(color, GREY_TINT),
            edgecolor=color,
            linewidth=1.6,
            hatch=hatch,
            linestyle="--" if dashed else "-",
        )
    )
    if text:
        ax.text(
            x + w / 2,
            y + h / 2,
            text,
            ha="center",
            va="center_baseline" if "\n" not in text else "center",
            fontsize=size,
            weight=weight,
            color=text_color,
            linespacing=1.25,
        )


def arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str = INK,
    width: float = 1.5,
    style: str = "-|>",
    rad: float = 0.0,
    dashed: bool = False,
) -> None:
    """An arrow from ``start`` to ``end`` (``rad`` bends it)."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=14,
            color=color,
            linewidth=width,
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=0,
            shrinkB=0,
            linestyle="--" if dashed else "-",
        )
    )


def label(ax: Axes, x: float, y: float, text: str, size: float = 12, **kw) -> None:
    """Text at (x, y), centred unless ``ha``/``va`` say otherwise."""
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    kw.setdefault("color", INK)
    ax.text(x, y, text, fontsize=size, linespacing=1.25, **kw)


def grid(
    ax: Axes,
    x: float,
    y: float,
    allowed: Callable[[int, int], bool],
    rows: int,
    cols: int,
    cell: float,
    color: str,
) -> None:
    """An attention mask: row = query, column = key; filled where the query may see the key."""
    for i in range(rows):
        for j in range(cols):
            ax.add_patch(
                Rectangle(
                    (x + j * cell, y + (rows - 1 - i) * cell),
                    cell,
                    cell,
                    facecolor=color if allowed(i, j) else "white",
                    edgecolor=GREY,
                    linewidth=0.8,
                )
            )


def tokens(
    ax: Axes,
    x: float,
    y: float,
    words: Sequence[str],
    w: float,
    h: float,
    color: str = GREY,
    gap: float = 0.4,
    size: float = 11,
    fills: Sequence[str | None] | None = None,
) -> list[float]:
    """A row of token boxes from x; returns the centre x of each."""
    centres = []
    for k, word in enumerate(words):
        fill = fills[k] if fills is not None else None
        box(ax, x + k * (w + gap), y, w, h, word, color=color, fill=fill, size=size)
        centres.append(x + k * (w + gap) + w / 2)
    return centres


def save(fig: Figure, name: str, title: str, desc: str, png_dir: Path | None) -> Path:
    """Write ``book/images/<name>.svg`` with a <title> and <desc>, reproducibly."""
    path = IMAGES / f"{name}.svg"
    fig.savefig(path, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.05)
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(png_dir / f"{name}.png", dpi=80, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    svg = path.read_text(encoding="utf-8")
    # Accessibility: name the image and describe it, as the first children of <svg>.
    svg = re.sub(
        r"(<svg\b[^>]*?)>",
        lambda m: (
            f'{m.group(1)} role="img" aria-labelledby="title desc">\n'
            f' <title id="title">{escape(title)}</title>\n'
            f' <desc id="desc">{escape(desc)}</desc>'
        ),
        svg,
        count=1,
    )
    path.write_text(svg, encoding="utf-8")
    return path


# --- (e) chapter 1: pre-train, then fine-tune --------------------------------------------------


def two_stages(png_dir: Path | None) -> Path:
    fig, ax = canvas(WIDTH, 3.9, 88, 39)
    for x0, w, color, name, sub in [
        (0.3, 47, BLUE, "Stage 1: pre-training", "once, expensive, usually by somebody else"),
        (49.7, 38, ORANGE, "Stage 2: fine-tuning", "per task, cheap"),
    ]:
        frame = FancyBboxPatch(
            (x0, 0.5),
            w,
            30,
            boxstyle="round,pad=0,rounding_size=0.8",
            facecolor="white",
            edgecolor=color,
            linewidth=1.2,
            linestyle="--",
        )
        ax.add_patch(frame)
        label(ax, x0 + w / 2, 36.8, name, size=12.5, weight="bold", color=color)
        label(ax, x0 + w / 2, 33.4, sub, size=11, color=color)
    box(
        ax,
        1.5,
        16.5,
        19.5,
        12,
        "unlabelled data:\nbillions of words,\nmillions of images",
        color=GREY,
        size=10.5,
    )
    box(
        ax,
        1.5,
        2,
        19.5,
        12.5,
        "self-supervised task,\ntargets from the data:\nmasked words (ch. 3),\ntwo views (ch. 4)",
        color=VERMILLION,
        size=10.5,
    )
    box(
        ax,
        25.5,
        9.5,
        20.5,
        12,
        "",
        color=BLUE,
    )
    label(ax, 35.75, 18.3, "pre-trained model", size=11, weight="bold")
    label(ax, 35.75, 13.2, "general\nrepresentations", size=10.5)
    arrow(ax, (21, 22.5), (25.5, 18))
    arrow(ax, (21, 8.3), (25.5, 13))
    box(
        ax,
        51.5,
        16.5,
        18.5,
        12,
        "labelled data:\na few to thousands\nof examples",
        color=GREY,
        size=10.5,
    )
    box(
        ax,
        51.5,
        2,
        18.5,
        12.5,
        "adapt the weights:\nfine-tune all, or\ntrain a new head\non frozen features",
        color=ORANGE,
        size=10.5,
    )
    box(
        ax,
        73.5,
        9.5,
        13.8,
        12,
        "",
        color=ORANGE,
    )
    label(ax, 80.4, 18.3, "task model", size=11, weight="bold")
    label(ax, 80.4, 13.2, "e.g. a sentiment\nclassifier", size=10)
    arrow(ax, (46, 12), (51.5, 8.3), color=BLUE, width=2.2)
    arrow(ax, (70, 22.5), (73.5, 18))
    arrow(ax, (70, 8.3), (73.5, 13))
    return save(
        fig,
        "two_stages",
        "Pre-training and fine-tuning",
        "Stage 1: unlabelled data and a self-supervised task (masked words, two views of an "
        "image) pre-train a model with general representations, once. Stage 2: its weights are "
        "adapted with a small labelled data set, by fine-tuning all weights or training a new "
        "head on frozen features, giving a task model such as a sentiment classifier.",
        png_dir,
    )


# --- (a) chapter 2: four families -------------------------------------------------------------


def _stack(ax: Axes, x: float, y: float, w: float, h: float, lines: str, color: str) -> None:
    """A block stack drawn as three offset boxes (the repeated blocks)."""
    for k in (2, 1):
        box(ax, x + 0.5 * k, y + 0.5 * k, w, h, color=color, fill="white")
    box(ax, x, y, w, h, lines, color=color, size=10.5)


def _fan(ax: Axes, xs: Sequence[float], y0: float, y1: float, color: str = INK) -> None:
    for x in xs:
        arrow(ax, (x, y0), (x, y1), color=color, width=1.2)


def architectures(png_dir: Path | None) -> Path:
    # Four panels in a 2 x 2 grid, each 44 x 55 units (10 units per inch).
    pw, ph, legend_h = 44.0, 55.0, 3.5
    fig = plt.figure(figsize=(2 * pw / 10, (2 * ph + legend_h) / 10))

    def panel(col: int, row: int, centre: float) -> Axes:
        a = fig.add_axes(
            (
                col / 2,
                (legend_h + (1 - row) * ph) / (2 * ph + legend_h),
                0.5,
                ph / (2 * ph + legend_h),
            )
        )
        a.set_xlim(centre - pw / 2, centre + pw / 2)
        a.set_ylim(0, ph)
        a.set_aspect("equal")
        a.axis("off")
        return a

    th = 3.4  # token boxes' height
    in_y, st_y, st_h, out_y = 13.5, 20, 11, 36
    mask_y, cell = 2.3, 1.7
    mid = mask_y + 2 * cell  # the middle of a 4 x 4 mask

    def title(x: float, w: float, name: str, example: str, color: str) -> None:
        label(ax, x + w / 2, 52.5, name, size=13, weight="bold", color=color)
        label(ax, x + w / 2, 49.3, example, size=11)

    def what(x: float, w: float, text: str) -> None:
        label(ax, x + w / 2, 44.5, text, size=10.5, style="italic")

    def mask_caption(x: float, text: str) -> None:
        label(ax, x, mid, text, size=10, ha="left", va="center")

    # Encoder (BERT).
    x0, tw = 1, 5.4
    ax = panel(0, 0, x0 + 12)
    title(x0, 23, "Encoder", "BERT, MiniLM", BLUE)
    xs = tokens(ax, x0, in_y, ["[CLS]", "a", "[MASK]", "film"], tw, th, size=10)
    _fan(ax, xs, in_y + th, st_y)
    stack_text = "N blocks:\nbidirectional\nself-attention\n+ feed-forward"
    _stack(ax, x0, st_y, 4 * tw + 1.2, st_h, stack_text, BLUE)
    _fan(ax, xs, st_y + st_h + 1, out_y)
    fills = [None, None, TINT[VERMILLION], None]
    tokens(ax, x0, out_y, ["h", "h", "great", "h"], tw, th, size=10, fills=fills)
    what(x0, 23, "predict the masked token\nfrom both sides")
    grid(ax, x0 + 1, mask_y, lambda i, j: True, 4, 4, cell, BLUE)
    mask_caption(x0 + 1 + 4 * cell + 1, "every token sees\nevery token")

    # Decoder (GPT).
    ax = panel(1, 0, x0 + 12)
    title(x0, 23, "Decoder", "GPT, GPT-2", ORANGE)
    xs = tokens(ax, x0, in_y, ["a", "film", "was", "so"], tw, th, size=10)
    _fan(ax, xs, in_y + th, st_y)
    stack_text = "N blocks:\ncausal (masked)\nself-attention\n+ feed-forward"
    _stack(ax, x0, st_y, 4 * tw + 1.2, st_h, stack_text, ORANGE)
    _fan(ax, xs, st_y + st_h + 1, out_y)
    outs = ["film", "was", "so", "good"]
    tokens(ax, x0, out_y, outs, tw, th, size=10, fills=[TINT[VERMILLION]] * 4)
    what(x0, 23, "predict the next token\nat every position")
    grid(ax, x0 + 1, mask_y, lambda i, j: j <= i, 4, 4, cell, ORANGE)
    mask_caption(x0 + 1 + 4 * cell + 1, "a token sees itself\nand the past only")

    # Encoder-decoder (T5).
    x0, ew, dw = 0, 4.3, 4.8
    ax = panel(0, 1, x0 + 21.5)
    title(x0, 43, "Encoder-decoder", "T5", PURPLE)
    xs = tokens(ax, x0, in_y, ["a", "<X>", "was", "<Y>"], ew, th, size=10, gap=0.3)
    _fan(ax, xs, in_y + th, st_y)
    enc_w = 4 * ew + 0.9
    stack_text = "encoder:\nbidirectional\nself-attention\n+ feed-forward"
    _stack(ax, x0, st_y, enc_w, st_h, stack_text, BLUE)
    dx = x0 + 27
    xs_d = tokens(ax, dx, in_y, ["<s>", "<X>", "film"], dw, th, size=10, gap=0.3)
    _fan(ax, xs_d, in_y + th, st_y)
    dec_w = 3 * dw + 0.6
    stack_text = "decoder:\ncausal self-attn.\n+ cross-attn.\n+ feed-forward"
    _stack(ax, dx, st_y, dec_w, st_h, stack_text, ORANGE)
    # Cross-attention: every decoder block reads the encoder's output vectors.
    y_cross = st_y + 0.45 * st_h
    gap_mid = (x0 + enc_w + 1.2 + dx) / 2
    arrow(ax, (x0 + enc_w + 1.2, y_cross), (dx, y_cross), color=PURPLE, width=2.4)
    label(ax, gap_mid, y_cross + 4.3, "encoder\noutput", size=10, color=PURPLE)
    label(
        ax,
        gap_mid,
        y_cross - 1.4,
        "keys and\nvalues of\ncross-attn.",
        size=9.5,
        color=PURPLE,
        va="top",
    )
    _fan(ax, xs_d, st_y + st_h + 1, out_y)
    outs = ["<X>", "film", "<Y>"]
    tokens(ax, dx, out_y, outs, dw, th, size=10, gap=0.3, fills=[TINT[VERMILLION]] * 3)
    what(
        x0,
        43,
        "the decoder writes out the dropped spans:\n<X> film <Y> good (input: a film was good)",
    )
    grid(ax, x0 + 1, mask_y, lambda i, j: True, 4, 4, cell, BLUE)
    label(ax, x0 + 1 + 2 * cell, mask_y - 1.2, "encoder", size=10)
    grid(ax, x0 + 12, mask_y, lambda i, j: j <= i, 3, 3, cell, ORANGE)
    label(ax, x0 + 12 + 1.5 * cell, mask_y - 1.2, "decoder self", size=10)
    grid(ax, x0 + 23, mask_y, lambda i, j: True, 3, 4, cell, PURPLE)
    label(ax, x0 + 23 + 2 * cell, mask_y - 1.2, "cross", size=10)
    mask_caption(x0 + 23 + 4 * cell + 1, "3 decoder\nqueries x 4\ninput keys")

    # Vision transformer.
    x0 = 0
    ax = panel(1, 1, x0 + 12)
    title(x0, 24, "Vision transformer", "ViT", GREEN)
    px, py, ps = x0 - 2, in_y - 0.6, 1.5  # the image, cut into 3 x 3 patches
    shades = [
        "#8CC9B5",
        "#CCEBE2",
        SKY,
        ORANGE,
        "#8CC9B5",
        TINT[SKY],
        TINT[GREEN],
        GREEN,
        "#F0E442",
    ]
    for k in range(9):
        r, c = divmod(k, 3)
        patch = Rectangle(
            (px + c * ps, py + (2 - r) * ps),
            ps,
            ps,
            facecolor=shades[k],
            edgecolor="white",
            linewidth=1.2,
        )
        ax.add_patch(patch)
    label(ax, px + 1.5 * ps, py - 1.3, "image", size=10)
    arrow(ax, (px + 3 * ps + 0.2, in_y + th / 2), (px + 3 * ps + 1.6, in_y + th / 2), width=1.2)
    vx, vw = px + 6.3, 4.4
    xs = tokens(ax, vx, in_y, ["[CLS]", "p1", "…", "p9"], vw, th, color=GREEN, size=10, gap=0.3)
    _fan(ax, xs, in_y + th, st_y)
    stack_text = "N blocks:\nbidirectional\nself-attention\n+ feed-forward"
    _stack(ax, vx, st_y, 4 * vw + 0.9, st_h, stack_text, GREEN)
    arrow(ax, (xs[0], st_y + st_h + 1), (xs[0], out_y), width=1.2)
    box(ax, vx - 0.5, out_y, 10, th, "class label", color=VERMILLION, size=10)
    what(x0, 24, "image patches are the tokens;\nclassify from [CLS]")
    grid(ax, vx, mask_y, lambda i, j: True, 4, 4, cell, GREEN)
    mask_caption(vx + 4 * cell + 1, "every patch sees\nevery patch")

    fig.text(
        0.01,
        0.5 * legend_h / (2 * ph + legend_h),
        "Bottom of each panel: its attention masks (row: query, column: key; "
        "filled: may attend, white: blocked).",
        fontsize=10.5,
        va="center",
        color=INK,
    )
    return save(
        fig,
        "architectures",
        "Four families of pre-trained transformers",
        "Four panels. Encoder (BERT): tokens including [MASK] go through N blocks of "
        "bidirectional self-attention; the model predicts the masked token; its mask lets every "
        "token see every token. Decoder (GPT): N blocks of causal self-attention; every position "
        "predicts the next token; its mask is lower-triangular. Encoder-decoder (T5): the "
        "encoder reads the corrupted input bidirectionally; the decoder has causal self-attention "
        "plus cross-attention to the encoder's output and writes out the dropped spans; its "
        "cross-attention mask is a full rectangle. Vision transformer (ViT): the image is cut "
        "into patches that are the tokens, bidirectional attention, a class predicted from [CLS].",
        png_dir,
    )


# --- (b) chapter 3: masking -------------------------------------------------------------------


def masking(png_dir: Path | None) -> Path:
    fig, ax = canvas(WIDTH, 6.2, 88, 62)
    words = [
        "[CLS]",
        "the",
        "acting",
        "was",
        "superb",
        "but",
        "the",
        "plot",
        "made",
        "no",
        "sense",
        "[SEP]",
    ]
    chosen = {2: "[MASK]", 4: "[MASK]", 7: "river", 10: "sense"}
    kinds = {2: "[MASK]", 4: "[MASK]", 7: "random", 10: "unchanged"}
    tw, th, gap, x0 = 6.6, 3.4, 0.6, 1.2
    xs = [x0 + k * (tw + gap) + tw / 2 for k in range(len(words))]
    rows = {"text": 53, "chosen": 42, "input": 31, "model": 18.5, "loss": 8.5}
    special = {0, len(words) - 1}

    def row_label(y: float, text: str) -> None:
        white = {"facecolor": "white", "edgecolor": "none", "pad": 1.0}
        label(ax, 0.4, y + th + 2.0, text, size=11, ha="left", weight="bold", bbox=white)

    row_label(rows["text"], "1. A row of tokens. Special tokens ([CLS], [SEP]) are never chosen.")
    fills = [GREY_TINT if k in special else "white" for k in range(len(words))]
    tokens(ax, x0, rows["text"], words, tw, th, size=10, gap=gap, fills=fills)

    row_label(
        rows["chosen"], "2. Choose positions at random: 15% in BERT, 40% in chapter 3's recipe."
    )
    for k, x in enumerate(xs):
        if k in chosen:
            box(
                ax,
                x - tw / 2,
                rows["chosen"],
                tw,
                th,
                words[k],
                color=VERMILLION,
                size=10,
                weight="bold",
            )
            arrow(ax, (x, rows["text"]), (x, rows["chosen"] + th), color=VERMILLION, width=1.2)
        else:
            ax.plot([x], [rows["chosen"] + th / 2], marker="o", markersize=3, color=GREY)

    row_label(
        rows["input"],
        "3. Corrupt each chosen position: 80% [MASK], 10% a random token, 10% unchanged.",
    )
    corrupt = {"[MASK]": TINT[VERMILLION], "random": TINT[ORANGE], "unchanged": TINT[SKY]}
    for k, x in enumerate(xs):
        word = chosen.get(k, words[k])
        fill = corrupt[kinds[k]] if k in chosen else fills[k]
        box(ax, x - tw / 2, rows["input"], tw, th, word, color=GREY, fill=fill, size=10)
        if k in chosen:
            arrow(ax, (x, rows["chosen"]), (x, rows["input"] + th), color=VERMILLION, width=1.2)
            label(ax, x, rows["input"] - 1.5, kinds[k], size=10, style="italic")
        else:
            line = [rows["text"], rows["input"] + th]
            ax.plot([x, x], line, color="#BBBBBB", linewidth=0.8, zorder=0.5)

    width = xs[-1] + tw / 2 - x0
    box(
        ax,
        x0,
        rows["model"],
        width,
        5.5,
        "4. The encoder (bidirectional) + prediction head reads the whole corrupted row",
        color=BLUE,
        size=11,
    )
    for x in xs:
        arrow(ax, (x, rows["input"] - 2.8), (x, rows["model"] + 5.5), color=GREY, width=0.9)

    for k, x in enumerate(xs):
        if k in chosen:
            arrow(ax, (x, rows["model"]), (x, rows["loss"] + th), color=VERMILLION, width=1.6)
            box(
                ax,
                x - tw / 2,
                rows["loss"],
                tw,
                th,
                words[k],
                color=VERMILLION,
                size=10,
                weight="bold",
            )
        else:
            label(ax, x, rows["loss"] + th / 2, "-100", size=10, color=GREY)
    label(
        ax,
        0.4,
        rows["loss"] - 1.3,
        "5. The loss: -log p(original token) at the chosen positions only; label -100: no loss.\n"
        "The random and unchanged tokens are predicted too: the model cannot tell which visible\n"
        "tokens are the originals, so it must represent every token well.",
        size=10.5,
        ha="left",
        va="top",
    )
    return save(
        fig,
        "masking",
        "Masked language modelling: BERT's masking rule",
        "The row [CLS] the acting was superb but the plot made no sense [SEP]. Four non-special "
        "positions are chosen (15% in BERT, 40% in chapter 3's recipe). Of the chosen positions "
        "80% become [MASK] (acting, superb), 10% a random token (plot becomes river) and 10% "
        "stay unchanged (sense). The encoder reads the corrupted row; the loss is minus the log "
        "probability of the original token at the chosen positions only; every other position "
        "has label -100 and no loss.",
        png_dir,
    )


# --- (c) chapter 4: SimCLR --------------------------------------------------------------------


def _picture(
    ax: Axes, x: float, y: float, s: float, gray: bool = False, crop: bool = False
) -> None:
    """A small stylised photo (sky, sun, hill, house); ``crop`` zooms into its lower left."""
    sky, sun, hill, wall, roof = ("#DDEFFA", "#F0E442", "#009E73", "#E69F00", "#D55E00")
    if gray:
        sky, sun, hill, wall, roof = ("#EEEEEE", "#DDDDDD", "#7A7A7A", "#A8A8A8", "#6E6E6E")
    k = 1.6 if crop else 1.0  # zoom factor
    ax.add_patch(Rectangle((x, y), s, s, facecolor=sky, edgecolor=GREY, linewidth=1.2, zorder=1))
    clip = Rectangle((x, y), s, s, transform=ax.transData)
    shapes = [
        plt.Circle((x + 0.78 * s * k, y + 0.78 * s * k), 0.12 * s * k, facecolor=sun),
        matplotlib.patches.Ellipse((x + 0.4 * s, y), 1.6 * s * k, 0.9 * s * k, facecolor=hill),
        Rectangle((x + 0.18 * s * k, y + 0.28 * s * k), 0.3 * s * k, 0.22 * s * k, facecolor=wall),
        matplotlib.patches.Polygon(
            [
                (x + 0.14 * s * k, y + 0.5 * s * k),
                (x + 0.33 * s * k, y + 0.66 * s * k),
                (x + 0.52 * s * k, y + 0.5 * s * k),
            ],
            facecolor=roof,
        ),
    ]
    for shape in shapes:
        shape.set_zorder(2)
        ax.add_patch(shape)
        shape.set_clip_path(clip)


def simclr(png_dir: Path | None) -> Path:
    fig, ax = canvas(WIDTH, 5.9, 88, 59)
    rows = {"i": 44, "j": 27}  # lower edge of each branch's 8-unit-high boxes
    _picture(ax, 0.5, 34, 9)
    label(ax, 5, 32.2, "image x", size=11)
    for name, y in rows.items():
        arrow(ax, (9.8, 38.5), (14.6, y + 4), rad=0.0)
        _picture(ax, 15, y, 8, gray=(name == "j"), crop=(name == "i"))
    label(ax, 13, 41.5, "t ~ T", size=11, style="italic", ha="left")
    label(ax, 13, 36.4, "t' ~ T", size=11, style="italic", ha="left")
    label(ax, 19, rows["i"] + 9.8, "view $x_i$: crop, flip", size=10.5)
    label(ax, 19, rows["j"] - 1.8, "view $x_j$: crop, colour, grey", size=10.5)
    for sub, y in rows.items():
        arrow(ax, (23.3, y + 4), (26, y + 4))
        box(ax, 26, y, 12, 8, "encoder $f$\n(ResNet)", color=BLUE, size=10.5)
        arrow(ax, (38, y + 4), (40.5, y + 4))
        box(ax, 40.5, y + 1.5, 5.5, 5, f"$h_{sub}$", color=GREY, size=11)
        arrow(ax, (46, y + 4), (48.5, y + 4))
        box(ax, 48.5, y, 14, 8, "projection $g$\n(2-layer MLP)", color=PURPLE, size=10.5)
        arrow(ax, (62.5, y + 4), (65, y + 4))
        box(ax, 65, y + 1.5, 5.5, 5, f"$z_{sub}$", color=VERMILLION, size=11)
    label(
        ax, 44, 39.5, "the same $f$ and $g$ (shared weights) for every view", size=10.5, color=GREY
    )
    label(ax, 43.2, 57, "representation $h = f(x)$: used downstream", size=10.5)
    arrow(ax, (43.2, 55.6), (43.2, rows["i"] + 6.6), color=GREY, width=1.0)
    # NT-Xent, below the two branches.
    bx, by, bw, bh = 27, 0.5, 60.5, 21.5
    box(ax, bx, by, bw, bh, "", color=VERMILLION, fill="white")
    arrow(ax, (67.75, rows["j"] + 1.5), (67.75, by + bh), color=VERMILLION, width=1.6)
    arrow(ax, (70.5, rows["i"] + 4), (76, by + bh), color=VERMILLION, width=1.6, rad=-0.35)
    label(
        ax,
        bx + bw / 2,
        by + bh - 2.4,
        "NT-Xent loss for view i",
        size=12,
        weight="bold",
        color=VERMILLION,
    )
    # The 2N views of a batch (N = 4 here), seen from view i.
    cx = [bx + 6 + k * 4.2 for k in range(8)]
    kinds = ["self", "positive"] + ["negative"] * 6
    colors = {"self": "white", "positive": GREEN, "negative": VERMILLION}
    cy = by + 10.5
    for x, kind in zip(cx, kinds, strict=True):
        ax.add_patch(plt.Circle((x, cy), 1.4, facecolor=colors[kind], edgecolor=INK, linewidth=1.0))
    label(ax, cx[0], cy, "i", size=10)
    label(ax, cx[1], cy, "j", size=10, color="white", weight="bold")
    label(ax, cx[0], cy + 3.3, "itself:\nleft out", size=9.5, va="bottom")
    label(
        ax,
        cx[1] + 0.6,
        cy + 3.3,
        "positive:\npulled in",
        size=9.5,
        va="bottom",
        color=GREEN,
        ha="left",
    )
    label(
        ax,
        (cx[2] + cx[-1]) / 2 + 2.5,
        cy + 3.3,
        "2N−2 negatives:\npushed apart",
        size=9.5,
        va="bottom",
        color=VERMILLION,
    )
    label(ax, cx[-1] + 2.5, cy, "a batch of N = 4\nimages: 2N = 8 views", size=10, ha="left")
    label(
        ax,
        bx + bw / 2,
        by + 3.8,
        "a softmax over the 2N−1 other views, logits = cosine similarity / τ, target j;\n"
        "the loss averages this over all 2N views",
        size=10.5,
    )
    return save(
        fig,
        "simclr",
        "The SimCLR pipeline",
        "An image x is augmented twice by random transformations t and t' into views x_i and "
        "x_j. Each view goes through the same encoder f (a ResNet), giving the representation h "
        "used downstream, and the same projection head g (a two-layer MLP), giving z_i and z_j. "
        "The NT-Xent loss for view i is a softmax over the 2N-1 other views of the batch (cosine "
        "similarity divided by the temperature): z_j is the positive, the other 2N-2 views are "
        "negatives, and view i itself is left out.",
        png_dir,
    )


# --- (d) chapter 2: the ways to fine-tune -----------------------------------------------------


def finetuning(png_dir: Path | None) -> Path:
    fig, ax = canvas(WIDTH, 8.4, 88, 84)
    frozen = {"color": GREY, "fill": GREY_TINT}
    trained = {"color": ORANGE, "fill": TINT[ORANGE]}
    variants = [
        ("linear probe", "the head only", ["frozen"] * 7, False),
        (
            "partial fine-tuning",
            "the top 2 blocks\nand the head",
            ["frozen"] * 5 + ["trained"] * 2,
            False,
        ),
        ("full fine-tuning", "every weight", ["trained"] * 7, False),
        ("LoRA", "small A, B in every\nblock and the head", ["frozen"] * 7, True),
    ]
    bw, bh, base = 13.5, 3.2, 39
    names = ["embeddings"] + [f"block {k}" for k in range(1, 7)]
    for v, (name, sub, parts, lora) in enumerate(variants):
        x = 1 + v * 22
        label(ax, x + bw / 2 + (1.8 if lora else 0), 81.5, name, size=12, weight="bold")
        label(ax, x + bw / 2 + (1.8 if lora else 0), 77.3, f"trains {sub}", size=10.5)
        for k, (part, text) in enumerate(zip(parts, names, strict=True)):
            y = base + k * (bh + 0.8)
            box(ax, x, y, bw, bh, text, size=10, **(frozen if part == "frozen" else trained))
            if lora and k > 0:
                box(ax, x + bw + 0.5, y + 0.2, 4.2, bh - 0.4, "A,B", size=9, **trained)
        y_head = base + 7 * (bh + 0.8) + 0.5
        box(ax, x, y_head, bw, bh, "head (new)", size=10, **trained)
        arrow(ax, (x + bw / 2, base - 2.3), (x + bw / 2, base), width=1.2)
        label(ax, x + bw / 2, base - 3.6, "sentence", size=10)
    # The colour key.
    box(ax, 1, 31.2, 3.5, 2.2, "", **frozen)
    label(ax, 5.5, 32.3, "frozen (pre-trained, not updated)", size=10.5, ha="left")
    box(ax, 45, 31.2, 3.5, 2.2, "", **trained)
    label(ax, 49.5, 32.3, "trained", size=10.5, ha="left")
    # LoRA, zoomed in: one adapted projection, from input x (left) to output h (right).
    frame = FancyBboxPatch(
        (0.5, 0.5),
        87,
        28,
        boxstyle="round,pad=0,rounding_size=0.8",
        facecolor="white",
        edgecolor=ORANGE,
        linewidth=1.2,
        linestyle="--",
    )
    ax.add_patch(frame)
    label(
        ax,
        2,
        25.5,
        "LoRA, zoomed in: one adapted matrix (a query or value projection)",
        size=11.5,
        weight="bold",
        color=ORANGE,
        ha="left",
    )
    box(ax, 2.5, 10.5, 9, 4, "input $x$", color=GREY, fill="white", size=10.5)
    box(
        ax,
        17,
        14,
        17,
        8.5,
        "$W$: $d_{out} \\times d_{in}$\npre-trained, frozen",
        size=10.5,
        **frozen,
    )
    box(ax, 17, 2.5, 13, 8, "$A$: $r \\times d_{in}$\nrandom init", size=10.5, **trained)
    box(ax, 35, 2.5, 15, 8, "$B$: $d_{out} \\times r$\ninitialised to 0", size=10.5, **trained)
    arrow(ax, (11.5, 13.5), (17, 18))
    arrow(ax, (11.5, 11.5), (17, 6.5))
    arrow(ax, (30, 6.5), (35, 6.5))
    label(ax, 32.5, 8.4, "$r$", size=10.5, color=ORANGE)
    ax.add_patch(plt.Circle((55, 12.5), 1.6, facecolor="white", edgecolor=INK, linewidth=1.4))
    label(ax, 55, 12.6, "+", size=14, weight="bold")
    arrow(ax, (34, 18.2), (53.9, 13.7))
    arrow(ax, (50, 6.5), (53.9, 11.3))
    label(ax, 52.8, 5.5, "$\\times\\,\\alpha/r$", size=10.5, color=ORANGE, ha="left")
    arrow(ax, (56.6, 12.5), (60, 12.5))
    box(ax, 60, 10.5, 6, 4, "$h$", color=GREY, fill="white", size=11)
    label(ax, 77, 17.5, "$h = Wx + \\frac{\\alpha}{r}\\,BAx$", size=12.5)
    label(
        ax,
        77,
        8.5,
        "B = 0 at the start:\nthe adapted model\nbegins exactly as\nthe pre-trained one",
        size=10.5,
    )
    return save(
        fig,
        "finetuning_variants",
        "Four ways to fine-tune a pre-trained encoder",
        "Four stacks of an embedding layer, six transformer blocks and a new classification "
        "head; grey parts are frozen, orange parts are trained. Linear probe: only the head is "
        "trained. Partial fine-tuning: the top two blocks and the head. Full fine-tuning: every "
        "weight. LoRA: everything pre-trained stays frozen; small matrices A and B are added "
        "beside the query and value projections of every block, and the head is trained. A zoom "
        "shows one adapted matrix: the output is W x plus alpha over r times B A x, with W frozen, "
        "A of size r by d_in randomly initialised and B of size d_out by r initialised to zero, "
        "so training starts exactly at the pre-trained model.",
        png_dir,
    )


DIAGRAMS = {
    "two_stages": two_stages,
    "architectures": architectures,
    "masking": masking,
    "simclr": simclr,
    "finetuning_variants": finetuning,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--png", type=Path, default=None, help="also write PNG previews here")
    parser.add_argument("names", nargs="*", default=list(DIAGRAMS), help="which diagrams")
    args = parser.parse_args(argv)
    plt.rcParams.update(STYLE)
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        path = DIAGRAMS[name](args.png)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
