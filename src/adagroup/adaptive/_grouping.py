"""Fast groupings of a small affinity matrix for every k: agglomeration plus single-task moves.

AdaGroup regroups every task it has seen at every step, for every candidate
``k``, on the point estimate and on each posterior draw. The SDP certifies
the final grouping; these cheap local searches give the many others (each is
started from the SDP's or the previous grouping, so it only has to follow the
replicate's noise).
"""

from __future__ import annotations

import numpy as np

from ..cluster._objective import group_density as density
from ..cluster._validation import canonical_labels as canonical

__all__ = [
    "best_groupings",
    "canonical",
    "density",
    "improve",
    "measured_density",
    "merge_path",
    "with_k_groups",
]


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    Z = np.zeros((len(labels), k))
    Z[np.arange(len(labels)), labels] = 1.0
    return Z


def measured_density(S: np.ndarray, measured: np.ndarray, labels: np.ndarray) -> float:
    """Density with each group's mean taken over its *measured* pairs only.

    ``sum_c (|C| - 1) * mean_{u != v in C, measured} S[u, v]``. With every
    pair measured this is ``F`` (zero diagonal). When most pairs were never
    trained together, ``F`` counts them as 0 and so prefers many small groups
    (its group means are diluted by the zeros in proportion to group size);
    this version does not, which is why ``k`` is chosen by it.
    """
    labels = np.asarray(labels, dtype=np.intp)
    k = int(labels.max()) + 1
    Z = _onehot(labels, k)
    M = np.asarray(measured, dtype=np.float64).copy()
    np.fill_diagonal(M, 0.0)
    num = np.sum(Z * ((S * M) @ Z), axis=0)
    den = np.sum(Z * (M @ Z), axis=0)
    sizes = Z.sum(axis=0)
    mean = np.divide(num, den, out=np.zeros(k), where=den > 0)
    return float(np.sum((sizes - 1) * mean))


def improve(S: np.ndarray, labels: np.ndarray, max_moves: int | None = None) -> np.ndarray:
    """Move single tasks between the ``k`` groups of ``labels`` while ``F`` increases.

    Every move keeps all ``k`` groups non-empty, so the result has exactly as
    many groups as ``labels``. Each move is the best one over all tasks and
    groups, so the search is deterministic.
    """
    labels = canonical(labels).copy()
    n = len(labels)
    k = int(labels.max()) + 1 if n else 0
    if k <= 1 or k >= n:
        return labels
    d = np.diag(S).copy()
    Z = _onehot(labels, k)
    A = S @ Z  # A[x, c] = sum_{v in c} S[x, v]
    sizes = Z.sum(axis=0)
    within = np.sum(Z * A, axis=0)
    scale = float(np.abs(S).max()) or 1.0
    tol = 1e-12 * scale * n
    limit = max_moves if max_moves is not None else 20 * n
    for _ in range(limit):
        own = labels
        a_own = A[np.arange(n), own]
        s_own = sizes[own]
        w_own = within[own]
        # Leaving: the group loses x's row and column.
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(s_own > 1, (w_own - 2 * a_own + d) / (s_own - 1), -np.inf)
        loss = w_own / s_own - left
        # Joining c: the group gains x's row, column and diagonal entry.
        gain = (within[None, :] + 2 * A + d[:, None]) / (sizes[None, :] + 1) - (within / sizes)[
            None, :
        ]
        delta = gain - loss[:, None]
        delta[np.arange(n), own] = -np.inf
        flat = int(np.argmax(delta))
        x, c = divmod(flat, k)
        if not delta[x, c] > tol:
            break
        a = own[x]
        within[a] += -2 * A[x, a] + d[x]
        within[c] += 2 * A[x, c] + d[x]
        sizes[a] -= 1
        sizes[c] += 1
        A[:, a] -= S[:, x]
        A[:, c] += S[:, x]
        labels[x] = c
    return canonical(labels)


def merge_path(S: np.ndarray, k_max: int) -> dict[int, np.ndarray]:
    """Groupings for ``k = 1 .. k_max`` by greedy agglomeration on ``F``.

    Starting from singletons, the two groups whose merge raises ``F`` most (or
    lowers it least) are merged, down to one group; each grouping with at
    most ``k_max`` groups is then polished by :func:`improve`.
    """
    n = S.shape[0]
    labels = np.arange(n)
    B = S.copy()  # B[a, b]: sum of S over group a x group b
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    out: dict[int, np.ndarray] = {}
    if n <= k_max:
        out[n] = canonical(labels)
    for k in range(n - 1, 0, -1):
        within = np.diag(B)
        merged = (within[:, None] + within[None, :] + 2 * B) / (sizes[:, None] + sizes[None, :])
        delta = merged - (within / sizes)[:, None] - (within / sizes)[None, :]
        mask = alive[:, None] & alive[None, :]
        np.fill_diagonal(mask, False)
        delta = np.where(mask, delta, -np.inf)
        a, b = divmod(int(np.argmax(delta)), n)
        a, b = min(a, b), max(a, b)
        B[a, :] += B[b, :]
        B[:, a] += B[:, b]
        B[b, :] = 0.0
        B[:, b] = 0.0
        sizes[a] += sizes[b]
        alive[b] = False
        labels = np.where(labels == b, a, labels)
        if k <= k_max:
            out[k] = improve(S, labels)
    return out


def with_k_groups(S: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """``labels`` changed to exactly ``k`` groups: merge the closest, or split off the loosest."""
    labels = canonical(labels)
    n = len(labels)
    k = max(1, min(k, n))
    while labels.max() + 1 > k:
        g = int(labels.max()) + 1
        Z = _onehot(labels, g)
        sizes = Z.sum(axis=0)
        B = Z.T @ S @ Z / np.outer(sizes, sizes)
        np.fill_diagonal(B, -np.inf)
        a, b = divmod(int(np.argmax(B)), g)
        labels = canonical(np.where(labels == max(a, b), min(a, b), labels))
    while labels.max() + 1 < k:
        sizes = np.bincount(labels)
        g = int(np.argmax(sizes))
        members = np.flatnonzero(labels == g)
        sub = S[np.ix_(members, members)]
        attach = sub.sum(axis=1) - np.diag(sub)
        labels = labels.copy()
        labels[members[int(np.argmin(attach))]] = labels.max() + 1
    return canonical(labels)


def best_groupings(
    S: np.ndarray, k_max: int, warm: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """The densest grouping found for every ``k`` in ``1 .. k_max``.

    Candidates are the agglomeration path (:func:`merge_path`) and, when
    ``warm`` is given, that grouping brought to each ``k`` and improved by
    single-task moves. Negative labels in ``warm`` (tasks not placed yet) start
    in groups of their own.
    """
    out = merge_path(S, k_max)
    n = S.shape[0]
    if warm is not None and len(warm) == n and n:
        tol = 1e-12 * max(1.0, float(np.abs(S).max()))
        for k in list(out):
            candidate = improve(S, with_k_groups(S, canonical(warm), k))
            if density(S, candidate) > density(S, out[k]) + tol:
                out[k] = candidate
    return out
