"""Heatmap of an affinity matrix reordered by group, with group borders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_affinity", "colorbar_label", "HeatmapLayout"]


class HeatmapLayout(NamedTuple):
    """What the heatmap shows, computed without matplotlib.

    Attributes
    ----------
    order : ndarray of shape (n_tasks,)
        Task index shown at each position (grouped, groups in label order).
    matrix : ndarray of shape (n_tasks, n_tasks)
        ``T[order][:, order]``.
    boundaries : list of int
        Positions between groups where a border is drawn.
    tick_labels : list of str
        Task names in display order.
    """

    order: np.ndarray
    matrix: np.ndarray
    boundaries: list[int]
    tick_labels: list[str]


def _heatmap_layout(
    T: np.ndarray, labels: ArrayLike | None, task_names: Sequence[str] | None
) -> HeatmapLayout:
    T = np.asarray(T, dtype=np.float64)
    if T.ndim != 2 or T.shape[0] != T.shape[1]:
        raise ValueError(
            f"The 'T' parameter of plot_affinity must be a square matrix. Got shape {T.shape}."
        )
    n = T.shape[0]
    names = [str(x) for x in task_names] if task_names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(
            f"The 'task_names' parameter of plot_affinity must name the {n} tasks of T. Got "
            f"{len(names)} names; pass one name per row of T."
        )
    if labels is None:
        order = np.arange(n)
        boundaries: list[int] = []
    else:
        lab = np.asarray(labels)
        if lab.shape != (n,):
            raise ValueError(
                f"The 'labels' parameter of plot_affinity must hold one group per task of T, "
                f"shape ({n},). Got shape {lab.shape}; pass the labels_ of a fit on this T."
            )
        integral = np.issubdtype(lab.dtype, np.number) and np.array_equal(lab, np.round(lab))
        if not integral or (n and lab.min() < 0):
            raise ValueError(
                "The 'labels' parameter of plot_affinity must hold group numbers >= 0. Got "
                f"{lab[:5].tolist()}...; pass the labels_ of a fit on this T."
            )
        # Stable sort keeps the input order inside each group.
        order = np.argsort(lab, kind="stable")
        sizes = np.bincount(lab.astype(np.intp))
        boundaries = [int(b) for b in np.cumsum(sizes[sizes > 0])[:-1]]
    return HeatmapLayout(order, T[np.ix_(order, order)], boundaries, [names[i] for i in order])


COLORBAR_LABEL = "affinity (higher = partner helps target)"

_NORMALIZATION = {
    None: "raw scores",
    "none": "raw scores",
    "center": "centred per target task",
    "standardize": "standardised per target task",
}


def colorbar_label(normalize: str | None) -> str:
    """Colour bar label for an affinity estimated with ``normalize``.

    Parameters
    ----------
    normalize : {None, "none", "center", "standardize"} or str
        The ``normalize`` argument of :func:`adagroup.estimate_affinity`; other
        strings are shown as given.

    Examples
    --------
    >>> colorbar_label("standardize")
    'affinity, standardised per target task (higher = partner helps target)'
    """
    how = _NORMALIZATION.get(normalize, normalize)
    return f"affinity, {how} (higher = partner helps target)"


def _color_scale(M: np.ndarray) -> tuple[Any, str]:
    """Norm and default colour map: a signed matrix gets 0 in the middle of a diverging map.

    With a sequential map and an off-centre zero, "helps" and "hurts" would not
    be told apart by colour. Both halves span the same magnitude, so that a small
    negative entry looks as pale as a small positive one rather than as dark as
    the largest positive entry.
    """
    finite = M[np.isfinite(M)]
    if finite.size and finite.min() < 0 < finite.max():
        from matplotlib.colors import TwoSlopeNorm

        m = float(np.abs(finite).max())
        return TwoSlopeNorm(vmin=-m, vcenter=0.0, vmax=m), "RdBu"
    return None, "viridis"


def plot_affinity(
    T: Any,
    labels: ArrayLike | None = None,
    task_names: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str | None = None,
    colorbar_label: str | None = None,
) -> Axes:
    """Draw the affinity matrix as a heatmap, tasks grouped and groups boxed.

    Parameters
    ----------
    T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
        Affinity matrix (a DataFrame's index supplies ``task_names``).
    labels : array-like of shape (n_tasks,), default=None
        Group of each task; tasks are reordered by group and a white line is
        drawn between groups.
    task_names : sequence of str, default=None
        Tick labels (shown when there are at most 60 tasks).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is made when None.
    title : str, default=None
    cmap : str, default=None
        Colour map. None uses "RdBu" centred on 0 when ``T`` has entries of both
        signs (red: the partner hurts, blue: it helps), else "viridis".
    colorbar_label : str, default=None
        Label of the colour bar; None says that higher means the partner helps.
        Callers that know how ``T`` was normalised should say so here (see
        :func:`colorbar_label`).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``T`` is not square, or ``labels`` or ``task_names`` do not have one
        entry per task.
    """
    try:
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            'plot_affinity needs matplotlib; install it with pip install "adagroup[cluster]".'
        ) from None
    if task_names is None and hasattr(T, "index"):
        task_names = [str(x) for x in T.index]
    if hasattr(T, "to_numpy"):
        T = T.to_numpy()
    layout = _heatmap_layout(np.asarray(T, dtype=np.float64), labels, task_names)
    n = layout.matrix.shape[0]
    if ax is None:
        size = min(12.0, 3.0 + 0.18 * n)
        _, ax = plt.subplots(figsize=(size + 1.2, size))
    norm, default_cmap = _color_scale(layout.matrix)
    image = ax.imshow(layout.matrix, cmap=cmap or default_cmap, norm=norm, interpolation="nearest")
    label = colorbar_label if colorbar_label is not None else COLORBAR_LABEL
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)
    for b in layout.boundaries:
        ax.axhline(b - 0.5, color="white", linewidth=2)
        ax.axvline(b - 0.5, color="white", linewidth=2)
    if n <= 60:
        ax.set_xticks(range(n), layout.tick_labels, rotation=90, fontsize=8)
        ax.set_yticks(range(n), layout.tick_labels, fontsize=8)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel("partner task")
    ax.set_ylabel("target task")
    if title:
        ax.set_title(title)
    return ax
