"""Upper bounds on the density objective from dual points of the clustering SDP.

For every symmetric ``Lam >= 0`` (entrywise) and every feasible ``X`` of the SDP
(``X 1 = 1``, ``tr X = k``, ``X >= 0``, ``X`` psd)::

    <S, X> <= <S + Lam, X> = 1'(S + Lam)1 / n + <J (S + Lam) J, Y>
           <= 1'(S + Lam)1 / n + (k - 1) * lambda_max(J (S + Lam) J restricted to 1-perp)

because ``X = 11'/n + Y`` with ``Y = J X J`` psd, ``Y 1 = 0`` and ``tr Y = k - 1``.
Partition matrices are feasible, so the right-hand side bounds ``F`` of every
grouping. Minimised over ``Lam`` it equals the SDP optimum (strong duality).
As ``X <= I`` too (nonnegative with unit row sums), ``(k - 1) lambda_max`` may be
replaced by the sum of the top ``k - 1`` eigenvalues, never larger; the dense
bound (``n <= 600``) uses that sum.

``Lam`` is built from the rounded grouping (complementary slackness fixes the
row sums of each between-group block, as in the constructions of Awasthi et
al. and Iguchi et al.; additive blocks with those sums, or ``-A`` plus additive
terms, made nonnegative; where those miss, blocks found by projected gradient
steps on the eigenvalues above ``z``), or taken from the multiplier of
``X >= 0`` of a solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse.linalg

from ._linalg import DENSE_MAX_N, eigh_above, top_eigh
from ._sdp_solver import _EXPLICIT_MAX_N, CentredOperator

__all__ = [
    "AdditiveDual",
    "PartitionCertificate",
    "bound_from_dual",
    "certify_partition",
]


#: Eigenvalues kept for the spectral bound with Lam = 0 (candidates k up to this + 1).
_TOP_CACHE_SIZE = 10


def _top_sum(
    op: CentredOperator, lam_dense: np.ndarray | None, m: int, eig_tol: float = 1e-9
) -> float:
    """An upper estimate of the sum of the ``m`` largest eigenvalues of ``A + J Lam J`` on 1-perp.

    Dense path: LAPACK's eigenvalues plus a backward-error margin each. Lanczos
    path: ``m`` times the largest (see :func:`_lambda_max`).
    """
    n = op.n
    if n > DENSE_MAX_N:
        return m * _lambda_max(op, lam_dense, eig_tol)
    cached = op.top_cache if lam_dense is None else None
    if cached is not None and cached[0].size >= m:
        top, norm = cached[0][:m], cached[1]
        return float(np.sum(top)) + m * 1e-13 * n * (norm + 1.0)
    M = op.dense().copy()
    if lam_dense is not None:
        mu = lam_dense.mean(axis=1)
        M += lam_dense - mu[:, None] - mu[None, :] + mu.mean()
    norm = float(np.linalg.norm(M))
    # 1 is an eigenvector of M with eigenvalue 0; push it below the spectrum.
    M -= (2.0 * norm + 1.0) / n
    want = m if lam_dense is not None else min(max(m, _TOP_CACHE_SIZE), n)
    top = np.sort(top_eigh(M, want, vectors=False)[0])[::-1]
    if lam_dense is None:
        op.top_cache = (top, norm)
    return float(np.sum(top[:m])) + m * 1e-13 * n * (norm + 1.0)


def _lambda_max(op: CentredOperator, lam_dense: np.ndarray | None, eig_tol: float = 1e-9) -> float:
    """An upper estimate of the largest eigenvalue of ``A + J Lam J`` on ``1``-perp.

    Dense path: LAPACK's eigenvalue plus a backward-error margin. Lanczos path:
    the top Ritz value plus its residual norm (the Ritz value can only be below
    the top eigenvalue; Lanczos from a generic start finds the top one).
    """
    n = op.n
    if n <= DENSE_MAX_N:
        return _top_sum(op, lam_dense, 1)

    shift = 2.0 * (1.0 + (float(np.linalg.norm(lam_dense)) if lam_dense is not None else 0.0))
    if lam_dense is not None and n <= _EXPLICIT_MAX_N:
        # One stored matrix: a single product per Lanczos step instead of two.
        mu = lam_dense.mean(axis=1)
        M = op.dense() + lam_dense
        M -= mu[:, None]
        M -= mu[None, :]
        M += mu.mean()

        def mv_dense(v: np.ndarray) -> np.ndarray:
            v = v.reshape(n, -1)
            return M @ v - shift * v.mean(axis=0)

        return _lanczos_top(mv_dense, n, tol=eig_tol)

    def mv(v: np.ndarray) -> np.ndarray:
        v = v.reshape(n, -1)
        out = op.matmat(v)
        if lam_dense is not None:
            lv = lam_dense @ (v - v.mean(axis=0))
            out += lv - lv.mean(axis=0)
        out -= shift * v.mean(axis=0)
        return out

    return _lanczos_top(mv, n, tol=eig_tol)


def _lanczos_top(matvec, n: int, m: int = 2, tol: float = 1e-9, with_ritz: bool = False) -> Any:
    """Upper estimate of the top eigenvalue: the largest of ``m`` Ritz values plus residuals.

    Several Ritz pairs are asked for because at a dual optimum the top
    eigenvalue is multiple (``k - 1`` and more), where a single-vector request
    converges slowly; the values converge fast even so. ``tol`` is ARPACK's
    relative residual; the residual is added to the value either way, so a
    looser ``tol`` costs bound accuracy, never validity. ``with_ritz`` also
    returns the largest Ritz value itself (a lower bound on the top eigenvalue).
    """

    def mv(v: np.ndarray) -> np.ndarray:
        return matvec(v.reshape(n, -1))

    lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=np.float64)
    v0 = np.random.default_rng(12345).standard_normal(n)
    m = min(m, n - 2)
    try:
        vals, vecs = scipy.sparse.linalg.eigsh(
            lin, k=m, which="LA", v0=v0, tol=tol, ncv=min(n - 1, max(3 * m + 8, 32))
        )
    except scipy.sparse.linalg.ArpackNoConvergence as err:
        vals, vecs = err.eigenvalues, err.eigenvectors
        if vals.size == 0:
            raise
    res = np.linalg.norm(mv(vecs) - vecs * vals, axis=0)
    upper = float(np.max(vals + res)) + 1e-13 * math.sqrt(n)
    return (float(np.max(vals)), upper) if with_ritz else upper


def bound_from_dual(
    op: CentredOperator,
    k: int,
    *,
    lam_dense: np.ndarray | None = None,
    eig_tol: float = 1e-9,
) -> float:
    """The bound ``1'Lam1/n + (sum of the top k - 1 eigenvalues of A + J Lam J)``.

    In centred, scaled units. Valid for every ``Lam >= 0`` because every
    feasible ``X`` also satisfies ``X <= I`` (a nonnegative symmetric matrix
    with unit row sums has spectral radius 1), so ``Y = J X J`` has
    eigenvalues in ``[0, 1]`` summing to ``k - 1`` and ``<M, Y>`` is at most
    the sum of the top ``k - 1`` eigenvalues of ``M`` (Ky Fan); this is never
    above ``(k - 1) lambda_max``. Lanczos path (``n > 600``): ``(k - 1)``
    times the top eigenvalue. ``lam_dense`` is symmetrised and clipped at
    0 first (None: ``Lam = 0``). The caller adds back ``op.base`` and
    multiplies by ``op.sigma``. ``eig_tol`` is the relative residual at which
    the iterative eigensolver (``n > 600``) stops; its residual is added.
    """
    n = op.n
    if k <= 1:
        return 0.0
    if lam_dense is not None:
        lam_dense = np.maximum((lam_dense + lam_dense.T) / 2.0, 0.0)
        tot = float(lam_dense.sum())
    else:
        tot = 0.0
    return tot / n + _top_sum(op, lam_dense, k - 1, eig_tol)


def _top_eigenvalue(matvec, n: int, dense: np.ndarray | None, eig_tol: float = 1e-9) -> float:
    """Upper estimate of the top eigenvalue of a symmetric matrix or operator."""
    if dense is not None:
        norm = float(np.linalg.norm(dense))
        top = top_eigh(dense, 1, vectors=False)[0][0]
        return float(top) + 1e-13 * n * (norm + 1.0)
    return _lanczos_top(matvec, n, tol=eig_tol)


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


def _sinkhorn_block(K: np.ndarray, rs: np.ndarray, cs: np.ndarray, n_iter: int) -> np.ndarray:
    """``diag(u) K diag(v)`` with row sums ``rs`` and column sums ``cs`` (``K >= 0``).

    At most ``n_iter`` sweeps; stops early once the row sums match to round-off
    (the column sums match after every sweep), which usually takes a tenth of
    them, or once ten sweeps do not reduce the row-sum error by 10 % (a block
    whose sums cannot be met, e.g. a zero row with a positive sum, never
    converges). The bound is evaluated from the result either way.
    """
    u = np.ones(K.shape[0])
    v = np.ones(K.shape[1])
    tol = 1e-13 * max(float(np.abs(rs).sum()), 1e-300)
    last = np.inf
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for sweep in range(1, n_iter + 1):
            u = np.where(rs > 0, rs / (K @ v), 0.0)
            v = np.where(cs > 0, cs / (K.T @ u), 0.0)
            if sweep % 10 == 0:
                err = float(np.max(np.abs(u * (K @ v) - rs)))
                if err <= tol or not err < 0.9 * last:
                    break
                last = err
    u = np.nan_to_num(u, nan=0.0, posinf=0.0)
    v = np.nan_to_num(v, nan=0.0, posinf=0.0)
    return u[:, None] * K * v[None, :]


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
            blk = _sinkhorn_block(lam[np.ix_(ib, ia)], r[ib, a], r[ia, b], n_iter)
            out[np.ix_(ib, ia)] = blk
            out[np.ix_(ia, ib)] = blk.T
    return out


def _within_group_top(A: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Estimate of ``max_a lambda_max(J_a A_aa J_a)``: each group's block, centred.

    Only a parameter of the decoupled dual (whose bound is evaluated from
    scratch), so a Ritz value to a loose tolerance is enough.
    """
    idx = [np.flatnonzero(labels == a) for a in range(k)]
    blocks = []
    for ia in idx:
        m = ia.size
        if m < 2:
            continue
        blk = A[np.ix_(ia, ia)]
        mu = blk.mean(axis=1)
        blk = blk - mu[:, None] - mu[None, :] + mu.mean()
        blk = (blk + blk.T) / 2.0
        # The constant vector is an eigenvector with eigenvalue 0; push it down.
        blk -= (2.0 * float(np.linalg.norm(blk)) + 1.0) / m
        blocks.append((ia, blk))
    if not blocks:
        return 0.0
    if max(ia.size for ia, _ in blocks) <= DENSE_MAX_N:
        return max(float(top_eigh(blk, 1, vectors=False)[0][0]) for _, blk in blocks)
    n = labels.size

    def mv(v: np.ndarray) -> np.ndarray:
        v = v.reshape(n, -1)
        out = np.zeros_like(v)
        for ia, blk in blocks:
            out[ia] = blk @ v[ia]
        return out

    lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=np.float64)
    vals = scipy.sparse.linalg.eigsh(
        lin,
        k=min(2, n - 1),
        which="LA",
        v0=np.random.default_rng(7).standard_normal(n),
        tol=1e-6,
        return_eigenvectors=False,
        ncv=min(n - 1, 20),
    )
    return float(np.max(vals))


def _transport_sweeps(K: np.ndarray, rs: np.ndarray, cs: np.ndarray, n_iter: int) -> bool:
    """Alternate the projection onto row sums ``rs``, column sums ``cs`` with clipping at 0.

    In place. The projection is an additive ``u_i + v_j`` correction, which
    leaves the block's part on the complement of the group indicators
    unchanged. Returns True once a projection is nonnegative (the sums are then
    exact), False when ``n_iter`` sweeps end clipped (the sums are then close).
    """
    ma, mb = K.shape
    for _ in range(n_iter):
        e = rs - K.sum(axis=1)
        f = cs - K.sum(axis=0)
        half = 0.5 * (e.sum() + f.sum()) / 2.0
        K += ((e - half / ma) / mb)[:, None]
        K += ((f - half / mb) / ma)[None, :]
        if K.min() >= 0.0:
            return True
        np.maximum(K, 0.0, out=K)
    return False


def _decoupled_dual(
    A: np.ndarray, labels: np.ndarray, r: np.ndarray, k: int, n_iter: int = 60
) -> np.ndarray:
    """Between-group blocks ``-A`` plus the additive terms that give row sums ``r``, made >= 0.

    Alternates the orthogonal projection onto the blocks with the prescribed row
    and column sums with clipping at zero (:func:`_transport_sweeps`); stops as
    soon as the projection is nonnegative. Blocks still clipped at the end get
    their row sums back by diagonal scaling, which keeps them >= 0.
    """
    n = A.shape[0]
    out = np.zeros((n, n))
    idx = [np.flatnonzero(labels == a) for a in range(k)]
    for a in range(k):
        for b in range(a + 1, k):
            ia, ib = idx[a], idx[b]
            if ia.size == 0 or ib.size == 0:
                continue
            K = -A[np.ix_(ia, ib)]
            rs, cs = r[ia, b], r[ib, a]
            if not _transport_sweeps(K, rs, cs, n_iter):
                K = _sinkhorn_block(K, np.maximum(rs, 0.0), np.maximum(cs, 0.0), 50)
            out[np.ix_(ia, ib)] = K
            out[np.ix_(ib, ia)] = K.T
    return out


#: Largest n for which a clipped dual is repaired densely (n^2 floats).
_DENSE_REPAIR_MAX_N = 4000
#: Smallest relative window (see :meth:`_Slackness.window`) at which the constructions are
#: tried when the caller's solvers bound the SDP anyway: on 360 spectral groupings
#: (planted with noise 0.5-1.2 and Fig. 2; n = 40-300, k = 2-5; 3 seeds) the 168 that
#: closed had windows of +10.8 % or more, and none of the 12 in (-5 %, +10 %) closed.
_WINDOW_MIN = 0.05


#: Iterations of the projected construction (:meth:`_Slackness.projected`); the noisy
#: planted draw of the benchmark (n = 100, k = 3, window +3.3 %) closes after 5 steps.
_PROJECTED_MAX_ITER = 30
#: Its step on the eigenvalue excess, and the momentum: on that draw and three planted
#: ones with windows of +1.2 to +4 % (n = 75-157, k = 2-4), steps of 3 without momentum
#: closed only the benchmark's draw (11 steps), with momentum 0.7 they diverged for k = 4;
#: step 2 with momentum 0.8 closes three of the four (in 5, 10 and 22 steps).
_PROJECTED_STEP, _PROJECTED_MOMENTUM = 2.0, 0.8
#: Where ``z`` sits in the window, and the level the excess is cut to (fractions of
#: ``z - z_blk``): at 0.5-0.95 of the window the draw took 9-16 steps (step 4, no
#: momentum), fewer near its top.
_PROJECTED_Z, _PROJECTED_CUT = 0.9, 0.5
#: Sweeps of :func:`_transport_sweeps` per block after each step (3 and 6 took about as
#: many steps; the sweeps are most of a step's time).
_PROJECTED_SWEEPS = 3


@dataclass
class PartitionCertificate:
    """Outcome of :func:`certify_partition` (centred, scaled units)."""

    bound: float
    y: np.ndarray
    z: float
    dual: Any
    #: ``(z_cap - z_blk) / |z_blk|`` (see :meth:`_Slackness.window`); None where not computed.
    window: float | None = None


class _Slackness:
    """The dual points complementary to one grouping, as functions of ``z``.

    Complementary slackness with the partition matrix of ``labels`` fixes the
    multipliers ``y`` of ``X 1 = 1`` and the row sums ``r`` of each
    between-group block of ``Lam`` as affine functions of the multiplier ``z``
    of ``tr X = k``; the methods build the duals of :func:`certify_partition`
    from them (centred, scaled units).
    """

    def __init__(
        self, op: CentredOperator, labels: np.ndarray, k: int, value: float, tol: float
    ) -> None:
        n = op.n
        self.op, self.n, self.k = op, n, k
        lab = np.asarray(labels, dtype=np.intp)
        self.labels = lab
        Z = np.zeros((n, k))
        Z[np.arange(n), lab] = 1.0
        self.Z = Z
        self.sizes = sizes = Z.sum(axis=0)
        self.P = P = op.matmat(Z)  # P[i, a] = (A 1_a)_i
        self.Baa = Baa = np.diag(Z.T @ P) / sizes
        rows = np.arange(n)
        self.y0 = (2.0 * P[rows, lab] - Baa[lab]) / sizes[lab]
        self.r0 = (self.y0[:, None] * sizes[None, :] + Baa[None, :]) / 2.0 - P
        self.D = (sizes[None, :] / sizes[lab][:, None] + 1.0) / 2.0
        self.mask = np.ones((n, k), dtype=bool)
        self.mask[rows, lab] = False
        self.Zs = Z / sizes
        self.target = value + tol
        # Eigenvalues here are at most ||A||_F = 1 and enter the bound times k - 1
        # with their residuals: a twentieth of the tolerance is left for those.
        self.eig_tol = float(min(1e-7, max(1e-12, 0.05 * tol / (k - 1))))
        # The dense matrix and the top within-group eigenvalue, where affordable.
        self.A: np.ndarray | None = None
        self.z_blk: float | None = None
        self._window: float | None = None
        if n <= min(_DENSE_REPAIR_MAX_N, _EXPLICIT_MAX_N):
            self.A = op.dense()
            self.z_blk = _within_group_top(self.A, lab, k)

    def window_closed(self) -> bool:
        """Hardly any ``z`` gives nonnegative row sums above the within-group eigenvalue.

        A dual point complementary to the grouping needs ``z >= z_blk`` (its
        within-group blocks are zero, so ``z`` covers their top eigenvalue) and
        row sums ``r(z) = r0 - z D >= 0``, i.e. ``z <= min(r0 / D)``. Every
        construction below takes its row sums from ``r(z)``. When that window is
        empty or narrower than ``_WINDOW_MIN`` (relative), none of them closed
        (0 of 566 groupings with windows below -5 %, the 82 that closed had +11 %
        or more: Fig. 2, planted and Gaussian, n = 40-300, k = 2-5; see also
        ``_WINDOW_MIN``). A narrow open window still allows a complementary
        dual point (a tight relaxation), which the constructions miss; the
        projected blocks (:meth:`projected`) find it, else the solvers do.
        """
        window = self.window()
        return window is not None and window < _WINDOW_MIN

    def window(self) -> float | None:
        """``(z_cap - z_blk) / |z_blk|``: the room for ``z`` between the two limits, relative.

        ``z_blk`` is the top within-group eigenvalue, ``z_cap = min(r0 / D)`` the
        largest ``z`` with nonnegative between-group row sums; a dual point
        complementary to the grouping needs ``z`` between them. None where
        ``z_blk`` is not computed (``n > 3000``).
        """
        if self.z_blk is None:
            return None
        if self._window is None:
            self._window = (self.z_cap() - self.z_blk) / max(abs(self.z_blk), 1e-300)
        return self._window

    def z_cap(self) -> float:
        """``min(r0 / D)``: the largest ``z`` at which every between-group row sum is >= 0."""
        return float(np.min(self.r0[self.mask] / self.D[self.mask]))

    def certificate(self, bound: float, z: float, dual: Any) -> PartitionCertificate:
        y = self.y0 - z / self.sizes[self.labels]
        return PartitionCertificate(bound, y, z, dual, self.window())

    def row_sums(self, z: float) -> np.ndarray:
        """Row sums ``r[i, a]`` of the between-group blocks at ``z`` (0 on the own group)."""
        return np.where(self.mask, self.r0 - z * self.D, 0.0)

    def additive(self, z: float) -> tuple[np.ndarray, AdditiveDual]:
        """The additive dual at ``z`` and its row sums."""
        r = self.row_sums(z)
        p = r / self.sizes[None, :]
        p[~self.mask] = 0.0
        c = (self.Z.T @ r) / np.outer(self.sizes, self.sizes)
        np.fill_diagonal(c, 0.0)
        return r, AdditiveDual(p, c, self.labels, self.Z)

    def additive_possible(self) -> bool:
        """False when the additive dual is negative at every feasible ``z``.

        Every entry decreases in ``z``, and ``z_min >= z_blk`` (the within-group
        blocks are compressions of ``P A P``), so a negative entry at ``z_blk``
        rules it out without computing ``z_min``.
        """
        if self.z_blk is None:
            return True
        return bool(self.additive(self.z_blk)[1].block_minima().min() >= 0.0)

    def z_limit(self) -> float:
        """The largest ``z`` at which the additive dual is nonnegative.

        Every entry is affine in ``z`` with slope ``-(1/|C_a| + 1/|C_b|)/2`` on
        block ``(a, b)``: a closed form.
        """
        m0 = self.additive(0.0)[1].block_minima()
        slope = 0.5 * (1.0 / self.sizes[:, None] + 1.0 / self.sizes[None, :])
        with np.errstate(invalid="ignore"):
            return float(np.min(np.where(np.isfinite(m0), m0 / slope, np.inf)))

    def closed_form(self, z: float) -> PartitionCertificate | None:
        """The additive dual's bound at ``z >= lambda_max(P A P)``, if it is nonnegative there.

        Exact algebra: ``J (A + Lam) J = z J - J Q J`` with ``Q = z P - P A P``,
        which is psd for such ``z``, so ``lambda_max(J (A + Lam) J) <= z``.
        """
        if not np.isfinite(z):
            return None
        _, dual = self.additive(z)
        if not dual.block_minima().min() >= 0.0:  # also rejects NaN
            return None
        ub = dual.total() / self.n + (self.k - 1) * z
        if not np.isfinite(ub):
            return None
        return self.certificate(ub, z, dual)

    def decoupled(self, max_evals: int) -> PartitionCertificate:
        """Between-group blocks ``-A`` plus additive terms, at ``z`` a little above ``z_blk``.

        The additive blocks leave the between-group coupling of ``A`` on the
        complement of the indicators in place; cancelling it lowers the
        eigenvalue that ``z`` must cover to the largest within-group one, and a
        slightly larger ``z`` buys the slack that clipping negative entries uses.
        """
        assert self.A is not None and self.z_blk is not None
        out = self.certificate(np.inf, 0.0, None)
        for frac in (0.02, 0.08, 0.3)[:max_evals]:
            z = self.z_blk + frac * max(abs(self.z_blk), 1e-12)
            r = self.row_sums(z)
            if np.min(r) < 0.0:
                continue
            lam = _decoupled_dual(self.A, self.labels, r, self.k)
            ub = bound_from_dual(self.op, self.k, lam_dense=lam, eig_tol=self.eig_tol)
            if ub < out.bound:
                out = self.certificate(ub, z, lam)
            if ub <= self.target:
                break
        return out

    def projection_possible(self) -> bool:
        """The window is open and the dense matrix affordable (see :meth:`projected`)."""
        window = self.window()
        return window is not None and window > 0.0 and self.n <= DENSE_MAX_N

    def projected(self, max_iter: int) -> PartitionCertificate:
        """Between-group blocks that bring the spectrum on the complement below ``z``, iterated.

        Where the relaxation is tight, a dual point complementary to the grouping
        has, for some ``z`` in the window, between-group blocks ``Lam >= 0`` with
        the row sums ``r(z)`` and ``P (A + Lam) P <= z`` on the complement of the
        indicators (``P`` that projection); the set of such ``Lam`` is convex,
        and measured on the benchmark's noisy draw it has room (its top
        eigenvalue can reach ``z_blk`` anywhere in the window), which the
        additive and decoupled blocks above still miss by 15 %. From the
        decoupled blocks at ``z`` near the top of the window, each step lowers
        the eigenvalues above a level below ``z`` by a multiple of their excess
        (one dense eigenproblem for the pairs above it), zeroes the within-group
        blocks, and puts the between-group ones back onto their row sums and
        signs (:func:`_transport_sweeps`): a projected gradient step on the
        squared excess. It stops once no eigenvalue is above ``z``; the bound is
        then evaluated from ``Lam`` by :func:`bound_from_dual` (valid whatever
        ``Lam`` is), or after ``max_iter`` steps, or when the excess has not
        halved over six steps (a grouping the SDP does not prove optimal).
        """
        assert self.A is not None and self.z_blk is not None
        out = self.certificate(np.inf, 0.0, None)
        z = self.z_blk + _PROJECTED_Z * (self.z_cap() - self.z_blk)
        cut = self.z_blk + _PROJECTED_CUT * (z - self.z_blk)
        r = self.row_sums(z)
        idx = [np.flatnonzero(self.labels == a) for a in range(self.k)]
        pairs = [(idx[a], idx[b], a, b) for a in range(self.k) for b in range(a + 1, self.k)]
        same = self.labels[:, None] == self.labels[None, :]

        def repair(n_sweeps: int) -> None:
            for ia, ib, a, b in pairs:
                K = lam[np.ix_(ia, ib)]
                _transport_sweeps(K, r[ia, b], r[ib, a], n_sweeps)
                lam[np.ix_(ia, ib)] = K
                lam[np.ix_(ib, ia)] = K.T

        # The decoupled blocks (between-group -A), roughly on their sums and signs.
        lam = np.where(same, 0.0, -self.A)
        repair(_PROJECTED_SWEEPS)
        Z, Zs = self.Z, self.Zs
        # The indicators' own eigenvalues pushed below the level (cf. _complement_matvec).
        low = (2.0 + 2.0 * float(np.abs(self.Baa).max()) + abs(cut)) * (Zs @ Z.T)
        excess: list[float] = []
        prev = None
        for it in range(max_iter):
            M = self.A + lam
            M -= Zs @ (Z.T @ M)
            M -= (M @ Z) @ Zs.T
            M -= low
            w, V = eigh_above(M, cut)
            top = float(w[-1]) - z if w.size else -np.inf
            if top <= 0.0:
                repair(60)
                ub = bound_from_dual(self.op, self.k, lam_dense=lam, eig_tol=self.eig_tol)
                if ub < out.bound:
                    out = self.certificate(ub, z, lam.copy())
                if ub <= self.target or w.size == 0:  # closed, or no pair left to lower
                    break
            excess.append(min(top, excess[-1]) if excess else top)
            if it >= 6 and excess[-1] > 0.5 * excess[-7]:
                break
            lam -= _PROJECTED_STEP * ((V * (w - cut)) @ V.T)
            lam[same] = 0.0
            repair(_PROJECTED_SWEEPS)
            # Momentum on the repaired blocks; the next repair restores the sums.
            if prev is not None:
                prev, lam = lam, lam + _PROJECTED_MOMENTUM * (lam - prev)
                np.maximum(lam, 0.0, out=lam)
            else:
                prev = lam.copy()
        return out

    def _complement_matvec(self) -> tuple[Any, float]:
        """``V -> P A P V`` with the indicators pushed below the spectrum, and the push."""
        Z, Zs, op = self.Z, self.Zs, self.op
        push = 2.0 + 2.0 * float(np.abs(self.Baa).max())

        def mv(V: np.ndarray) -> np.ndarray:
            W = V - Zs @ (Z.T @ V)
            out = op.matmat(W)
            out -= Zs @ (Z.T @ out)
            out -= push * (Zs @ (Z.T @ V))
            return out

        return mv, push

    def top_of_complement(
        self, z_lim: float, possible: bool
    ) -> tuple[float, PartitionCertificate | None]:
        """``z_min = lambda_max(P A P)`` on the complement of the indicators (an upper estimate).

        Returns it, or a finished certificate when the closed form at a ``z``
        halfway between the estimate and ``z_lim`` already works.
        """
        n = self.n
        if n <= DENSE_MAX_N:
            _, push = self._complement_matvec()
            M = self.op.dense() - self.P @ self.Zs.T
            M = M - self.Zs @ (self.Z.T @ M)
            M = (M + M.T) / 2.0 - push * (self.Zs @ self.Z.T)
            z_min = _top_eigenvalue(None, n, M)
            found = self.closed_form(0.5 * (z_min + z_lim)) if z_lim >= z_min else None
            return z_min, found
        mv, _ = self._complement_matvec()
        if possible:
            # A loose eigenvalue estimate (value plus residual) is enough when
            # the nonnegativity limit leaves room: z then sits halfway between.
            theta, z_hat = _lanczos_top(mv, n, tol=1e-2, with_ritz=True)
            if z_lim >= z_hat + 0.1 * abs(z_hat):
                found = self.closed_form(0.5 * (z_hat + z_lim))
                if found is not None:
                    return z_hat, found
            if z_lim < theta:
                # A Ritz value never exceeds the top eigenvalue: the additive
                # dual is negative at z_min too, and z_min only seeds the rest.
                return z_hat, None
        return _top_eigenvalue(mv, n, None, self.eig_tol), None

    def clipped(
        self, z_min: float, best: PartitionCertificate, max_evals: int
    ) -> PartitionCertificate:
        """The additive blocks at a few ``z >= z_min``, clipped at 0 and rescaled."""
        scale = max(abs(z_min), 1e-300)
        # The additive dual, or the dense matrix that repairs it where it is negative.
        dual: AdditiveDual | np.ndarray
        for step in (0.0, 1e-4, 1e-3, 1e-2)[:max_evals]:
            z = z_min + step * scale
            r, dual = self.additive(z)
            if dual.block_minima().min() >= 0.0:
                # Exact algebra, as in closed_form: lambda_max(J (A + Lam) J) <= z.
                ub = dual.total() / self.n + (self.k - 1) * z
            elif self.n <= _DENSE_REPAIR_MAX_N:
                clip = np.maximum(dual.dense(), 0.0)
                lam = _sinkhorn_blocks(clip, self.labels, np.maximum(r, 0.0), self.k)
                ub = bound_from_dual(self.op, self.k, lam_dense=lam)
                dual = lam
            else:
                continue
            if ub < best.bound:
                best = self.certificate(ub, z, dual)
            if ub <= self.target:
                break
        return best


def certify_partition(
    op: CentredOperator,
    labels: np.ndarray,
    k: int,
    value: float,
    *,
    tol: float,
    max_evals: int = 4,
    give_up: bool = False,
) -> tuple[float, PartitionCertificate]:
    """Bound ``F`` from a dual point built from the grouping ``labels``.

    Complementary slackness with the partition matrix of ``labels`` fixes the
    multipliers ``y`` of ``X 1 = 1`` and the row sums ``r`` of each
    between-group block of ``Lam`` as affine functions of the multiplier ``z``
    of ``tr X = k``. The additive blocks with those row sums leave the spectrum
    on the complement of the group indicators unchanged, so the dual is
    feasible exactly when ``z >= lambda_max(P A P)`` (``P`` that projection)
    and the blocks are nonnegative at that ``z``; then the bound equals
    ``value`` whatever such ``z`` is used, so ``z`` is taken halfway between the
    eigenvalue estimate and the largest ``z`` keeping the blocks nonnegative
    (closed form: entries are affine in ``z``), which leaves a margin for the
    eigensolver. When the additive blocks are negative (or cannot be
    nonnegative, tested at the cheaper ``z`` of the within-group blocks, a
    lower bound on ``lambda_max(P A P)``), the decoupled dual is tried for
    ``n <= 3000``: between-group blocks ``-A`` plus additive terms, which
    removes the between-group coupling from ``P (A + Lam) P``, made
    nonnegative by alternating projections and diagonal scaling, at ``z`` a
    little above the within-group eigenvalue. Then the additive blocks are
    clipped and rescaled at a few ``z``. Last, where the window for ``z`` is
    open (``n <= 600``), the projected blocks (:meth:`_Slackness.projected`):
    an iteration from the decoupled blocks. Every bound that does not come from
    the exact algebra is evaluated from its ``Lam`` by
    :func:`bound_from_dual`, so it is valid whatever ``Lam`` is.

    ``value`` is the centred, scaled objective of ``labels``. Returns the best
    bound and its certificate (with ``y``, ``z`` to warm-start a solver).
    ``give_up``: for a caller whose solvers bound the SDP themselves, return
    an infinite bound at once when the constructions cannot close
    (:meth:`_Slackness.window_closed`); a non-tight grouping then costs the
    products with its indicators and the within-group eigenvalues only. An
    open window narrower than ``_WINDOW_MIN`` goes to the projected blocks
    alone, which stop early where they do not converge.
    """
    dual = _Slackness(op, labels, k, value, tol)
    if give_up and dual.window_closed():
        if dual.projection_possible():
            # An open window narrower than _WINDOW_MIN: only the projected blocks close.
            projected = dual.projected(_PROJECTED_MAX_ITER)
            if projected.bound <= dual.target:
                return projected.bound, projected
        assert dual.z_blk is not None
        return np.inf, dual.certificate(np.inf, dual.z_blk, None)
    best = dual.certificate(np.inf, 0.0, None)
    possible = dual.additive_possible()
    # 1. The additive dual cannot be nonnegative: try the decoupled one first.
    if not possible:
        best = dual.decoupled(max_evals)
        if best.bound <= dual.target:
            return best.bound, best
    # 2. The closed form at a z between the eigenvalue and the nonnegativity limit;
    #    its bound equals value whatever such z is used (complementary slackness).
    z_min, found = dual.top_of_complement(dual.z_limit(), possible)
    if found is not None:
        return found.bound, found
    if not np.isfinite(best.bound):
        best = dual.certificate(np.inf, z_min, None)
    # 3. The closed form at z_min itself.
    found = dual.closed_form(z_min)
    if found is not None:
        return found.bound, found
    # 4. The decoupled dual (if not tried yet), then the clipped additive dual.
    if possible and dual.A is not None:
        candidate = dual.decoupled(max_evals)
        if candidate.bound < best.bound:
            best = candidate
        if best.bound <= dual.target:
            return best.bound, best
    best = dual.clipped(z_min, best, max_evals)
    # 5. The projected blocks, where the window leaves room for z.
    if best.bound > dual.target and dual.projection_possible():
        candidate = dual.projected(_PROJECTED_MAX_ITER)
        if candidate.bound < best.bound:
            best = candidate
    return best.bound, best
