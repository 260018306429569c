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

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from ._sdp_solver import CentredOperator

__all__ = ["BlockDual", "bound_from_dual", "certify_partition"]

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

    lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=np.float64)
    v0 = np.random.default_rng(12345).standard_normal(n)
    vals, vecs = scipy.sparse.linalg.eigsh(lin, k=1, which="LA", v0=v0, tol=1e-10, ncv=24)
    x = vecs[:, 0]
    res = float(np.linalg.norm(mv(x)[:, 0] - vals[0] * x))
    return float(vals[0]) + res + 1e-13 * math.sqrt(n)


def bound_from_dual(
    op: CentredOperator,
    k: int,
    *,
    lam_dense: np.ndarray | None = None,
    lam_op: BlockDual | None = None,
) -> float:
    """The bound ``1'Lam1/n + (k-1) lambda_max(A + J Lam J)`` in centred, scaled units.

    The caller adds back ``op.base`` and multiplies by ``op.sigma``.
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


def certify_partition(
    op: CentredOperator,
    labels: np.ndarray,
    k: int,
    value: float,
    *,
    tol: float,
    max_evals: int = 6,
) -> tuple[float, BlockDual | None]:
    """Search the block dual family for the smallest bound; stop once it meets ``value + tol``.

    ``value`` is the centred, scaled objective of ``labels``. Returns the best
    bound (centred, scaled) and its dual.
    """
    n = op.n
    lab = np.asarray(labels, dtype=np.intp)
    Z = np.zeros((n, k))
    Z[np.arange(n), lab] = 1.0
    sizes = Z.sum(axis=0)
    P = op.matmat(Z)  # P[i, a] = (A 1_a)_i
    B = Z.T @ P
    Baa = np.diag(B) / sizes  # 1_a' A 1_a / n_a
    g = lab
    # Complementary slackness with the grouping fixes y_i = y0_i - z / n_{g_i}.
    y0 = (2.0 * P[np.arange(n), g] - Baa[g]) / sizes[g]
    # Required row sums of block (g_i, a): r_ia = r0_ia - z D_ia.
    r0 = (y0[:, None] * sizes[None, :] + Baa[None, :]) / 2.0 - P
    D = (sizes[None, :] / sizes[g][:, None] + 1.0) / 2.0
    mask = np.ones((n, k), dtype=bool)
    mask[np.arange(n), g] = False
    ratio = np.where(mask, r0 / D, np.inf)
    z_max = float(ratio.min())
    spread = float(np.abs(Baa).max()) + 1.0

    best_ub, best_dual = np.inf, None

    def evaluate(z: float) -> float:
        nonlocal best_ub, best_dual
        R = np.where(mask, np.maximum(r0 - z * D, 0.0), 0.0)
        dual = BlockDual(R, lab, k)
        ub = bound_from_dual(op, k, lam_op=dual)
        if ub < best_ub:
            best_ub, best_dual = ub, dual
        return ub

    target = value + tol
    if evaluate(z_max) <= target:
        return best_ub, best_dual
    # Golden-section search below and slightly above z_max (bounded evaluations).
    lo, hi = z_max - spread, z_max + 0.1 * spread
    phi = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - phi * (hi - lo), lo + phi * (hi - lo)
    f1, f2 = evaluate(x1), evaluate(x2)
    for _ in range(max_evals - 3):
        if min(f1, f2) <= target:
            break
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - phi * (hi - lo)
            f1 = evaluate(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + phi * (hi - lo)
            f2 = evaluate(x2)
    return best_ub, best_dual
