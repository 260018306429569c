"""Certified SDP task clustering (Peng-Wei relaxation, first-order solvers, dual bound)."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse.linalg

from ..exceptions import ConvergenceWarning, SolverError, warn_external
from ._base import BaseTaskClustering, ClusteringResult
from ._certificate import _DENSE_EIG_MAX_N, bound_from_dual, certify_partition
from ._linalg import top_eigh
from ._objective import density_objective
from ._rounding import round_factor
from ._sdp_solver import CentredOperator, solve_admm, solve_factor
from ._threads import blas_threads_for
from ._validation import (
    check_affinity,
    check_finite_result,
    check_labels,
    check_n_clusters,
    check_random_state,
    scale_affinity,
)

__all__ = ["SDPClustering", "SDPResult", "sdp_clustering"]

_SOLVERS = ("auto", "factor", "admm")
#: Largest n for the convex ADMM (one full symmetric eigendecomposition per step).
_ADMM_MAX_N = 600


@dataclass(frozen=True)
class SDPResult:
    """Outcome of :func:`sdp_clustering`.

    Attributes
    ----------
    labels : ndarray of shape (n_tasks,)
        Group of each task in ``0..k-1``; every group is non-empty.
    objective : float
        Density objective ``F`` of ``labels``.
    upper_bound : float
        An upper bound on ``F`` over all partitions into ``k`` groups. It is
        rigorous for ``n_tasks <= 600`` (dense eigenvalues with a round-off
        margin); above that the top eigenvalue comes from Lanczos with a 5 %
        safety margin, and ``info["certificate"]`` is ``"lanczos"``.
    sdp_value : float
        The solver's estimate of the SDP optimum (equal to ``objective`` when
        the relaxation is certified tight).
    gap : float
        ``upper_bound - objective`` (absolute, >= 0).
    proven_optimal : bool
        True when ``gap <= tol * scale``, the scale ignoring the constant part
        ``1'S1/n`` of the objective: no partition has a larger ``F``.
    n_iter : int
        Products with the affinity matrix (factor) or ADMM iterations.
    status : str
        ``"optimal"`` or ``"optimal_inaccurate"``.
    solver : str
        The solver(s) that ran: ``"factor"``, ``"admm"`` or ``"factor+admm"``.
    seconds : float
        Wall time.
    info : dict
        Extras: centred values, constraint violation, timings of the bound.
    """

    labels: np.ndarray
    objective: float
    upper_bound: float
    sdp_value: float
    gap: float
    proven_optimal: bool
    n_iter: int
    status: str
    solver: str
    seconds: float
    info: dict = field(default_factory=dict)


def _check_solver_params(solver: Any, tol: Any, max_iter: Any, n_init: Any, caller: str) -> None:
    if solver not in _SOLVERS:
        raise ValueError(
            f"The 'solver' parameter of {caller} must be one of {_SOLVERS}. "
            f"Got {solver!r} instead."
        )
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise ValueError(
            f"The 'tol' parameter of {caller} must be a float in (0, 1). Got {tol!r} instead."
        )
    for name, value in (("max_iter", max_iter), ("n_init", n_init)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(
                f"The {name!r} parameter of {caller} must be an int >= 1. Got {value!r} instead."
            )


def _spectral_rows(op: CentredOperator, k: int) -> np.ndarray:
    """Rows of the top ``k - 1`` eigenvectors of the centred matrix, scaled by ``sqrt(lambda+)``.

    ``X = 11'/n + (k - 1) V V' / ...`` built from them is the relaxation without
    ``X >= 0``; its rows cluster like those of the SDP solution when the groups
    are well separated, and single moves repair the rest.
    """
    n = op.n
    m = min(k - 1, n - 2) if n > 2 else 1
    if n <= 600:
        w, V = top_eigh(op.dense(), m)
    else:

        def mv(v: np.ndarray) -> np.ndarray:
            return op.matmat(v.reshape(n, -1))

        lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(n)
        w, V = scipy.sparse.linalg.eigsh(
            lin, k=m, which="LA", v0=v0, tol=1e-4, ncv=max(20, 2 * m + 1)
        )
    return V * np.sqrt(np.maximum(w, 0.0) + 1e-12)


def _trivial(S: np.ndarray, k: int, op: CentredOperator | None) -> np.ndarray | None:
    """Labels when every partition is optimal or there is only one: k = 1, k = n, flat S."""
    n = S.shape[0]
    if k == 1:
        return np.zeros(n, dtype=np.intp)
    if k == n:
        return np.arange(n, dtype=np.intp)
    if op is not None and op.degenerate:
        return np.arange(n, dtype=np.intp) % k
    return None


def _solve(
    S: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    init_labels: np.ndarray | None,
    tol: float,
    max_iter: int,
    solver: str,
    n_init: int,
) -> SDPResult:
    start = time.perf_counter()
    n = S.shape[0]
    op = CentredOperator(S) if 1 < k < n else None
    labels = _trivial(S, k, op)
    if labels is not None:
        F = density_objective(S, labels)
        return SDPResult(
            labels=labels,
            objective=F,
            upper_bound=F,
            sdp_value=F,
            gap=0.0,
            proven_optimal=True,
            n_iter=0,
            status="optimal",
            solver="none",
            seconds=time.perf_counter() - start,
            info={"reason": "every feasible point has the same value", "certificate": "exact"},
        )
    assert op is not None
    extra = [init_labels] if init_labels is not None else []
    if init_labels is not None and len(np.unique(init_labels)) != k:
        # A warm start with another number of groups still seeds the factor.
        extra = []
    info: dict[str, Any] = {}
    used: list[str] = []
    n_iter = 0
    ub_c = math.inf
    labels = None
    fc = math.nan
    sdp_c = math.nan
    converged = True

    seen: dict[bytes, float] = {}

    def centred(lab: np.ndarray) -> tuple[float, float]:
        # The same grouping is scored several times; each score reads all of S.
        key = np.asarray(lab, dtype=np.intp).tobytes()
        if key not in seen:
            seen[key] = density_objective(S, lab)
        F = seen[key]
        return F, (F - op.base) / op.sigma

    def closes(ub: float, fc: float) -> bool:
        return ub - fc <= tol * max(abs(ub), abs(fc), 1e-12)

    X_admm = None
    if solver in ("auto", "factor"):
        # A grouping first (the warm start, or spectral + k-means + single
        # moves): when the relaxation is tight its certificate closes at once
        # and no SDP iterate is needed at all.
        cands = list(extra)
        Y = _spectral_rows(op, k)
        labels, _ = round_factor(Y, S, k, rng, n_init=n_init, extra=cands)
        F, fc = centred(labels)
        t_cert = time.perf_counter()
        ub_c, cert = certify_partition(op, labels, k, fc, tol=tol * max(abs(fc), 1e-12))
        info["certificate_seconds"] = time.perf_counter() - t_cert
        used.append("factor")
        if closes(ub_c, fc):
            sdp_c = fc
        else:
            fac = solve_factor(
                op,
                k,
                rng=rng,
                init_labels=labels,
                y0=cert.y,
                z0=cert.z,
                tol=tol,
                max_iter=max_iter,
            )
            n_iter += fac.n_iter
            if not np.all(np.isfinite(fac.U)):
                raise SolverError(
                    "Solver 'factor' failed (status 'failed': non-finite iterate). Try "
                    "solver='admm' for n <= 600, or rescale the affinity matrix."
                )
            info["factor_value"] = op.base + op.sigma * fac.value
            info["factor_infeasibility"] = fac.infeasibility
            prev = [labels]
            labels, _ = round_factor(fac.U, S, k, rng, n_init=n_init, extra=extra + prev)
            F, fc2 = centred(labels)
            if fc2 > fc + 1e-15 * max(1.0, abs(fc)) or not np.array_equal(labels, prev[0]):
                t_cert = time.perf_counter()
                ub2, cert2 = certify_partition(op, labels, k, fc2, tol=tol * max(abs(fc2), 1e-12))
                info["certificate_seconds"] += time.perf_counter() - t_cert
                if ub2 < ub_c:
                    ub_c, cert = ub2, cert2
            fc = fc2
            sdp_c = max(fac.value, fc)
            converged = fac.converged
            if closes(ub_c, fc):
                sdp_c = fc
                converged = True
            elif solver == "auto" and n <= _ADMM_MAX_N:
                # (Warm-starting ADMM's multiplier from the partition's dual was
                # measured to slow it down by 40x; only the primal is passed.)
                X_admm = fac.U @ fac.U.T
    if solver == "admm" or X_admm is not None:
        if n > _ADMM_MAX_N and solver == "admm":
            raise SolverError(
                f"Solver 'admm' refused (status 'too_large'): n_tasks={n} > {_ADMM_MAX_N}, and "
                "each step needs a full eigendecomposition. Use solver='factor' or 'auto'."
            )
        if X_admm is None and init_labels is not None:
            Zl = np.zeros((n, k))
            Zl[np.arange(n), init_labels] = 1.0
            X_admm = (Zl / Zl.sum(axis=0)) @ Zl.T
        adm = solve_admm(op.dense(), k, X0=X_admm, tol=tol, max_iter=max(max_iter, 100))
        used.append("admm")
        n_iter += adm.n_iter
        if not np.all(np.isfinite(adm.X)):
            raise SolverError(
                "Solver 'admm' failed (status 'failed': non-finite iterate). Try "
                "solver='factor', or rescale the affinity matrix."
            )
        w, V = np.linalg.eigh(adm.X)
        r = min(n, 2 * k)
        Y = V[:, -r:] * np.sqrt(np.maximum(w[-r:], 0.0))
        prev = [labels] if labels is not None else []
        labels, _ = round_factor(Y, S, k, rng, n_init=n_init, extra=prev + extra)
        F, fc = centred(labels)
        ub_dual = bound_from_dual(op, k, lam_dense=adm.Lam * (1.0 / 1.0))
        ub_pcc, _ = certify_partition(op, labels, k, fc, tol=tol * max(abs(fc), 1e-12))
        ub_c = min(ub_c, ub_dual, ub_pcc)
        sdp_c = adm.value
        converged = adm.converged and (ub_dual - adm.value) <= 10 * tol * max(1.0, abs(ub_dual))
        if closes(ub_c, fc):
            converged = True
            sdp_c = fc
    F, fc = centred(labels)
    if not math.isfinite(ub_c):
        # No dual point was usable; Lam = 0 always is (the bound of the spectrum alone).
        ub_c = bound_from_dual(op, k)
    ub_c = max(ub_c, fc)  # the bound cannot be below an achieved value; guard round-off
    proven = closes(ub_c, fc)
    status = "optimal" if converged else "optimal_inaccurate"
    upper = op.base + op.sigma * ub_c
    info.update({"centred_objective": fc, "centred_upper_bound": ub_c, "scale": op.sigma})
    # Above this size the top eigenvalue in the bound comes from Lanczos with a safety
    # margin, not from LAPACK with a backward-error bound; say which one users got.
    info["certificate"] = "rigorous" if S.shape[0] <= _DENSE_EIG_MAX_N else "lanczos"
    return SDPResult(
        labels=labels,
        objective=F,
        upper_bound=upper,
        sdp_value=op.base + op.sigma * (sdp_c if np.isfinite(sdp_c) else fc),
        gap=max(0.0, op.sigma * (ub_c - fc)),
        proven_optimal=bool(proven),
        n_iter=n_iter,
        status=status,
        solver="+".join(used),
        seconds=time.perf_counter() - start,
        info=info,
    )


def _warn_inaccurate(result: SDPResult) -> None:
    warn_external(
        f"The SDP solver {result.solver!r} stopped with status 'optimal_inaccurate' after "
        f"{result.n_iter} iterations (gap {result.gap:.3g}); the bound is valid but may be "
        "loose. Increase max_iter, or try solver='admm' (n <= 600).",
        ConvergenceWarning,
    )


def sdp_clustering(
    T: Any,
    n_clusters: int,
    *,
    init_labels: Any = None,
    random_state: Any = None,
    tol: float = 1e-6,
    max_iter: int = 3000,
    solver: str = "auto",
    n_init: int = 8,
) -> SDPResult:
    """Group tasks by the Peng-Wei SDP relaxation, with a certificate of optimality.

    Solves ``max <S, X>`` subject to ``X 1 = 1``, ``tr X = k``, ``X >= 0``,
    ``X`` psd for ``S = (T + T') / 2``, rounds ``X`` into exactly ``k``
    non-empty groups and bounds the best possible objective from a dual point.

    Parameters
    ----------
    T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
        Affinity of row task to column task, higher is better; symmetrised.
    n_clusters : int
        Number of groups ``k``, in ``[1, n_tasks]``.
    init_labels : array-like of shape (n_tasks,), default=None
        A grouping to warm-start from (e.g. the previous AdaGroup round); it is
        also a rounding candidate, so the result is never worse than it.
    random_state : None, int or numpy Generator, default=None
        Seeds the starting factor and the k-means restarts of the rounding.
    tol : float, default=1e-6
        Relative tolerance of the solver and of ``proven_optimal``, measured on
        the objective minus its constant part ``1'S1/n``.
    max_iter : int, default=3000
        Cap on products with ``S`` (factor) or ADMM iterations.
    solver : {"auto", "factor", "admm"}, default="auto"
        ``"factor"``: nonnegative low-rank augmented Lagrangian (fast, scales
        to ``n = 10^4``). ``"admm"``: convex ADMM (``n <= 600``). ``"auto"``:
        factor, then ADMM when the certificate does not close and ``n <= 600``.
    n_init : int, default=8
        k-means restarts in the rounding.

    Returns
    -------
    SDPResult

    Raises
    ------
    SolverError
        If the solver fails outright (the message names it, its status and what to try).

    Warns
    -----
    ConvergenceWarning
        If the solver stops with status ``"optimal_inaccurate"``.

    See Also
    --------
    SDPClustering : The estimator interface.

    Examples
    --------
    >>> import numpy as np
    >>> from adagroup.cluster import sdp_clustering
    >>> T = np.kron(np.eye(2), np.ones((3, 3))) + 0.1
    >>> res = sdp_clustering(T, 2, random_state=0)
    >>> res.labels.tolist(), res.proven_optimal
    ([0, 0, 0, 1, 1, 1], True)
    """
    caller = "sdp_clustering"
    S, _ = check_affinity(T, caller=caller)
    S, scale = scale_affinity(S)
    n = S.shape[0]
    k = int(check_n_clusters(n_clusters, n, caller=caller))
    _check_solver_params(solver, tol, max_iter, n_init, caller)
    rng = check_random_state(random_state)
    lab = None if init_labels is None else check_labels(init_labels, n, param="init_labels")
    with blas_threads_for(n):
        result = _solve(
            S,
            k,
            rng,
            init_labels=lab,
            tol=float(tol),
            max_iter=int(max_iter),
            solver=solver,
            n_init=int(n_init),
        )
    result = _rescale(result, scale, caller)
    if result.status != "optimal":
        _warn_inaccurate(result)
    return result


#: ``info`` keys in the units of ``T``; the rest are centred, relative or counts.
_INFO_IN_UNITS_OF_T = ("sdp_value", "factor_value", "scale")


def _rescale(result: SDPResult, scale: float, caller: str) -> SDPResult:
    """``result`` found on ``T / scale``, in the units of ``T``."""
    if scale == 1.0:
        return result
    info = {
        key: value * scale if key in _INFO_IN_UNITS_OF_T and isinstance(value, float) else value
        for key, value in result.info.items()
    }
    values = {
        "objective": result.objective * scale,
        "upper bound": result.upper_bound * scale,
        "SDP value": result.sdp_value * scale,
    }
    check_finite_result(values, scale, caller=caller)
    return dataclasses.replace(
        result,
        objective=values["objective"],
        upper_bound=values["upper bound"],
        sdp_value=values["SDP value"],
        gap=result.gap * scale,
        info=info,
    )


class SDPClustering(BaseTaskClustering):
    """Certified task clustering by the Peng-Wei semidefinite relaxation.

    Finds ``k`` groups that maximise the within-group density
    ``F = sum_c (1/|C_c|) sum_{u,v in C_c} S[u, v]`` (``S = (T + T')/2``,
    diagonal included) and reports an upper bound on ``F`` over all partitions.

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of groups; ``"auto"`` tries ``1..max_clusters`` and keeps the
        ``k`` with the largest average density (see :func:`select_n_clusters`).
    max_clusters : int, default=None
        Largest ``k`` tried by ``"auto"`` (``min(n_tasks, 10)`` when None).
    solver : {"auto", "factor", "admm"}, default="auto"
        See :func:`sdp_clustering`.
    tol : float, default=1e-6
        Relative tolerance (the constant part of the objective ignored).
    max_iter : int, default=3000
        Cap on solver iterations.
    n_init : int, default=8
        k-means restarts in the rounding.
    random_state : None, int or numpy Generator, default=None
        Seed of the starting factor and the rounding.
    verbose : bool, default=False
        Log progress at INFO level.

    Attributes
    ----------
    labels_ : ndarray of shape (n_tasks,)
    n_clusters_ : int
    objective_ : float
        ``F`` of ``labels_``.
    upper_bound_ : float
        Proven upper bound on ``F`` over all partitions into ``n_clusters_`` groups.
    gap_ : float
        ``upper_bound_ - objective_``.
    proven_optimal_ : bool
    n_iter_ : int
    status_ : str
    info_ : dict
        Includes ``sdp_value`` and the solver(s) used.
    k_table_ : list of dict or None
        Per-``k`` results when ``n_clusters="auto"``.

    Notes
    -----
    The relaxation (Peng & Wei, 2007) replaces the partition matrix
    ``X[u, v] = 1/|C|`` (``u, v`` in group ``C``) by any ``X`` with ``X 1 = 1``,
    ``tr X = k``, ``X >= 0`` and ``X`` psd; partition matrices are feasible and
    ``<S, X> = F``, so the SDP optimum bounds ``F`` from above.

    The solver factorises ``X = U U'`` with ``U >= 0`` of ``r = 2k`` columns
    (Burer & Monteiro, 2003; nonnegative variant of Zhuang et al., 2024) and runs
    an augmented Lagrangian on ``U U' 1 = 1``, ``||U||_F^2 = k`` with projected
    Barzilai-Borwein gradient steps (one product with ``S`` each), on the
    centred matrix ``J S J`` (``J = I - 11'/n``), which changes every feasible
    value by the same constant ``1'S1/n``. A grouping is tried first (the warm
    start, or k-means on the top ``k - 1`` eigenvectors, improved by single-task
    moves); when its certificate closes, no SDP iterate is needed. Otherwise
    the factor solver starts from it (multipliers from complementary
    slackness), its rows are clustered again, and when the bound still does not
    close and ``n <= 600``, a convex ADMM gives the SDP optimum and its dual.

    The bound: for any symmetric ``Lam >= 0``,
    ``F* <= SDP* <= 1'(S + Lam)1/n + (k - 1) lambda_max(J (S + Lam) J)``, since
    ``X = 11'/n + J X J`` with ``J X J`` psd of trace ``k - 1`` and
    ``<Lam, X> >= 0``. ``Lam`` comes from complementary slackness with the
    rounded grouping (additive blocks; where those are negative, blocks that
    cancel the between-group part of ``S`` plus additive terms, made
    nonnegative by alternating projections) or from the ADMM multiplier of
    ``X >= 0``. When the relaxation is tight the bound equals ``F`` and the
    grouping is proven optimal. The gap is invariant to adding a constant to
    ``S`` and scales with ``S``.

    References
    ----------
    .. [1] J. Peng and Y. Wei, "Approximating K-means-type clustering via
       semidefinite programming", SIAM J. Optim. 18(1), 2007.
       doi:10.1137/050641983
    .. [2] S. Burer and R. D. C. Monteiro, "A nonlinear programming algorithm
       for solving semidefinite programs via low-rank factorization",
       Math. Program. 95, 2003. doi:10.1007/s10107-002-0352-8
    .. [3] Y. Zhuang, X. Chen, Y. Yang and R. Y. Zhang, "Statistically optimal
       K-means clustering via nonnegative low-rank semidefinite programming",
       ICLR 2024.
    .. [4] The AdaGroup paper: adaptive task grouping from sampled training runs
       (task affinity, SDP clustering, Procedure 2).

    Examples
    --------
    >>> import numpy as np
    >>> from adagroup.cluster import SDPClustering
    >>> T = np.kron(np.eye(2), np.ones((3, 3))) + 0.1
    >>> est = SDPClustering(n_clusters=2, random_state=0).fit(T)
    >>> est.labels_.tolist(), est.proven_optimal_
    ([0, 0, 0, 1, 1, 1], True)
    """

    method = "sdp"
    _info_in_units_of_T = _INFO_IN_UNITS_OF_T

    def __init__(
        self,
        n_clusters: int | str = "auto",
        *,
        max_clusters: int | None = None,
        solver: str = "auto",
        tol: float = 1e-6,
        max_iter: int = 3000,
        n_init: int = 8,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state
        self.verbose = verbose

    def _fit_k(
        self, S: np.ndarray, k: int, rng: np.random.Generator, **warm: Any
    ) -> ClusteringResult:
        caller = type(self).__name__
        _check_solver_params(self.solver, self.tol, self.max_iter, self.n_init, caller)
        init = warm.get("init_labels")
        lab = None
        if init is not None:
            lab = check_labels(init, S.shape[0], param="init_labels")
            if len(np.unique(lab)) != k:
                lab = None
        result = _solve(
            S,
            k,
            rng,
            init_labels=lab,
            tol=float(self.tol),
            max_iter=int(self.max_iter),
            solver=self.solver,
            n_init=int(self.n_init),
        )
        if self.verbose:
            import logging

            logging.getLogger(__name__).info(
                "k=%d: F=%.6g bound=%.6g proven=%s solver=%s (%.3fs)",
                k,
                result.objective,
                result.upper_bound,
                result.proven_optimal,
                result.solver,
                result.seconds,
            )
        if result.status != "optimal":
            _warn_inaccurate(result)
        return ClusteringResult(
            labels=result.labels,
            objective=result.objective,
            upper_bound=result.upper_bound,
            proven_optimal=result.proven_optimal,
            n_iter=result.n_iter,
            status=result.status,
            info={"sdp_value": result.sdp_value, "solver": result.solver, **result.info},
        )
