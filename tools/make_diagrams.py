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
    fig, ax = canvas(10.5, 3.9, 105, 39)
    # Stage bands.
    for x0, w, color, text in [
        (0.5, 52, BLUE, "Stage 1: pre-training (once, expensive; usually done by somebody else)"),
        (56, 48.5, ORANGE, "Stage 2: fine-tuning (per task, cheap)"),
    ]:
        ax.add_patch(
            FancyBboxPatch(
                (x0, 1),
                w,
                31,
                boxstyle="round,pad=0,rounding_size=0.8",
                facecolor="white",
                edgecolor=color,
                linewidth=1.2,
                linestyle="--",
            )
        )
        label(ax, x0 + w / 2, 35.5, text, size=12, weight="bold", color=color)
    box(
        ax,
        2,
        17,
        21.5,
        12,
        "unlabelled data\nmillions to billions\nof sentences or images",
        color=GREY,
        size=11.5,
    )
    box(
        ax,
        2,
        3,
        21.5,
        11,
        "self-supervised task\ntargets from the data:\nmasked words (ch. 3),\ntwo views (ch. 4)",
        color=VERMILLION,
        size=11,
    )
    box(
        ax,
        30,
        10,
        20,
        13,
        "pre-trained model\ngeneral\nrepresentations",
        color=BLUE,
        size=12,
        weight="bold",
    )
    arrow(ax, (23.5, 23), (30, 18.5))
    arrow(ax, (23.5, 8.5), (30, 14.5))
    box(
        ax,
        57.5,
        17,
        21.5,
        12,
        "labelled data\na few to thousands\nof examples",
        color=GREY,
        size=11.5,
    )
    box(
        ax,
        57.5,
        3,
        21.5,
        11,
        "adapt: train all weights\n(fine-tune), or a new\nhead on frozen features",
        color=ORANGE,
        size=11,
    )
    box(
        ax,
        84,
        10,
        18.5,
        13,
        "task model\ne.g. a sentiment\nclassifier",
        color=ORANGE,
        size=12,
        weight="bold",
    )
    arrow(ax, (50, 16.5), (57.5, 8.5), color=BLUE, width=2.2)
    label(ax, 53.8, 7.0, "weights", size=10.5, color=BLUE, style="italic")
    arrow(ax, (79, 23), (84, 18.5))
    arrow(ax, (79, 8.5), (84, 14.5))
    return save(
        fig,
        "two_stages",
        "Pre-training and fine-tuning",
        "Stage 1: unlabelled data and a self-supervised task (masked words, two views of an "
        "image) pre-train a model with general representations, once. Stage 2: its weights are "
        "adapted with a small labelled data set, by fine-tuning all weights or training a new head "
        "on frozen features, giving a task model such as a sentiment classifier.",
        png_dir,
    )


# --- (a) chapter 2: four families -------------------------------------------------------------


def _stack(ax: Axes, x: float, y: float, w: float, h: float, lines: str, color: str) -> None:
    """A block stack drawn as three offset boxes (the repeated blocks)."""
    for k in (2, 1):
        box(ax, x + 0.5 * k, y + 0.5 * k, w, h, color=color, fill="white")
    box(ax, x, y, w, h, lines, color=color, size=11)


def _fan(ax: Axes, xs: Sequence[float], y0: float, y1: float, color: str = INK) -> None:
    for x in xs:
        arrow(ax, (x, y0), (x, y1), color=color, width=1.2)


def architectures(png_dir: Path | None) -> Path:
    fig, ax = canvas(13.0, 6.0, 130, 60)
    th = 3.4  # token boxes' height
    in_y, st_y, st_h, out_y = 15.5, 22, 11, 38
    mask_y, cell = 2.3, 1.7
    mid = mask_y + 2 * cell  # the middle of a 4 x 4 mask

    def title(x: float, w: float, name: str, example: str, color: str) -> None:
        label(ax, x + w / 2, 58, name, size=14, weight="bold", color=color)
        label(ax, x + w / 2, 54.8, example, size=11.5)

    def what(x: float, w: float, text: str) -> None:
        label(ax, x + w / 2, 47.5, text, size=11, style="italic")

    def mask_caption(x: float, text: str) -> None:
        label(ax, x, mid, text, size=10.5, ha="left", va="center")

    # Encoder (BERT).
    x0, tw = 1, 5.4
    title(x0, 23, "Encoder", "BERT, MiniLM", BLUE)
    xs = tokens(ax, x0, in_y, ["[CLS]", "a", "[MASK]", "film"], tw, th, size=10)
    _fan(ax, xs, in_y + th, st_y)
    _stack(
        ax,
        x0,
        st_y,
        4 * tw + 1.2,
        st_h,
        "N blocks:\nbidirectional\nself-attention\n+ feed-forward",
        BLUE,
    )
    _fan(ax, xs, st_y + st_h + 1, out_y)
    fills = [None, None, TINT[VERMILLION], None]
    tokens(ax, x0, out_y, ["h", "h", "great", "h"], tw, th, size=10, fills=fills)
    what(x0, 23, "predict the masked token\nfrom both sides")
    grid(ax, x0 + 1, mask_y, lambda i, j: True, 4, 4, cell, BLUE)
    mask_caption(x0 + 1 + 4 * cell + 1, "every token\nsees every\ntoken")

    # Decoder (GPT).
    x0 = 29
    title(x0, 23, "Decoder", "GPT, GPT-2", ORANGE)
    xs = tokens(ax, x0, in_y, ["a", "film", "was", "so"], tw, th, size=10)
    _fan(ax, xs, in_y + th, st_y)
    _stack(
        ax,
        x0,
        st_y,
        4 * tw + 1.2,
        st_h,
        "N blocks:\ncausal (masked)\nself-attention\n+ feed-forward",
        ORANGE,
    )
    _fan(ax, xs, st_y + st_h + 1, out_y)
    tokens(
        ax, x0, out_y, ["film", "was", "so", "good"], tw, th, size=10, fills=[TINT[VERMILLION]] * 4
    )
    what(x0, 23, "predict the next token\nat every position")
    grid(ax, x0 + 1, mask_y, lambda i, j: j <= i, 4, 4, cell, ORANGE)
    mask_caption(x0 + 1 + 4 * cell + 1, "a token sees\nitself and the\npast only")

    # Encoder-decoder (T5).
    x0, ew, dw = 57, 4.3, 4.8
    title(x0, 44, "Encoder-decoder", "T5", PURPLE)
    xs = tokens(ax, x0, in_y, ["a", "<X>", "was", "<Y>"], ew, th, size=10, gap=0.3)
    _fan(ax, xs, in_y + th, st_y)
    enc_w = 4 * ew + 0.9
    _stack(
        ax, x0, st_y, enc_w, st_h, "encoder:\nbidirectional\nself-attention\n+ feed-forward", BLUE
    )
    dx = x0 + 28
    xs_d = tokens(ax, dx, in_y, ["<s>", "<X>", "film"], dw, th, size=10, gap=0.3)
    _fan(ax, xs_d, in_y + th, st_y)
    dec_w = 3 * dw + 0.6
    _stack(
        ax,
        dx,
        st_y,
        dec_w,
        st_h,
        "decoder:\ncausal self-attn.\n+ cross-attn.\n+ feed-forward",
        ORANGE,
    )
    # Cross-attention: every decoder block reads the encoder's output vectors.
    y_cross = st_y + 0.45 * st_h
    arrow(ax, (x0 + enc_w + 1.2, y_cross), (dx, y_cross), color=PURPLE, width=2.4)
    label(ax, (x0 + enc_w + 1.2 + dx) / 2, y_cross + 4.3, "encoder\noutput", size=10, color=PURPLE)
    label(
        ax,
        (x0 + enc_w + 1.2 + dx) / 2,
        y_cross - 3.6,
        "keys and\nvalues of\ncross-attn.",
        size=9.5,
        color=PURPLE,
        va="top",
    )
    _fan(ax, xs_d, st_y + st_h + 1, out_y)
    tokens(
        ax,
        dx,
        out_y,
        ["<X>", "film", "<Y>"],
        dw,
        th,
        size=10,
        gap=0.3,
        fills=[TINT[VERMILLION]] * 3,
    )
    what(
        x0,
        44,
        "the decoder writes out the dropped spans:\n<X> film <Y> good (input: a film was good)",
    )
    grid(ax, x0 + 1, mask_y, lambda i, j: True, 4, 4, cell, BLUE)
    label(ax, x0 + 1 + 2 * cell, mask_y - 1.2, "encoder", size=10)
    grid(ax, x0 + 13, mask_y, lambda i, j: j <= i, 3, 3, cell, ORANGE)
    label(ax, x0 + 13 + 1.5 * cell, mask_y - 1.2, "decoder self", size=10)
    grid(ax, x0 + 24, mask_y, lambda i, j: True, 3, 4, cell, PURPLE)
    label(ax, x0 + 24 + 2 * cell, mask_y - 1.2, "cross", size=10)
    mask_caption(x0 + 24 + 4 * cell + 1, "3 decoder\nqueries x 4\ninput keys")

    # Vision transformer.
    x0 = 105
    title(x0, 24, "Vision transformer", "ViT", GREEN)
    px, py, ps = x0, in_y - 0.6, 1.5  # the image, cut into 3 x 3 patches
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
    vx, vw = x0 + 6.3, 4.2
    xs = tokens(ax, vx, in_y, ["[CLS]", "p1", "…", "p9"], vw, th, color=GREEN, size=10, gap=0.3)
    _fan(ax, xs, in_y + th, st_y)
    _stack(
        ax,
        vx,
        st_y,
        4 * vw + 0.9,
        st_h,
        "N blocks:\nbidirectional\nself-attention\n+ feed-forward",
        GREEN,
    )
    arrow(ax, (xs[0], st_y + st_h + 1), (xs[0], out_y), width=1.2)
    box(ax, vx - 0.5, out_y, 9.5, th, "class label", color=VERMILLION, size=10)
    what(x0 + 2, 22, "patches are the tokens;\nclassify from [CLS]")
    grid(ax, vx, mask_y, lambda i, j: True, 4, 4, cell, GREEN)
    mask_caption(vx + 4 * cell + 1, "every patch\nsees every\npatch")

    label(
        ax,
        1,
        11.9,
        "attention masks (row: query, column: key; filled: may attend, white: blocked)",
        size=11,
        ha="left",
        weight="bold",
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
    fig, ax = canvas(13.0, 6.0, 130, 60)
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
    tw, th, gap, x0 = 7.0, 3.6, 0.5, 35
    xs = [x0 + k * (tw + gap) + tw / 2 for k in range(len(words))]
    rows = {"text": 53, "chosen": 44.5, "input": 36, "model": 19, "loss": 8.5}
    special = {0, len(words) - 1}

    def row_label(y: float, title: str, sub: str) -> None:
        label(ax, 1, y + th / 2 + 1.0, title, size=12, ha="left", weight="bold")
        label(ax, 1, y + th / 2 - 1.6, sub, size=10.5, ha="left", va="center")

    row_label(rows["text"], "1. a row of tokens", "special tokens are never chosen")
    fills = [GREY_TINT if k in special else "white" for k in range(len(words))]
    tokens(ax, x0, rows["text"], words, tw, th, size=10.5, gap=gap, fills=fills)

    row_label(
        rows["chosen"], "2. choose positions at random", "15% in BERT, 40% in chapter 3's recipe"
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
                size=10.5,
                weight="bold",
            )
            arrow(ax, (x, rows["text"]), (x, rows["chosen"] + th), color=VERMILLION, width=1.2)
        else:
            ax.plot([x], [rows["chosen"] + th / 2], marker="o", markersize=3, color=GREY)

    row_label(rows["input"], "3. corrupt the chosen ones", "80% [MASK], 10% random, 10% kept")
    corrupt = {"[MASK]": TINT[VERMILLION], "random": TINT[ORANGE], "unchanged": TINT[SKY]}
    for k, x in enumerate(xs):
        word = chosen.get(k, words[k])
        fill = corrupt[kinds[k]] if k in chosen else fills[k]
        box(ax, x - tw / 2, rows["input"], tw, th, word, color=GREY, fill=fill, size=10.5)
        if k in chosen:
            arrow(ax, (x, rows["chosen"]), (x, rows["input"] + th), color=VERMILLION, width=1.2)
            label(ax, x, rows["input"] - 1.6, kinds[k], size=10, style="italic")
        else:
            ax.plot([x, x], [rows["text"], rows["input"] + th], color="#BBBBBB", linewidth=0.8)
    # The split of the chosen positions, as one bar.
    bx, by, bw = 1, 28, 30
    for start, frac, color in [(0, 0.8, VERMILLION), (0.8, 0.1, ORANGE), (0.9, 0.1, SKY)]:
        ax.add_patch(
            Rectangle(
                (bx + start * bw, by),
                frac * bw,
                3.0,
                facecolor=TINT[color],
                edgecolor=color,
                linewidth=1.2,
            )
        )
    label(ax, bx + 0.4 * bw, by + 1.5, "80%: [MASK]", size=10.5)
    label(ax, bx + bw, by - 0.7, "10%: random token, 10%: unchanged", size=10, ha="right", va="top")

    row_label(rows["model"], "4. the encoder reads", "the whole corrupted row")
    width = xs[-1] + tw / 2 - x0
    box(
        ax,
        x0,
        rows["model"],
        width,
        6.5,
        "Transformer encoder (bidirectional) + prediction head",
        color=BLUE,
        size=12,
    )
    for x in xs:
        arrow(ax, (x, rows["input"] - 2.8), (x, rows["model"] + 6.5), color=GREY, width=0.9)

    row_label(
        rows["loss"],
        "5. the loss: chosen positions only",
        "-log p(original token), label -100 elsewhere",
    )
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
                size=10.5,
                weight="bold",
            )
        else:
            label(ax, x, rows["loss"] + th / 2, "-100", size=10, color=GREY)
    label(
        ax,
        x0,
        rows["loss"] - 1.6,
        "The random and unchanged tokens are predicted too: the model cannot tell which visible "
        "tokens are the\noriginals, so it must represent every token well. No loss at -100: "
        "the output layer is needed only at the chosen positions.",
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
    fig, ax = canvas(13.0, 5.6, 130, 56)
    _picture(ax, 2, 22, 10)
    label(ax, 7, 19.5, "image x", size=12)
    # Two random augmentations.
    rows = {"i": 38, "j": 6}
    for name, y in rows.items():
        arrow(ax, (12.5, 27), (20, y + 5), rad=0.0)
        _picture(ax, 21, y, 10, gray=(name == "j"), crop=(name == "i"))
    label(ax, 13.2, 40, "t ~ T", size=12, style="italic")
    label(ax, 13.2, 14, "t' ~ T", size=12, style="italic")
    label(ax, 26, rows["i"] + 12.2, "view $x_i$ (crop, flip)", size=11.5)
    label(ax, 26, rows["j"] - 2.2, "view $x_j$ (crop, colour, grey)", size=11.5)
    for name, y in rows.items():
        sub = name
        arrow(ax, (31.5, y + 5), (36, y + 5))
        box(ax, 36, y + 1, 14, 8, "encoder $f$\n(ResNet)", color=BLUE, size=11.5)
        arrow(ax, (50, y + 5), (54, y + 5))
        box(ax, 54, y + 2.5, 7, 5, f"$h_{sub}$", color=GREY, size=12)
        arrow(ax, (61, y + 5), (65, y + 5))
        box(ax, 65, y + 1, 14, 8, "projection $g$\n(2-layer MLP)", color=PURPLE, size=11.5)
        arrow(ax, (79, y + 5), (83, y + 5))
        box(ax, 83, y + 2.5, 7, 5, f"$z_{sub}$", color=VERMILLION, size=12)
    # Shared weights.
    for x in (43, 72):
        ax.plot([x, x], [16, 38], linestyle=":", color=GREY, linewidth=1.5)
    label(ax, 57.5, 27, "the same $f$ and $g$\n(shared weights) for all views", size=11, color=GREY)
    label(ax, 57.5, 53.5, "representation $h = f(x)$: used downstream", size=11, color=INK)
    arrow(ax, (57.5, 52), (57.5, 48), color=GREY, width=1.0)
    # NT-Xent.
    arrow(ax, (90, rows["i"] + 5), (95, 31), rad=-0.15)
    arrow(ax, (90, rows["j"] + 5), (95, 19), rad=0.15)
    box(ax, 95, 8, 34, 33, "", color=VERMILLION, fill="white")
    label(ax, 112, 38, "NT-Xent loss for view i", size=12, weight="bold", color=VERMILLION)
    # The 2N views of a batch (N = 4 here), seen from view i.
    n2 = 8
    cx = [99.3 + k * 3.6 for k in range(n2)]
    kinds = ["self", "positive"] + ["negative"] * (n2 - 2)
    colors = {"self": "white", "positive": GREEN, "negative": VERMILLION}
    for x, kind in zip(cx, kinds, strict=True):
        ax.add_patch(
            plt.Circle((x, 32.5), 1.3, facecolor=colors[kind], edgecolor=INK, linewidth=1.0)
        )
    label(ax, cx[0], 32.5, "i", size=10)
    label(ax, cx[1], 32.5, "j", size=10, color="white", weight="bold")
    label(ax, 112, 29, "N = 4 images in a batch: 2N = 8 views", size=10.5)
    for y, color, text in [
        (25, GREEN, "$z_j$: the positive, pulled closer"),
        (21.8, VERMILLION, "2N−2 negatives: pushed away"),
        (18.6, "white", "$z_i$ itself: left out of the sum"),
    ]:
        ax.add_patch(plt.Circle((97.6, y), 0.9, facecolor=color, edgecolor=INK, linewidth=0.8))
        label(ax, 99.3, y, text, size=10.5, ha="left")
    label(
        ax,
        112,
        13.2,
        "a softmax over the 2N−1 other views:\nlogits = cosine similarity / τ, target = j;\nthe loss averages this over all 2N views",
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
    fig, ax = canvas(13.0, 5.9, 130, 59)
    frozen = {"color": GREY, "fill": GREY_TINT}
    trained = {"color": ORANGE, "fill": TINT[ORANGE]}
    variants = [
        ("linear probe", "the head only", ["frozen"] * 7, False),
        ("partial fine-tuning", "the top 2 blocks + head", ["frozen"] * 5 + ["trained"] * 2, False),
        ("full fine-tuning", "every weight", ["trained"] * 7, False),
        ("LoRA", "small A, B + head", ["frozen"] * 7, True),
    ]
    bw, bh, x0, base = 15, 3.5, 2, 9
    names = ["embeddings"] + [f"block {k}" for k in range(1, 7)]
    for v, (name, sub, parts, lora) in enumerate(variants):
        x = x0 + v * 22
        label(ax, x + bw / 2, 54, name, size=13, weight="bold")
        label(ax, x + bw / 2, 51, f"trains {sub}", size=11)
        for k, (part, text) in enumerate(zip(parts, names, strict=True)):
            y = base + k * (bh + 0.9)
            box(ax, x, y, bw, bh, text, size=10.5, **(frozen if part == "frozen" else trained))
            if lora and k > 0:
                box(ax, x + bw + 0.5, y + 0.3, 3.4, bh - 0.6, "A,B", size=8.5, **trained)
        y_head = base + 7 * (bh + 0.9) + 0.6
        box(ax, x, y_head, bw, bh, "head (new)", size=10.5, **trained)
        arrow(ax, (x + bw / 2, base - 2.6), (x + bw / 2, base), width=1.2)
        label(ax, x + bw / 2, base - 4, "sentence", size=10.5)
    # The colour key.
    box(ax, 2, 0.3, 4, 2.2, "", **frozen)
    label(ax, 7, 1.4, "frozen (pre-trained, not updated)", size=10.5, ha="left")
    box(ax, 44, 0.3, 4, 2.2, "", **trained)
    label(ax, 49, 1.4, "trained", size=10.5, ha="left")
    # LoRA, zoomed in: one adapted projection.
    zx = 92
    frame = FancyBboxPatch(
        (zx - 1, 3),
        38,
        54,
        boxstyle="round,pad=0,rounding_size=0.8",
        facecolor="white",
        edgecolor=ORANGE,
        linewidth=1.2,
        linestyle="--",
    )
    ax.add_patch(frame)
    label(ax, zx + 18, 54, "LoRA: one adapted matrix", size=12.5, weight="bold", color=ORANGE)
    label(ax, zx + 18, 50.5, "(a query or value projection)", size=10.5, color=ORANGE)
    label(ax, zx + 18, 45.5, "$h = Wx + \\frac{\\alpha}{r}\\,BAx$", size=13)
    box(ax, zx + 9, 10, 18, 4, "input $x$ ($d_{in}$)", color=GREY, fill="white", size=11)
    box(
        ax,
        zx + 1,
        19,
        15,
        15,
        "$W$\n$d_{out} \\times d_{in}$\n\npre-trained,\nfrozen",
        size=11,
        **frozen,
    )
    box(ax, zx + 20, 18.5, 14, 6, "$A$: $r \\times d_{in}$\nrandom init", size=10.5, **trained)
    box(ax, zx + 20, 29, 14, 6, "$B$: $d_{out} \\times r$\ninitialised to 0", size=10.5, **trained)
    arrow(ax, (zx + 14, 14), (zx + 8.5, 19))
    arrow(ax, (zx + 22, 14), (zx + 27, 18.5))
    arrow(ax, (zx + 27, 24.5), (zx + 27, 29))
    label(ax, zx + 28, 26.8, "rank $r$", size=10.5, color=ORANGE, ha="left")
    ax.add_patch(plt.Circle((zx + 18, 40), 1.5, facecolor="white", edgecolor=INK, linewidth=1.4))
    label(ax, zx + 18, 40.1, "+", size=14, weight="bold")
    arrow(ax, (zx + 8.5, 34), (zx + 16.7, 39.3))
    arrow(ax, (zx + 27, 35), (zx + 19.3, 39.3))
    label(ax, zx + 28.5, 38.5, "$\\times\\,\\alpha/r$", size=11, color=ORANGE)
    label(
        ax,
        zx + 18,
        6.2,
        "B = 0 at the start: training begins\nexactly at the pre-trained model",
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
