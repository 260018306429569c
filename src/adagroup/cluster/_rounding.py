"""Rounding an SDP solution into exactly ``k`` non-empty groups.

Two steps: k-means on the rows of a factor ``U`` of ``X = U U'`` (the row
distances ``||u_i - u_j||^2 = X_ii + X_jj - 2 X_ij`` do not depend on which factor),
then a local search that moves single tasks to the group that raises the
density objective most, never emptying a group.
"""

from __future__ import annotations

import numpy as np

from ._validation import canonical_labels

__all__ = ["kmeans_rows", "local_search", "round_factor"]


def _kmeans_pp(Y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = Y.shape[0]
    centres = np.empty((k, Y.shape[1]))
    centres[0] = Y[rng.integers(n)]
    d2 = np.sum((Y - centres[0]) ** 2, axis=1)
    for c in range(1, k):
        total = float(d2.sum())
        idx = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centres[c] = Y[idx]
        d2 = np.minimum(d2, np.sum((Y - centres[c]) ** 2, axis=1))
    return centres


def kmeans_rows(
    Y: np.ndarray, k: int, rng: np.random.Generator, *, n_init: int = 4, max_iter: int = 100
) -> list[np.ndarray]:
    """Lloyd's k-means on the rows of ``Y`` from ``n_init`` k-means++ starts.

    Returns every distinct labelling found (each with exactly ``k`` non-empty
    groups when ``Y`` has at least ``k`` rows): the caller scores them on the
    density objective, which is what matters, rather than on inertia.
    """
    n = Y.shape[0]
    out: list[np.ndarray] = []
    row_sq = np.sum(Y * Y, axis=1)[:, None]  # the same every iteration
    for _ in range(n_init):
        centres = _kmeans_pp(Y, k, rng)
        labels = np.full(n, -1)
        for _ in range(max_iter):
            d2 = row_sq - 2.0 * Y @ centres.T + np.sum(centres * centres, axis=1)[None, :]
            new = np.argmin(d2, axis=1)
            new = _fill_empty(new, d2, k)
            if np.array_equal(new, labels):
                break
            labels = new
            # Group means in one product (every group is non-empty after _fill_empty).
            onehot = np.zeros((n, k))
            onehot[np.arange(n), labels] = 1.0
            centres = (onehot.T @ Y) / onehot.sum(axis=0)[:, None]
        out.append(labels)
    return out


def _fill_empty(labels: np.ndarray, d2: np.ndarray, k: int) -> np.ndarray:
    """Give each empty group the task farthest from its own centre (from a group of >= 2)."""
    counts = np.bincount(labels, minlength=k)
    for c in np.flatnonzero(counts == 0):
        own = d2[np.arange(labels.size), labels].copy()
        own[counts[labels] < 2] = -np.inf
        i = int(np.argmax(own))
        counts[labels[i]] -= 1
        labels[i] = c
        counts[c] += 1
    return labels


def local_search(
    S: np.ndarray, labels: np.ndarray, k: int, *, max_moves: int | None = None
) -> np.ndarray:
    """Move single tasks between groups while the density objective increases.

    Each move takes the best single-task move over all tasks and groups (exact
    gain from the group sums, no recomputation of ``F``); a task never leaves a
    group of one, so the ``k`` groups stay non-empty.

    Parameters
    ----------
    S : ndarray of shape (n, n)
        Symmetric affinity.
    labels : ndarray of shape (n,)
        Starting groups in ``0..k-1``, all non-empty.
    k : int
    max_moves : int, optional
        Cap on moves, default ``10 n``.

    Returns
    -------
    ndarray of shape (n,)
    """
    n = S.shape[0]
    lab = np.array(labels, dtype=np.intp)
    if k <= 1 or k >= n:
        return lab
    # The gains do not change when a constant is added to S; removing the mean
    # keeps large offsets from swamping them in floating point.
    mean = float(S.mean())
    diag = np.diag(S) - mean
    Z = np.zeros((n, k))
    Z[np.arange(n), lab] = 1.0
    m = Z.sum(axis=0)
    a = S @ Z - mean * m[None, :]
    W = np.einsum("ic,ic->c", Z, a)
    scale = float(np.abs(a).max()) + float(np.abs(diag).max()) + 1e-300
    eps = 1e-12 * scale
    if max_moves is None:
        max_moves = 10 * n
    rows = np.arange(n)
    diag_col = diag[:, None]
    # The same arithmetic per move as written out, with fewer temporaries and one
    # errstate for the loop (at n = 100, k = 3 a move is ~12 numpy calls on tiny arrays).
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(max_moves):
            g = lab
            mg = m[g]
            Wg = W[g]
            leave = (Wg - 2.0 * a[rows, g] + diag) / (mg - 1.0) - Wg / mg
            leave[mg <= 1] = -np.inf
            gain = W + 2.0 * a
            gain += diag_col
            gain /= m + 1.0
            gain -= W / m
            gain += leave[:, None]
            gain[rows, g] = -np.inf
            flat = int(np.argmax(gain))
            i, b = divmod(flat, k)
            if not gain[i, b] > eps:
                break
            old = lab[i]
            col = S[:, i] - mean
            W[old] += -2.0 * a[i, old] + diag[i]
            W[b] += 2.0 * a[i, b] + diag[i]
            a[:, old] -= col
            a[:, b] += col
            m[old] -= 1.0
            m[b] += 1.0
            lab[i] = b
    return lab


def round_factor(
    U: np.ndarray,
    S: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    n_init: int = 4,
    extra: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Round a factor ``U`` (``X ~ U U'``) into ``k`` groups; return the best and all tried."""
    from ._objective import density_objective

    cands = kmeans_rows(U, k, rng, n_init=n_init)
    if extra:
        cands = cands + [np.asarray(e, dtype=np.intp) for e in extra]
    best, best_f = None, -np.inf
    tried = []
    seen: set[bytes] = set()
    for lab in cands:
        key = canonical_labels(lab).tobytes()
        if key in seen:
            continue
        seen.add(key)
        lab = local_search(S, lab, k)
        tried.append(lab)
        f = density_objective(S, lab)
        if f > best_f:
            best, best_f = lab, f
    assert best is not None
    return canonical_labels(best), tried
