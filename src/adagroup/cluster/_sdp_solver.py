"""First-order solvers for the Peng-Wei clustering SDP.

The SDP is ``max <S, X>`` over ``X 1 = 1, tr X = k, X >= 0, X psd``. Both solvers
work on the centred and scaled matrix ``A = J S J / sigma`` (``J = I - 11'/n``):
for every feasible ``X``, ``<J S J, X> = <S, X> - 1'S1/n``, so the constant part
of the objective (often most of its value) drops out and tolerances measure
only what the grouping can change.

* :func:`solve_factor` -- nonnegative Burer-Monteiro factorisation ``X = U U'``
  with ``U >= 0`` and ``||U||_F^2 = k`` kept by projection, an augmented
  Lagrangian on ``U U' 1 = 1`` and projected gradient steps with
  Barzilai-Borwein step sizes: one product ``A U`` per step.
* :func:`solve_admm` -- convex ADMM on the split ``{X 1 = 1, tr X = k, X psd}``
  and ``{X >= 0}``; slower, but it converges to the SDP optimum from anywhere and
  its multiplier of ``X >= 0`` feeds the certificate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import ddot as _ddot
from scipy.linalg.blas import dtrsm as _dtrsm
from scipy.linalg.lapack import dpotrf as _dpotrf
from scipy.linalg.lapack import dsyevd as _dsyevd

from ..exceptions import SolverError
from ._linalg import top_eigh

__all__ = [
    "CentredOperator",
    "FactorResult",
    "AdmmResult",
    "feasible_point",
    "solve_factor",
    "solve_admm",
]

#: Above this size the centred matrix is applied implicitly instead of stored.
_EXPLICIT_MAX_N = 3000
#: Initial penalty times n, and inner step cap.
_BETA0 = 0.3
_INNER_MAX = 100
#: ADMM over-relaxation (Boyd et al. 2011, sec. 3.4.3): 1.6 took 1.4x fewer iterations than
#: 1.0 on non-tight n = 100 instances (Fig. 2, noisy planted, Gaussian).
_RELAX = 1.6
#: Residual balancing: every _EV iterations rho changes by _TAU when one residual exceeds
#: _MU times the other. (5, 2, 2) took 2-4x fewer iterations than (10, 10, 2) on non-tight
#: n = 60..400 instances (1.5 instead of 2 oscillated on Fig. 2 at n = 400).
_EV, _MU, _TAU = 5, 2.0, 2.0
#: Ritz vectors kept below the simplex threshold (see :class:`_RitzProjection`). On the
#: noisy planted n = 100 matrix 3 and 4 took 350 and 340 ADMM iterations against 130 with
#: exact projections; 6 and 10 took 130 (measured).
_RITZ_MARGIN = 6
#: Calls of :class:`_RitzProjection` between two full (LAPACK) projections.
_RITZ_REFRESH = 50


class CentredOperator:
    """The map ``V -> J S J V / sigma`` without a second ``n x n`` copy for large ``n``.

    Parameters
    ----------
    S : ndarray of shape (n, n)
        Symmetric affinity; not modified, and kept by reference for large ``n``.
    """

    def __init__(self, S: np.ndarray) -> None:
        n = S.shape[0]
        self.n = n
        self.row_sums = S.sum(axis=1)
        self.total = float(self.row_sums.sum())
        # 1'S1/n: the value every feasible X gets from the constant part of S.
        self.base = self.total / n
        # The shift removes a common offset before the products so that large
        # offsets (S = c + noise) cancel exactly instead of in floating point.
        self.mean = self.total / (n * n)
        if n <= _EXPLICIT_MAX_N:
            mu = self.row_sums / n
            Sc = S - mu[:, None] - mu[None, :] + self.mean
            self._dense: np.ndarray | None = Sc
            self._S = None
            fro = float(np.linalg.norm(Sc))
        else:
            self._dense = None
            self._S = S
            # A BLAS dot on the flat view reads S once at memory speed.
            flat = S.reshape(-1) if S.flags.c_contiguous else None
            sq = float(flat @ flat) if flat is not None else float(np.einsum("ij,ij->", S, S))
            fro2 = sq - 2.0 * float(self.row_sums @ self.row_sums) / n + self.total**2 / n**2
            fro = math.sqrt(max(fro2, 0.0))
        self.fro = fro
        #: Top eigenvalues (descending) and Frobenius norm of the dense matrix the spectral
        #: bound uses with Lam = 0, kept so that every k of an automatic k reuses them.
        self.top_cache: tuple[np.ndarray, float] | None = None
        scale = float(np.max(np.abs(S))) if S.size else 0.0
        # A centred matrix below round-off of S itself carries no information.
        self.degenerate = fro <= 1e-13 * max(scale, 1e-300) * n
        self.sigma = fro if not self.degenerate else 1.0
        if self._dense is not None:
            self._dense = self._dense / self.sigma
        self.n_products = 0

    def matmat(self, V: np.ndarray) -> np.ndarray:
        """Return ``J S J V / sigma``."""
        self.n_products += 1
        if self._dense is not None:
            return self._dense @ V
        S = self._S
        col = V.sum(axis=0)
        G = S @ V - np.outer(self.row_sums, col / self.n)
        G -= G.sum(axis=0) / self.n
        G /= self.sigma
        return G

    def dense(self) -> np.ndarray:
        """The centred scaled matrix itself (built on demand for large ``n``)."""
        if self._dense is not None:
            return self._dense
        return self.matmat(np.eye(self.n))


@dataclass
class FactorResult:
    """Outcome of :func:`solve_factor` (values in centred, scaled units)."""

    U: np.ndarray
    y: np.ndarray
    value: float
    infeasibility: float
    n_iter: int
    converged: bool


def _project(U: np.ndarray, k: int) -> np.ndarray:
    """Project onto ``{U >= 0, ||U||_F^2 = k}`` (clip, then rescale)."""
    np.maximum(U, 0.0, out=U)
    nrm = float(np.linalg.norm(U))
    if nrm == 0.0:
        U[:] = 1.0
        nrm = float(np.linalg.norm(U))
    U *= math.sqrt(k) / nrm
    return U


def init_factor(
    n: int, k: int, r: int, rng: np.random.Generator, init_labels: np.ndarray | None
) -> np.ndarray:
    """A starting factor: the labels' partition matrix plus small noise, or random."""
    if init_labels is not None:
        lab = np.asarray(init_labels, dtype=np.intp)
        sizes = np.bincount(lab, minlength=r)
        U = np.zeros((n, r))
        U[np.arange(n), lab] = 1.0 / np.sqrt(sizes[lab])
        U += 1e-3 / math.sqrt(n) * rng.random((n, r))
    else:
        U = rng.random((n, r))
        # Rows near 1/sqrt(n r) make U U' 1 close to 1 from the start.
        U *= 1.0 / math.sqrt(n * r)
        U += 0.5 / math.sqrt(n * r) * rng.random((n, r))
    return _project(U, k)


def solve_factor(
    op: CentredOperator,
    k: int,
    *,
    rng: np.random.Generator,
    init_labels: np.ndarray | None = None,
    y0: np.ndarray | None = None,
    z0: float = 0.0,
    tol: float = 1e-6,
    max_iter: int = 5000,
) -> FactorResult:
    """Nonnegative low-rank augmented Lagrangian for the clustering SDP.

    Minimises ``-<A, U U'>`` over ``U >= 0`` with ``||U||_F^2 = k`` (kept by
    projection) subject to ``U U' 1 = 1`` (augmented Lagrangian with multiplier
    ``y`` and penalty ``beta``). Each inner step is a projected gradient step
    with a Barzilai-Borwein step size and costs one product ``A U``.

    Stops when ``max |U U' 1 - 1| <= tol`` (the constraint is scale-free) and the
    centred value changed by at most ``tol * max(1, |value|)`` over the last outer
    iteration, or after ``max_iter`` products. ``y0``, ``z0`` warm-start the
    multipliers (e.g. from complementary slackness with ``init_labels``).
    """
    n = op.n
    # Rank 2k: the spare columns let the iterate route around stalls of rank k.
    U = init_factor(n, k, min(n, max(2 * k, k + 2)), rng, init_labels)
    y = np.zeros(n) if y0 is None else np.array(y0, dtype=np.float64)
    z = float(z0)
    # The penalty Hessian grows like beta * n (w = U'1 has norm ~ sqrt(n)); the
    # objective's like 1 after scaling, so beta ~ 1/n balances the two.
    beta = _BETA0 / n
    ones = np.ones(n)

    def merit(U, AU):
        w = U.sum(axis=0)
        c = U @ w - ones
        t = float(np.vdot(U, U)) - k
        f = (
            -float(np.vdot(U, AU))
            + float(y @ c)
            + 0.5 * beta * float(c @ c)
            + z * t
            + 0.5 * beta * n * t * t
        )
        return f, w, c, t

    it = 0
    value_prev = np.inf
    viol_prev = np.inf
    converged = False
    value = 0.0
    viol = np.inf
    outer = 0
    step = None
    AU = op.matmat(U)
    it += 1
    while it < max_iter:
        outer += 1
        inner_tol = max(0.3 * tol, min(0.1, 0.3 * viol_prev))
        U_old = G_old = None
        hist: list[float] = []
        f, w, c, t = merit(U, AU)
        for _ in range(_INNER_MAX):
            yc = y + beta * c
            G = (
                -2.0 * AU
                + np.outer(yc, w)
                + np.outer(ones, U.T @ yc)
                + 2.0 * (z + beta * n * t) * U
            )
            if U_old is not None:
                dU = U - U_old
                dG = G - G_old
                sy = float(np.vdot(dU, dG))
                if sy > 0:
                    # Barzilai-Borwein: the long and the short step alternate.
                    if it % 2:
                        step = float(np.vdot(dU, dU)) / sy
                    else:
                        step = sy / float(np.vdot(dG, dG))
                    step = min(max(step, 1e-12), 1e12)
            if step is None:
                step = 1.0 / (2.0 + float(np.linalg.norm(G)))
            hist.append(f)
            ref = max(hist[-8:])
            U_old, G_old = U, G
            while True:
                U_new = np.maximum(U - step * G, 0.0)
                AU_new = op.matmat(U_new)
                it += 1
                f_new, w, c, t = merit(U_new, AU_new)
                d = U_new - U
                if f_new <= ref - 1e-4 / step * float(np.vdot(d, d)) or step < 1e-12:
                    break
                step *= 0.3
            move = float(np.linalg.norm(d)) / step
            U, AU, f = U_new, AU_new, f_new
            if move <= inner_tol * math.sqrt(k) or it >= max_iter:
                break
        viol = max(float(np.max(np.abs(c))), abs(t) / k)
        value = float(np.vdot(U, AU))
        y += beta * c
        z += beta * n * t
        if viol > 0.25 * viol_prev and viol > tol:
            beta = min(beta * 2.0, 1e6)
        # Dead columns (all zero) get no gradient and never recover; revive them
        # early so the spare rank can still route the iterate around stalls.
        if outer <= 5:
            norms = np.linalg.norm(U, axis=0)
            dead = norms < 1e-8 * max(float(norms.max()), 1e-300)
            if np.any(dead) and np.sum(~dead) >= 1:
                U[:, dead] = 1e-3 * rng.random((n, int(dead.sum()))) / math.sqrt(n)
                AU = op.matmat(U)
                it += 1
        if viol <= tol and abs(value - value_prev) <= tol * max(1.0, abs(value)):
            converged = True
            break
        value_prev = value
        viol_prev = viol
    return FactorResult(U=U, y=y, value=value, infeasibility=viol, n_iter=it, converged=converged)


@dataclass
class AdmmResult:
    """Outcome of :func:`solve_admm` (values in centred, scaled units)."""

    X: np.ndarray
    Lam: np.ndarray
    value: float
    primal_residual: float
    dual_residual: float
    n_iter: int
    converged: bool
    #: True when ``stop`` ended the iterations (its last call saw ``Lam``).
    stopped: bool = False


def _project_affine_psd(
    V: np.ndarray, k: int, r: int | None = None
) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Project a symmetric matrix onto ``{X 1 = 1, tr X = k, X psd}``.

    ``X = 11'/n + Y`` with ``Y`` the projection of ``J V J`` onto the psd matrices
    of trace ``k - 1`` whose range lies in the complement of ``1``: eigenvalues
    projected onto the simplex, eigenvectors kept.

    Only eigenvalues above the simplex threshold ``theta`` matter. With ``r``
    given, the top ``r + 1`` eigenpairs are computed (the direction of ``1``
    pushed below the spectrum); the lowest of them is a sentinel: when it is at
    most ``theta``, every eigenvalue not computed is too, and the projection is
    exact. Otherwise ``r`` doubles. Returns the projection, a suggested ``r``
    for the next call, the top eigenvectors (ascending values, orthogonal to
    ``1``; those kept plus up to ``_RITZ_MARGIN`` more) to warm-start
    :class:`_RitzProjection`, and how many were kept.
    """
    n = V.shape[0]
    mu = V.mean(axis=1)
    W = V - mu[:, None] - mu[None, :] + mu.mean()
    W = (W + W.T) / 2.0
    while r is not None and r + 1 < n // 3:
        shift = 2.0 * float(np.linalg.norm(W)) + 1.0
        evals, evecs = top_eigh(W - shift / n, r + 1)
        lam = evals[1:]
        theta = _simplex_shift(lam, k - 1.0)
        if evals[0] <= theta:
            proj = np.maximum(lam - theta, 0.0)
            pos = proj > 0
            n_pos = int(pos.sum())
            vec = evecs[:, 1:][:, pos]
            Y = (vec * proj[pos]) @ vec.T
            basis = evecs[:, max(0, r + 1 - n_pos - _RITZ_MARGIN) :]
            return Y + 1.0 / n, max(2 * n_pos + 2, k + 2), basis, n_pos
        r *= 2
    evals, evecs = top_eigh(W, n)
    # 1 is an eigenvector of W with eigenvalue 0; drop one eigenpair aligned with it.
    align = np.abs(evecs.sum(axis=0)) / math.sqrt(n)
    keep = np.ones(n, dtype=bool)
    keep[int(np.argmax(align))] = False
    lam = evals[keep]
    vec = evecs[:, keep]
    theta = _simplex_shift(lam, k - 1.0)
    proj = np.maximum(lam - theta, 0.0)
    pos = proj > 0
    n_pos = int(pos.sum())
    Y = (vec[:, pos] * proj[pos]) @ vec[:, pos].T
    basis = vec[:, max(0, vec.shape[1] - n_pos - _RITZ_MARGIN) :]
    return Y + 1.0 / n, max(2 * n_pos + 2, k + 2), basis, n_pos


def _orthonormalise(Y: np.ndarray) -> np.ndarray | None:
    """An orthonormal basis of the columns of ``Y`` (Cholesky QR, twice); None if degenerate.

    The columns are scaled to unit length first; when the Cholesky factor's
    smallest pivot is then below ``1e-6`` (the columns are dependent to about
    that: the second pass would no longer restore orthogonality), or a column
    is zero, None. A LAPACK Householder QR costs 5x more at n = 100.
    """
    norms = np.sqrt(np.einsum("ij,ij->j", Y, Y))
    if not np.all(norms > 1e-150):
        return None
    Y = Y / norms
    for first in (True, False):
        c, info = _dpotrf(Y.T @ Y, lower=0)
        if info != 0 or (first and not np.min(np.abs(np.diag(c))) > 1e-6):
            return None
        Y = _dtrsm(1.0, c, Y, side=1, lower=0)
    return Y


class _RitzProjection:
    """:func:`_project_affine_psd` from a warm-started block Rayleigh-Ritz step.

    ADMM's iterates change little from one step to the next, and the projection
    needs only the eigenpairs above the simplex threshold (about ``k`` near a
    clustered solution). The eigenvectors of the last projection ``Q`` (plus
    ``_RITZ_MARGIN`` below the threshold) and ``J V Q`` span a subspace in
    which the Rayleigh-Ritz pairs of ``J V J`` replace LAPACK's: two products
    ``V Q`` and an eigenproblem of at most ``2 m`` instead of LAPACK's
    eigenpairs of ``n x n`` (n = 100: about 0.15 ms against 0.4-0.5 ms a step,
    and as many iterations on Fig. 2, noisy planted and Gaussian matrices,
    k = 3). The result is exactly in the affine psd set (orthonormal Ritz
    vectors orthogonal to ``1``, weights on the simplex), so a feasible point
    repaired from it stays valid; only the
    step is inexact, which ADMM tolerates. Every ``_RITZ_REFRESH`` calls, and
    whenever no Ritz value falls below the threshold, LAPACK computes the
    projection in full and the basis restarts from it.
    """

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self.ones = np.ones(n)
        self.Q: np.ndarray | None = None
        self.r_eig = 2 * k + 2
        self.since_full = 0
        self.n_full = 0
        self.n_pos = 0

    def __call__(self, V: np.ndarray) -> np.ndarray:
        if self.Q is not None and self.since_full < _RITZ_REFRESH:
            X = self._ritz(V, self.Q)
            if X is not None:
                self.since_full += 1
                return X
        X, self.r_eig, basis, self.n_pos = _project_affine_psd(V, self.k, self.r_eig)
        self.n_full += 1
        self.since_full = 0
        basis = basis - (self.ones @ basis) * (1.0 / self.n)
        self.Q = _orthonormalise(basis)
        return X

    def _centred(self, M: np.ndarray) -> np.ndarray:
        M -= (self.ones @ M) * (1.0 / self.n)
        return M

    def _ritz(self, V: np.ndarray, Q: np.ndarray) -> np.ndarray | None:
        n, k, m = self.n, self.k, Q.shape[1]
        # Q drifts off the complement of 1 by round-off; J V J Q = J V Q once it is back.
        Q = self._centred(Q)
        MQ = self._centred(V @ Q)
        H11 = Q.T @ MQ
        # The Krylov block J V Q for the Ritz vectors above the threshold and one more
        # (expanding all of Q took as many iterations and 10-20 % longer; expanding
        # only the top 2 or 4 took up to 17x more on the Gaussian n = 100 matrix).
        e = min(m, self.n_pos + 1, n - 1 - m)
        if e < 1:
            return None
        Y = MQ[:, m - e :] - Q @ H11[:, m - e :]
        Y -= Q @ (Q.T @ Y)
        Y = _orthonormalise(Y)
        if Y is None:  # V Q in span(Q) to round-off: Q alone
            B, H = Q, (H11 + H11.T) / 2.0
        else:
            MY = self._centred(V @ Y)
            H12 = Q.T @ MY
            e = Y.shape[1]
            H = np.empty((m + e, m + e))
            H[:m, :m] = (H11 + H11.T) / 2.0
            H[:m, m:] = H12
            H[m:, :m] = H12.T
            H[m:, m:] = Y.T @ MY
            B = np.hstack([Q, Y])
        w, U, info = _dsyevd(H, compute_v=1, lower=0)
        if info != 0 or not np.all(np.isfinite(w)):
            return None
        theta = _simplex_shift(w, k - 1.0)
        proj = w - theta
        n_pos = int(np.count_nonzero(proj > 0))
        if n_pos >= m:
            # No retained Ritz value below the threshold: the subspace may miss
            # eigenvalues above it.
            return None
        R = B @ U[:, max(0, w.size - n_pos - _RITZ_MARGIN) :]
        vec = R[:, R.shape[1] - n_pos :]
        X = (vec * proj[w.size - n_pos :]) @ vec.T
        X += 1.0 / n
        self.Q = R
        self.n_pos = n_pos
        return X


def _simplex_shift(lam: np.ndarray, total: float) -> float:
    """``theta`` with ``sum(max(lam - theta, 0)) == total``."""
    if total <= 0:
        return float(lam.max()) if lam.size else 0.0
    s = np.sort(lam)[::-1]
    css = np.cumsum(s) - total
    idx = np.arange(1, s.size + 1)
    cond = s - css / idx > 0
    hits = np.nonzero(cond)[0]
    if hits.size == 0:  # only with NaN eigenvalues
        raise SolverError(
            "Solver 'admm' failed (status 'failed': non-finite eigenvalues). Try "
            "solver='factor', or rescale the affinity matrix."
        )
    rho = int(hits[-1])
    return float(css[rho] / (rho + 1))


def _toward_centre(A: np.ndarray, Y: np.ndarray, k: int) -> tuple[float, float]:
    """``t`` and ``<A, (1 - t) Y + t C>`` for the least ``t`` that makes the mixture >= 0.

    ``Y`` is affine and psd; ``C = 11'/n + (k-1)/(n-1) (I - 11'/n)``, the
    centre of the feasible set, has every entry equal to at least
    ``(n - k) / (n (n - 1)) > 0``, so the mixture is feasible.
    """
    n = A.shape[0]
    off = (n - k) / (n * (n - 1.0))
    neg = Y < 0.0
    t = float(np.max(-Y[neg] / (off - Y[neg]))) if np.any(neg) else 0.0
    centre = (k - 1.0) / (n - 1.0) * float(np.trace(A))  # <A, C> for a centred A
    return t, (1.0 - t) * float(np.vdot(A, Y)) + t * centre


def feasible_point(A: np.ndarray, X: np.ndarray, k: int) -> tuple[float, float, np.ndarray]:
    """A feasible point of the SDP near ``X``, its value: a lower bound on the SDP optimum.

    ``A`` is centred (``A 1 = 0``); ``X`` satisfies ``X 1 = 1``, ``tr X = k`` and
    is psd (an ADMM projection) but may have small negative entries. Two
    repairs, the better value kept: (1) mix ``X`` with the centre ``C`` of the
    feasible set until every entry is nonnegative, which costs about ``n``
    times the most negative entry; (2) first add the signless Laplacian
    ``diag(M 1) + M`` of the negative part ``M`` (psd, so the sum is psd with
    nonnegative entries), restore ``X 1 = 1`` and ``tr X = k`` by the map
    ``11'/n + s J X J`` (which keeps it psd), then mix: the entries move by
    row averages of ``M`` rather than its maximum (5-10x closer to the
    optimum on Gaussian matrices, measured).

    Returns the value, the weight ``t`` of the centre and the point before
    mixing: the feasible point is ``(1 - t) Y + t C``.
    """
    n = A.shape[0]
    t, best = _toward_centre(A, X, k)
    out = (best, t, X)
    M = np.maximum(-X, 0.0)
    if not np.any(M):
        return out
    Xp = X + M
    Xp[np.diag_indices(n)] += M.sum(axis=1)
    mu = Xp.mean(axis=1)
    Y = Xp - mu[:, None] - mu[None, :] + mu.mean()
    trace = float(np.trace(Y))
    if not trace > 0.0:
        return out
    Y *= (k - 1.0) / trace
    Y += 1.0 / n
    t2, value = _toward_centre(A, Y, k)
    return (value, t2, Y) if value > best else out


def solve_admm(
    A: np.ndarray,
    k: int,
    *,
    X0: np.ndarray | None = None,
    tol: float = 1e-6,
    max_iter: int = 2000,
    stop: Callable[[np.ndarray, np.ndarray], bool] | None = None,
    check_every: int = 10,
    ritz: bool = True,
) -> AdmmResult:
    """Convex ADMM for ``max <A, X>`` on the clustering SDP's feasible set.

    Splits ``X`` (affine + psd) from ``Z`` (nonnegative); ``Lam = -rho W`` is the
    multiplier of ``X >= 0`` in the limit, which is what the certificate uses.
    ``rho`` is adapted by residual balancing (within a factor 1e3 of its
    start), and the ``Z`` step sees the
    over-relaxed ``1.6 X + (1 - 1.6) Z``. Stops when both the primal residual
    ``||X - Z||_F`` and the dual residual ``rho ||Z - Z_old||_F`` fall under
    ``tol * sqrt(k)``. (A multiplier warm start was measured to slow it down.)

    ``stop(X, Lam)``, called every ``check_every`` iterations with the current
    projection ``X`` (affine and psd) and multiplier ``Lam``, ends the
    iterations early when it returns True (the caller judges a dual bound that
    closes); the result then counts as converged. ``ritz``: projections from
    the warm-started Rayleigh-Ritz step of :class:`_RitzProjection` (False:
    LAPACK's eigenpairs every step).
    """
    n = A.shape[0]
    if X0 is None:
        X0 = np.full((n, n), 1.0 / n) + (k - 1.0) / (n - 1.0) * (
            np.eye(n) - np.full((n, n), 1.0 / n)
        )
    Z = np.maximum(X0, 0.0)
    rho = max(float(np.linalg.norm(A)) / math.sqrt(k), 1e-3)
    # Residual balancing moves rho within six orders of magnitude of its start.
    rho_min, rho_max = rho * 1e-3, rho * 1e3
    W = np.zeros((n, n))
    V = np.empty((n, n))
    A_rho = A / rho
    X = Z
    converged = stopped = False
    r_norm = s_norm = np.inf
    it = 0
    project = _RitzProjection(n, k)
    # Eigenpairs computed per projection: few are above the threshold near a
    # low-rank solution, and the count is adapted from the previous step.
    r_eig: int | None = 2 * k + 2
    eps = tol * math.sqrt(k)
    for it in range(1, max_iter + 1):
        np.subtract(Z, W, out=V)
        V += A_rho
        if ritz:
            X = project(V)
        else:
            X, r_eig, _, _ = _project_affine_psd(V, k, r_eig)
        Z_old = Z
        Xr = _RELAX * X
        Xr -= (_RELAX - 1.0) * Z_old
        Z = Xr + W
        np.maximum(Z, 0.0, out=Z)
        W += Xr
        W -= Z
        D = (X - Z).reshape(-1)
        r_norm = math.sqrt(_ddot(D, D))
        D = (Z - Z_old).reshape(-1)
        s_norm = rho * math.sqrt(_ddot(D, D))
        if r_norm <= eps and s_norm <= eps * max(1.0, rho):
            converged = True
            break
        if stop is not None and it % check_every == 0:
            Lam = np.maximum(-rho * W, 0.0)
            if stop(X, (Lam + Lam.T) / 2.0):
                converged = stopped = True
                break
        if it % _EV == 0:
            if r_norm > _MU * s_norm / rho and rho < rho_max:
                rho *= _TAU
                W /= _TAU
                A_rho = A / rho
            elif s_norm / rho > _MU * r_norm and rho > rho_min:
                rho /= _TAU
                W *= _TAU
                A_rho = A / rho
    Lam = np.maximum(-rho * W, 0.0)
    Lam = (Lam + Lam.T) / 2.0
    value = float(np.vdot(A, Z))
    return AdmmResult(
        X=Z,
        Lam=Lam,
        value=value,
        primal_residual=r_norm,
        dual_residual=s_norm,
        n_iter=it,
        converged=converged,
        stopped=stopped,
    )
