"""Low-rank augmented Lagrangian for the clustering SDP on non-tight instances.

The SDP ``max <A, X>`` over ``X 1 = 1``, ``tr X = k``, ``X >= 0``, ``X`` psd (``A``
centred, ``A 1 = 0``) is solved with ``X = 11'/n + V V'``, ``V' 1 = 0`` and
``||V||_F^2 = k - 1``: every such ``X`` is affine and psd, and only the entrywise
constraints ``X >= 0`` remain. They get an augmented Lagrangian with multiplier
``Lam >= 0`` (Burer & Monteiro, 2003; the same splitting for the k-means SDP:
Kulis, Surendran & Platt, 2007), and ``V = c J W / ||J W||`` makes the inner
problem unconstrained in ``W``, solved by L-BFGS (its curvature pairs kept
across multiplier updates). One evaluation costs two ``n x n x p`` products and
a few passes over ``n x n`` arrays, against a dense eigendecomposition per ADMM
step: on Gaussian matrices (never tight) it reached the same bound 4-6x sooner
than ADMM (measured at n = 100-500).

Unlike :func:`~adagroup.cluster._sdp_solver.solve_factor` (``V >= 0``, a
restriction of the SDP that can stop short of its optimum), ``V`` here has no
sign constraint, so for ``p`` at least the rank of a solution the iterates
approach the SDP optimum itself; ``Lam`` is then a dual point whose bound
(see :mod:`~adagroup.cluster._certificate`) approaches it from above.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import daxpy as _daxpy
from scipy.linalg.blas import ddot as _ddot

__all__ = ["PsdFactorResult", "psd_factor_rank", "solve_psd_factor"]

#: Penalty (``A`` has unit Frobenius norm, the entries of X are ~1/n), L-BFGS steps per
#: multiplier update and L-BFGS memory. (32, 25, 5) was the fastest on the non-tight
#: benchmark matrices (Fig. 2, noisy planted, Gaussian; n = 100-500) among rho in
#: {16, 24, 32, 48, 64}, steps in {20, 25, 30, 40, 60} and memory in {5, 10} (measured).
_RHO = 32.0
#: Penalty where the grouping's certificate left room for its multiplier ``z`` (the
#: relaxation may be tight, and the bound closes only once ``Lam`` is nearly a dual
#: optimum). On the 20 such cases among planted matrices (n = 80-200, 2-4 groups, noise
#: 0.8-1.2, 3 seeds) 64, 128 and 256 took 5.1, 4.7 and 6.0 s in all against 9.8 s with 32;
#: with three starts each (60 solves) 128 took 11.7 s against 24.0 s, ADMM fallbacks 38 -> 9,
#: proven 50 -> 57, F identical (measured).
_RHO_TIGHT = 128.0
_INNER = 25
_MEMORY = 5


def psd_factor_rank(n: int, k: int) -> int:
    """Columns of ``V``: above the rank of the SDP solutions met.

    Gaussian matrices, the least structured, had solutions of rank about
    ``0.45 (k - 1) sqrt(2 n)`` (n = 80-300, k = 3, 5, 8: 12-76); clustered ones
    have rank about ``k``. Too few columns stall the iterations (n = 300, k = 8:
    73 columns for rank 76 took 8700 evaluations without converging).
    """
    return int(min(n - 1, math.ceil(max(1.0, (k - 1) / 2.0) * math.sqrt(2.0 * n)) + k))


@dataclass
class PsdFactorResult:
    """Outcome of :func:`solve_psd_factor` (centred, scaled units)."""

    V: np.ndarray
    Lam: np.ndarray
    n_evals: int
    n_outer: int
    stopped: bool


class _Lagrangian:
    """``W -> (L(W), grad L(W))`` for the augmented Lagrangian at fixed ``Lam``.

    At n ~ 100 an evaluation is a dozen numpy calls on small arrays, so their
    number matters as much as the flops: ``Lam - rho/n`` is kept with ``-inf``
    on its diagonal (which the clipping then zeroes), ``<A, X>`` is read off
    ``V V'``, the gradient ``(A + P) V`` is one ``n x n x p`` product, and the
    iterates are kept centred by the caller (43 -> 32 us an evaluation at
    n = 100, p = 18, measured).
    """

    def __init__(self, A: np.ndarray, k: int, rho: float) -> None:
        n = A.shape[0]
        self.A, self.k, self.rho, self.n = A, k, rho, n
        self.c = math.sqrt(k - 1.0)
        self.Lam = np.zeros((n, n))
        self.lam_sq = 0.0
        self._shifted = self._shift(self.Lam)
        self._P = np.empty((n, n))
        self._a = np.ascontiguousarray(A).reshape(-1)
        self._ones = np.ones(n)
        self.n_evals = 0

    def _shift(self, Lam: np.ndarray) -> np.ndarray:
        """``Lam - rho/n`` off the diagonal, ``-inf`` on it (the diagonal has no multiplier)."""
        out = Lam - self.rho / self.n
        out.flat[:: self.n + 1] = -np.inf
        return out

    def factor(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``V = c J W / ||J W||``, ``J W`` and its norm."""
        JW = W - np.add.reduce(W, axis=0) * (1.0 / self.n)
        nrm = math.sqrt(float(np.vdot(JW, JW)))
        if nrm == 0.0:
            raise FloatingPointError("the factor collapsed to zero")
        return JW * (self.c / nrm), JW, nrm

    def __call__(self, W: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient at a centred ``W`` (``W' 1 = 0``, see :func:`solve_psd_factor`)."""
        self.n_evals += 1
        rho, P = self.rho, self._P
        # W is centred already (J W = W), which saves a pass over it. Inner products
        # by BLAS ddot on flat views (half the call overhead of np.vdot).
        w = W.reshape(-1)
        nrm = math.sqrt(_ddot(w, w))
        if nrm == 0.0:
            raise FloatingPointError("the factor collapsed to zero")
        scale = self.c / nrm
        V = W * scale
        # P = -rho V V' in one product (V times a contiguous copy of -rho V': about half
        # the time of np.dot(V, V.T) at n ~ 100); <A, X> = <A, V V'> as A 1 = 0.
        np.matmul(V, np.ascontiguousarray(V.T) * (-rho), out=P)
        p = P.reshape(-1)
        avv = _ddot(self._a, p) / -rho
        # P = max(Lam - rho X, 0) off the diagonal: the multiplier the step would give.
        np.add(P, self._shifted, out=P)
        np.maximum(P, 0.0, out=P)
        value = -avv + (_ddot(p, p) - self.lam_sq) / (2.0 * rho)
        # The gradient -2 (A + P) V from one product.
        P += self.A
        G = P @ V
        # Chain rule through V = c W / ||W||: project out 1 and the radial part.
        G *= -2.0 * scale
        G -= (self._ones @ G) * (1.0 / self.n)
        G -= (_ddot(G.reshape(-1), w) / nrm**2) * W
        return value, G

    def update(self, W: np.ndarray) -> np.ndarray:
        """The multiplier step ``Lam = max(Lam - rho X, 0)``; returns ``X``."""
        V, _, _ = self.factor(W)
        X = V @ V.T
        X += 1.0 / self.n
        Lam = self.Lam - self.rho * X
        np.maximum(Lam, 0.0, out=Lam)
        Lam.flat[:: self.n + 1] = 0.0
        self.Lam = Lam
        self.lam_sq = float(np.vdot(Lam, Lam))
        self._shifted = self._shift(Lam)
        return X


class _LBFGS:
    """Limited-memory BFGS with Armijo backtracking; the memory outlives each call.

    Vectors are handled flat, with BLAS ``ddot`` and ``daxpy``: at n = 100 the
    two-loop recursion's numpy calls (a product and a temporary per update) cost
    half as much as an evaluation of the Lagrangian (measured at n = 100, p = 18,
    five pairs: 25 -> 12 us a direction).
    """

    def __init__(self, memory: int = _MEMORY) -> None:
        self.memory = memory
        self.S: list[np.ndarray] = []  # flat
        self.Y: list[np.ndarray] = []  # flat
        self.inv_ys: list[float] = []  # 1 / <y, s> of each pair, kept with it
        # Length of a gradient step while there is no curvature pair: it starts small
        # (||W|| ~ sqrt(k - 1)) and grows 4x after each step taken in full. Where the
        # pairs are all rejected (negative curvature: k = 2 with X >= 0 inactive, a
        # Rayleigh quotient) a fixed 1e-3 kept the iterate in place for hundreds of
        # evaluations, and ADMM had to finish (noisy planted n = 300, k = 2: 5.4 s).
        self.first_step = 1e-3

    def clear(self) -> None:
        self.S.clear()
        self.Y.clear()
        self.inv_ys.clear()

    def direction(self, g: np.ndarray) -> np.ndarray:
        """``-H g`` (``H``: the inverse Hessian estimate of the pairs kept), shaped as ``g``."""
        q = g.reshape(-1).copy()
        if not self.S:
            return (q * (-self.first_step / max(math.sqrt(_ddot(q, q)), 1e-300))).reshape(g.shape)
        alphas = []
        for s, y, r in zip(reversed(self.S), reversed(self.Y), reversed(self.inv_ys), strict=True):
            a = r * _ddot(s, q)
            alphas.append(a)
            q = _daxpy(y, q, a=-a)
        y = self.Y[-1]
        q *= 1.0 / (self.inv_ys[-1] * _ddot(y, y))
        for s, y, r, a in zip(self.S, self.Y, self.inv_ys, reversed(alphas), strict=True):
            q = _daxpy(s, q, a=a - r * _ddot(y, q))
        q *= -1.0
        return q.reshape(g.shape)

    def run(
        self, fun: Callable[[np.ndarray], tuple[float, np.ndarray]], W: np.ndarray, steps: int
    ) -> np.ndarray:
        f, g = fun(W)
        for _ in range(steps):
            d = self.direction(g)
            slope = _ddot(g.reshape(-1), d.reshape(-1))
            if not slope < 0.0:
                # Stale curvature after a multiplier update: restart from the gradient.
                self.clear()
                d = self.direction(g)
                slope = _ddot(g.reshape(-1), d.reshape(-1))
            gradient_step = not self.S
            t = 1.0
            while True:
                W_new = W + t * d
                f_new, g_new = fun(W_new)
                if f_new <= f + 1e-4 * t * slope or t < 1e-10:
                    break
                t *= 0.3
            if gradient_step:
                self.first_step *= 4.0 if t == 1.0 else t
            s = (W_new - W).reshape(-1)
            y = (g_new - g).reshape(-1)
            ys = _ddot(s, y)
            if ys > 1e-16 * _ddot(s, s):
                self.S.append(s)
                self.Y.append(y)
                self.inv_ys.append(1.0 / ys)
                if len(self.S) > self.memory:
                    del self.S[0], self.Y[0], self.inv_ys[0]
            W, f, g = W_new, f_new, g_new
        return W


def solve_psd_factor(
    A: np.ndarray,
    k: int,
    V0: np.ndarray,
    *,
    stop: Callable[[np.ndarray, np.ndarray], bool],
    max_outer: int = 40,
    max_evals: int | None = None,
    rho: float = _RHO,
    inner: int = _INNER,
) -> PsdFactorResult:
    """Augmented Lagrangian on ``X = 11'/n + V V' >= 0`` (see the module docstring).

    Parameters
    ----------
    A : ndarray of shape (n, n)
        Centred (``A 1 = 0``), symmetric, unit Frobenius norm.
    k : int
        Number of groups, ``2 <= k < n``.
    V0 : ndarray of shape (n, p)
        Starting factor (centred and rescaled here).
    stop : callable
        ``stop(X, Lam)`` after every multiplier update, with ``X`` affine and psd
        (possibly slightly negative entries) and ``Lam >= 0`` symmetric; True
        ends the iterations (the caller judges the bound of ``Lam``).
    max_outer : int, default=40
        Cap on multiplier updates.
    max_evals : int, default=None
        Cap on evaluations (checked after each multiplier update); None: no cap.
    rho : float
        Penalty.
    inner : int
        L-BFGS steps per multiplier update.

    Returns
    -------
    PsdFactorResult
    """
    lag = _Lagrangian(A, k, rho)
    # The iterates stay centred (every gradient and L-BFGS direction is), so the
    # evaluations skip the centring; it is redone after each inner run against drift.
    W = lag.factor(np.array(V0, dtype=np.float64))[1]
    opt = _LBFGS()
    stopped = False
    n_outer = 0
    cap = max_evals if max_evals is not None else math.inf
    while n_outer < max_outer and lag.n_evals < cap and not stopped:
        W = lag.factor(opt.run(lag, W, inner))[1]
        n_outer += 1
        stopped = stop(lag.update(W), lag.Lam)
    V, _, _ = lag.factor(W)
    return PsdFactorResult(
        V=V, Lam=lag.Lam, n_evals=lag.n_evals, n_outer=n_outer, stopped=bool(stopped)
    )
