"""Affinity matrices with planted group structure, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._validation import check_random_state

__all__ = ["make_planted_affinity", "make_fig2_affinity", "FIG2_PARAMS"]

#: The AdaGroup paper's Fig. 2 case: one low-density cluster and two dense ones,
#: with the two dense clusters close to each other (beta_23 = 13).
FIG2_PARAMS: dict = {
    "within_mean": [12.0, 14.0, 14.0],
    "within_std": [4.0, 2.0, 2.0],
    "between_mean": [[0.0, 8.0, 7.0], [8.0, 0.0, 13.0], [7.0, 13.0, 0.0]],
    "between_std": [[0.0, 4.0, 4.0], [4.0, 0.0, 2.0], [4.0, 2.0, 0.0]],
}


def _as_group_matrix(value, k: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full((k, k), float(arr))
    if arr.shape != (k, k):
        raise ValueError(
            f"The {name!r} parameter must be a scalar or of shape (n_groups, n_groups)="
            f"({k}, {k}). Got shape {arr.shape}."
        )
    return arr


def _as_group_vector(value, k: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(k, float(arr))
    if arr.shape != (k,):
        raise ValueError(
            f"The {name!r} parameter must be a scalar or of shape (n_groups,)=({k},). "
            f"Got shape {arr.shape}."
        )
    return arr


def make_planted_affinity(
    sizes: Sequence[int],
    *,
    within_mean: float | Sequence[float] = 1.0,
    within_std: float | Sequence[float] = 0.1,
    between_mean: float | np.ndarray = 0.0,
    between_std: float | np.ndarray = 0.1,
    symmetric: bool = True,
    shuffle: bool = True,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw an affinity matrix whose tasks fall into planted groups.

    Entry ``T[u, v]`` is normal with the mean and standard deviation of the
    pair of groups of ``u`` and ``v``.

    Parameters
    ----------
    sizes : sequence of int
        Number of tasks in each group.
    within_mean, within_std : float or sequence of float, default=1.0, 0.1
        Mean and standard deviation of entries inside each group.
    between_mean, between_std : float or ndarray of shape (n_groups, n_groups)
        Mean and standard deviation of entries between two groups (the
        diagonal of these matrices is ignored).
    symmetric : bool, default=True
        Draw the upper triangle and mirror it; otherwise every entry is drawn.
    shuffle : bool, default=True
        Permute the tasks so that groups are not contiguous.
    random_state : None, int or numpy Generator
        Seed for the draw.

    Returns
    -------
    T : ndarray of shape (n_tasks, n_tasks)
    labels : ndarray of shape (n_tasks,)
        The planted group of each task.

    Examples
    --------
    >>> T, labels = make_planted_affinity([3, 3], random_state=0)
    >>> T.shape, sorted(set(labels.tolist()))
    ((6, 6), [0, 1])
    """
    sizes = [int(s) for s in sizes]
    if not sizes or min(sizes) < 1:
        raise ValueError(
            f"The 'sizes' parameter must list at least one group size >= 1. Got {sizes!r}."
        )
    rng = check_random_state(random_state)
    k = len(sizes)
    mean = _as_group_matrix(between_mean, k, "between_mean").copy()
    std = _as_group_matrix(between_std, k, "between_std").copy()
    np.fill_diagonal(mean, _as_group_vector(within_mean, k, "within_mean"))
    np.fill_diagonal(std, _as_group_vector(within_std, k, "within_std"))
    labels = np.repeat(np.arange(k), sizes)
    if shuffle:
        labels = labels[rng.permutation(labels.size)]
    M = mean[labels][:, labels]
    D = std[labels][:, labels]
    T = M + D * rng.standard_normal(M.shape)
    if symmetric:
        T = np.triu(T) + np.triu(T, 1).T
    return T, labels


def make_fig2_affinity(n_tasks: int = 150, *, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """The AdaGroup paper's Fig. 2 case: 3 equal groups of ``n_tasks / 3`` tasks.

    One low-density group (mean 12, std 4) and two dense ones (mean 14, std 2);
    between-group means 8, 7 and 13 with std 4, 4 and 2. The two dense groups
    are close (13 vs 14), which is where threshold rounding of the SDP fails.

    Every entry is drawn independently, as an affinity matrix measures target
    ``i`` with partner ``j`` separately from ``j`` with ``i``; the clusterers
    see ``(T + T.T) / 2``, whose off-diagonal noise is ``1/sqrt(2)`` of the
    stated std. (Drawing a symmetric matrix with the full std instead makes
    the planted grouping not even locally F-optimal on about half the draws.)

    Returns
    -------
    T : ndarray of shape (n_tasks, n_tasks)
    labels : ndarray of shape (n_tasks,)
    """
    if n_tasks < 3:
        raise ValueError(f"The 'n_tasks' parameter must be >= 3. Got {n_tasks!r}.")
    base, extra = divmod(n_tasks, 3)
    sizes = [base + (i < extra) for i in range(3)]
    return make_planted_affinity(sizes, **FIG2_PARAMS, symmetric=False, random_state=random_state)
