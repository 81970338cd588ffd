import matplotlib as mpl
import numpy as np
import pytest

from ptlib import plots


def test_use_style_sets_house_style():
    mpl.rcdefaults()
    plots.use_style()
    assert mpl.rcParams["axes.spines.top"] is False
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == plots.PALETTE[0]


def test_new_figure_shapes():
    fig, ax = plots.new_figure()
    assert hasattr(ax, "plot")
    fig2, axes = plots.new_figure(ncols=2, nrows=2)
    assert axes.shape == (2, 2)
    assert fig2.get_size_inches()[0] == pytest.approx(2 * fig.get_size_inches()[0])


def test_line_with_errorbars_draws_mean_and_band():
    fig, ax = plots.new_figure()
    plots.line_with_errorbars(
        ax, [8, 32, 128], [0.6, 0.7, 0.8], [0.05, 0.02, 0.01], "model", logx=True
    )
    (line,) = ax.get_lines()[:1]
    assert np.allclose(line.get_ydata(), [0.6, 0.7, 0.8])
    assert ax.get_xscale() == "log"
    assert ax.get_legend_handles_labels()[1] == ["model"]
    with pytest.raises(ValueError, match="one shape"):
        plots.line_with_errorbars(ax, [1, 2], [0.5], [0.1], "bad")


def test_confusion_matrix_annotates_counts():
    fig, ax = plots.new_figure()
    cm = np.array([[5, 1], [2, 8]])
    plots.confusion_matrix(ax, cm, ["neg", "pos"])
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["5", "1", "2", "8"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["neg", "pos"]
    with pytest.raises(ValueError, match="square"):
        plots.confusion_matrix(ax, np.ones((2, 3)), ["a", "b"])


def test_bad_plot_input_is_refused_with_the_argument_named():
    fig, ax = plots.new_figure()
    with pytest.raises(ValueError, match="std holds 1 NaN"):
        plots.line_with_errorbars(ax, [1, 2], [0.5, 0.6], [0.1, np.nan], "m")
    with pytest.raises(ValueError, match="x is empty"):
        plots.line_with_errorbars(ax, [], [], [], "m")
    with pytest.raises(ValueError, match="std holds 1 negative"):
        plots.line_with_errorbars(ax, [1, 2], [0.5, 0.6], [0.1, -0.1], "m")
    with pytest.raises(ValueError, match=r"x holds 1 value\(s\) <= 0"):
        plots.line_with_errorbars(ax, [0, 2], [0.5, 0.6], [0.1, 0.1], "m", logx=True)
    plots.line_with_errorbars(ax, [0, 2], [0.5, 0.6], [0.0, 0.1], "m")  # 0 on a linear axis
    with pytest.raises(ValueError, match="cm holds 1 negative count"):
        plots.confusion_matrix(ax, np.array([[1, -1], [0, 2]]), ["a", "b"])
    with pytest.raises(ValueError, match="cm is empty"):
        plots.confusion_matrix(ax, np.zeros((0, 0)), [])
    with pytest.raises(TypeError, match="ax must be one matplotlib Axes, got NoneType"):
        plots.confusion_matrix(None, np.eye(2), ["a", "b"])
    with pytest.raises(ValueError, match="width must be greater than 0"):
        plots.new_figure(width=0)
    with pytest.raises(TypeError, match="nrows must be a whole number"):
        plots.new_figure(nrows=1.5)
