import numpy as np
import pytest

from adagroup.plot import _heatmap_layout, colorbar_label, plot_affinity


def test_layout_groups_tasks_and_marks_borders():
    T = np.arange(16.0).reshape(4, 4)
    layout = _heatmap_layout(T, [1, 0, 1, 0], ["a", "b", "c", "d"])
    assert layout.order.tolist() == [1, 3, 0, 2]
    assert layout.boundaries == [2]
    assert layout.tick_labels == ["b", "d", "a", "c"]
    assert layout.matrix[0, 1] == T[1, 3]


def test_layout_without_labels():
    layout = _heatmap_layout(np.eye(3), None, None)
    assert layout.boundaries == [] and layout.tick_labels == ["0", "1", "2"]


def test_plot_writes_png(tmp_path, planted):
    pytest.importorskip("matplotlib")
    T, labels = planted
    ax = plot_affinity(T, labels, title="planted")
    path = tmp_path / "h.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000
    # two white borders per boundary (horizontal + vertical), three groups -> 2 boundaries
    assert len(ax.lines) == 4


@pytest.mark.parametrize(
    ("labels", "names", "match"),
    [
        ([0, 1, 1], None, r"'labels' .* shape \(4,\)\. Got shape \(3,\)"),
        ([0, 1, 1, 0, 1], None, r"'labels' .* Got shape \(5,\)"),
        ([0, -1, 1, 0], None, r"'labels' .* group numbers >= 0"),
        (None, ["a", "b"], r"'task_names' .* the 4 tasks of T\. Got 2 names"),
    ],
)
def test_wrong_length_labels_or_names_raise(labels, names, match):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=match):
        plot_affinity(np.eye(4), labels, names)


def test_non_square_matrix_raises():
    with pytest.raises(ValueError, match=r"square matrix. Got shape \(2, 3\)"):
        _heatmap_layout(np.ones((2, 3)), None, None)


def test_signed_matrix_is_centred_on_zero_and_labelled():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    T = np.array([[1.0, -3.0], [-3.0, 0.5]])
    ax = plot_affinity(T)
    image = ax.images[0]
    assert isinstance(image.norm, TwoSlopeNorm) and image.norm.vcenter == 0.0
    assert (image.norm.vmin, image.norm.vmax) == (-3.0, 3.0)  # same scale on both sides
    assert image.cmap.name == "RdBu"
    assert image.colorbar.ax.get_ylabel() == "affinity (higher = partner helps target)"
    plt.close(ax.figure)
    ax = plot_affinity(np.abs(T), colorbar_label=colorbar_label("standardize"))
    assert not isinstance(ax.images[0].norm, TwoSlopeNorm)
    assert ax.images[0].cmap.name == "viridis"
    assert ax.images[0].colorbar.ax.get_ylabel() == (
        "affinity, standardised per target task (higher = partner helps target)"
    )
    plt.close(ax.figure)
