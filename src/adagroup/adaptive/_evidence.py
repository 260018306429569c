"""A trajectory's runs as arrays, and the pair-level affinity AdaGroup groups from.

Pure numpy. Scores are oriented (higher is better) and made scale-free per task
before anything is estimated, because task losses routinely differ by orders of
magnitude: without it the loudest task decides every grouping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..cluster._threads import blas_threads_for

__all__ = ["RunTable", "PairPosterior", "pair_affinity", "NORMALIZERS", "ESTIMATORS"]

#: Per-task rescalings of the scores (``normalize`` of :class:`RunTable`).
NORMALIZERS = ("standardize", "relative")
#: Pair-level estimators of :func:`pair_affinity`.
ESTIMATORS = ("surrogate", "coupled", "mean")
#: Least prior precision, in runs. EM drives sigma^2 / tau^2 toward 0 when the noise is tiny;
#: the floor keeps the per-target systems (often fewer runs than partners) well conditioned.
#: It was 1.0 with the one-round estimate, which halved every pair measured once.
_RIDGE_FLOOR = 0.01
#: Largest prior precision, in runs.
_RIDGE_CEIL = 20.0
#: Empirical-Bayes rounds at most, and the relative change of every prior precision below
#: which the fixed point counts as reached. Plain EM creeps (about 1 % a round), so this stops
#: it short of the fixed point: at n = 50 on the planted trainer the precisions were up to 2x
#: off. Reaching it with SQUAREM (in 6-22 fits) was measured and not kept: AdaGroup then took
#: more runs on the planted trainer (three passes each, noise 0.05: n = 20 221 -> 241,
#: n = 50 817 -> 883), and the early stop acts as shrinkage toward a prior worth one run.
_EB_MAX_ITER = 30
_EB_RTOL = 0.01
#: Largest correlation of theta_ij and theta_ji the prior may take: at 1 the coupled system
#: loses definiteness.
_RHO_MAX = 0.95
#: Above this many tasks the two directions are fitted independently (rho = 0): the coupled
#: solve keeps two n x n matrices per target.
_COUPLED_MAX_N = 150
#: Conjugate-gradient limits of the coupled solve (relative residual of every draw). Measured:
#: 6-10 iterations reach it at n = 50-150, since each target's own inverse preconditions it.
_PCG_MAX_ITER = 300
_PCG_RTOL = 1e-8
#: Posterior draws (and their fixed seed, so that a fit is reproducible) that give the coupled
#: EM its second moments.
_MOMENT_DRAWS = 30
_MOMENT_SEED = 0


class RunTable:
    """Runs as padded arrays of per-task, oriented, scale-free scores.

    Parameters
    ----------
    runs : sequence
        Finished runs: objects with ``.subset`` and ``.scores`` (such as
        :class:`adagroup.RunRecord`) or ``(subset, scores)`` pairs.
    names : sequence of str
        The tasks, in row order of every matrix derived from the table.
    greater_is_better : bool, default=True
        Direction of the raw scores; losses are negated.
    normalize : {"standardize", "relative"}, default="standardize"
        ``"standardize"`` divides each task's centred scores by their standard
        deviation over its runs; ``"relative"`` by its mean absolute score (a 1 %
        change counts the same for every task). Either makes a task's row
        invariant to its loss scale.

    Attributes
    ----------
    idx : ndarray of int of shape (n_runs, width)
        ``idx[r, a]`` is the a-th task of run ``r``; -1 pads.
    y : ndarray of shape (n_runs, width)
        The scale-free score of that task in that run, centred per task.
    valid : ndarray of bool of shape (n_runs, width)
    member : ndarray of shape (n_runs, n_tasks)
        1 where the task is in the run.
    count : ndarray of shape (n_tasks,)
        Runs per task.
    """

    def __init__(
        self,
        runs: Sequence[Any],
        names: Sequence[str],
        *,
        greater_is_better: bool = True,
        normalize: str = "standardize",
    ) -> None:
        if normalize not in NORMALIZERS:
            raise ValueError(
                f"The 'normalize' parameter of RunTable must be one of {list(NORMALIZERS)}. Got "
                f"{normalize!r} instead."
            )
        self.names = tuple(str(t) for t in names)
        index = {t: i for i, t in enumerate(self.names)}
        n = len(self.names)
        pairs = [_unpack(run) for run in runs]
        width = max((len(s) for s, _ in pairs), default=1)
        sign = 1.0 if greater_is_better else -1.0
        self.n = n
        self.idx = np.full((len(pairs), width), -1, dtype=np.intp)
        raw = np.zeros((len(pairs), width))
        for r, (subset, scores) in enumerate(pairs):
            self.idx[r, : len(subset)] = [index[str(t)] for t in subset]
            raw[r, : len(subset)] = [sign * float(scores[t]) for t in subset]
        self.valid = self.idx >= 0
        self.member = np.zeros((len(pairs), n))
        rows = np.nonzero(self.valid)[0]
        self.member[rows, self.idx[self.valid]] = 1.0
        tasks = self.idx[self.valid]
        vals = raw[self.valid]
        cnt = np.bincount(tasks, minlength=n).astype(np.float64)
        mean = np.bincount(tasks, weights=vals, minlength=n) / np.maximum(cnt, 1.0)
        centred = vals - mean[tasks]
        if normalize == "standardize":
            spread = np.bincount(tasks, weights=centred**2, minlength=n) / np.maximum(cnt, 1.0)
            scale = np.sqrt(spread)
        else:
            scale = np.bincount(tasks, weights=np.abs(vals), minlength=n) / np.maximum(cnt, 1.0)
        # A task seen once, or with constant scores, has nothing to divide by; its centred
        # scores are zero anyway.
        tiny = scale <= 1e-12 * np.maximum(np.abs(mean), 1e-300)
        scale[tiny] = 1.0
        self.y = np.zeros_like(raw)
        self.y[self.valid] = centred / scale[tasks]
        self.count = cnt
        self.normalize = normalize

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return int(self.idx.shape[0])

    def met(self) -> np.ndarray:
        """Runs in which each pair of tasks met, shape ``(n_tasks, n_tasks)``."""
        return self.member.T @ self.member


def _unpack(run: Any) -> tuple[tuple[str, ...], Mapping[str, float]]:
    if hasattr(run, "subset") and hasattr(run, "scores"):
        return tuple(run.subset), run.scores
    subset, scores = run
    return tuple(subset), scores


class PairPosterior:
    """Pair-level affinity with a Gaussian posterior, pooled over every run of a trajectory.

    Per target task ``i``, the scale-free score is modelled as
    ``y_i(S) = a_i + sum_{j in S, j != i} theta_ij + noise_i`` with a prior
    ``theta_ij ~ N(0, tau^2)`` (0: the target's average partner).
    ``estimator="surrogate"`` fits that regression, which separates the
    effect of each partner from the others trained with it;
    ``estimator="coupled"`` also correlates the two directions of a pair,
    ``corr(theta_ij, theta_ji) = rho``, and fits every target at once;
    ``estimator="mean"`` is the paper's Eq. 6 on centred scores (the mean of
    ``y_i`` over the runs holding ``i`` and ``j``), shrunk the same way. The
    prior (``tau``, ``rho``) and the noise are estimated from the data
    (empirical Bayes, by EM over the pairs that met), so pairs never
    trained together are drawn as widely as real effects vary: a grouping
    that rests on them comes out uncertain rather than confidently split.

    The coupling matters when a task has met most partners once: its one
    reading of a run is shared by the two partners in it, and only the
    partners' own readings of the task can tell which of them helped. Fitted
    per target alone, a within-group pair measured once read 0.57 where pairs
    measured six times read 0.86 (planted trainer, n = 50), and true groups
    split along the pairs the design happened to measure less often. It
    assumes that a pair's two effects agree: ``rho`` is read from the pairs
    measured from both sides (on every run of the real-training grid of
    ``benchmarks/adagroup_real.py``: 0.7-0.86 with equal loss scales,
    0.3-0.6 with scales spread over four orders of magnitude, where a shared
    network often helps one task of a pair more than the other). Measured
    there, it recovers more groups than the per-target fit when the tasks'
    losses are on similar scales and fewer when they differ by orders of
    magnitude; the README has the tables.

    Parameters
    ----------
    table : RunTable
    estimator : {"surrogate", "coupled", "mean"}, default="surrogate"

    Attributes
    ----------
    theta : ndarray of shape (n_tasks, n_tasks)
        Posterior mean of every partner effect (row: target, column: partner).
    sigma : ndarray of shape (n_tasks,)
        Noise standard deviation of every target, pooled with the others'.
    tau : float
        The prior's standard deviation of a partner effect.
    rho : float
        The prior's correlation of ``theta_ij`` with ``theta_ji``, in
        ``[0, 0.95]``; 0 unless ``estimator="coupled"``, and above 150 tasks,
        where the coupled solve would keep two ``n x n`` matrices per task.
    ridge : ndarray of shape (n_tasks,)
        Prior precision of every target's partner effects given the other
        direction, in runs (``sigma**2 / (tau**2 (1 - rho**2))`` at the
        empirical-Bayes fixed point, clipped).
    """

    def __init__(self, table: RunTable, *, estimator: str = "surrogate") -> None:
        if estimator not in ESTIMATORS:
            raise ValueError(
                f"The 'estimator' parameter of PairPosterior must be one of {list(ESTIMATORS)}. "
                f"Got {estimator!r} instead."
            )
        self.n = table.n
        self.estimator = estimator
        self._Y = np.zeros((table.n_runs, table.n))
        rows = np.nonzero(table.valid)[0]
        self._Y[rows, table.idx[table.valid]] = table.y[table.valid]
        self._table = table
        # Empirical Bayes by EM: alternate the fit (effects and noise given the prior) with
        # the prior's spread, tau^2 = mean over measured pairs of E[theta^2] (posterior mean
        # squared plus posterior variance). One round from a prior worth one run left that
        # prior's shrinkage in the estimates: at a true noise of 0.12 (standardised) the noise
        # read 0.4, every once-measured pair was halved and true groups split along the pairs
        # the design happened to measure less often. Without the posterior variance the
        # rounds collapse tau to 0 on real training.
        with blas_threads_for(self.n):
            self._empirical_bayes(table)

    def _empirical_bayes(self, table: RunTable) -> None:
        met = table.met()
        np.fill_diagonal(met, 0.0)
        measured = met >= 1
        ridge = np.ones(self.n)
        rho = 0.0
        self.theta = np.zeros((self.n, self.n))
        for _ in range(_EB_MAX_ITER):
            self._fit(ridge, rho)
            if not measured.any():
                self.tau = 1.0
                break
            second = self.theta**2 + self.sigma[:, None] ** 2 * self._var
            product = self.theta * self.theta.T
            if self._coupling is not None:
                # Coupled, the per-target variances are given the other direction and the
                # two directions covary: moments from posterior draws instead. From the means
                # alone rho read 0.03-0.15 for a true 0.9 with few runs per pair.
                draws = self._coupling.sample(
                    np.random.default_rng(_MOMENT_SEED), _MOMENT_DRAWS, self.theta, self.sigma,
                    self.tau,
                )  # fmt: skip
                second = np.mean(draws**2, axis=0)
                product = np.mean(draws * draws.transpose(0, 2, 1), axis=0)
            tau2 = max(float(np.mean(second[measured])), 1e-12)
            self.tau = float(np.sqrt(tau2))
            new_rho = rho
            if self.estimator == "coupled" and self.n <= _COUPLED_MAX_N:
                cross = float(np.mean(product[measured]))
                new_rho = float(np.clip(cross / tau2, 0.0, _RHO_MAX))
            updated = np.clip(
                self.sigma**2 / (tau2 * (1.0 - new_rho**2)), _RIDGE_FLOOR, _RIDGE_CEIL
            )
            done = (
                bool(np.all(np.abs(np.log(updated / ridge)) < _EB_RTOL))
                and abs(new_rho - rho) < _EB_RTOL
            )
            ridge = updated
            rho = new_rho
            if done:
                break
        self.ridge = ridge
        self.rho = rho
        self._fit(ridge, rho)

    def _fit(self, ridge: np.ndarray, rho: float = 0.0) -> None:
        n = self.n
        table = self._table
        previous = getattr(self, "theta", np.zeros((0, 0)))
        self.theta = np.zeros((n, n))
        # Per target: the Cholesky factor of the posterior precision (surrogate only), and the
        # posterior variance of every partner effect up to sigma^2.
        self._chol: list[np.ndarray | None] = [None] * n
        self._var = 1.0 / ridge[:, None] * np.ones((n, n))
        rhs = np.zeros((n, n))
        designs: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n
        coupled = rho > 0.0
        # Without runs a target's precision is the prior's alone.
        eye = np.eye(n)
        precisions = ridge[:, None, None] * eye if coupled else np.zeros((0, n, n))
        inverses = eye / ridge[:, None, None] if coupled else np.zeros((0, n, n))
        used = np.zeros(n)
        counts = np.zeros(n)
        for i in range(n):
            rows = np.flatnonzero(table.member[:, i])
            if rows.size == 0:
                continue
            counts[i] = rows.size
            X = table.member[rows].copy()
            X[:, i] = 0.0
            y = self._Y[rows, i]
            if self.estimator == "mean":
                cnt = X.sum(axis=0)
                self.theta[i] = (X.T @ y) / (cnt + ridge[i])
                self._var[i] = 1.0 / (cnt + ridge[i])
                # The mean estimator predicts a run's score by its partners' average effect.
                designs[i] = (X / np.maximum(X.sum(axis=1), 1.0)[:, None], y)
                used[i] = float(np.count_nonzero(cnt))
                continue
            # The intercept is left unpenalised: centre X and y.
            Xc = X - X.mean(axis=0)
            yc = y - y.mean()
            A = Xc.T @ Xc
            A[np.diag_indices(n)] += ridge[i]
            L = np.linalg.cholesky(A)
            self._chol[i] = L
            rhs[i] = Xc.T @ yc
            self.theta[i] = _chol_solve(L, rhs[i])
            # One inverse factor gives both diag(A^-1) (its squared column norms) and the
            # trace of the hat matrix Xc A^-1 Xc'.
            inv = _forward(L, np.eye(n))
            self._var[i] = np.sum(inv**2, axis=0)
            if coupled:
                precisions[i] = A
                inverses[i] = inv.T @ inv
            used[i] = float(np.sum((Xc @ inv.T) ** 2)) + 1.0
            designs[i] = (Xc, yc)
        self._coupling: _Coupling | None = None
        if coupled:
            self._coupling = _Coupling(precisions, inverses, ridge, rho, designs)
            # The previous EM round's mean is a close start.
            start = previous if previous.shape == self.theta.shape else self.theta
            self.theta = self._coupling.solve(rhs[:, :, None], start[:, :, None])[:, :, 0]
        np.fill_diagonal(self.theta, 0.0)
        rss = np.zeros(n)
        for i, design in enumerate(designs):
            if design is not None:
                resid = design[1] - design[0] @ self.theta[i]
                rss[i] = float(resid @ resid)
        dof = np.maximum(counts - used, 0.0)
        # Few runs per task give a poor variance each: pool, shrinking each task's own estimate
        # toward the pooled one with the weight of a few residual degrees of freedom.
        pooled = float(rss.sum() / dof.sum()) if dof.sum() > 0 else 1.0
        pooled = pooled if pooled > 0 else 1.0
        prior_dof = 4.0
        self.sigma = np.sqrt((rss + prior_dof * pooled) / (dof + prior_dof))

    @property
    def S(self) -> np.ndarray:
        """Posterior mean, symmetrised, with a zero diagonal (see :func:`pair_affinity`)."""
        return _symmetric(self.theta)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` posterior draws of the symmetric affinity (zero diagonal), ``(size, n, n)``."""
        n = self.n
        if self._coupling is not None:
            with blas_threads_for(n):
                draws = self._coupling.sample(rng, size, self.theta, self.sigma, self.tau)
        else:
            draws = np.repeat(self.theta[None], size, axis=0)
            for i in range(n):
                z = rng.standard_normal((n, size))
                L = self._chol[i]
                if L is not None:
                    # A = L L^T, so L^-T z ~ N(0, A^-1).
                    noise = _back(L, z)
                else:
                    noise = z * np.sqrt(self._var[i])[:, None]
                draws[:, i, :] += self.sigma[i] * noise.T
        draws = (draws + draws.transpose(0, 2, 1)) / 2.0
        draws[:, np.arange(n), np.arange(n)] = 0.0
        return draws


class _Coupling:
    """The targets' systems tied by a prior that correlates ``theta_ij`` and ``theta_ji``.

    Given ``theta_ji``, the prior of ``theta_ij`` is centred on ``rho * theta_ji``: one
    run's reading is shared by the partners trained in it, and the partners' own readings
    of the target tell them apart. The posterior mean solves
    ``A_i theta_i - ridge_i * rho * theta_.i = b_i`` for every target ``i`` at once;
    divided by ``ridge_i`` that system is symmetric and at least ``(1 - rho)`` definite,
    so preconditioned conjugate gradients (each target's own inverse as preconditioner)
    solve it. Draws are exact by perturbation: the same solve with the readings and the
    prior's centre drawn from their distributions. That holds while every ``ridge_i`` is
    ``sigma_i^2 / (tau^2 (1 - rho^2))``; where the clip moved one, the mean still solves the
    clipped system but the draws' spread is only approximately its posterior's.
    """

    def __init__(
        self,
        precisions: np.ndarray,
        inverses: np.ndarray,
        ridge: np.ndarray,
        rho: float,
        designs: Sequence[tuple[np.ndarray, np.ndarray] | None],
    ) -> None:
        self.precisions = precisions
        self.inverses = inverses
        self.ridge = ridge
        self.rho = rho
        self.designs = designs

    # Stacks are laid out (target, partner, draw) so that every product is one batched
    # matrix product per target.
    def _apply(self, x: np.ndarray) -> np.ndarray:
        scaled = np.matmul(self.precisions, x) / self.ridge[:, None, None]
        return np.ascontiguousarray(scaled - self.rho * x.transpose(1, 0, 2))

    def _precondition(self, r: np.ndarray) -> np.ndarray:
        return np.matmul(self.inverses, r) * self.ridge[:, None, None]

    def solve(self, rhs: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Solutions for right-hand sides stacked as ``(n, n, size)``, one per draw."""
        # Elementwise results keep their inputs' memory order; matmul on strided stacks
        # leaves BLAS (30x slower at n = 150).
        b = np.ascontiguousarray(rhs / self.ridge[:, None, None])
        x = np.ascontiguousarray(start)
        r = b - self._apply(x)
        z = self._precondition(r)
        p = z.copy()
        rz = np.einsum("ijs,ijs->s", r, z)
        target = _PCG_RTOL * np.maximum(np.sqrt(np.einsum("ijs,ijs->s", b, b)), 1e-300)
        for _ in range(_PCG_MAX_ITER):
            if np.all(np.sqrt(np.einsum("ijs,ijs->s", r, r)) <= target):
                break
            q = self._apply(p)
            alpha = rz / np.maximum(np.einsum("ijs,ijs->s", p, q), 1e-300)
            x += alpha * p
            r -= alpha * q
            z = self._precondition(r)
            new_rz = np.einsum("ijs,ijs->s", r, z)
            p = z + new_rz / np.maximum(rz, 1e-300) * p
            rz = new_rz
        return x

    def sample(
        self,
        rng: np.random.Generator,
        size: int,
        mean: np.ndarray,
        sigma: np.ndarray,
        tau: float,
    ) -> np.ndarray:
        """``size`` draws of the directed effects, ``(size, n, n)``."""
        n = len(self.ridge)
        rho = self.rho
        # The prior's centre, drawn per pair with correlation rho between the directions.
        upper = np.triu(rng.standard_normal((size, n, n)), 1)
        lower = np.triu(rng.standard_normal((size, n, n)), 1)
        centre = tau * (upper + (rho * upper + np.sqrt(1.0 - rho**2) * lower).transpose(0, 2, 1))
        centre = centre.transpose(1, 2, 0)
        rhs = self.ridge[:, None, None] * (centre - rho * centre.transpose(1, 0, 2))
        for i, design in enumerate(self.designs):
            if design is not None:
                Xc, yc = design
                readings = yc[:, None] + sigma[i] * rng.standard_normal((yc.size, size))
                rhs[i] += Xc.T @ readings
        start = np.repeat(mean[:, :, None], size, axis=2)
        return self.solve(rhs, start).transpose(2, 0, 1)


def _chol_solve(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    return cho_solve((L, True), b)


def _forward(L: np.ndarray, z: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    return solve_triangular(L, z, lower=True)


def _back(L: np.ndarray, z: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    return solve_triangular(L.T, z, lower=False)


def _symmetric(T: np.ndarray) -> np.ndarray:
    S = (T + T.T) / 2.0
    np.fill_diagonal(S, 0.0)
    return S


def pair_affinity(table: RunTable, *, estimator: str = "surrogate") -> np.ndarray:
    """Symmetric pair-level affinity with a zero diagonal, pooled over every run.

    The posterior mean of :class:`PairPosterior`, symmetrised. The diagonal is
    zero because it adds ``k`` times a constant to the density of every
    grouping into ``k`` groups: left in, it would decide ``k`` by its level
    alone.

    Parameters
    ----------
    table : RunTable
    estimator : {"surrogate", "coupled", "mean"}, default="surrogate"

    Returns
    -------
    S : ndarray of shape (n_tasks, n_tasks)

    Examples
    --------
    >>> runs = [(("a", "b"), {"a": 1.0, "b": 1.0}), (("a", "c"), {"a": 0.0, "c": 0.0}),
    ...         (("b", "c"), {"b": 0.0, "c": 0.0})] * 3
    >>> S = pair_affinity(RunTable(runs, ["a", "b", "c"]))
    >>> bool(S[0, 1] > 0 > S[0, 2])
    True
    """
    return PairPosterior(table, estimator=estimator).S
