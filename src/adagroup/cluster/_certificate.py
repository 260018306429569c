"""Upper bounds on the density objective from dual points of the clustering SDP.

For every symmetric ``Lam >= 0`` (entrywise) and every feasible ``X`` of the SDP
(``X 1 = 1``, ``tr X = k``, ``X >= 0``, ``X`` psd)::

    <S, X> <= <S + Lam, X> = 1'(S + Lam)1 / n + <J (S + Lam) J, Y>
           <= 1'(S + Lam)1 / n + (k - 1) * lambda_max(J (S + Lam) J restricted to 1-perp)

because ``X = 11'/n + Y`` with ``Y = J X J`` psd, ``Y 1 = 0`` and ``tr Y = k - 1``.
Partition matrices are feasible, so the right-hand side bounds ``F`` of every
grouping. Minimised over ``Lam`` it equals the SDP optimum (strong duality).

``Lam`` is built from the rounded grouping (the construction of Awasthi et al.
and Iguchi et al.: complementary slackness fixes the row sums of each
between-group block, and a rank-one block with those sums is used) over a
one-parameter family, or taken from the ADMM multiplier of ``X >= 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from ._sdp_solver import CentredOperator

__all__ = [
    "AdditiveDual",
    "BlockDual",
    "PartitionCertificate",
    "bound_from_dual",
    "certify_partition",
]

#: Below this size eigenvalues come from a dense symmetric eigensolver.
_DENSE_EIG_MAX_N = 600


class BlockDual:
    """``Lam[i, j] = R[i, g_j] R[j, g_i] / s[g_i, g_j]`` for tasks in different groups."""

    def __init__(self, R: np.ndarray, labels: np.ndarray, k: int) -> None:
        self.R = R
        self.labels = labels
        self.k = k
        Z = np.zeros((labels.size, k))
        Z[np.arange(labels.size), labels] = 1.0
        self.Z = Z
        # out[b, a] = sum over i in C_b of R[i, a]: the total of block (b, a).
        out = Z.T @ R
        s = (out + out.T) / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            self.inv_s = np.where(s > 0, 1.0 / s, 0.0)
        np.fill_diagonal(self.inv_s, 0.0)
        self.out = out

    def total(self) -> float:
        """``1' Lam 1``."""
        return float(np.sum(self.out * self.out.T * self.inv_s))

    def matmat(self, V: np.ndarray) -> np.ndarray:
        """``Lam V``."""
        V = V.reshape(V.shape[0], -1)
        result = np.empty_like(V)
        g = self.labels
        for j in range(V.shape[1]):
            q = self.Z.T @ (self.R * V[:, j : j + 1])  # q[a, b] = sum_{i in C_a} R[i, b] v_i
            Q = q.T * self.inv_s  # Q[b, a] = q[a, b] / s[b, a]
            result[:, j] = np.sum(self.R * Q[g], axis=1)
        return result

    def dense(self) -> np.ndarray:
        Rg = self.R[:, self.labels]
        return Rg * Rg.T * self.inv_s[self.labels][:, self.labels]


def _lambda_max(
    op: CentredOperator, lam_dense: np.ndarray | None, lam_op: BlockDual | None
) -> float:
    """An upper estimate of the largest eigenvalue of ``A + J Lam J`` on ``1``-perp.

    Dense path: LAPACK's eigenvalue plus a backward-error margin. Lanczos path:
    the top Ritz value plus its residual norm (the Ritz value can only be below
    the top eigenvalue; Lanczos from a generic start finds the top one).
    """
    n = op.n
    if n <= _DENSE_EIG_MAX_N:
        M = op.dense().copy()
        L = lam_dense if lam_dense is not None else (lam_op.dense() if lam_op else None)
        if L is not None:
            mu = L.mean(axis=1)
            M += L - mu[:, None] - mu[None, :] + mu.mean()
        norm = float(np.linalg.norm(M))
        # 1 is an eigenvector of M with eigenvalue 0; push it below the spectrum.
        M -= (2.0 * norm + 1.0) / n
        top = scipy.linalg.eigh(
            M, eigvals_only=True, subset_by_index=[n - 1, n - 1], check_finite=False
        )[0]
        return float(top) + 1e-13 * n * (norm + 1.0)

    shift = 2.0 * (1.0 + (float(np.linalg.norm(lam_dense)) if lam_dense is not None else 0.0))

    def mv(v: np.ndarray) -> np.ndarray:
        v = v.reshape(n, -1)
        out = op.matmat(v)
        if lam_op is not None or lam_dense is not None:
            jv = v - v.mean(axis=0)
            lv = lam_op.matmat(jv) if lam_op is not None else lam_dense @ jv
            out += lv - lv.mean(axis=0)
        out -= shift * v.mean(axis=0)
        return out

    return _lanczos_top(mv, n)


def _lanczos_top(matvec, n: int, m: int = 4) -> float:
    """Upper estimate of the top eigenvalue: the largest of ``m`` Ritz values plus residuals.

    Several Ritz pairs are asked for because at a dual optimum the top
    eigenvalue is multiple (``k - 1`` and more), where a single-vector request
    converges slowly; the values converge fast even so.
    """

    def mv(v: np.ndarray) -> np.ndarray:
        return matvec(v.reshape(n, -1))

    lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=np.float64)
    v0 = np.random.default_rng(12345).standard_normal(n)
    m = min(m, n - 2)
    try:
        vals, vecs = scipy.sparse.linalg.eigsh(
            lin, k=m, which="LA", v0=v0, tol=1e-9, ncv=min(n - 1, max(3 * m + 8, 24))
        )
    except scipy.sparse.linalg.ArpackNoConvergence as err:
        vals, vecs = err.eigenvalues, err.eigenvectors
        if vals.size == 0:
            raise
    res = np.linalg.norm(mv(vecs) - vecs * vals, axis=0)
    return float(np.max(vals + res)) + 1e-13 * math.sqrt(n)


def bound_from_dual(
    op: CentredOperator,
    k: int,
    *,
    lam_dense: np.ndarray | None = None,
    lam_op: Any = None,
) -> float:
    """The bound ``1'Lam1/n + (k-1) lambda_max(A + J Lam J)`` in centred, scaled units.

    Valid for every symmetric ``Lam >= 0``; ``lam_dense`` is symmetrised and
    clipped at 0 first, ``lam_op`` (``total()``, ``matmat()``, ``dense()``) must
    be symmetric and nonnegative already. The caller adds back ``op.base`` and
    multiplies by ``op.sigma``.
    """
    n = op.n
    if k <= 1:
        return 0.0
    if lam_dense is not None:
        lam_dense = np.maximum((lam_dense + lam_dense.T) / 2.0, 0.0)
        tot = float(lam_dense.sum())
    elif lam_op is not None:
        tot = lam_op.total()
    else:
        tot = 0.0
    return tot / n + (k - 1) * _lambda_max(op, lam_dense, lam_op)


def _top_eigenvalue(matvec, n: int, dense: np.ndarray | None) -> float:
    """Upper estimate of the top eigenvalue of a symmetric matrix or operator."""
    if dense is not None:
        norm = float(np.linalg.norm(dense))
        top = scipy.linalg.eigh(
            dense, eigvals_only=True, subset_by_index=[n - 1, n - 1], check_finite=False
        )[0]
        return float(top) + 1e-13 * n * (norm + 1.0)
    return _lanczos_top(matvec, n)


class AdditiveDual:
    """``Lam[i, j] = p[i, g_j] + p[j, g_i] - c[g_i, g_j]`` for tasks in different groups.

    The between-group blocks with prescribed row sums whose component on the
    complement of the group indicators is zero, so that they leave the
    spectrum there untouched; stored in ``O(n k)``.
    """

    def __init__(self, p: np.ndarray, c: np.ndarray, labels: np.ndarray, Z: np.ndarray) -> None:
        self.p = p
        self.c = c
        self.labels = labels
        self.Z = Z

    def block_minima(self) -> np.ndarray:
        """``m[b, a]``: the smallest entry of block ``(C_b, C_a)`` (``+inf`` on the diagonal)."""
        k = self.Z.shape[1]
        pmin = np.full((k, k), np.inf)
        for b in range(k):
            rows = self.labels == b
            if np.any(rows):
                pmin[b] = self.p[rows].min(axis=0)
        m = pmin + pmin.T - self.c
        np.fill_diagonal(m, np.inf)
        return m

    def total(self) -> float:
        """``1' Lam 1``."""
        sizes = self.Z.sum(axis=0)
        colsum = self.Z.T @ self.p  # colsum[b, a] = sum_{i in C_b} p[i, a]
        return float(
            2.0 * np.sum(colsum * sizes[None, :]) - np.sum(self.c * np.outer(sizes, sizes))
        )

    def matmat(self, V: np.ndarray) -> np.ndarray:
        """``Lam V``."""
        V = V.reshape(V.shape[0], -1)
        g = self.labels
        s = self.Z.T @ V  # group sums of each column
        out = self.p @ s
        out += (self.p.T @ V)[g]
        out -= (self.c @ s)[g]
        return out

    def dense(self) -> np.ndarray:
        g = self.labels
        L = self.p[:, g] + self.p[:, g].T - self.c[g][:, g]
        L[g[:, None] == g[None, :]] = 0.0
        return L


def _sinkhorn_blocks(
    lam: np.ndarray, labels: np.ndarray, r: np.ndarray, k: int, n_iter: int = 200
) -> np.ndarray:
    """Rescale each between-group block of a nonnegative ``lam`` to the row sums ``r``.

    The clipped additive dual loses its row sums where entries were negative;
    diagonal scaling restores them (up to ``n_iter`` sweeps) while keeping every
    entry nonnegative and the block close to the additive one.
    """
    out = np.zeros_like(lam)
    idx = [np.flatnonzero(labels == a) for a in range(k)]
    for a in range(k):
        for b in range(a + 1, k):
            ia, ib = idx[a], idx[b]
            K = lam[np.ix_(ib, ia)]
            rs, cs = r[ib, a], r[ia, b]
            u = np.ones(ib.size)
            v = np.ones(ia.size)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                for _ in range(n_iter):
                    u = np.where(rs > 0, rs / (K @ v), 0.0)
                    v = np.where(cs > 0, cs / (K.T @ u), 0.0)
            u = np.nan_to_num(u, nan=0.0, posinf=0.0)
            v = np.nan_to_num(v, nan=0.0, posinf=0.0)
            blk = u[:, None] * K * v[None, :]
            out[np.ix_(ib, ia)] = blk
            out[np.ix_(ia, ib)] = blk.T
    return out


#: Largest n for which a clipped dual is repaired densely (n^2 floats).
_DENSE_REPAIR_MAX_N = 4000


@dataclass
class PartitionCertificate:
    """Outcome of :func:`certify_partition` (centred, scaled units)."""

    bound: float
    y: np.ndarray
    z: float
    dual: Any


def certify_partition(
    op: CentredOperator,
    labels: np.ndarray,
    k: int,
    value: float,
    *,
    tol: float,
    max_evals: int = 4,
) -> tuple[float, PartitionCertificate]:
    """Bound ``F`` from a dual point built from the grouping ``labels``.

    Complementary slackness with the partition matrix of ``labels`` fixes the
    multipliers ``y`` of ``X 1 = 1`` and the row sums ``r`` of each
    between-group block of ``Lam`` as affine functions of the multiplier ``z``
    of ``tr X = k``. The additive blocks with those row sums leave the spectrum
    on the complement of the group indicators unchanged, so the dual is
    feasible exactly when ``z >= lambda_max(P A P)`` (``P`` that projection)
    and the blocks are nonnegative at that ``z``; then the bound equals
    ``value``. Otherwise negative entries are clipped, rows rescaled to their
    sums and a few larger ``z`` tried. Every bound is evaluated from its ``Lam``
    by :func:`bound_from_dual`, so it is valid whatever ``Lam`` is.

    ``value`` is the centred, scaled objective of ``labels``. Returns the best
    bound and its certificate (with ``y``, ``z`` to warm-start a solver).
    """
    n = op.n
    lab = np.asarray(labels, dtype=np.intp)
    Z = np.zeros((n, k))
    Z[np.arange(n), lab] = 1.0
    sizes = Z.sum(axis=0)
    P = op.matmat(Z)  # P[i, a] = (A 1_a)_i
    B = Z.T @ P
    Baa = np.diag(B) / sizes
    g = lab
    rows = np.arange(n)
    y0 = (2.0 * P[rows, g] - Baa[g]) / sizes[g]
    r0 = (y0[:, None] * sizes[None, :] + Baa[None, :]) / 2.0 - P
    D = (sizes[None, :] / sizes[g][:, None] + 1.0) / 2.0
    mask = np.ones((n, k), dtype=bool)
    mask[rows, g] = False
    Zs = Z / sizes

    # z_min = lambda_max(P A P) on the complement of the indicators; the
    # indicators themselves are pushed below the spectrum.
    push = 2.0 + 2.0 * float(np.abs(Baa).max())
    if n <= _DENSE_EIG_MAX_N:
        M = op.dense() - P @ Zs.T
        M = M - Zs @ (Z.T @ M)
        M = (M + M.T) / 2.0 - push * (Zs @ Z.T)
        z_min = _top_eigenvalue(None, n, M)
    else:

        def mv(V: np.ndarray) -> np.ndarray:
            W = V - Zs @ (Z.T @ V)
            out = op.matmat(W)
            out -= Zs @ (Z.T @ out)
            out -= push * (Zs @ (Z.T @ V))
            return out

        z_min = _top_eigenvalue(mv, n, None)

    def dual_at(z: float) -> tuple[np.ndarray, AdditiveDual]:
        r = np.where(mask, r0 - z * D, 0.0)
        p = r / sizes[None, :]
        p[~mask] = 0.0
        c = (Z.T @ r) / np.outer(sizes, sizes)
        np.fill_diagonal(c, 0.0)
        return r, AdditiveDual(p, c, lab, Z)

    scale = max(abs(z_min), 1e-300)
    best = PartitionCertificate(np.inf, y0 - z_min / sizes[g], z_min, None)
    target = value + tol
    for step in (0.0, 1e-4, 1e-3, 1e-2)[:max_evals]:
        z = z_min + step * scale
        r, dual = dual_at(z)
        if dual.block_minima().min() >= 0.0:
            # Exact algebra: J (A + Lam) J = z J - J Q J with Q = z P - P A P,
            # which is psd for z >= z_min, so lambda_max(J (A + Lam) J) <= z.
            ub = dual.total() / n + (k - 1) * z
        elif n <= _DENSE_REPAIR_MAX_N:
            lam = _sinkhorn_blocks(np.maximum(dual.dense(), 0.0), lab, np.maximum(r, 0.0), k)
            ub = bound_from_dual(op, k, lam_dense=lam)
            dual = lam
        else:
            continue
        if ub < best.bound:
            best = PartitionCertificate(ub, y0 - z / sizes[g], z, dual)
        if ub <= target:
            break
    return best.bound, best
