"""Estimate a task-affinity matrix from the scores of training runs on task subsets.

Pure numpy: the input is any iterable of finished runs (objects with ``.subset``
and ``.scores``, such as :class:`adagroup.RunRecord`, or ``(subset, scores)``
pairs), the output an :class:`AffinityEstimate` whose ``T`` feeds any clusterer
once its unmeasured (NaN) entries are filled.

References
----------
.. [1] The AdaGroup paper: Eq. 6 (higher-order affinity, the mean of a task's
   score over subsets holding both tasks) and App. B.3 (a linear surrogate of
   a task's score as a function of the subset it was trained with).
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["AffinityEstimate", "estimate_affinity", "ESTIMATORS", "FILL_STRATEGIES"]

logger = logging.getLogger(__name__)

#: Valid values of the ``estimator`` parameter of :func:`estimate_affinity`.
ESTIMATORS = ("mean", "surrogate", "pairwise")
#: Valid values of the ``normalize`` parameter of :func:`estimate_affinity` (besides None).
NORMALIZERS = ("center", "standardize")
#: Valid values of the ``strategy`` parameter of :meth:`AffinityEstimate.filled`.
FILL_STRATEGIES = ("row_mean", "global_mean", "min", "zero")

_RCOND = 1e-10


@dataclass(frozen=True, eq=False)
class AffinityEstimate:
    """An estimated task-affinity matrix with its support and uncertainty.

    Row ``i`` is the *target* task whose score is measured, column ``j`` the
    partner task; higher is better whatever the direction of the raw scores.

    Attributes
    ----------
    T : ndarray of shape (n_tasks, n_tasks)
        The estimate; NaN where the data say nothing about the entry.
    counts : ndarray of int of shape (n_tasks, n_tasks)
        Number of runs behind each entry: runs holding both tasks (the diagonal:
        runs holding the task), or for ``"pairwise"`` the runs of exactly
        ``{i, j}`` (the diagonal: runs of ``{i}``).
    std_error : ndarray of shape (n_tasks, n_tasks)
        Standard error of each entry; NaN where it cannot be computed (fewer
        than two runs, or no residual degrees of freedom).
    task_names : tuple of str
        Names of the rows and columns.
    estimator : str
        The estimator that produced ``T``.
    normalize : str or None
        The per-target normalisation applied to the scores first.
    n_runs : int
        Number of runs used.

    Examples
    --------
    >>> runs = [(("a", "b"), {"a": 1.0, "b": 2.0}), (("a",), {"a": 0.5})]
    >>> est = estimate_affinity(runs, ["a", "b"])
    >>> est.T
    array([[0.75, 1.  ],
           [2.  , 2.  ]])
    """

    T: np.ndarray
    counts: np.ndarray
    std_error: np.ndarray
    task_names: tuple[str, ...]
    estimator: str
    normalize: str | None = None
    n_runs: int = 0

    def __post_init__(self) -> None:
        # Frozen fields cannot be reassigned; freezing the buffers too keeps a shared
        # estimate from being edited in place by one of its readers.
        for name in ("T", "counts", "std_error"):
            getattr(self, name).setflags(write=False)

    @property
    def n_tasks(self) -> int:
        """Number of tasks."""
        return len(self.task_names)

    @property
    def missing(self) -> np.ndarray:
        """Boolean mask of shape (n_tasks, n_tasks): True where ``T`` is unmeasured (NaN)."""
        return np.isnan(self.T)

    def filled(self, strategy: str = "row_mean", *, value: float | None = None) -> np.ndarray:
        """Return a copy of ``T`` with every unmeasured entry filled, ready for clustering.

        Parameters
        ----------
        strategy : {"row_mean", "global_mean", "min", "zero"}, default="row_mean"
            ``"row_mean"``: the mean of the measured off-diagonal entries of the
            same row (the target's typical transfer; a row with none falls back to
            the global mean); ``"global_mean"``: the mean of all measured
            off-diagonal entries; ``"min"``: the smallest measured off-diagonal
            entry, a pessimistic choice that keeps unmeasured pairs apart;
            ``"zero"``: 0, meaningful after ``normalize="center"`` or for the
            pairwise estimator, where 0 means no transfer.
        value : float, default=None
            If given, fill with this constant instead of ``strategy``.

        Returns
        -------
        ndarray of shape (n_tasks, n_tasks)
            A finite, writable copy of ``T``. If nothing at all was measured,
            the fallbacks give 0.

        Raises
        ------
        ValueError
            If ``strategy`` is unknown or ``value`` is not finite.
        """
        T = np.array(self.T, dtype=np.float64, copy=True)
        miss = np.isnan(T)
        if value is not None:
            if not np.isfinite(value):
                raise ValueError(
                    f"The 'value' parameter of AffinityEstimate.filled must be finite. Got "
                    f"{value!r} instead."
                )
            T[miss] = float(value)
            return T
        if strategy not in FILL_STRATEGIES:
            raise ValueError(
                f"The 'strategy' parameter of AffinityEstimate.filled must be one of "
                f"{list(FILL_STRATEGIES)}. Got {strategy!r} instead."
            )
        if not miss.any():
            return T
        off = ~np.eye(len(T), dtype=bool)
        measured = T[off & ~miss]
        global_mean = float(measured.mean()) if measured.size else 0.0
        if strategy == "zero":
            T[miss] = 0.0
        elif strategy == "global_mean":
            T[miss] = global_mean
        elif strategy == "min":
            T[miss] = float(measured.min()) if measured.size else 0.0
        else:
            vals = np.where(off & ~miss, T, 0.0)
            n = (off & ~miss).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                row = np.where(n > 0, vals.sum(axis=1) / np.maximum(n, 1), global_mean)
            T = np.where(miss, row[:, None], T)
        return T

    def to_frame(self, values: str = "T") -> Any:
        """Return ``T`` (or ``counts`` / ``std_error``) as a pandas DataFrame labelled by task.

        Parameters
        ----------
        values : {"T", "counts", "std_error"}, default="T"
            Which matrix to return.

        Returns
        -------
        pandas.DataFrame
            Rows are target tasks, columns partner tasks.
        """
        if values not in ("T", "counts", "std_error"):
            raise ValueError(
                "The 'values' parameter of AffinityEstimate.to_frame must be one of "
                f"['T', 'counts', 'std_error']. Got {values!r} instead."
            )
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                'AffinityEstimate.to_frame needs pandas: pip install "adagroup[cluster]"'
            ) from exc
        names = list(self.task_names)
        return pd.DataFrame(np.array(getattr(self, values)), index=names, columns=names)

    def __repr__(self) -> str:
        return (
            f"AffinityEstimate(estimator={self.estimator!r}, normalize={self.normalize!r}, "
            f"n_tasks={self.n_tasks}, n_runs={self.n_runs}, "
            f"missing={int(self.missing.sum())})"
        )


def _task_index(tasks: Any) -> tuple[tuple[str, ...], dict[Any, int]]:
    """Return the task names and a lookup from name (or index, for int ``tasks``) to index."""
    if isinstance(tasks, numbers.Integral) and not isinstance(tasks, bool):
        n = int(tasks)
        if n < 1:
            raise ValueError(
                "The 'tasks' parameter of estimate_affinity must be a positive int, a sequence "
                f"of task names or a TaskSet. Got {tasks!r} instead."
            )
        names = tuple(str(i) for i in range(n))
        lookup: dict[Any, int] = {i: i for i in range(n)}
        lookup.update({name: i for i, name in enumerate(names)})
        return names, lookup
    raw = getattr(tasks, "names", tasks)
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raise TypeError(
            "The 'tasks' parameter of estimate_affinity must be a sequence of task names, a "
            f"TaskSet or an int. Got {tasks!r}; pass e.g. ['a', 'b', 'c']."
        )
    names = tuple(str(x) for x in raw)
    if not names:
        raise ValueError(
            "The 'tasks' parameter of estimate_affinity must name at least one task. Got an "
            "empty sequence."
        )
    if len(set(names)) != len(names):
        dup = sorted({x for x in names if names.count(x) > 1})
        raise ValueError(
            f"The 'tasks' parameter of estimate_affinity must hold unique names. Got "
            f"duplicates {dup}."
        )
    return names, {name: i for i, name in enumerate(names)}


def _unpack_run(run: Any) -> tuple[Sequence[Any], Mapping[Any, float]] | None:
    """Return ``(subset, scores)`` of a run, or None for a run that did not complete."""
    if hasattr(run, "subset") and hasattr(run, "scores"):
        state = getattr(run, "state", None)
        if state is not None and getattr(state, "name", str(state)).upper() != "COMPLETE":
            return None
        return run.subset, run.scores
    try:
        subset, scores = run
    except (TypeError, ValueError):
        raise TypeError(
            "Each run passed to estimate_affinity must have .subset and .scores attributes "
            f"or be a (subset, scores) pair. Got {run!r}."
        ) from None
    return subset, scores


def _collect(
    runs: Iterable[Any], names: tuple[str, ...], lookup: dict[Any, int], sign: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Parse runs into (sorted index array, matching oriented scores) per run."""
    subsets: list[np.ndarray] = []
    values: list[np.ndarray] = []
    skipped = 0
    for r, run in enumerate(runs):
        parsed = _unpack_run(run)
        if parsed is None:
            skipped += 1
            continue
        subset, scores = parsed
        if isinstance(subset, str):
            subset = (subset,)
        unknown = [t for t in subset if t not in lookup]
        unknown += [t for t in scores if t not in lookup]
        if unknown:
            shown = list(names[:10]) + (["..."] if len(names) > 10 else [])
            raise ValueError(
                f"Run {r} passed to estimate_affinity names unknown task(s) "
                f"{sorted({str(t) for t in unknown})}; the known tasks are {shown}. Pass the "
                "study's task list as 'tasks'."
            )
        idx = [lookup[t] for t in subset]
        if len(set(idx)) != len(idx) or not idx:
            raise ValueError(
                f"Run {r} passed to estimate_affinity has subset {tuple(subset)!r}; a subset "
                "must hold at least one task, each once."
            )
        by_index = {lookup[t]: v for t, v in scores.items()}
        lacking = [names[i] for i in idx if i not in by_index]
        if lacking:
            raise ValueError(
                f"Run {r} passed to estimate_affinity has no score for task(s) {lacking} of its "
                "subset. Only COMPLETE runs, with a score for every task trained, can be used."
            )
        order = np.argsort(idx)
        sub = np.asarray(idx, dtype=np.intp)[order]
        try:
            val = np.asarray([float(by_index[i]) for i in sub], dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"Run {r} passed to estimate_affinity has non-numeric scores {dict(scores)!r}."
            ) from None
        if not np.all(np.isfinite(val)):
            raise ValueError(
                f"Run {r} passed to estimate_affinity has non-finite scores {dict(scores)!r}; "
                "such runs should be recorded as FAIL, not COMPLETE."
            )
        subsets.append(sub)
        values.append(sign * val)
    if skipped:
        logger.debug("estimate_affinity skipped %d run(s) that are not COMPLETE", skipped)
    return subsets, values


def _normalize(
    subsets: list[np.ndarray], values: list[np.ndarray], n: int, how: str | None
) -> list[np.ndarray]:
    """Centre (and scale) every target task's scores by their mean (and std) over its runs."""
    if how is None:
        return values
    total = np.zeros(n)
    sq = np.zeros(n)
    cnt = np.zeros(n)
    for s, v in zip(subsets, values, strict=True):
        np.add.at(total, s, v)
        np.add.at(cnt, s, 1.0)
    mean = np.divide(total, cnt, out=np.zeros(n), where=cnt > 0)
    for s, v in zip(subsets, values, strict=True):
        np.add.at(sq, s, (v - mean[s]) ** 2)
    scale = np.ones(n)
    if how == "standardize":
        std = np.sqrt(np.divide(sq, cnt, out=np.zeros(n), where=cnt > 0))
        # A task seen once (or with constant scores) has no spread to divide by; it keeps
        # unit scale, and its centred scores are then all zero anyway.
        big = std > 1e-12 * np.maximum(np.abs(mean), 1.0)
        scale[big] = std[big]
    return [(v - mean[s]) / scale[s] for s, v in zip(subsets, values, strict=True)]


def _mean_estimator(
    subsets: list[np.ndarray], values: list[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. 6: mean (and its standard error) of task i's score over runs holding i and j."""
    counts = np.zeros((n, n), dtype=np.int64)
    total = np.zeros((n, n))
    for s, v in zip(subsets, values, strict=True):
        counts[np.ix_(s, s)] += 1
        total[np.ix_(s, s)] += v[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, total / counts, np.nan)
    sq = np.zeros((n, n))
    for s, v in zip(subsets, values, strict=True):
        # Two passes instead of sum-of-squares, which cancels badly for large scores.
        sq[np.ix_(s, s)] += (v[:, None] - mean[np.ix_(s, s)]) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(counts > 1, np.sqrt(sq / np.maximum(counts - 1, 1) / counts), np.nan)
    return mean, counts, se


def _pairwise_estimator(
    subsets: list[np.ndarray], values: list[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score of i trained with j alone minus score of i trained alone."""
    counts = np.zeros((n, n), dtype=np.int64)
    total = np.zeros((n, n))
    pair_sub: list[np.ndarray] = []
    pair_val: list[np.ndarray] = []
    for s, v in zip(subsets, values, strict=True):
        if len(s) == 1:
            counts[s[0], s[0]] += 1
            total[s[0], s[0]] += v[0]
        elif len(s) == 2:
            a, b = s
            counts[a, b] += 1
            counts[b, a] += 1
            total[a, b] += v[0]
            total[b, a] += v[1]
        else:
            continue
        pair_sub.append(s)
        pair_val.append(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, total / counts, np.nan)
    sq = np.zeros((n, n))
    for s, v in zip(pair_sub, pair_val, strict=True):
        if len(s) == 1:
            sq[s[0], s[0]] += (v[0] - mean[s[0], s[0]]) ** 2
        else:
            a, b = s
            sq[a, b] += (v[0] - mean[a, b]) ** 2
            sq[b, a] += (v[1] - mean[b, a]) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        var_mean = np.where(counts > 1, sq / np.maximum(counts - 1, 1) / counts, np.nan)
    alone = np.diag(mean).copy()
    alone_var = np.diag(var_mean).copy()
    T = mean - alone[:, None]
    se = np.sqrt(var_mean + alone_var[:, None])
    # Training i "with itself" adds nothing: the diagonal is 0 where i alone was measured.
    diag = np.where(np.isnan(alone), np.nan, 0.0)
    np.fill_diagonal(T, diag)
    np.fill_diagonal(se, np.where(np.isnan(alone_var), np.nan, 0.0))
    return T, counts, se


def _surrogate_estimator(
    subsets: list[np.ndarray], values: list[np.ndarray], n: int, ridge: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """App. B.3: per target, ridge regression of its score on the subset indicator."""
    T = np.full((n, n), np.nan)
    se = np.full((n, n), np.nan)
    counts = np.zeros((n, n), dtype=np.int64)
    rows: list[list[int]] = [[] for _ in range(n)]
    for r, s in enumerate(subsets):
        counts[np.ix_(s, s)] += 1
        for i in s:
            rows[int(i)].append(r)
    for i in range(n):
        if not rows[i]:
            continue
        # Only partners seen with i can have an effect; the others stay NaN (unmeasured).
        partners = np.flatnonzero(counts[i] > 0)
        partners = partners[partners != i]
        pos = {int(c): k for k, c in enumerate(partners)}
        m, p = len(rows[i]), len(partners)
        X = np.zeros((m, p))
        y = np.empty(m)
        for a, r in enumerate(rows[i]):
            s = subsets[r]
            X[a, [pos[int(c)] for c in s if c != i]] = 1.0
            y[a] = values[r][int(np.searchsorted(s, i))]
        # The indicator of i itself is the constant column, i.e. the intercept. It is
        # left unpenalised, which is the same as centring X and y and fitting the
        # partner effects alone; the intercept is then mean(y) - mean(X) @ theta.
        x_mean, y_mean = X.mean(axis=0), float(y.mean())
        Xc, yc = X - x_mean, y - y_mean
        gram = Xc.T @ Xc
        # A relative cut-off well above round-off: without a ridge, the exactly
        # collinear directions of one-size designs must count as null, not as tiny.
        B = np.linalg.pinv(gram + ridge * np.eye(p), rcond=_RCOND, hermitian=True)
        theta = B @ (Xc.T @ yc)
        T[i, partners] = theta
        T[i, i] = y_mean - x_mean @ theta
        dof = m - 1.0 - float(np.trace(gram @ B))
        if dof > 1e-8:
            resid = yc - Xc @ theta
            sigma2 = float(resid @ resid) / dof
            cov = sigma2 * B @ gram @ B
            se[i, partners] = np.sqrt(np.clip(np.diag(cov), 0.0, None))
            se[i, i] = np.sqrt(max(sigma2 / m + float(x_mean @ cov @ x_mean), 0.0))
        if ridge == 0.0 and p:
            _mark_unidentified(T, se, i, partners, Xc, x_mean)
    return T, counts, se


def _mark_unidentified(
    T: np.ndarray,
    se: np.ndarray,
    i: int,
    partners: np.ndarray,
    Xc: np.ndarray,
    x_mean: np.ndarray,
) -> None:
    """Set to NaN the coefficients of row ``i`` that the runs cannot pin down.

    Moving every partner effect by the same amount is *not* counted: it only
    happens when all of i's runs have one size (the partner indicators then sum
    to a constant), the fit settles it by making the partner effects sum to
    zero, and the density objective is blind to such a shift of a row.
    """
    _, sv, vt = np.linalg.svd(Xc, full_matrices=True)
    # Same cut-off as the pinv of the Gram matrix, whose eigenvalues are sv ** 2.
    rank = int(np.sum(sv**2 > _RCOND * (sv[0] ** 2 if sv.size else 0.0)))
    null = vt[rank:]
    if not len(null):
        return
    ones = np.ones(len(partners)) / np.sqrt(len(partners))
    if np.linalg.norm(Xc @ ones) < 1e-8:
        null = null - np.outer(null @ ones, ones)
        _, sv2, vt2 = np.linalg.svd(null, full_matrices=False)
        null = vt2[sv2 > 1e-8]
    if not len(null):
        return
    ambiguous = np.abs(null).max(axis=0) > 1e-8
    T[i, partners[ambiguous]] = np.nan
    se[i, partners[ambiguous]] = np.nan
    if np.abs(null @ x_mean).max() > 1e-8:
        T[i, i] = np.nan
        se[i, i] = np.nan


def estimate_affinity(
    runs: Iterable[Any],
    tasks: Any,
    *,
    estimator: str = "mean",
    greater_is_better: bool = True,
    normalize: str | None = None,
    ridge: float = 1.0,
) -> AffinityEstimate:
    """Estimate task affinity from finished training runs on subsets of tasks.

    Parameters
    ----------
    runs : iterable
        Finished runs: objects with ``.subset`` (task names) and ``.scores``
        (dict task name -> float), such as COMPLETE :class:`adagroup.RunRecord`
        objects, or ``(subset, scores)`` pairs. Objects whose ``.state`` is not
        COMPLETE are skipped. Repeated subsets (several seeds) all count.
    tasks : sequence of str, TaskSet or int
        The task names, in the order of the rows of ``T``. An int ``n`` means
        tasks ``0 .. n-1``, named in runs by int or by their string.
    estimator : {"mean", "surrogate", "pairwise"}, default="mean"
        ``"mean"`` (Eq. 6): ``T[i, j]`` is the mean score of task ``i`` over the
        runs holding both ``i`` and ``j``; ``T[i, i]`` over all runs holding
        ``i``. ``"surrogate"`` (App. B.3): for each target ``i``, a ridge fit of
        ``f_i(S) ≈ θ_ii + Σ_{j ∈ S, j ≠ i} θ_ij`` over the runs holding ``i``;
        ``T[i, j] = θ_ij`` is the marginal effect of adding ``j``, and
        ``T[i, i] = θ_ii`` is the fitted intercept (the indicator of ``i`` is
        the constant column, left unpenalised). When all of ``i``'s runs have one
        size, only partner effects relative to their row mean are identified;
        they are returned summing to zero, with the level in ``T[i, i]``; mix
        subset sizes when absolute effects matter.
        ``"pairwise"``: score of ``i``
        trained on ``{i, j}`` minus score of ``i`` trained on ``{i}``; needs
        runs of exactly those subsets, other runs are ignored, and the
        diagonal is 0 where ``{i}`` was measured.
    greater_is_better : bool, default=True
        Direction of the raw scores. With False (losses), scores are negated
        first, so that higher ``T`` always means better transfer.
    normalize : {None, "center", "standardize"}, default=None
        Per-target rescaling of scores *before* estimation, since task losses
        can differ by orders of magnitude: ``"center"`` subtracts each task's
        mean score over all runs holding it; ``"standardize"`` also divides by
        that standard deviation (population, ``ddof=0``; a task with no spread
        is only centred), which makes each row invariant to the task's scale.
    ridge : float, default=1.0
        Penalty on the partner coefficients of the ``"surrogate"`` estimator,
        in units of runs (a prior worth one run pulling each coefficient to
        0). It is needed when a target has fewer runs than partners. With 0,
        coefficients the runs cannot identify are NaN.

    Returns
    -------
    AffinityEstimate
        ``T`` with NaN where unmeasured, ``counts``, ``std_error``, names.

    Raises
    ------
    ValueError
        If ``estimator`` or ``normalize`` is unknown, ``ridge`` is negative, a
        run names a task not in ``tasks``, repeats a task, lacks a score for a
        task of its subset, or has a non-finite score.
    TypeError
        If a run is neither a run object nor a ``(subset, scores)`` pair.

    See Also
    --------
    adagroup.sampling.sample_subsets : plan the runs of the ``"mean"`` and
        ``"surrogate"`` estimators.
    AffinityEstimate.filled : fill the unmeasured entries before clustering.

    Examples
    --------
    >>> runs = [(("a", "b"), {"a": 0.9, "b": 0.4}), (("a", "c"), {"a": 0.5, "c": 0.8}),
    ...         (("b", "c"), {"b": 0.6, "c": 0.7})]
    >>> est = estimate_affinity(runs, ["a", "b", "c"])
    >>> est.T[0]
    array([0.7, 0.9, 0.5])
    >>> est.counts[0].tolist()
    [2, 1, 1]
    """
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"The 'estimator' parameter of estimate_affinity must be one of {list(ESTIMATORS)}. "
            f"Got {estimator!r} instead."
        )
    if normalize is not None and normalize not in NORMALIZERS:
        raise ValueError(
            "The 'normalize' parameter of estimate_affinity must be None or one of "
            f"{list(NORMALIZERS)}. Got {normalize!r} instead."
        )
    if (
        isinstance(ridge, bool)
        # ``float`` is listed for mypy, which does not know that it is a ``numbers.Real``
        # (it would take the check for always true and skip the rest of the function).
        or not isinstance(ridge, (float, numbers.Real))
        or not math.isfinite(ridge)
        or ridge < 0
    ):
        raise ValueError(
            "The 'ridge' parameter of estimate_affinity must be a finite float >= 0. Got "
            f"{ridge!r} instead."
        )
    names, lookup = _task_index(tasks)
    n = len(names)
    sign = 1.0 if greater_is_better else -1.0
    subsets, values = _collect(runs, names, lookup, sign)
    values = _normalize(subsets, values, n, normalize)
    if estimator == "mean":
        T, counts, se = _mean_estimator(subsets, values, n)
    elif estimator == "pairwise":
        T, counts, se = _pairwise_estimator(subsets, values, n)
    else:
        T, counts, se = _surrogate_estimator(subsets, values, n, float(ridge))
    missing = int(np.isnan(T).sum())
    if missing:
        logger.info(
            "estimate_affinity(%s): %d of %d entries unmeasured (NaN)", estimator, missing, n * n
        )
    return AffinityEstimate(
        T=T,
        counts=counts,
        std_error=se,
        task_names=names,
        estimator=estimator,
        normalize=normalize,
        n_runs=len(subsets),
    )
