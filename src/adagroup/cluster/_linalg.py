"""Top eigenpairs of small dense symmetric matrices that do not fail on LAPACK quirks.

``scipy.linalg.eigh`` with ``subset_by_index`` uses LAPACK's ``?syevr``, which
on some ordinary matrices raises ``LinAlgError: Internal Error`` or returns no
eigenvalue at all (scipy issues 13220, 13913, 17880; seen in adagroup on a 9 x 9
surrogate-estimator affinity). The full divide-and-conquer driver ``?syevd``
does not share that failure; it is tried next, then on the matrix scaled to
unit size, then the QR driver ``?syev``.
"""

from __future__ import annotations

import math
from typing import Literal, overload

import numpy as np
import scipy.linalg

from ..exceptions import SolverError

__all__ = ["DENSE_MAX_N", "eigh_above", "top_eigh"]

#: Largest n for which the solvers and the certificate use dense symmetric eigensolvers
#: (ADMM: a full eigendecomposition per step; certificate: LAPACK's top eigenvalue with a
#: backward-error margin). Above it they use Lanczos (``scipy.sparse.linalg.eigsh``).
DENSE_MAX_N = 600


def _scaled(M: np.ndarray) -> tuple[np.ndarray, float]:
    top = float(np.max(np.abs(M))) if M.size else 0.0
    if not math.isfinite(top) or top == 0.0:
        return M, 1.0
    c = math.ldexp(1.0, math.frexp(top)[1] - 1)
    return M / c, c


@overload
def top_eigh(
    M: np.ndarray, m: int, *, vectors: Literal[True] = ...
) -> tuple[np.ndarray, np.ndarray]: ...


@overload
def top_eigh(M: np.ndarray, m: int, *, vectors: Literal[False]) -> tuple[np.ndarray, None]: ...


@overload
def top_eigh(M: np.ndarray, m: int, *, vectors: bool) -> tuple[np.ndarray, np.ndarray | None]: ...


def top_eigh(
    M: np.ndarray, m: int, *, vectors: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """The ``m`` largest eigenvalues of the symmetric ``M`` (ascending) and their vectors.

    Parameters
    ----------
    M : ndarray of shape (n, n)
        Symmetric; only the lower triangle is read by LAPACK.
    m : int
        Number of eigenpairs, ``1 <= m <= n``.
    vectors : bool, default=True
        Also return the eigenvectors (columns); else the second value is None.

    Returns
    -------
    w : ndarray of shape (m,)
    V : ndarray of shape (n, m) or None

    Raises
    ------
    SolverError
        If every LAPACK driver fails (the matrix is then not finite).
    """
    n = M.shape[0]
    m = max(1, min(int(m), n))
    try:
        out = scipy.linalg.eigh(
            M, eigvals_only=not vectors, subset_by_index=[n - m, n - 1], check_finite=False
        )
        w = out[0] if vectors else out
        if w.size == m and np.all(np.isfinite(w)):
            return out if vectors else (w, None)
    except (np.linalg.LinAlgError, ValueError):
        pass
    last: Exception | None = None
    for driver, scale_first in (("evd", False), ("evd", True), ("ev", True)):
        A, c = _scaled(M) if scale_first else (M, 1.0)
        try:
            out = scipy.linalg.eigh(A, eigvals_only=not vectors, driver=driver, check_finite=False)
        except (np.linalg.LinAlgError, ValueError) as exc:
            last = exc
            continue
        w = (out[0] if vectors else out)[n - m :] * c
        if np.all(np.isfinite(w)):
            return w, (out[1][:, n - m :] if vectors else None)
    raise SolverError(
        f"Every LAPACK eigensolver failed on a {n} x {n} symmetric matrix ({last}); check that "
        "the affinity matrix is finite."
    )


def eigh_above(M: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The eigenpairs of the symmetric ``M`` with eigenvalues above ``threshold`` (ascending).

    LAPACK's ``?syevr`` on that interval (a few pairs cost a fraction of all of
    them); where it fails (see the module docstring), every pair from
    :func:`top_eigh`, of which those above ``threshold`` are kept.
    """
    n = M.shape[0]
    try:
        w, V = scipy.linalg.eigh(
            M, subset_by_value=(threshold, np.inf), driver="evr", check_finite=False
        )
        if np.all(np.isfinite(w)):
            return w, V
    except (np.linalg.LinAlgError, ValueError):
        pass
    w, V = top_eigh(M, n)
    keep = w > threshold
    return w[keep], V[:, keep]
