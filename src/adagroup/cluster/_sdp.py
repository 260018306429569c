"""Certified SDP task clustering (Peng-Wei relaxation, first-order solvers, dual bound)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse.linalg

from ..exceptions import ConvergenceWarning, SolverError, warn_external
from ._base import BaseTaskClustering, ClusteringResult
from ._certificate import PartitionCertificate, bound_from_dual, certify_partition
from ._exhaustive import _HARD_MAX_TASKS, _SubsetProgramme
from ._linalg import DENSE_MAX_N, top_eigh
from ._objective import density_objective
from ._psd_factor import _RHO, _RHO_TIGHT, psd_factor_rank, solve_psd_factor
from ._rounding import kmeans_rows, round_factor
from ._sdp_solver import CentredOperator, feasible_point, solve_admm, solve_factor
from ._threads import blas_threads_for
from ._validation import (
    canonical_labels,
    check_affinity,
    check_finite_result,
    check_int,
    check_labels,
    check_n_clusters,
    check_random_state,
    scale_affinity,
)

__all__ = ["SDPClustering", "SDPResult", "sdp_clustering"]

_SOLVERS = ("auto", "factor", "admm")
#: Up to this many tasks exact search runs first: it takes about 1 ms, no more than the
#: spectral grouping and its certificate (measured on planted matrices, k = 2..4).
_EXACT_FIRST_MAX_N = 11
#: Default ``bound_tol``: when the grouping cannot be proven optimal, the solvers stop once
#: the bound is proven within this (relative) of the SDP optimum. cvxpy + SCS, the
#: reference, is itself accurate to about 1e-4 at its default settings.
_BOUND_TOL = 2e-5
#: Multiplier updates of the low-rank phase before ADMM takes over (30 L-BFGS steps each;
#: Gaussian matrices needed 7-13 at n = 100-500, a noisy planted one 43).
_PSD_MAX_OUTER = 60
#: ... or evaluations (line searches included): on structured matrices with k > 3 the phase
#: can converge slowly, and ADMM then finishes sooner (Fig. 2, n = 80-300, k = 5, 8: 800,
#: 1200, 2000 took 9.8, 11.0, 12.3 s over ten cases; 800 sent the noisy n = 100 row, which
#: needs about 1000, to ADMM: 0.12 -> 0.45 s).
_PSD_MAX_EVALS = 1200
#: Up to this many tasks, clustered matrices (see ``_ADMM_FIRST_MAX_GAP``) go to ADMM
#: without the low-rank phase: at n = 200 and 300 (Fig. 2, k = 3; noisy planted, k = 2)
#: 0.10-1.2 s against 0.16-1.3 s with identical groupings; not measured above.
_ADMM_FIRST_MAX_N = 300
#: ... when ``(spectral bound - F) / F`` (centred, ``Lam = 0``) is at most this. On the
#: 72-case sweep (Fig. 2, noisy planted, Gaussian; n = 60-150, k = 2, 3, 5; 2 seeds)
#: ADMM first was faster with the same grouping everywhere this gap was <= 0.173 (Fig. 2
#: with k = 3, noisy planted with k = 2, 3); above (k = 5 on 3 groups: 0.19-0.41;
#: Gaussian: 0.32-0.76) its rounding lost up to 3.8 % of F in 9 of 34 cases, and on
#: Gaussian matrices it was also slower.
_ADMM_FIRST_MAX_GAP = 0.18
#: A stalled low-rank phase hands over to ADMM only within this many times ``bound_tol``
#: of the SDP optimum (see ``_Search._psd_stall``); above, it runs on to its budget. On 72
#: cases (Fig. 2, noisy planted, Gaussian; n = 60-300, k = 2, 3, 5) 30 and 100 took the same
#: total time as no limit, within 1 %.
_STALL_MAX_SLACK = 30.0


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
        An upper bound on ``F`` over all partitions into ``k`` groups;
        ``info["certificate"]`` says how it was proven: ``"exact"`` (exact
        search, ``n_tasks <= exact_max_tasks``: the bound is ``objective``),
        ``"rigorous"`` (a dual point, dense eigenvalues with a round-off margin,
        ``n_tasks <= 600``) or ``"lanczos"`` (the top eigenvalue from Lanczos
        plus its residual).
    sdp_value : float
        The solver's estimate of the SDP optimum (equal to ``objective`` when
        the relaxation is certified tight). After exact search, which does not
        solve the SDP (``info["sdp_solved"]`` is False), the dual bound of the
        first grouping (an upper estimate), or ``objective`` when exact search
        ran first (``n_tasks <= 11``).
    gap : float
        ``upper_bound - objective`` (absolute, >= 0).
    proven_optimal : bool
        True when ``gap <= tol * scale``, the scale ignoring the constant part
        ``1'S1/n`` of the objective: no partition has a larger ``F``.
    n_iter : int
        Products with the affinity matrix (factor), evaluations of the
        low-rank phase (psd) and ADMM iterations, added up.
    status : str
        ``"optimal"`` or ``"optimal_inaccurate"``.
    solver : str
        The phases that ran, joined by ``+``: ``"factor"`` (the spectral
        grouping and its certificate, then for ``n_tasks > 600`` the factor
        solver if needed), ``"psd"`` (the low-rank phase, ``n_tasks <= 600``),
        ``"admm"``, ``"exact"``; ``"none"`` for trivial cases.
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


def _check_bound_tol(value: Any, caller: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            f"The 'bound_tol' parameter of {caller} must be a float in [0, 1) (0: run the "
            f"solvers to tol). Got {value!r} instead."
        )
    return float(value)


def _check_exact_max_tasks(value: Any, caller: str) -> int:
    return check_int(value, "exact_max_tasks", caller=caller, low=0, high=_HARD_MAX_TASKS)


def _top_eigenpairs(op: CentredOperator, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k - 1`` eigenpairs of the centred matrix (ascending values)."""
    n = op.n
    m = min(k - 1, n - 2) if n > 2 else 1
    if n <= DENSE_MAX_N:
        w, V = top_eigh(op.dense(), m)
    else:

        def mv(v: np.ndarray) -> np.ndarray:
            return op.matmat(v.reshape(n, -1))

        lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(n)
        w, V = scipy.sparse.linalg.eigsh(
            lin, k=m, which="LA", v0=v0, tol=1e-4, ncv=max(20, 2 * m + 1)
        )
    return w, V


def _spectral_rows(
    op: CentredOperator, k: int, eig: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Rows of the top ``k - 1`` eigenvectors of the centred matrix, scaled by ``sqrt(lambda+)``.

    ``X = 11'/n + (k - 1) V V' / ...`` built from them is the relaxation without
    ``X >= 0``; its rows cluster like those of the SDP solution when the groups
    are well separated, and single moves repair the rest. ``eig``: eigenpairs
    computed once for a larger ``k`` (automatic k), of which the top are used.
    """
    n = op.n
    m = min(k - 1, n - 2) if n > 2 else 1
    w, V = eig if eig is not None and eig[0].size >= m else _top_eigenpairs(op, k)
    w, V = w[w.size - m :], V[:, w.size - m :]
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


#: ``k -> (labels, F)`` of an optimal partition (exact search shared by the ks of one fit).
ExactSolver = Callable[[int], tuple[np.ndarray, float]]


class _Search:
    """The state of one solve, advanced by named phases (see :func:`_solve`).

    Values are centred and scaled (``op`` units) except ``objective``. A phase
    may replace the grouping (only by one at least as good, as every phase
    passes the current one to the rounding as a candidate) and lowers the bound
    ``bound``; ``closed`` says whether the two meet within ``tol``.
    """

    def __init__(
        self,
        S: np.ndarray,
        op: CentredOperator,
        k: int,
        rng: np.random.Generator,
        *,
        init_labels: np.ndarray | None,
        tol: float,
        n_init: int,
        bound_tol: float = 0.0,
    ) -> None:
        self.S, self.op, self.k, self.rng = S, op, k, rng
        self.tol, self.n_init, self.bound_tol = tol, n_init, bound_tol
        self.init_labels = init_labels
        # A warm start with another number of groups is no rounding candidate.
        self.warm: list[np.ndarray] = []
        if init_labels is not None and len(np.unique(init_labels)) == k:
            self.warm.append(init_labels)
        self.labels: np.ndarray | None = None
        self.objective = math.nan
        self.value = math.nan  # centred objective of labels
        self.bound = math.inf  # centred upper bound
        self.sdp_value = math.nan  # centred estimate of the SDP optimum
        self.sdp_lower = -math.inf  # centred value of a feasible SDP point (ADMM)
        self._skip_checks = 0  # stop-rule calls to answer False without a bound
        self._psd_gaps: list[float] | None = None  # the low-rank phase's gaps, per check
        self._psd_stalled = False
        self.cert: PartitionCertificate | None = None
        # The window of the last grouping certified (see _Slackness.window), kept also
        # when its certificate gave up.
        self.window: float | None = None
        self.converged = True
        self.certificate = "rigorous" if op.n <= DENSE_MAX_N else "lanczos"
        # Set by _solve when the low-rank phase and ADMM will bound the SDP themselves:
        # a certificate that cannot close is then abandoned early (see certify_partition).
        self.solvers_bound = False
        self.used: list[str] = []
        self.n_iter = 0
        self.info: dict[str, Any] = {"certificate_seconds": 0.0}
        self.spectral_value = math.inf
        self._scores: dict[bytes, float] = {}

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        # (An infinite bound, no certificate yet, would pass the relative test.)
        return math.isfinite(self.bound) and self.bound - self.value <= self.tol * max(
            abs(self.bound), abs(self.value), 1e-12
        )

    @property
    def not_tight(self) -> bool:
        """A feasible SDP point beats the grouping by more than ``tol``.

        No certificate's bound is below the SDP optimum, so the grouping can
        then never be proven optimal by one.
        """
        gap = self.sdp_lower - self.value
        return gap > self.tol * max(abs(self.sdp_lower), abs(self.value), 1e-12)

    @property
    def near_sdp(self) -> bool:
        """The relaxation is not tight, and the bound is within ``bound_tol`` of the SDP optimum.

        The repaired iterates are feasible points, so the optimum lies between
        the largest value ``L`` among them and the bound. The tolerance is
        relative to ``max(|L|, |L - 1'S1/n|)`` (``L`` in the units of ``S``),
        the scale of the SDP value the user sees. While the relaxation may be
        tight, the solvers go on until the grouping is proven optimal (or to
        ``tol``), as before.
        """
        return self.not_tight and self.bound - self.sdp_lower <= self._near_slack()

    def _near_slack(self) -> float:
        lower = max(self.value, self.sdp_lower)
        return self.bound_tol * max(abs(self.op.base / self.op.sigma + lower), abs(lower))

    def _score(self, labels: np.ndarray) -> tuple[float, float]:
        # The same grouping is scored several times; each score reads all of S.
        key = np.asarray(labels, dtype=np.intp).tobytes()
        if key not in self._scores:
            self._scores[key] = density_objective(self.S, labels)
        F = self._scores[key]
        return F, (F - self.op.base) / self.op.sigma

    def _round(self, Y: np.ndarray) -> None:
        """Cluster the rows of ``Y`` (the current grouping and the warm start compete)."""
        prev = [self.labels] if self.labels is not None else []
        self.labels, _ = round_factor(
            Y, self.S, self.k, self.rng, n_init=self.n_init, extra=prev + self.warm
        )
        self.objective, self.value = self._score(self.labels)

    def _reround(self, Y: np.ndarray) -> None:
        """Round ``Y``; certify the grouping again only when it changed and could close.

        A certificate's bound is never below the SDP optimum, which a feasible
        value ``sdp_lower`` bounds from below: when that is above the grouping's
        value by more than ``tol``, no certificate can prove the grouping
        optimal (60 ms saved per grouping at n = 500).
        """
        first, previous = self.labels, self.value
        self._round(Y)
        same = first is not None and self.labels is not None and np.array_equal(self.labels, first)
        changed = self.value > previous + 1e-15 * max(1.0, abs(previous)) or not same
        if changed and not self.not_tight:
            self._certify()

    def _certify(self) -> None:
        """Bound from the dual point complementary to the grouping; keep the better bound."""
        t = time.perf_counter()
        assert self.labels is not None, "a grouping is rounded before it is certified"
        tol = self.tol * max(abs(self.value), 1e-12)
        bound, cert = certify_partition(
            self.op, self.labels, self.k, self.value, tol=tol, give_up=self.solvers_bound
        )
        self.info["certificate_seconds"] += time.perf_counter() - t
        self.window = cert.window
        if bound < self.bound:
            self.bound, self.cert = bound, cert

    def _check_finite(self, X: np.ndarray, name: str, advice: str) -> None:
        if not np.all(np.isfinite(X)):
            raise SolverError(
                f"Solver {name!r} failed (status 'failed': non-finite iterate). Try {advice}, "
                "or rescale the affinity matrix."
            )

    def adopt_warm_start(self) -> None:
        """Take the warm start (if any) as the current grouping."""
        if self.warm:
            self.labels = self.warm[0]
            self.objective, self.value = self._score(self.labels)

    # -- phases ----------------------------------------------------------------------------------
    def spectral_grouping(self, eig: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """A grouping from the top eigenvectors (k-means on their rows, then single moves)."""
        self.used.append("factor")
        rows = _spectral_rows(self.op, self.k, eig)
        # Sum of the top k - 1 eigenvalues: the bound with Lam = 0, up to round-off.
        self.spectral_value = float(np.sum(rows * rows))
        self._round(rows)

    def pruned_grouping(self, eig: tuple[np.ndarray, np.ndarray] | None, must_beat: float) -> bool:
        """A candidate of the automatic k that its spectral bound already rules out.

        When ``F_k <= must_beat`` (units of ``S``) is proven by the bound with
        ``Lam = 0`` (cached eigenvalues of the shared operator), ``k`` cannot be
        chosen, and one k-means run on the spectral rows gives the grouping the
        table reports, without single moves. Returns False (and does nothing
        else) when the bound does not rule ``k`` out.
        """
        bound = bound_from_dual(self.op, self.k)
        if not self.op.base + self.op.sigma * bound <= must_beat:
            return False
        self.used.append("factor")
        rows = _spectral_rows(self.op, self.k, eig)
        self.labels = canonical_labels(kmeans_rows(rows, self.k, self.rng, n_init=1)[0])
        self.objective, self.value = self._score(self.labels)
        self.bound = bound
        self.info["pruned"] = True
        return True

    def tight_check(self) -> None:
        """Phase 1: a grouping from the top eigenvectors, and its certificate.

        When the relaxation is tight (well-separated groups) the certificate
        closes here and no SDP iterate is needed at all.
        """
        self.spectral_grouping()
        self.certify_current()

    def certify_current(self) -> None:
        """The dual certificate of the current grouping; closes when the relaxation is tight."""
        self._certify()
        if self.closed:
            self.sdp_value = self.value

    def exact_search(self, solve_exact: ExactSolver | None) -> None:
        """Phase 2 (small n): the optimal grouping by exact search, its own certificate."""
        t = time.perf_counter()
        if solve_exact is None:
            labels, _ = _SubsetProgramme(self.S, self.k).solve(self.k)
        else:
            labels, _ = solve_exact(self.k)
        self.info["exact_seconds"] = time.perf_counter() - t
        self.used.append("exact")
        F, value = self._score(labels)
        # Ties (to round-off) keep the grouping found first: the warm start stays put.
        if self.labels is None or value > self.value + 1e-12 * max(1.0, abs(value)):
            self.labels, self.objective, self.value = labels, F, value
        # The SDP optimum lies between the optimum and the first dual bound.
        self.sdp_value = self.bound
        # Partitions are all searched: the optimum bounds every one of them.
        self.bound = max(value, self.value)
        self.certificate = "exact"
        self.converged = True
        self.info["sdp_solved"] = False

    def factor_solve(self, max_iter: int) -> None:
        """Phase 2: the nonnegative low-rank factor solver from the grouping, then re-round."""
        assert self.cert is not None and self.labels is not None
        fac = solve_factor(
            self.op,
            self.k,
            rng=self.rng,
            init_labels=self.labels,
            y0=self.cert.y,
            z0=self.cert.z,
            tol=self.tol,
            max_iter=max_iter,
        )
        self.n_iter += fac.n_iter
        self.info["factor_iterations"] = fac.n_iter
        self._check_finite(fac.U, "factor", "solver='admm' for n <= 600")
        self.info["factor_value"] = self.op.base + self.op.sigma * fac.value
        self.info["factor_infeasibility"] = fac.infeasibility
        self._reround(fac.U)
        self.sdp_value = max(fac.value, self.value)
        self.converged = fac.converged
        self.factor_U = fac.U
        if self.closed:
            self.sdp_value = self.value
            self.converged = True

    def _dual_stop(self, X: np.ndarray, Lam: np.ndarray) -> bool:
        """A solver may stop once its dual bound meets the grouping or a feasible SDP point.

        The bound is valid for any ``Lam >= 0``; the lower end is the value of
        a feasible point repaired from ``X`` (:func:`feasible_point`), so
        ``bound - lower`` is a rigorous gap on the SDP optimum: stopping on it
        loses nothing that more iterations could give the bound beyond it.
        """
        if self._skip_checks > 0:
            self._skip_checks -= 1
            return False
        bound = bound_from_dual(self.op, self.k, lam_dense=Lam)
        self.bound = min(self.bound, bound)
        if self.closed:
            return True
        lower = feasible_point(self.op.dense(), X, self.k)[0]
        self.sdp_lower = max(self.sdp_lower, lower)
        if self.near_sdp:
            return True
        if self._psd_gaps is not None and self._psd_stall(bound - self.sdp_lower):
            return True
        # The gap shrinks about 3x per call of the low-rank phase: while it is 30x
        # the tolerance, the next call cannot stop and its eigenvalues are skipped.
        if self.bound - self.sdp_lower > 30.0 * self._near_slack():
            self._skip_checks = 1
        return bound - self.sdp_lower <= 10 * self.tol * max(1.0, abs(bound))

    def _psd_stall(self, gap: float) -> bool:
        """The phase's smallest gap so far did not halve over its last eight checks, near the end.

        Where it converges it shrinks 2-10x per check; on structured matrices
        with k > 3 it can level off at a few times the tolerance (a fixed point
        of the factorisation short of the SDP optimum), and ADMM then finishes
        sooner (Fig. 2 and noisy planted, n = 80-400, k = 5, 8, measured). A gap
        still above ``_STALL_MAX_SLACK`` times the tolerance is no such fixed
        point: on nearly tight matrices the feasible points climb slowly
        for a while before the bound drops (noisy planted n = 100, k = 3: the
        gap stayed near 150x the tolerance for 25 checks, then closed by 1100
        evaluations in 0.11 s, where ADMM after a stall took 0.42 s).
        """
        assert self._psd_gaps is not None
        # The smallest gap so far: a single check's gap jumps up and down by 2x or
        # more (Fig. 2, n = 100, in units of the tolerance: 40, 61, 17, 32, 21, 21, 19,
        # 21), which read as a stall (21 > 40 / 2) while the smallest had fallen to 17.
        self._psd_gaps.append(min(gap, self._psd_gaps[-1]) if self._psd_gaps else gap)
        gaps = self._psd_gaps
        self._psd_stalled = (
            len(gaps) > 8
            and gaps[-1] > 0.5 * gaps[-9]
            and gaps[-1] <= _STALL_MAX_SLACK * self._near_slack()
        )
        return self._psd_stalled

    def _may_be_tight(self) -> bool:
        """The grouping's certificate left room for ``z`` (see ``_Slackness.window``).

        A dual point complementary to the grouping needs ``z`` in that window;
        where it is open the relaxation may be tight, and the low-rank phase
        must then drive its multiplier to such a point to close the bound. A
        larger penalty moves the multiplier further per update (see
        ``_RHO_TIGHT``). False where the window is closed (most non-tight
        groupings) or was not computed (``n > 3000``).
        """
        return self.window is not None and self.window > 0.0

    def convex_first(self) -> bool:
        """ADMM rather than the low-rank phase: clustered matrices up to ``_ADMM_FIRST_MAX_N``.

        The relative gap between the spectral bound (``Lam = 0``) and the
        grouping is small where the matrix has ``k`` well-separated groups; the
        SDP solution then has rank about ``k``, ADMM's warm-started Ritz
        projections (:class:`~adagroup.cluster._sdp_solver._RitzProjection`)
        need about as many eigenpairs, and ADMM reaches the bound in 60-130
        steps where the low-rank phase takes 500-1000 evaluations. Where the
        gap is large (no clear groups, or more groups asked for than there
        are), the solution has a higher rank and the low-rank phase is faster,
        and its rounding was kept (see ``_ADMM_FIRST_MAX_GAP``).
        """
        gap = (self.spectral_value - self.value) / max(abs(self.value), 1e-12)
        return self.op.n <= _ADMM_FIRST_MAX_N and gap <= _ADMM_FIRST_MAX_GAP

    def psd_factor(self, max_iter: int) -> None:
        """Phase 3 (n <= 600): the low-rank augmented Lagrangian; its multiplier is a dual point.

        ``X = 11'/n + V V'`` with ``V`` of ``max(1, (k-1)/2) sqrt(2 n) + k``
        columns (:func:`psd_factor_rank`) and no sign constraint reaches the
        SDP optimum where the nonnegative factor cannot; it stops on the same
        rule as ADMM (the bound closes with the grouping, or is proven within
        ``bound_tol`` of the SDP optimum), and hands over to ADMM when it
        stalls (:meth:`_psd_stall`) or runs out of evaluations.
        """
        n, k = self.op.n, self.k
        V0 = self.rng.standard_normal((n, psd_factor_rank(n, k)))
        self.used.append("psd")
        self.psd_X = None
        self._psd_gaps = []
        try:
            psd = solve_psd_factor(
                self.op.dense(),
                k,
                V0,
                stop=self._dual_stop,
                max_outer=_PSD_MAX_OUTER,
                max_evals=_PSD_MAX_EVALS,
                rho=_RHO_TIGHT if self._may_be_tight() else _RHO,
            )
        except FloatingPointError:  # the factor collapsed: ADMM takes over from the centre
            self.converged = False
            return
        finally:
            self._psd_gaps = None
        self.n_iter += psd.n_evals
        self.info["psd_evaluations"] = psd.n_evals
        if not np.all(np.isfinite(psd.V)):
            self.converged = False
            return
        self._reround(psd.V)
        self.sdp_value = float(np.vdot(psd.V, self.op.matmat(psd.V)))
        self.psd_X = psd.V @ psd.V.T + 1.0 / n
        self.converged = psd.stopped and not self._psd_stalled
        if self.closed:
            self.sdp_value = self.value

    def convex_fallback(self, max_iter: int, X0: np.ndarray | None) -> None:
        """Phase 3 (n <= 600): convex ADMM to the SDP optimum; its multiplier is a dual point.

        Run at once where :meth:`convex_first` holds, else after a low-rank
        phase that did not converge (from its last iterate ``X0``).
        """
        adm = solve_admm(
            self.op.dense(),
            self.k,
            X0=X0,
            tol=self.tol,
            max_iter=max(max_iter, 100),
            stop=self._dual_stop if self.labels is not None else None,
        )
        self.used.append("admm")
        self.n_iter += adm.n_iter
        self.info["admm_iterations"] = adm.n_iter
        self._check_finite(adm.X, "admm", "solver='factor'")
        r = min(self.op.n, 2 * self.k)
        w, V = top_eigh(adm.X, r)
        if self.labels is None:
            self._round(V * np.sqrt(np.maximum(w, 0.0)))
            self._certify()
        else:
            self._reround(V * np.sqrt(np.maximum(w, 0.0)))
        # The stop rule bounded the last multiplier already; only a run to max_iter did not.
        ub_dual = (
            self.bound if adm.stopped else bound_from_dual(self.op, self.k, lam_dense=adm.Lam)
        )
        self.bound = min(self.bound, ub_dual)
        self.sdp_value = adm.value
        self.converged = adm.converged and (
            self.near_sdp or ub_dual - adm.value <= 10 * self.tol * max(1.0, abs(ub_dual))
        )
        if self.closed:
            self.converged = True
            self.sdp_value = self.value

    def result(self, start: float) -> SDPResult:
        """Phase 4: the certificate in the units of ``S``."""
        assert self.labels is not None, "every phase sequence rounds a grouping first"
        op = self.op
        if not math.isfinite(self.bound):
            # No dual point was usable; Lam = 0 always is (the bound of the spectrum alone).
            self.bound = bound_from_dual(op, self.k)
        # The bound cannot be below an achieved value; guard round-off.
        self.bound = max(self.bound, self.value)
        proven = self.closed
        sdp = self.sdp_value if math.isfinite(self.sdp_value) else self.value
        self.info.update(
            {
                "centred_objective": self.value,
                "centred_upper_bound": self.bound,
                "scale": op.sigma,
                # "exact": exact search; "rigorous": dense eigenvalues with a round-off
                # margin; "lanczos" (n > 600): Lanczos with its residual added.
                "certificate": self.certificate,
            }
        )
        return SDPResult(
            labels=self.labels,
            objective=self.objective,
            upper_bound=op.base + op.sigma * self.bound,
            sdp_value=op.base + op.sigma * sdp,
            gap=max(0.0, op.sigma * (self.bound - self.value)),
            proven_optimal=bool(proven),
            n_iter=self.n_iter,
            status="optimal" if self.converged else "optimal_inaccurate",
            solver="+".join(self.used),
            seconds=time.perf_counter() - start,
            info=self.info,
        )


def _partition_matrix(labels: np.ndarray, k: int) -> np.ndarray:
    Z = np.zeros((labels.size, k))
    Z[np.arange(labels.size), labels] = 1.0
    return (Z / Z.sum(axis=0)) @ Z.T


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
    exact_max_tasks: int = 0,
    bound_tol: float = 0.0,
    solve_exact: ExactSolver | None = None,
    screen: bool = False,
    eig: tuple[np.ndarray, np.ndarray] | None = None,
    op: CentredOperator | None = None,
    must_beat: float = -math.inf,
    certify_first: bool = False,
) -> SDPResult:
    """Group the tasks of ``S`` into ``k`` groups and certify the grouping.

    Phases: trivial cases; exact search alone for ``n <= 11`` (and
    ``n <= exact_max_tasks``); (1) a grouping from the top eigenvectors and its
    dual certificate, which closes when the relaxation is tight; if not, (2)
    exact search for ``n <= exact_max_tasks`` (solver ``"auto"``), else the
    bound-within-``bound_tol`` check, then the factor solver (``n > 600`` or
    solver ``"factor"``) or (3) for ``n <= 600``: convex ADMM at once where
    the matrix is clustered (:meth:`_Search.convex_first`, ``n <= 300``),
    else the low-rank phase and, if it does not converge, convex ADMM; (4) the
    result in the units of ``S``.

    ``screen`` (a candidate of the automatic k): the grouping only, from the
    eigenpairs ``eig`` when given, with exact search where it applies; its
    bound is the spectral one (``Lam = 0``), valid but loose. ``op``: the
    centred operator of ``S`` when the caller already has one (every candidate
    of the automatic k shares one, and with it the eigenvalues of that bound).
    ``must_beat`` (screening, no exact search): when that bound proves
    ``F_k <= must_beat``, the candidate cannot be chosen and gets only a cheap
    grouping (see :meth:`_Search.pruned_grouping`). ``certify_first``: the
    warm start is certified before phase 1 (the chosen k of the automatic k).
    """
    start = time.perf_counter()
    n = S.shape[0]
    if not 1 < k < n:
        op = None
    elif op is None:
        op = CentredOperator(S)
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
    # A candidate of the automatic k only needs a grouping good enough to compare k's: the chosen
    # k is solved again in full unless its grouping is already proven optimal.
    restarts = min(n_init, _SCREEN_N_INIT) if screen else n_init
    search = _Search(
        S, op, k, rng, init_labels=init_labels, tol=tol, n_init=restarts, bound_tol=bound_tol
    )
    if solver == "admm":
        if n > DENSE_MAX_N:
            raise SolverError(
                f"Solver 'admm' refused (status 'too_large'): n_tasks={n} > {DENSE_MAX_N}, and "
                "each step needs a full eigendecomposition. Use solver='factor' or 'auto'."
            )
        X0 = None if init_labels is None else _partition_matrix(init_labels, k)
        search.convex_fallback(max_iter, X0)
        return search.result(start)
    exact = solver == "auto" and n <= exact_max_tasks
    if screen:
        if not exact and search.pruned_grouping(eig, must_beat):
            return search.result(start)
        search.spectral_grouping(eig)
        if exact:
            search.exact_search(solve_exact)
        return search.result(start)
    if exact and n <= _EXACT_FIRST_MAX_N:
        # Exact search is faster here than even the first phase (~1 ms).
        search.adopt_warm_start()
        search.exact_search(solve_exact)
        return search.result(start)
    if certify_first and search.warm:
        # The chosen candidate of the automatic k: a grouping already rounded with
        # single moves, often optimal (a tight k), is certified before any other is sought.
        search.adopt_warm_start()
        search.certify_current()
        if search.closed:
            return search.result(start)
    # n <= 600 without exact search: the low-rank phase and ADMM bound the SDP if the
    # grouping is not proven here, so a certificate that cannot close need not finish.
    search.solvers_bound = solver == "auto" and n <= DENSE_MAX_N and not exact
    search.tight_check()
    if search.closed:
        return search.result(start)
    if exact:
        search.exact_search(solve_exact)
        return search.result(start)
    if solver != "auto" or n > DENSE_MAX_N:
        search.factor_solve(max_iter)
        return search.result(start)
    if search.convex_first():
        search.convex_fallback(max_iter, None)
        return search.result(start)
    # n <= 600: the low-rank phase without sign constraint; the nonnegative factor,
    # a restriction of the SDP, closed no bound here that this phase does not (measured
    # on Fig. 2 and noisy planted matrices, n = 100-500) and cost up to 0.1 s.
    search.psd_factor(max_iter)
    if not search.closed and not search.near_sdp and not search.converged:
        # (Warm-starting ADMM's multiplier from the partition's dual was
        # measured to slow it down by 40x; only the primal is passed.)
        search.convex_fallback(max_iter, search.psd_X)
    return search.result(start)


#: k-means restarts per candidate of the automatic k.
_SCREEN_N_INIT = 2


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
    exact_max_tasks: int = 16,
    bound_tol: float = _BOUND_TOL,
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
        for ``n <= 600``, when the certificate of the spectral grouping does
        not close, ADMM where the matrix is clustered (``n <= 300``, the
        spectral bound within 18 % of the grouping), else a low-rank augmented
        Lagrangian without sign constraint (then ADMM if it does not
        converge); above, the factor solver.
    n_init : int, default=8
        k-means restarts in the rounding.
    exact_max_tasks : int, default=16
        With ``solver="auto"``, when the bound of the first grouping does not
        prove it optimal and ``n_tasks <= exact_max_tasks``, exact search over
        all partitions replaces the SDP solvers: the grouping is then optimal
        and ``info["certificate"]`` is ``"exact"``. It costs ``3**n_tasks``
        steps (measured: n = 12, 5 ms; 14, 40 ms; 16, 0.3-0.4 s, where the SDP
        path takes about 0.1 s); ``0`` turns it off.
    bound_tol : float, default=2e-5
        Once a feasible point of the SDP (an iterate, repaired) has a value
        ``L`` above the grouping's by more than ``tol`` (the relaxation is not
        tight: no bound can prove the grouping optimal), the solvers stop as
        soon as ``upper_bound - L <= bound_tol * max(|L|, |L - 1'S1/n|)``: the
        bound is then within that of the SDP optimum, as good as any SDP
        solver's, since no iteration can take it below the optimum. While the
        relaxation may be tight they go on to ``tol``. ``0``: always to ``tol``.

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
    exact_max_tasks = _check_exact_max_tasks(exact_max_tasks, caller)
    bound_tol = _check_bound_tol(bound_tol, caller)
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
            exact_max_tasks=exact_max_tasks,
            bound_tol=bound_tol,
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
    exact_max_tasks : int, default=16
        Exact search settles groupings whose bound does not close for
        ``n_tasks <= exact_max_tasks`` (see :func:`sdp_clustering`); ``0``
        turns it off. With ``n_clusters="auto"`` one search serves every ``k``.
    bound_tol : float, default=2e-5
        When the grouping is not proven optimal, the solvers stop once the bound
        is proven this close (relative) to the SDP optimum (see
        :func:`sdp_clustering`); ``0`` runs them to ``tol``.
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
    certificate_ : str
        ``"exact"`` (exact search, small ``n_tasks``), ``"rigorous"`` (SDP dual
        bound, dense eigenvalues) or ``"lanczos"`` (``n_tasks > 600``).
    n_iter_ : int
    status_ : str
    info_ : dict
        Includes ``sdp_value``, the solver(s) used and ``certificate``.
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
    moves); when its certificate closes, no SDP iterate is needed. Otherwise,
    for ``n > 600``, the factor solver starts from it (multipliers from
    complementary slackness) and its rows are clustered again. For
    ``n <= 600`` the nonnegative factor can stop short of the SDP optimum on
    non-tight matrices, so ``X = 11'/n + V V'`` (``V`` of about
    ``max(1, (k-1)/2) sqrt(2n) + k`` columns, no sign constraint) gets an
    augmented Lagrangian on ``X >= 0`` solved by L-BFGS [5]_, whose multiplier
    is a dual point; convex ADMM follows only if it stalls or does not
    converge. Where the matrix is clustered (``n <= 300``, the spectral bound
    within 18 % of the grouping's value) ADMM runs at once instead: its
    projections come from a Rayleigh-Ritz step on the last projection's
    eigenvectors, which costs little where the solution has a rank of about
    ``k``. Both stop once the dual bound closes with the grouping, or, when
    a feasible point of the SDP beats the grouping by more than ``tol`` (the
    relaxation is not tight), once the bound is proven within ``bound_tol`` of
    the SDP optimum. For ``n_tasks <= exact_max_tasks`` exact
    search replaces the solvers when the first bound does not close (and runs
    first for ``n_tasks <= 11``, where it takes about a millisecond), so small
    problems always end proven optimal (``certificate_ == "exact"``).

    With ``n_clusters="auto"`` every candidate ``k`` gets a grouping (from one
    shared eigendecomposition; exact search where it applies) and the
    spectral bound; only the chosen ``k`` goes through the solvers above. The
    rows of ``k_table_`` for the other ``k`` therefore carry valid but
    possibly loose bounds. A candidate whose spectral bound already proves that
    its average density cannot exceed the best of the smaller ``k`` (so it
    cannot be chosen) gets only one k-means run on the spectral rows, without
    single moves (``"pruned": True`` in its row): the chosen ``k`` and its
    grouping are those of the full rule, found sooner.

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
    .. [5] B. Kulis, A. C. Surendran and J. C. Platt, "Fast low-rank
       semidefinite programming for embedding and clustering", AISTATS 2007.

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
        exact_max_tasks: int = 16,
        bound_tol: float = _BOUND_TOL,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.exact_max_tasks = exact_max_tasks
        self.bound_tol = bound_tol
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, T: Any, y: None = None, **warm: Any) -> SDPClustering:
        """Group the tasks of the affinity matrix ``T`` (see ``BaseTaskClustering.fit``).

        Parameters
        ----------
        T : array-like or pandas.DataFrame of shape (n_tasks, n_tasks)
        y : None
            Ignored.
        **warm
            ``init_labels``: a grouping to warm-start from.

        Returns
        -------
        self
        """
        # Work shared by the candidate ks of n_clusters="auto", dropped after the fit
        # (the exact-search tables hold 2**n_tasks values per k).
        self._shared: dict[str, Any] = {}
        try:
            super().fit(T, y, **warm)
        finally:
            self._shared = {}
        return self

    def _solve_exact(self, S: np.ndarray, k: int) -> tuple[np.ndarray, float]:
        """Exact search; with ``n_clusters="auto"`` one programme answers every k."""
        if self.n_clusters != "auto":
            return _SubsetProgramme(S, k).solve(k)
        shared = getattr(self, "_shared", {})
        if "programme" not in shared:
            k_max = max(self._candidate_ks(S.shape[0]))
            shared["programme"] = _SubsetProgramme(S, k_max, every_k=True)
        return shared["programme"].solve(k)

    def _fit_candidate(
        self,
        S: np.ndarray,
        k: int,
        rng: np.random.Generator,
        *,
        must_beat: float = -math.inf,
        **warm: Any,
    ) -> ClusteringResult:
        # Automatic k compares groupings; only the chosen k needs the SDP solvers,
        # and one eigendecomposition serves every candidate.
        shared = getattr(self, "_shared", {})
        if "eig" not in shared and 1 < k < S.shape[0]:
            k_max = max(self._candidate_ks(S.shape[0]))
            shared["op"] = CentredOperator(S)
            shared["eig"] = _top_eigenpairs(shared["op"], k_max)
        return self._fit_k(
            S,
            k,
            rng,
            screen=True,
            eig=shared.get("eig"),
            op=shared.get("op"),
            must_beat=must_beat,
            **warm,
        )

    def _refit_chosen(
        self, S: np.ndarray, k: int, rng: np.random.Generator, result: ClusteringResult, **warm
    ) -> ClusteringResult:
        if result.proven_optimal:
            return result
        shared = getattr(self, "_shared", {})
        return self._fit_k(
            S, k, rng, init_labels=result.labels, op=shared.get("op"), certify_first=True
        )

    def _fit_k(
        self,
        S: np.ndarray,
        k: int,
        rng: np.random.Generator,
        *,
        screen: bool = False,
        eig: tuple[np.ndarray, np.ndarray] | None = None,
        op: CentredOperator | None = None,
        must_beat: float = -math.inf,
        certify_first: bool = False,
        **warm: Any,
    ) -> ClusteringResult:
        caller = type(self).__name__
        _check_solver_params(self.solver, self.tol, self.max_iter, self.n_init, caller)
        exact_max_tasks = _check_exact_max_tasks(self.exact_max_tasks, caller)
        bound_tol = _check_bound_tol(self.bound_tol, caller)
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
            exact_max_tasks=exact_max_tasks,
            bound_tol=bound_tol,
            solve_exact=lambda kk: self._solve_exact(S, kk),
            screen=screen,
            eig=eig,
            op=op,
            must_beat=must_beat,
            certify_first=certify_first,
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
