import numpy as np
import pytest

from adagroup.plot import _heatmap_layout, plot_affinity


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
