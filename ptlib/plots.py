"""One house style for every figure in the book, and the standard figures.

Introduced in chapter 1 (background).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ptlib import checks

#: A colour-blind-safe palette (Okabe & Ito), in the order lines are drawn.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

STYLE: dict[str, object] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
}


def use_style() -> None:
    """Apply the house style to every figure drawn after this call.

    Introduced in chapter 1 (background).
    """
    mpl.rcParams.update(STYLE)


def new_figure(
    ncols: int = 1, nrows: int = 1, width: float | None = None, height: float | None = None
) -> tuple[Figure, Axes | np.ndarray]:
    """A figure in the house style with ``nrows x ncols`` axes (one ``Axes`` when both are 1).

    Introduced in chapter 1 (background).
    """
    ncols, nrows = checks.positive_int(ncols, "ncols"), checks.positive_int(nrows, "nrows")
    width = None if width is None else checks.finite_number(width, "width", low=0, low_open=True)
    height = (
        None if height is None else checks.finite_number(height, "height", low=0, low_open=True)
    )
    use_style()
    w, h = STYLE["figure.figsize"]  # type: ignore[misc]
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width or w * ncols, height or h * nrows),
        layout="constrained",
        squeeze=True,
    )
    return fig, axes


def _check_axes(ax: object) -> None:
    if not isinstance(ax, Axes):
        hint = " (new_figure with several axes returns an array: pass one, e.g. axes[0])"
        raise TypeError(
            f"ax must be one matplotlib Axes, got {type(ax).__name__}"
            + (hint if isinstance(ax, np.ndarray) else "")
        )


def line_with_errorbars(
    ax: Axes,
    x: Sequence[float],
    mean: Sequence[float],
    std: Sequence[float],
    label: str,
    logx: bool = False,
) -> None:
    """Draw ``mean`` against ``x`` with a ±``std`` band and markers, e.g. accuracy vs labels.

    All three are one-dimensional, of one length, not empty and finite (a NaN would silently
    leave a gap in the line); ``std`` is not negative, and with ``logx`` every ``x`` is positive.
    Introduced in chapter 1 (background).
    """
    _check_axes(ax)
    x, mean, std = (
        checks.finite_array(v, n, ndim=1) for v, n in ((x, "x"), (mean, "mean"), (std, "std"))
    )
    if not (x.shape == mean.shape == std.shape):
        raise ValueError(
            f"x, mean and std must have one shape, got {x.shape}, {mean.shape}, {std.shape}"
        )
    if (std < 0).any():
        raise ValueError(
            f"std holds {int((std < 0).sum())} negative value(s) (min {std.min()}): pass standard "
            "deviations or interval half-widths, which are never negative"
        )
    if logx and (x <= 0).any():
        raise ValueError(
            f"x holds {int((x <= 0).sum())} value(s) <= 0 (min {x.min()}), which a log axis "
            "cannot show: drop them or use logx=False"
        )
    (line,) = ax.plot(x, mean, marker="o", label=label)
    ax.errorbar(x, mean, yerr=std, fmt="none", ecolor=line.get_color(), capsize=3)
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15, linewidth=0)
    if logx:
        ax.set_xscale("log")


def confusion_matrix(
    ax: Axes, cm: np.ndarray, labels: Sequence[str], normalize: bool = True
) -> None:
    """Draw a confusion matrix (rows: true class, columns: predicted class) with counts.

    With ``normalize`` the colours show each row's fractions (recall per class). ``cm`` holds
    finite, non-negative counts; ``labels`` is a sequence of names (not one string).
    Introduced in chapter 1 (background).
    """
    _check_axes(ax)
    if isinstance(labels, str | bytes):
        raise TypeError(f"labels must be a sequence of class names, not one string: got {labels!r}")
    labels = list(labels)
    checks.finite_array(cm, "cm", ndim=2)
    cm = np.asarray(cm)
    if (cm < 0).any():
        raise ValueError(
            f"cm holds {int((cm < 0).sum())} negative count(s): pass counts, e.g. "
            "sklearn.metrics.confusion_matrix(y_true, y_pred)"
        )
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(labels):
        raise ValueError(
            f"cm must be square with one row per label, got {cm.shape} for {len(labels)} labels"
        )
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.grid(False)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels=list(labels), rotation=45, ha="right")
    ax.set_yticks(ticks, labels=list(labels))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                f"{cm[i, j]}",
                ha="center",
                va="center",
                color="white" if shown[i, j] > threshold else "black",
            )
